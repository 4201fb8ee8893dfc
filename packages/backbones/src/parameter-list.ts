/**
 * torch.nn.ParameterList: parameters registered under "0", "1", … (MambaMIM's `mask_tokens`). @mim/tensor has
 * ModuleList and Sequential but no parameter list, so this small container lives here.
 */
import { Module, type Tensor } from '@mim/tensor';

export class ParameterList extends Module {
  readonly items: Tensor[] = [];

  constructor(parameters: Tensor[]) {
    super();
    parameters.forEach((p, i) => {
      this.items.push(this.registerParameter(String(i), p));
    });
  }

  at(index: number): Tensor {
    return this.items[index];
  }

  get length(): number {
    return this.items.length;
  }
}

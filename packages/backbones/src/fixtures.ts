/**
 * Fixture support of @mim/backbones (`@mim/backbones/fixtures`).
 *
 * `fixtureAdapters` (op-level adapters, fixtures/README.md format): none — this package has no op-level fixtures.
 * `modelFixtureRunners`: whole-model fixtures (fixtures/models/README.md) by op. The runner of @mim/tensor
 * currently stops at whole-model files ("weights" in the metadata); it can hand such a file's bytes to
 * `modelFixtureRunners[op]`, which returns a report (loss and every gradient, with the README's tolerances).
 */
import type { FixtureAdapter } from '@mim/tensor';
import { type ModelFixtureReport, runMambaMimFixture } from './model-fixture.js';

export const fixtureAdapters: FixtureAdapter[] = [];

export const modelFixtureRunners: Record<
  string,
  (bytes: Uint8Array, options?: { file?: string }) => Promise<ModelFixtureReport>
> = {
  mambamim_model: runMambaMimFixture,
};

export {
  configFromFixture,
  fixtureStateDict,
  type ModelFixtureReport,
  type ModelFixtureTensor,
  readModelFixture,
  runMambaMimFixture,
} from './model-fixture.js';

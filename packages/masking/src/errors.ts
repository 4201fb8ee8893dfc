/**
 * The one error class of @mim/masking. Messages name the function, what was expected, what came, and a fix.
 */
export class MaskingError extends Error {
  override name = 'MaskingError';
}

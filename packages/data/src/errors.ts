/** What went wrong with an input file or dataset; stable strings that tools can switch on. */
export type DataErrorCode =
  | 'missing-file'
  | 'unreadable-file'
  | 'truncated-gzip'
  | 'not-gzip'
  | 'truncated-header'
  | 'bad-magic'
  | 'unsupported-format'
  | 'data-length'
  | 'unsupported-datatype'
  | 'bad-dimensions'
  | 'zero-size'
  | 'non-finite'
  | 'grid-mismatch'
  | 'bad-dataset'
  | 'bad-argument'
  | 'worker-crashed';

/**
 * The one error class of @mim/data. `file` is the offending file (or dataset/folder), `code` the kind of
 * problem; the message always starts with the file name and says what was expected and how to fix it.
 */
export class DataError extends Error {
  override readonly name = 'DataError';
  readonly code: DataErrorCode;
  readonly file: string;

  constructor(code: DataErrorCode, file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.code = code;
    this.file = file;
  }

  /** The message without the leading file name. */
  get problem(): string {
    return this.message.slice(this.file.length + 2);
  }
}

/** A plain, structured-cloneable description of a DataError (what workers send back). */
export interface DataErrorJson {
  code: DataErrorCode;
  file: string;
  problem: string;
}

export function dataErrorToJson(error: DataError): DataErrorJson {
  return { code: error.code, file: error.file, problem: error.problem };
}

export function dataErrorFromJson(json: DataErrorJson): DataError {
  return new DataError(json.code, json.file, json.problem);
}

// One error class for everything a user can get wrong. The CLI prints the
// message and exits with code 2 for usage, config and data errors.
export type ErrorCode = 'usage' | 'config' | 'data' | 'state' | 'internal';

export class TsnasError extends Error {
  readonly code: ErrorCode;
  /** Where the problem is: an argument, a config field path, a file. */
  readonly where: string | undefined;

  constructor(code: ErrorCode, message: string, options: { where?: string; cause?: unknown } = {}) {
    super(options.where ? `${options.where}: ${message}` : message, { cause: options.cause });
    this.name = 'TsnasError';
    this.code = code;
    this.where = options.where;
  }

  /** The process exit code for this error: 2 for what the user can fix. */
  get exitCode(): number {
    return this.code === 'usage' || this.code === 'config' || this.code === 'data' ? 2 : 1;
  }
}

export const usageError = (message: string, where?: string) => new TsnasError('usage', message, { where });
export const configError = (message: string, where?: string) => new TsnasError('config', message, { where });
export const dataError = (message: string, where?: string) => new TsnasError('data', message, { where });

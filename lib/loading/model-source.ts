/**
 * Where the files of a model come from: a folder on disk (lib/node/fs/fs-model-source.ts), an http(s) folder URL
 * (http-model-source.ts), or anything else that can answer these three questions. The layouts of diffusers and
 * tfjs folders (pipeline-layout.ts) and the loaders (models/unet/load-unet.ts, pipelines/load-pipeline-components.ts) are written once, over this.
 *
 * Paths are relative to the source and '/'-separated (`unet/model.json`).
 */
import { BoundedJsonError, parseBoundedJson } from '../io/bounded-json';
import { MAX_JSON_DEPTH } from '../io/reader-limits';

export interface ModelSource {
  /** The folder or URL the source reads, as the user gave it (for messages). */
  readonly location: string;
  /** The full path or URL of `file`, for messages. */
  describe(file: string): string;
  /** Whether `file` exists (a regular file on disk; a 2xx answer over http). */
  exists(file: string): Promise<boolean>;
  /**
   * The bytes of `file`, refusing one of more than `maxBytes` with a {@link ModelFileTooLargeError} before reading
   * it whole where the size is known up front. A missing file is a {@link ModelFileNotFoundError}.
   */
  readBytes(file: string, options: { maxBytes: number }): Promise<Uint8Array>;
  /** `file` parsed as a JSON object (at most `MAX_JSON_FILE_BYTES` of lib/io/reader-limits.ts), or a {@link ModelJsonError} naming it. */
  readJson(file: string): Promise<Record<string, unknown>>;
}

/** A model file cannot be read: the message names the file (path or URL) and why. */
export class ModelSourceError extends Error {
  constructor(
    /** The file's path or URL. */
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'ModelSourceError';
  }
}

/** A file the layout needs is not there (no such file, HTTP 404). */
export class ModelFileNotFoundError extends ModelSourceError {
  constructor(file: string, detail = 'no such file') {
    super(file, detail);
    this.name = 'ModelFileNotFoundError';
  }
}

/** A file is larger than what its role allows (a JSON file over 8 MiB, weights over what the config implies). */
export class ModelFileTooLargeError extends ModelSourceError {
  constructor(
    file: string,
    readonly size: number,
    readonly maxBytes: number,
  ) {
    super(file, `${size} bytes${size > maxBytes ? '' : ' or more'}, more than the ${maxBytes} this file may have`);
    this.name = 'ModelFileTooLargeError';
  }
}

/** A JSON file of a model folder is not valid JSON, nests too deep, or is not an object. */
export class ModelJsonError extends ModelSourceError {
  constructor(file: string, message: string) {
    super(file, message);
    this.name = 'ModelJsonError';
  }
}

/**
 * Parses the bytes of a JSON file that must hold an object, with errors naming `file`: invalid UTF-8 or JSON,
 * nesting deeper than {@link MAX_JSON_DEPTH} (refused before `JSON.parse` could overflow the stack), or another
 * value than an object.
 *
 * ```ts
 * parseJsonObject(new TextEncoder().encode('{"unet": ["diffusers", "UNet2DModel"]}'), 'model_index.json');
 * ```
 */
export function parseJsonObject(bytes: Uint8Array, file: string): Record<string, unknown> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ModelJsonError(file, 'not valid UTF-8 text');
  }
  let value: unknown;
  try {
    value = parseBoundedJson(text, file, { maxDepth: MAX_JSON_DEPTH });
  } catch (err) {
    if (err instanceof BoundedJsonError) throw new ModelJsonError(file, err.detail);
    throw err;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ModelJsonError(file, `must hold a JSON object, got ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}`);
  }
  return value as Record<string, unknown>;
}

/** Joins a '/'-separated relative path under a source, refusing absolute paths and '..' (a model never needs them). */
export function checkRelativePath(file: string, location: string): string {
  const parts = file.split('/');
  if (file === '' || file.startsWith('/') || file.includes('\\') || file.includes('\0') || parts.some((p) => p === '..' || p === '')) {
    throw new ModelSourceError(`${location}/${file}`, `${JSON.stringify(file)} is not a plain relative path inside the model folder`);
  }
  return file;
}

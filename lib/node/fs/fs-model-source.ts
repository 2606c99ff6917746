import * as fs from 'fs';
import * as path from 'path';
import { MAX_JSON_FILE_BYTES } from '../../io/reader-limits';
import {
  checkRelativePath,
  ModelFileNotFoundError,
  ModelFileTooLargeError,
  ModelSource,
  ModelSourceError,
  parseJsonObject,
} from '../../loading/model-source';
import { FileReadError, readRegularFile } from './read-file';

/**
 * Reads a whole regular file of at most `maxBytes`, with errors that name it: missing, not a regular file (a FIFO
 * would block, a device never end, a folder gives EISDIR), larger than allowed (refused from its size, before
 * reading). The one function through which the fs model source reads.
 */
export function readModelFile(file: string, maxBytes: number): Uint8Array {
  try {
    return readRegularFile(file, { maxBytes });
  } catch (err) {
    if (!(err instanceof FileReadError)) throw err;
    if (err.problem === 'missing') throw new ModelFileNotFoundError(file);
    if (err.problem === 'too-large') throw new ModelFileTooLargeError(file, err.size ?? Number.NaN, maxBytes);
    throw new ModelSourceError(file, err.detail);
  }
}

/**
 * A model folder on disk as a {@link ModelSource}.
 *
 * ```ts
 * const source = new FsModelSource('models/tiny-random');
 * await source.exists('unet/model.json'); // true
 * ```
 */
export class FsModelSource implements ModelSource {
  constructor(readonly location: string) {}

  describe(file: string): string {
    return path.join(this.location, ...checkRelativePath(file, this.location).split('/'));
  }

  async exists(file: string): Promise<boolean> {
    try {
      return fs.statSync(this.describe(file)).isFile();
    } catch {
      return false;
    }
  }

  async readBytes(file: string, options: { maxBytes: number }): Promise<Uint8Array> {
    return readModelFile(this.describe(file), options.maxBytes);
  }

  async readJson(file: string): Promise<Record<string, unknown>> {
    return parseJsonObject(await this.readBytes(file, { maxBytes: MAX_JSON_FILE_BYTES }), this.describe(file));
  }
}

import * as fs from 'fs';
import * as path from 'path';
import {
  checkRelativePath,
  MAX_JSON_BYTES,
  ModelFileNotFoundError,
  ModelFileTooLargeError,
  ModelSource,
  ModelSourceError,
  parseJsonObject,
} from '../../loading/model-source';

/**
 * Reads a whole regular file of at most `maxBytes`, with errors that name it: missing, not a regular file (a FIFO
 * would block, a device never end, a folder gives EISDIR), larger than allowed (refused from its size, before
 * reading). The one function through which the fs model source reads.
 */
export function readModelFile(file: string, maxBytes: number): Uint8Array {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO with no writer must not block; a FIFO is refused below anyway.
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new ModelFileNotFoundError(file);
    throw new ModelSourceError(file, `cannot open it (${code ?? (err as Error).message})`);
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw new ModelSourceError(file, `not a regular file (${stat.isDirectory() ? 'a folder' : 'a device, FIFO or socket'})`);
    if (stat.size > maxBytes) throw new ModelFileTooLargeError(file, stat.size, maxBytes);
    const bytes = new Uint8Array(stat.size);
    let offset = 0;
    while (offset < bytes.length) {
      const n = fs.readSync(fd, bytes, offset, bytes.length - offset, offset);
      if (n === 0) throw new ModelSourceError(file, `it shrank while being read (${offset} of ${stat.size} bytes)`);
      offset += n;
    }
    return bytes;
  } finally {
    fs.closeSync(fd);
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
    return parseJsonObject(await this.readBytes(file, { maxBytes: MAX_JSON_BYTES }), this.describe(file));
  }
}

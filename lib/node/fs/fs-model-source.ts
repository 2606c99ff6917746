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
import { FileReadError, readRegularFile, readRegularFileAsync } from './read-file';

/**
 * Reads a whole regular file of at most `maxBytes`, with errors that name it: missing, not a regular file (a FIFO
 * would block, a device never end, a folder gives EISDIR), larger than allowed (refused from its size, before
 * reading). The one function through which the fs model source reads.
 */
export function readModelFile(file: string, maxBytes: number): Uint8Array {
  try {
    return readRegularFile(file, { maxBytes });
  } catch (err) {
    throw modelFileError(file, maxBytes, err);
  }
}

/** {@link readModelFile} read in chunks with the event loop turning between them (a multi-GB weight file). */
async function readModelFileAsync(file: string, maxBytes: number): Promise<Uint8Array> {
  try {
    return await readRegularFileAsync(file, { maxBytes });
  } catch (err) {
    throw modelFileError(file, maxBytes, err);
  }
}

function modelFileError(file: string, maxBytes: number, err: unknown): unknown {
  if (!(err instanceof FileReadError)) return err;
  if (err.problem === 'missing') return new ModelFileNotFoundError(file);
  if (err.problem === 'too-large') return new ModelFileTooLargeError(file, err.size ?? Number.NaN, maxBytes);
  return new ModelSourceError(file, err.detail);
}

/**
 * Refuses a file that resolves (through a symlink) outside the model folder being read: a `scheduler_config.json`
 * linked to `~/.aws/credentials` must not be read, copied into a converted folder or quoted in an error (issue 22).
 * The one sanctioned exception is a Hugging Face cache snapshot (`…/models--org--name/snapshots/<rev>/`), whose files
 * are symlinks into the same repository's `blobs/` folder.
 */
function assertInsideModelFolder(file: string, folder: string): void {
  let real: string;
  let base: string;
  try {
    real = fs.realpathSync(file);
    base = fs.realpathSync(folder);
  } catch {
    return; // missing: the read reports it
  }
  const inside = (root: string) => real === root || real.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
  if (inside(base)) return;
  const snapshot = /^(.*[\\/]models--[^\\/]+)[\\/]snapshots[\\/][^\\/]+(?:[\\/]|$)/.exec(base);
  if (snapshot !== null && inside(path.join(snapshot[1], 'blobs'))) return;
  throw new ModelSourceError(file, `resolves (through a symlink) outside the model folder ${folder}: refused, nothing was read`);
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
    const target = this.describe(file);
    assertInsideModelFolder(target, this.location);
    return readModelFileAsync(target, options.maxBytes);
  }

  async readJson(file: string): Promise<Record<string, unknown>> {
    return parseJsonObject(await this.readBytes(file, { maxBytes: MAX_JSON_FILE_BYTES }), this.describe(file));
  }
}

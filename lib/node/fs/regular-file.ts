import * as fs from 'fs';
import * as path from 'path';

/**
 * Opening files a run reads or appends to (manifests, PNGs of an output folder) only when they are what they claim
 * to be: a regular file (a FIFO would hang a reader, `/dev/zero` would never end), inside the folder being read (a
 * manifest symlinked to `~/.bashrc` must not be appended to; a PNG symlinked to a secret must not be read and
 * quoted). Hub cache blobs, which are symlinked on purpose, are read elsewhere (lib/node/hub).
 *
 * ```ts
 * const fd = openRegularFile('run/manifest.jsonl', 'a', { within: 'run' }); // throws UnsafeFileError for a FIFO or a symlink out of run/
 * ```
 */

/** A file refused before it was read or written: the message names it and says why, never what it holds. */
export class UnsafeFileError extends Error {
  constructor(
    readonly file: string,
    readonly problem: 'not-a-regular-file' | 'outside-folder',
    detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = 'UnsafeFileError';
  }
}

function kindOf(stat: fs.Stats): string {
  if (stat.isFIFO()) return 'a named pipe (FIFO)';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isDirectory()) return 'a directory';
  if (stat.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** Whether `file` (which exists) resolves, through any symlinks, to a place inside `folder`. */
function resolvesInside(file: string, folder: string): boolean {
  const real = fs.realpathSync(file);
  const base = fs.realpathSync(folder);
  return real === base || real.startsWith(base.endsWith(path.sep) ? base : base + path.sep);
}

/**
 * Opens `file` with `flags` ('r' or 'a') and returns the descriptor, after checking that (when it exists) it
 * resolves inside `options.within` and is a regular file. Opens non-blocking, so a FIFO is refused instead of
 * waiting for a writer. Throws {@link UnsafeFileError}, or the fs error (ENOENT, EACCES) as is.
 */
export function openRegularFile(file: string, flags: 'r' | 'a', options: { within?: string } = {}): number {
  if (options.within !== undefined && fs.existsSync(file) && !resolvesInside(file, options.within)) {
    throw new UnsafeFileError(file, 'outside-folder', `resolves (through a symlink) outside ${options.within}: refused, nothing read or written`);
  }
  if (fs.existsSync(file)) {
    // Before opening: a FIFO opened for writing without a reader fails with a bare ENXIO, for reading it would block.
    const stat = fs.statSync(file);
    if (!stat.isFile()) throw new UnsafeFileError(file, 'not-a-regular-file', `is ${kindOf(stat)}, not a regular file: refused`);
  }
  const mode = flags === 'r' ? fs.constants.O_RDONLY : fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT;
  const fd = fs.openSync(file, mode | (fs.constants.O_NONBLOCK ?? 0), 0o666);
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw new UnsafeFileError(file, 'not-a-regular-file', `is ${kindOf(stat)}, not a regular file: refused`);
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
  return fd;
}

/** Reads the whole of `file` (a regular file inside `within`, at most `maxBytes`); see {@link openRegularFile}. */
export function readRegularFileInside(file: string, options: { within: string; maxBytes: number }): Buffer {
  const fd = openRegularFile(file, 'r', { within: options.within });
  try {
    const size = fs.fstatSync(fd).size;
    if (size > options.maxBytes) throw new UnsafeFileError(file, 'not-a-regular-file', `is ${size} bytes, over the limit of ${options.maxBytes} for this file: refused`);
    const bytes = Buffer.alloc(size);
    let read = 0;
    while (read < size) {
      const n = fs.readSync(fd, bytes, read, size - read, read);
      if (n === 0) break;
      read += n;
    }
    return bytes.subarray(0, read);
  } finally {
    fs.closeSync(fd);
  }
}

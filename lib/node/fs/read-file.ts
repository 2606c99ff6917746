import { constants as bufferConstants } from 'buffer';
import * as fs from 'fs';
import { BoundedJsonError, JsonLimits, parseBoundedJson } from '../../io/bounded-json';
import { MAX_JSON_FILE_BYTES } from '../../io/reader-limits';
import { MEMORY_LIMITS } from '../../config/memory-limits';

/**
 * Bounded reads of files a user or a download named: the file is opened without blocking and checked with `fstat`
 * on the open descriptor (no race between the check and the read) before a byte is read, so
 *
 * - a FIFO, socket or device (`/dev/zero`, `/dev/stdin`, a named pipe no one writes to) is refused instead of
 *   hanging or reading forever;
 * - a directory is refused with its path instead of a bare `EISDIR`;
 * - a file over the caller's cap is refused before its size is allocated;
 * - a file that changes size while being read is refused rather than half-read.
 *
 * Every failure is a {@link FileReadError} whose message names the path. Callers that have their own error class
 * (the checkpoint readers' `CheckpointError`) wrap it and keep it as `cause`.
 */

/** Largest weight file read whole into memory: `MEMORY_LIMITS.maxWeightFileBytes` (4 GiB), or the platform's Buffer limit if lower. */
export const MAX_WEIGHT_FILE_BYTES = Math.min(MEMORY_LIMITS.maxWeightFileBytes, bufferConstants.MAX_LENGTH);


/** Why a file could not be read: a missing or unreadable path, not a regular file, or over the cap. */
export type FileReadProblem = 'missing' | 'not-a-regular-file' | 'too-large' | 'changed' | 'unreadable';

/** A file that cannot be read as asked; the message names the path. */
export class FileReadError extends Error {
  /** The file's size in bytes, for a 'too-large' problem. */
  readonly size: number | undefined;
  constructor(
    /** The path as given. */
    readonly path: string,
    readonly problem: FileReadProblem,
    /** The message without the path, to re-use in another error class. */
    readonly detail: string,
    options?: { cause?: unknown; size?: number },
  ) {
    super(`${path}: ${detail}`, options);
    this.size = options?.size;
    this.name = 'FileReadError';
  }
}

function kindOf(stat: fs.Stats): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a named pipe (FIFO)';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Reads the whole regular file at `file`, refusing anything else and anything over `maxBytes`. The bytes are a Node
 * `Buffer` at run time; the declared type is `Uint8Array` so that the package's public types need no @types/node.
 *
 * ```ts
 * const bytes = readRegularFile('unet/diffusion_pytorch_model.safetensors', { maxBytes: MAX_WEIGHT_FILE_BYTES });
 * readRegularFile('/dev/zero', { maxBytes: 1024 }); // FileReadError: /dev/zero: is a character device, not a regular file
 * ```
 */
export function readRegularFile(file: string, options: { maxBytes: number }): Uint8Array {
  const { fd, size } = openRegularFile(file, options.maxBytes);
  try {
    const bytes = Buffer.allocUnsafe(size);
    let read = 0;
    while (read < bytes.length) {
      const n = fs.readSync(fd, bytes, read, Math.min(bytes.length - read, 1 << 30), read);
      if (n === 0) break;
      read += n;
    }
    checkReadWhole(file, fd, size, read);
    return bytes;
  } catch (err) {
    throw asReadError(file, err);
  } finally {
    fs.closeSync(fd);
  }
}

/** Bytes per read of {@link readRegularFileAsync}: each is a few milliseconds, between two turns of the event loop. */
const ASYNC_READ_CHUNK_BYTES = MEMORY_LIMITS.weightFileReadChunkBytes;

/**
 * {@link readRegularFile} in chunks read by the thread pool, the event loop turning between them: a multi-GB weight
 * file takes seconds to read, during which a signal (SIGTERM mid-convert) or a timer would otherwise wait. The same
 * checks and errors.
 *
 * ```ts
 * const bytes = await readRegularFileAsync('unet/diffusion_pytorch_model.safetensors', { maxBytes: MAX_WEIGHT_FILE_BYTES });
 * ```
 */
export async function readRegularFileAsync(file: string, options: { maxBytes: number }): Promise<Uint8Array> {
  const { fd, size } = openRegularFile(file, options.maxBytes);
  try {
    const bytes = Buffer.allocUnsafe(size);
    let read = 0;
    while (read < bytes.length) {
      const chunk = Math.min(bytes.length - read, ASYNC_READ_CHUNK_BYTES);
      const n = await new Promise<number>((resolve, reject) => fs.read(fd, bytes, read, chunk, read, (err, got) => (err ? reject(err) : resolve(got))));
      if (n === 0) break;
      read += n;
    }
    checkReadWhole(file, fd, size, read);
    return bytes;
  } catch (err) {
    throw asReadError(file, err);
  } finally {
    fs.closeSync(fd);
  }
}

/** Opens `file` without blocking and checks, on the descriptor, that it is a regular file of at most `maxBytes`. */
function openRegularFile(file: string, maxBytes: number): { fd: number; size: number } {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever.
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  } catch (err) {
    throw openError(file, err as NodeJS.ErrnoException);
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) {
      throw new FileReadError(file, 'not-a-regular-file', `is ${kindOf(stat)}, not a regular file: refused`);
    }
    if (stat.size > maxBytes) {
      throw new FileReadError(file, 'too-large', `is ${stat.size} bytes, over the limit of ${maxBytes} bytes for this file: refused`, { size: stat.size });
    }
    return { fd, size: stat.size };
  } catch (err) {
    fs.closeSync(fd);
    throw asReadError(file, err);
  }
}

/** Throws when `read` bytes are not the whole file as `fstat` sized it (it shrank, or grew meanwhile). */
function checkReadWhole(file: string, fd: number, size: number, read: number): void {
  if (read !== size || fs.readSync(fd, Buffer.alloc(1), 0, 1, read) !== 0) {
    throw new FileReadError(file, 'changed', `changed size while being read (was ${size} bytes): read it again once it is complete`);
  }
}

function asReadError(file: string, err: unknown): FileReadError {
  if (err instanceof FileReadError) return err;
  return new FileReadError(file, 'unreadable', `cannot be read: ${(err as Error).message}`, { cause: err });
}

function openError(file: string, err: NodeJS.ErrnoException): FileReadError {
  switch (err.code) {
    case 'ENOENT':
      return new FileReadError(file, 'missing', 'no such file', { cause: err });
    case 'EACCES':
    case 'EPERM':
      return new FileReadError(file, 'unreadable', `permission denied (${err.code})`, { cause: err });
    case 'EISDIR':
      return new FileReadError(file, 'not-a-regular-file', 'is a directory, not a regular file: refused', { cause: err });
    default:
      return new FileReadError(file, 'unreadable', `cannot be opened: ${err.code ?? err.message}`, { cause: err });
  }
}

/**
 * Reads a JSON file: a regular file of at most `maxBytes` (default {@link MAX_JSON_FILE_BYTES}), UTF-8, parsed by
 * {@link parseBoundedJson} within `limits`. Throws {@link FileReadError} or `BoundedJsonError`, both naming the path.
 *
 * ```ts
 * const config = readJsonFile('unet/config.json'); // unknown: validate it next
 * ```
 */
export function readJsonFile(file: string, options: { maxBytes?: number; limits?: Partial<JsonLimits> } = {}): unknown {
  const bytes = readRegularFile(file, { maxBytes: options.maxBytes ?? MAX_JSON_FILE_BYTES });
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new BoundedJsonError(file, 'is not valid UTF-8 text');
  }
  return parseBoundedJson(text, file, options.limits);
}

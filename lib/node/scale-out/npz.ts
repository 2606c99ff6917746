import * as fs from 'fs';
import { Zip, ZipPassThrough } from 'fflate';
import { temporarySibling, withFileName } from '../fs/atomic-write';
import { removeOnSignal } from '../fs/signal-cleanup';

/** The array name FID tools (pytorch-fid, torch-fidelity, clean-fid, TF's evaluator) read from a sample `.npz`. */
export const NPZ_ARRAY_KEY = 'arr_0';

/** A zip entry's sizes are 32-bit without ZIP64, which fflate does not write. */
const MAX_NPY_BYTES = 0xffffffff;

/**
 * The header of a `.npy` (format 1.0) holding a C-order uint8 array of `shape`: magic, version, header length, and
 * the header dict padded with spaces to a multiple of 64 bytes, ending in a newline, as numpy writes it.
 *
 * ```ts
 * npyHeader([2, 32, 32, 3]); // "\x93NUMPY\x01\x00v\x00{'descr': '|u1', 'fortran_order': False, 'shape': (2, 32, 32, 3), }   …\n"
 * ```
 */
export function npyUint8Header(shape: readonly number[]): Uint8Array {
  const dict = `{'descr': '|u1', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const unpadded = 10 + dict.length + 1;
  const total = Math.ceil(unpadded / 64) * 64;
  const text = `${dict}${' '.repeat(total - unpadded)}\n`;
  const header = new Uint8Array(total);
  header.set([0x93, ...Buffer.from('NUMPY', 'latin1'), 1, 0, (total - 10) & 0xff, (total - 10) >> 8], 0);
  header.set(Buffer.from(text, 'latin1'), 10);
  return header;
}

/**
 * Writes a `.npz` holding one uint8 array `arr_0` of `shape` (NHWC images for FID tools), streamed: `fill` pushes the
 * array's bytes in C order, in chunks of any size, and they go straight to disk (stored, uncompressed: image noise
 * does not compress). The file appears atomically (a temporary sibling, then a rename).
 * @throws when `fill` pushes other than the shape's byte count, or the array exceeds 4 GiB (ZIP64 is not written).
 */
export async function writeNpzUint8(
  target: string,
  shape: readonly number[],
  fill: (push: (bytes: Uint8Array) => void) => Promise<void> | void,
): Promise<void> {
  const expected = shape.reduce((a, b) => a * b, 1);
  const header = npyUint8Header(shape);
  if (expected + header.length > MAX_NPY_BYTES) {
    throw new Error(`${target}: an array of shape [${shape.join(', ')}] is ${expected} bytes; .npz without ZIP64 holds at most 4 GiB`);
  }
  const tmp = temporarySibling(target);
  // A signal (SIGTERM, Ctrl-C) while `fill` runs removes the temporary file; `fill` lets the event loop turn.
  const unregister = removeOnSignal(tmp);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'wx');
    const out = fd;
    let failure: Error | null = null;
    const zip = new Zip((err, chunk) => {
      if (err) failure = err;
      else fs.writeSync(out, chunk);
    });
    const entry = new ZipPassThrough(`${NPZ_ARRAY_KEY}.npy`);
    zip.add(entry);
    entry.push(header);
    let pushed = 0;
    await fill((bytes) => {
      pushed += bytes.length;
      if (pushed > expected) throw new Error(`${target}: more than the ${expected} bytes of shape [${shape.join(', ')}] were pushed`);
      entry.push(bytes);
    });
    if (pushed !== expected) throw new Error(`${target}: ${pushed} bytes pushed, shape [${shape.join(', ')}] needs ${expected}`);
    entry.push(new Uint8Array(0), true);
    zip.end();
    if (failure) throw failure;
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, target);
  } catch (err) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw withFileName(err, target);
  } finally {
    unregister();
  }
}

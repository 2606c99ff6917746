import * as fs from 'fs';
import * as path from 'path';
import { temporarySibling, withFileName } from '../fs/atomic-write';
import { removeOnSignal } from '../fs/signal-cleanup';
import { eventLoopYielder } from '../../io/event-loop-yield';
import { decodePng, gridLayout } from '../png';
import { readRegularFileInside } from '../fs/regular-file';
import { MEMORY_LIMITS } from '../../config/memory-limits';
import { parseRecord } from './manifest';
import { NPZ_ARRAY_KEY, writeNpzUint8 } from './npz';
import { SeedList } from './seed-range';
import { RecordIndex, verifyOutputs, VerifyFailedError, VerifyReport } from './verify';

/** The merged manifest's default name in the output folder (not a shard manifest: `verify` does not read it). */
export const MERGED_MANIFEST = 'manifest.jsonl';

/** Each counted record's line, in seed-list order, read back from the shard manifests by offset. */
function* recordLinesInOrder(dir: string, index: RecordIndex, count: number): Generator<Buffer> {
  const fds = index.manifests.map((name) => fs.openSync(path.join(dir, name), 'r'));
  try {
    for (let p = 0; p < count; p++) {
      const bytes = Buffer.alloc(index.length[p]);
      fs.readSync(fds[index.manifest[p]], bytes, 0, bytes.length, index.offset[p]);
      yield bytes;
    }
  } finally {
    fds.forEach((fd) => fs.closeSync(fd));
  }
}

/**
 * `tfjs-diffusers merge DIR --seeds A-B`: verifies the folder (files included), then writes one manifest with one
 * record per seed in seed order (`DIR/manifest.jsonl` unless `out`), and with `npz`, every image as one uint8 NHWC
 * array `arr_0` in a `.npz` (a seed's `--batch` grid is split back into its images). Both files are written
 * atomically and streamed. Returns the report lines; throws {@link VerifyFailedError} after the report when the
 * folder does not verify (nothing is written then).
 */
export async function mergeOutputs(
  dir: string,
  seeds: SeedList,
  options: { out?: string; npz?: string },
): Promise<{ report: VerifyReport; lines: string[] }> {
  const report = verifyOutputs(dir, seeds, { keepIndex: true });
  if (report.problemCount > 0) return { report, lines: report.lines };
  const index = report.index!;
  const count = Number(seeds.count);
  const lines = [...report.lines];

  // The npz first, the manifest last: a merge that fails on the npz (a full disk) leaves no new manifest claiming a
  // finished merge.
  if (options.npz !== undefined && count > 0) {
    const first = parseRecord(recordLinesInOrder(dir, index, 1).next().value!.toString('utf8'));
    if (typeof first === 'string') throw new VerifyFailedError(`merge: a record that verified no longer parses: ${first}`);
    const [batch, height, width, channels] = first.shape;
    const shape = [count * batch, height, width, channels];
    const { cols } = gridLayout(batch);
    // The event loop turns between records (at most every 50 ms): a SIGTERM removes the temporary files at once.
    const pause = eventLoopYielder();
    await writeNpzUint8(options.npz, shape, async (push) => {
      for (const bytes of recordLinesInOrder(dir, index, count)) {
        await pause();
        const record = parseRecord(bytes.toString('utf8'));
        if (typeof record === 'string') throw new VerifyFailedError(`merge: a record that verified no longer parses: ${record}`);
        const png = decodePng(readRegularFileInside(path.join(dir, record.file), { within: dir, maxBytes: MEMORY_LIMITS.maxOutputPngBytes }));
        if (png.channels !== channels) {
          throw new VerifyFailedError(`merge: ${record.file} has ${png.channels} channels, its record's shape says ${channels}`);
        }
        for (let n = 0; n < batch; n++) {
          const x0 = (n % cols) * width;
          const y0 = Math.floor(n / cols) * height;
          for (let y = 0; y < height; y++) {
            const start = ((y0 + y) * png.width + x0) * channels;
            push(png.data.subarray(start, start + width * channels));
          }
        }
      }
    });
    lines.push(`wrote ${options.npz} (uint8 array ${NPZ_ARRAY_KEY} of shape [${shape.join(', ')}], NHWC)`);
  }

  const out = options.out ?? path.join(dir, MERGED_MANIFEST);
  const tmp = temporarySibling(out);
  const unregister = removeOnSignal(tmp);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'wx');
    const pause = eventLoopYielder();
    for (const bytes of recordLinesInOrder(dir, index, count)) {
      fs.writeSync(fd, Buffer.concat([bytes, Buffer.from('\n')]));
      await pause();
    }
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, out);
  } catch (err) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw withFileName(err, out);
  } finally {
    unregister();
  }
  lines.push(`wrote ${out} (${count} records in seed order)`);

  return { report, lines };
}

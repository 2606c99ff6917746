import * as fs from 'fs';
import * as path from 'path';
import { readITxtChunks } from '../../io/png-text-chunk';
import { PROVENANCE_KEYWORD } from '../../pipelines/image-provenance';
import { UsageError } from './arguments';
import { MEMORY_LIMITS } from '../../config/memory-limits';

/**
 * `demo` (what `npm start` runs) writes `out/seed0.png` and may replace one it wrote before, never someone else's:
 * an existing file is replaced only when it is a PNG carrying tfjs-diffusers' provenance chunk (every PNG
 * `generate` and `demo` write has one). Otherwise a {@link UsageError} says where the demo would write and what to do.
 */
export function assertDemoMayReplace(file: string, cwd: string): void {
  const target = path.resolve(cwd, file);
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(target);
  } catch {
    return; // nothing there
  }
  let ours = false;
  if (stat.isFile() && stat.size <= MEMORY_LIMITS.maxDemoProbeBytes) {
    try {
      ours = readITxtChunks(new Uint8Array(fs.readFileSync(target))).has(PROVENANCE_KEYWORD);
    } catch {
      ours = false; // not a PNG
    }
  }
  if (!ours) {
    throw new UsageError(
      `demo: ${file} exists and was not written by tfjs-diffusers (no provenance chunk); the demo does not replace it: ` +
        'move it away, or run `tfjs-diffusers generate --seed 0 --steps 2 --out <file.png>`',
    );
  }
}

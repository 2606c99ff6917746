import * as fs from 'fs';
import * as path from 'path';
import { UsageError } from './arguments';

/**
 * `merge --out FILE` / `--npz FILE`: like every other output of the CLI, an existing file is replaced only with
 * `--force` (merge used to replace them silently); checked before the folder is verified, so nothing runs first.
 */
export function refuseExistingMergeOutputs(raw: { out?: string; npz?: string; force?: boolean }, cwd: string): void {
  if (raw.force) return;
  for (const [flag, file] of [['--out', raw.out], ['--npz', raw.npz]] as const) {
    if (file !== undefined && fs.existsSync(path.resolve(cwd, file))) {
      throw new UsageError(`${flag}: ${file} already exists; pass --force to replace it`);
    }
  }
}

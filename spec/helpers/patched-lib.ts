import * as fs from 'fs';
import * as path from 'path';

const REPO = path.join(__dirname, '..', '..');

/** One source edit of lib/: `from`, found exactly once in lib/`file`, becomes `to`. */
export interface LibMutation {
  file: string;
  from: string;
  to: string;
}

/**
 * The structural mistake the sensitivity specs inject: the timestep embedding's frequencies divided by `half`
 * instead of `half - freq_shift` (freq_shift ignored).
 */
export const FREQ_SHIFT_IGNORED: LibMutation = {
  file: 'models/unet/layers/timesteps.ts',
  from: 'const denominator = Math.fround(half - downscaleFreqShift);',
  to: 'const denominator = Math.fround(half);',
};

/**
 * A copy of lib/ with one source edit, beside lib/ (so that node_modules and the native addon resolve as from lib/);
 * the caller removes it. Throws if the text to replace is not found exactly once: a refactor must update the mutation.
 * lib/ itself has no hooks: the mutation exists only in the copy.
 */
export function patchedLibCopy({ file, from, to }: LibMutation): string {
  const copy = path.join(REPO, `lib-mutant-${process.pid}-${Date.now()}`);
  fs.cpSync(path.join(REPO, 'lib'), copy, { recursive: true });
  const target = path.join(copy, file);
  const source = fs.readFileSync(target, 'utf8');
  if (source.split(from).length !== 2) {
    fs.rmSync(copy, { recursive: true, force: true });
    throw new Error(`sensitivity: lib/${file} does not contain ${JSON.stringify(from)} exactly once; update the mutation`);
  }
  fs.writeFileSync(target, source.replace(from, to));
  return copy;
}

import { UNet2DConfig, unet2DWeightShapes } from './config';
import { StateDictMismatchError } from './state-dict-mapping';

/** A weight as a tfjs weights manifest lists it (only the name and the shape are compared). */
export interface WeightSpecLike {
  name: string;
  shape: number[];
}

/**
 * Compares the weights manifest of a converted `model.json` with the weights its (already checked) config implies,
 * before any tensor is built or decoded: every name present once, no other, every shape equal. Throws a
 * {@link StateDictMismatchError} naming `source` and each difference.
 *
 * ```ts
 * checkTfjsWeightSpecs(config, artifacts.weightSpecs, 'unet/model.json');
 * ```
 */
export function checkTfjsWeightSpecs(config: UNet2DConfig, specs: readonly WeightSpecLike[], source: string): void {
  const expected = unet2DWeightShapes(config);
  const seen = new Set<string>();
  const unexpected: string[] = [];
  const duplicates: string[] = [];
  const shapeMismatches: { key: string; checkpoint: number[]; expected: number[] }[] = [];
  for (const spec of specs) {
    const name = String(spec?.name);
    const want = expected.get(name);
    if (want === undefined) unexpected.push(name);
    else if (seen.has(name)) duplicates.push(name);
    else {
      seen.add(name);
      const shape = Array.isArray(spec.shape) ? spec.shape : [];
      if (shape.length !== want.length || shape.some((d, i) => d !== want[i])) shapeMismatches.push({ key: name, checkpoint: shape.slice(0, 8), expected: want });
    }
  }
  const missing = [...expected.keys()].filter((name) => !seen.has(name));
  if (missing.length + unexpected.length + shapeMismatches.length + duplicates.length > 0) {
    throw new StateDictMismatchError(source, missing, unexpected, shapeMismatches, duplicates);
  }
}

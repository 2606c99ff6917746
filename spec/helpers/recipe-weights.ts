import { Generator } from '../../lib/random/generator';
import { rand } from '../../lib/random/rand';
import { StateDict } from '../../lib/io/state-dict';

/**
 * The deterministic weights of spec/fixtures/README.md ("Deterministic weights"), rebuilt from their seed here, in
 * the test, independently of the model code: one `torch.Generator('cpu').manual_seed(seed)`; for each state-dict key
 * in sorted order `u = torch.rand(shape, generator=g)` and `r = 2u − 1`; 1-D tensors named "*norm*weight" get
 * `1 + r·0.1`; other 1-D tensors `r·0.1`; every other tensor `r·(1/sqrt(fan_in))`, fan_in = numel / shape[0]. torch
 * multiplies a float32 tensor by a Python scalar in float32 (the scalar rounded to float32 first), so every product
 * and sum below is rounded with Math.fround.
 */
export function recipeStateDict(keys: readonly (readonly [string, readonly number[]])[], seed: number): StateDict {
  const g = new Generator().manualSeed(seed);
  const sorted = [...keys].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const out: StateDict = new Map();
  const tenth = Math.fround(0.1);
  for (const [name, shape] of sorted) {
    const data = rand(shape, { generator: g });
    const numel = data.length;
    const scale = shape.length === 1 ? tenth : Math.fround(1 / Math.sqrt(numel / shape[0]));
    const offset = shape.length === 1 && name.includes('norm') && name.endsWith('weight') ? 1 : 0;
    for (let i = 0; i < numel; i++) {
      const r = Math.fround(Math.fround(data[i] * 2) - 1);
      data[i] = Math.fround(Math.fround(r * scale) + offset);
    }
    out.set(name, { shape: [...shape], data });
  }
  return out;
}

// A diffusers-style checkpoint with deterministic pseudo-random weights, for benchmarks: shaped like the fixtures'
// recipe (spec/fixtures/README.md: uniform r in [-1, 1], norm weights 1 + 0.1 r, other vectors 0.1 r, matrices
// r / sqrt(fan_in)) but drawn from a small xorshift generator instead of torch.rand, so values differ from PyTorch's.
import * as fs from 'fs';
import * as path from 'path';
import { StateDict } from '../lib/io/state-dict';
import { stateDictBindings } from '../lib/models/unet/state-dict-mapping';
import { UNet2DModel } from '../lib/models/unet/unet-2d-model';
import { encodeSafetensors } from './safetensors-bytes';

function xorshift32(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return (s >>> 8) / 2 ** 24; // 24-bit uniform in [0, 1)
  };
}

/** Every key and PyTorch shape the config's model expects, filled by the recipe, in sorted key order. */
export function syntheticStateDict(configJson: Record<string, unknown>, seed = 1): StateDict {
  const unet = UNet2DModel.fromConfig(configJson);
  const specs = stateDictBindings(unet.model).map((b) => ({ key: b.key, shape: b.torchShape }));
  unet.dispose();
  specs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const rand = xorshift32(seed);
  const out: StateDict = new Map();
  for (const { key, shape } of specs) {
    const numel = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(numel);
    const isNormWeight = shape.length === 1 && key.includes('norm') && key.endsWith('weight');
    const scale = shape.length === 1 ? 0.1 : 1 / Math.sqrt(numel / shape[0]);
    for (let i = 0; i < numel; i++) data[i] = (isNormWeight ? 1 : 0) + (2 * rand() - 1) * scale;
    out.set(key, { shape, data });
  }
  return out;
}

/** A safetensors file (F32 only) holding the state dict. */
export function encodeSafetensorsF32(stateDict: StateDict): Uint8Array {
  return encodeSafetensors(
    [...stateDict].map(([name, t]) => ({ name, dtype: 'F32', shape: t.shape, bytes: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) })),
  );
}

/** Writes a diffusers model folder (config.json + diffusion_pytorch_model.safetensors) with synthetic weights. */
export function writeSyntheticModelFolder(dir: string, configJson: Record<string, unknown>, seed = 1): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(configJson, null, 2));
  fs.writeFileSync(path.join(dir, 'diffusion_pytorch_model.safetensors'), encodeSafetensorsF32(syntheticStateDict(configJson, seed)));
}

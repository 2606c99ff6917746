import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel, LayerVariable } from '@tensorflow/tfjs-layers';
import { NamedTensor, StateDict } from '../../io/state-dict';

/**
 * How a PyTorch tensor is laid out in tfjs: conv kernels OIHW → HWIO, linear weights `[out, in]` → `[in, out]`,
 * vectors as they are.
 */
export type WeightLayout = 'conv' | 'linear' | 'vector';

/** One model weight and the diffusers state-dict key it is loaded from. */
export interface WeightBinding {
  /** diffusers key, new naming (`mid_block.attentions.0.to_q.weight`). */
  key: string;
  variable: LayerVariable;
  layout: WeightLayout;
  /** The tfjs shape (HWIO / `[in, out]`). */
  shape: number[];
  /** The PyTorch shape the checkpoint must have. */
  torchShape: number[];
}

/** The PyTorch shape of a tfjs weight of the given layout. */
export function torchShapeOf(shape: number[], layout: WeightLayout): number[] {
  if (layout === 'conv') return [shape[3], shape[2], shape[0], shape[1]];
  if (layout === 'linear') return [shape[1], shape[0]];
  return shape.slice();
}

/** The layout of a tfjs weight, from its rank: 4 → conv kernel, 2 → linear matrix, 1 → vector. */
export function layoutOf(shape: number[], key: string): WeightLayout {
  if (shape.length === 4) return 'conv';
  if (shape.length === 2) return 'linear';
  if (shape.length === 1) return 'vector';
  throw new Error(`unexpected weight rank ${shape.length} for ${key}`);
}

/**
 * The diffusers key of a weight: the layer's name (its diffusers module path), a dot, and the weight's name inside
 * the layer (tfjs-layers' own `Conv2D` calls its weight `kernel`: read `weight`).
 *
 * ```ts
 * stateDictKey('conv_in', 'kernel');                    // 'conv_in.weight'
 * stateDictKey('down_blocks.0.resnets.0', 'conv1.bias'); // 'down_blocks.0.resnets.0.conv1.bias'
 * ```
 */
export function stateDictKey(layer: string, weightName: string): string {
  return `${layer}.${weightName === 'kernel' ? 'weight' : weightName}`;
}

/**
 * Every weight of a UNet2DModel LayersModel with its diffusers key ({@link stateDictKey}).
 *
 * ```ts
 * stateDictBindings(model).map((b) => b.key); // ['conv_in.weight', 'conv_in.bias', 'time_embedding.linear_1.weight', ...]
 * ```
 */
export function stateDictBindings(model: LayersModel): WeightBinding[] {
  const bindings: WeightBinding[] = [];
  for (const layer of model.layers) {
    for (const variable of layer.weights) {
      const prefix = `${layer.name}/`;
      const local = variable.originalName.startsWith(prefix) ? variable.originalName.slice(prefix.length) : variable.originalName;
      const key = stateDictKey(layer.name, local);
      const shape = variable.shape.map((d) => d as number);
      const layout = layoutOf(shape, key);
      bindings.push({ key, variable, layout, shape, torchShape: torchShapeOf(shape, layout) });
    }
  }
  return bindings;
}

/**
 * The attention key names of diffusers < 0.14 (google/ddpm-cifar10-32's checkpoint) and their current names, as
 * diffusers' `_convert_deprecated_attention_blocks` renames them: `query` → `to_q`, `key` → `to_k`, `value` →
 * `to_v`, `proj_attn` → `to_out.0` (inside `attentions.<i>` modules; `group_norm` is unchanged).
 */
const DEPRECATED_ATTENTION_NAMES: Readonly<Record<string, string>> = {
  query: 'to_q',
  key: 'to_k',
  value: 'to_v',
  proj_attn: 'to_out.0',
};

const DEPRECATED_ATTENTION_KEY = /^(.*\.attentions\.\d+)\.(query|key|value|proj_attn)\.(weight|bias)$/;

/** A checkpoint key under its current diffusers name (old attention names renamed, every other key unchanged). */
export function canonicalKey(key: string): string {
  const m = DEPRECATED_ATTENTION_KEY.exec(key);
  return m === null ? key : `${m[1]}.${DEPRECATED_ATTENTION_NAMES[m[2]]}.${m[3]}`;
}

/** The checkpoint's weights do not fit the model: every missing key, unexpected key and shape mismatch, listed. */
export class StateDictMismatchError extends Error {
  constructor(
    readonly source: string,
    readonly missing: string[],
    readonly unexpected: string[],
    readonly shapeMismatches: { key: string; checkpoint: number[]; expected: number[] }[],
    readonly duplicates: string[] = [],
    /** Other problems with single entries (a bad dtype, an entry listed twice), each naming the entry. */
    readonly problems: string[] = [],
  ) {
    const list = (items: string[]) => (items.length > 25 ? `${items.slice(0, 25).join(', ')}, … and ${items.length - 25} more` : items.join(', '));
    const parts: string[] = [];
    const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : word.endsWith('h') ? 'es' : 's'}`;
    if (missing.length > 0) parts.push(`${plural(missing.length, 'missing key')}: ${list(missing)}`);
    if (unexpected.length > 0) parts.push(`${plural(unexpected.length, 'unexpected key')}: ${list(unexpected)}`);
    if (shapeMismatches.length > 0) {
      parts.push(
        `${plural(shapeMismatches.length, 'shape mismatch')}: ` +
          list(shapeMismatches.map((m) => `${m.key} is [${m.checkpoint.join(', ')}] in the checkpoint, the model expects [${m.expected.join(', ')}]`)),
      );
    }
    if (duplicates.length > 0) parts.push(`${plural(duplicates.length, 'key')} present under both the old and the new attention names: ${list(duplicates)}`);
    if (problems.length > 0) parts.push(list(problems));
    super(`${source}: the weights do not match the UNet2DModel config: ${parts.join('; ')}`);
    this.name = 'StateDictMismatchError';
  }
}

/**
 * Checks a diffusers state dict against the model's weights (both attention namings accepted) and returns, for each
 * binding, the checkpoint tensor it loads from. Throws a {@link StateDictMismatchError} listing every missing key,
 * unexpected key and shape mismatch at once.
 */
export function matchStateDict(bindings: readonly Pick<WeightBinding, 'key' | 'torchShape'>[], stateDict: StateDict, source: string): NamedTensor[] {
  const byCanonical = new Map<string, NamedTensor>();
  const duplicates: string[] = [];
  for (const [key, tensor] of stateDict) {
    const canonical = canonicalKey(key);
    if (byCanonical.has(canonical)) duplicates.push(canonical);
    byCanonical.set(canonical, tensor);
  }
  const expected = new Set(bindings.map((b) => b.key));
  const missing = bindings.filter((b) => !byCanonical.has(b.key)).map((b) => b.key);
  const unexpected = [...stateDict.keys()].filter((k) => !expected.has(canonicalKey(k)));
  const shapeMismatches = bindings
    .filter((b) => byCanonical.has(b.key))
    .map((b) => ({ key: b.key, checkpoint: byCanonical.get(b.key)!.shape, expected: b.torchShape }))
    .filter((m) => m.checkpoint.length !== m.expected.length || m.checkpoint.some((d, i) => d !== m.expected[i]));
  if (missing.length + unexpected.length + shapeMismatches.length + duplicates.length > 0) {
    throw new StateDictMismatchError(source, missing, unexpected, shapeMismatches, duplicates);
  }
  return bindings.map((b) => byCanonical.get(b.key)!);
}

/** A PyTorch-layout float32 array in tfjs layout (a transposed copy for conv and linear weights). */
export function toTfjsLayout(data: Float32Array, torchShape: number[], layout: WeightLayout): Float32Array {
  if (layout === 'vector') return data;
  if (layout === 'linear') {
    const [rows, cols] = torchShape; // [out, in] → [in, out]
    const out = new Float32Array(data.length);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
    }
    return out;
  }
  const [o, i, kh, kw] = torchShape; // OIHW → HWIO
  const out = new Float32Array(data.length);
  for (let oo = 0; oo < o; oo++) {
    for (let ii = 0; ii < i; ii++) {
      for (let y = 0; y < kh; y++) {
        for (let x = 0; x < kw; x++) out[((y * kw + x) * i + ii) * o + oo] = data[((oo * i + ii) * kh + y) * kw + x];
      }
    }
  }
  return out;
}

/** The inverse of {@link toTfjsLayout}: a tfjs-layout array back in PyTorch layout. */
export function toTorchLayout(data: Float32Array, shape: number[], layout: WeightLayout): Float32Array {
  if (layout === 'vector') return data.slice();
  if (layout === 'linear') return toTfjsLayout(data, [shape[0], shape[1]], 'linear');
  const [kh, kw, i, o] = shape;
  const out = new Float32Array(data.length);
  for (let oo = 0; oo < o; oo++) {
    for (let ii = 0; ii < i; ii++) {
      for (let y = 0; y < kh; y++) {
        for (let x = 0; x < kw; x++) out[((oo * i + ii) * kh + y) * kw + x] = data[((y * kw + x) * i + ii) * o + oo];
      }
    }
  }
  return out;
}

/**
 * Loads a diffusers state dict (PyTorch names and layouts, either attention naming) into a UNet2DModel LayersModel:
 * every key checked first (see {@link matchStateDict}), then each tensor transposed to the tfjs layout and written
 * into its variable. Returns the number of parameters loaded.
 *
 * ```ts
 * loadStateDictIntoModel(model, readStateDict('tiny-unet'), 'tiny-unet');
 * ```
 */
export function loadStateDictIntoModel(model: LayersModel, stateDict: StateDict, source: string): number {
  const bindings = stateDictBindings(model);
  return writeWeights(bindings, matchStateDict(bindings, stateDict, source));
}

/**
 * Writes tensors already matched against the config's weight specs (`checkStateDict` of weight-specs.ts: one tensor
 * per spec, in the specs' order) into the model built from that config, by key, without matching them again;
 * `between` is awaited after each tensor (an `eventLoopYielder`, so a long load lets signals and timers run).
 *
 * ```ts
 * await writeMatchedWeights(unet.model, specs, checkStateDict(specs, stateDict, file), eventLoopYielder());
 * ```
 */
export async function writeMatchedWeights(
  model: LayersModel,
  specs: readonly { key: string }[],
  tensors: readonly NamedTensor[],
  between: () => Promise<void> = async () => {},
): Promise<number> {
  const byKey = new Map(specs.map((spec, i) => [spec.key, tensors[i]]));
  const bindings = stateDictBindings(model);
  const ordered = bindings.map((b) => byKey.get(b.key));
  if (bindings.length !== specs.length || ordered.some((t) => t === undefined)) {
    throw new Error('writeMatchedWeights: the weight specs are not those of this model (a spec from another config)');
  }
  let parameters = 0;
  for (let i = 0; i < bindings.length; i++) {
    parameters += writeWeight(bindings[i], ordered[i]!);
    await between();
  }
  return parameters;
}

function writeWeights(bindings: readonly WeightBinding[], tensors: readonly NamedTensor[]): number {
  return bindings.reduce((parameters, b, idx) => parameters + writeWeight(b, tensors[idx]), 0);
}

/** Writes one tensor (PyTorch layout) into its variable; returns its element count. */
function writeWeight(b: WeightBinding, tensor: NamedTensor): number {
  const value = tf.tensor(toTfjsLayout(tensor.data, tensor.shape, b.layout), b.shape, 'float32');
  b.variable.write(value);
  value.dispose();
  return value.size;
}

/**
 * The model's weights as a diffusers state dict (new key names, PyTorch layouts), e.g. to compare with a checkpoint
 * or to write one.
 */
export async function modelToStateDict(model: LayersModel): Promise<StateDict> {
  const out: StateDict = new Map();
  for (const b of stateDictBindings(model)) {
    const data = (await b.variable.read().data()) as Float32Array;
    out.set(b.key, { shape: b.torchShape, data: toTorchLayout(data, b.shape, b.layout) });
  }
  return out;
}

import type * as tf from '@tensorflow/tfjs-core';
import type { NamedTensor, StateDict } from '../../io/state-dict';
import type { UNet2DConfig } from './config';
import { layoutOf, matchStateDict, stateDictKey, StateDictMismatchError, torchShapeOf, WeightLayout } from './state-dict-mapping';
import { unet2DLayerWeightShapes } from './unet-2d-graph';

/** One weight a UNet2DModel config implies, under both of its names. */
export interface UNet2DWeightSpec {
  /** The diffusers state-dict key (`down_blocks.0.resnets.0.conv1.weight`). */
  key: string;
  /** The tfjs weight name, as a converted model.json lists it (`down_blocks.0.resnets.0/conv1.weight`). */
  tfjsName: string;
  layout: WeightLayout;
  /** The tfjs shape (HWIO kernels, `[in, out]` matrices). */
  shape: number[];
  /** The PyTorch shape a diffusers checkpoint holds (OIHW kernels, `[out, in]` matrices). */
  torchShape: number[];
}

/**
 * Every weight (key and shape, in both layouts) that the UNet of `config` has, computed from the config alone:
 * nothing is allocated (see `unet2DLayerWeightShapes`), so a checkpoint or a converted model.json can be compared
 * with the config before the model is built.
 *
 * ```ts
 * const specs = unet2DWeightSpecs(parseUNet2DConfig(json));
 * specs.find((s) => s.key === 'conv_in.weight')!.torchShape; // [128, 3, 3, 3] for google/ddpm-cifar10-32
 * ```
 */
export function unet2DWeightSpecs(config: UNet2DConfig): UNet2DWeightSpec[] {
  return unet2DLayerWeightShapes(config).map(({ layer, name, shape }) => {
    const key = stateDictKey(layer, name);
    const layout = layoutOf(shape, key);
    return { key, tfjsName: `${layer}/${name}`, layout, shape, torchShape: torchShapeOf(shape, layout) };
  });
}

/** The number of parameters of a set of weights (the sum of their element counts). */
export function parameterCount(specs: readonly { shape: readonly number[] }[]): number {
  return specs.reduce((sum, s) => sum + s.shape.reduce((n, d) => n * d, 1), 0);
}

/**
 * The number of parameters of the UNet of `config`, without building it (35,746,307 for google/ddpm-cifar10-32).
 *
 * ```ts
 * unet2DParameterCount(DDPM_CIFAR10_32_UNET_CONFIG); // 35746307
 * ```
 */
export function unet2DParameterCount(config: UNet2DConfig): number {
  return parameterCount(unet2DWeightSpecs(config));
}

/**
 * Compares a diffusers state dict (either attention naming) with the weights a config implies and throws a
 * {@link StateDictMismatchError} naming `source` and listing every missing key, unexpected key and shape mismatch.
 * Run before the model is built, so a checkpoint that does not fit its config costs no model. Returns the matched
 * tensors, one per spec in the specs' order, for `writeMatchedWeights` (nothing is matched twice).
 *
 * ```ts
 * const tensors = checkStateDict(unet2DWeightSpecs(config), stateDict, 'unet/diffusion_pytorch_model.safetensors');
 * ```
 */
export function checkStateDict(specs: readonly UNet2DWeightSpec[], stateDict: StateDict, source: string): NamedTensor[] {
  return matchStateDict(specs, stateDict, source);
}

/** Bytes per element of the dtypes a tfjs weights manifest may store. */
const MANIFEST_DTYPE_BYTES: Readonly<Record<string, number>> = { float32: 4, int32: 4, float16: 2, uint16: 2, uint8: 1, bool: 1 };

/** The bytes one weights-manifest entry takes in the shards, or a mismatch naming it. */
export function manifestEntryBytes(entry: tf.io.WeightsManifestEntry, file: string): number {
  const dtype = entry.quantization?.dtype ?? entry.dtype;
  const bytes = Object.prototype.hasOwnProperty.call(MANIFEST_DTYPE_BYTES, dtype) ? MANIFEST_DTYPE_BYTES[dtype] : undefined;
  if (bytes === undefined) {
    throw new StateDictMismatchError(file, [], [], [], [], [`${entry.name} has dtype ${JSON.stringify(dtype)} (a UNet stores float32)`]);
  }
  return entry.shape.reduce((n, d) => n * d, 1) * bytes;
}

function isShape(value: unknown): value is number[] {
  return Array.isArray(value) && value.length <= 8 && value.every((d) => Number.isSafeInteger(d) && (d as number) >= 0);
}

/**
 * Compares a converted model.json's weights manifest with the weights a config implies, before any weight buffer is
 * allocated: every listed weight must be one the config has, with the tfjs shape the config gives it, stored as
 * float32 (or a tfjs quantization of it), and every weight of the config must be listed. Throws a
 * {@link StateDictMismatchError} naming `file` and each offending weight with its shape.
 *
 * ```ts
 * checkWeightsManifest(unet2DWeightSpecs(config), modelJson.weightsManifest, 'unet/model.json');
 * ```
 */
export function checkWeightsManifest(specs: readonly UNet2DWeightSpec[], entries: readonly tf.io.WeightsManifestEntry[], file: string): void {
  const expected = new Map(specs.map((s) => [s.tfjsName, s]));
  const seen = new Set<string>();
  const unexpected: string[] = [];
  const shapeMismatches: { key: string; checkpoint: number[]; expected: number[] }[] = [];
  const malformed: string[] = [];
  for (const entry of entries) {
    const name = String(entry.name);
    if (seen.has(name)) malformed.push(`${name} is listed twice`);
    seen.add(name);
    const spec = expected.get(name);
    if (!isShape(entry.shape)) {
      malformed.push(`${name} has shape ${JSON.stringify(entry.shape)}`);
      continue;
    }
    if (spec === undefined) {
      unexpected.push(`${name} [${entry.shape.join(', ')}]`);
      continue;
    }
    if (entry.shape.length !== spec.shape.length || entry.shape.some((d, i) => d !== spec.shape[i])) {
      shapeMismatches.push({ key: name, checkpoint: entry.shape, expected: spec.shape });
    }
    const dtype = entry.quantization?.dtype ?? entry.dtype;
    if (entry.dtype !== 'float32' || !Object.prototype.hasOwnProperty.call(MANIFEST_DTYPE_BYTES, dtype)) {
      malformed.push(`${name} has dtype ${JSON.stringify(dtype)} (a UNet stores float32)`);
    }
  }
  const missing = specs.filter((s) => !seen.has(s.tfjsName)).map((s) => s.tfjsName);
  if (missing.length + unexpected.length + shapeMismatches.length + malformed.length > 0) {
    throw new StateDictMismatchError(file, missing, unexpected, shapeMismatches, [], malformed);
  }
}

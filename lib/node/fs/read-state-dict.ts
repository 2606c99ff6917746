import * as fs from 'fs';
import * as path from 'path';
import { CheckpointError } from '../../io/checkpoint-error';
import { readSafetensors } from '../../io/safetensors';
import { StateDict } from '../../io/state-dict';
import { readTorchCheckpoint } from '../../io/torch-pickle';

/** The weight files of a diffusers model folder, in order of preference (safetensors never runs a pickle). */
export const WEIGHT_FILE_NAMES = ['diffusion_pytorch_model.safetensors', 'diffusion_pytorch_model.bin'] as const;

/**
 * Reads one weight file by its extension: `.safetensors`, or PyTorch's `.bin` / `.pt` / `.pth` (zip + pickle).
 *
 * ```ts
 * const stateDict = readWeightFile('unet/diffusion_pytorch_model.bin');
 * ```
 */
export function readWeightFile(file: string): StateDict {
  const bytes = fs.readFileSync(file);
  if (file.endsWith('.safetensors')) return readSafetensors(bytes, file);
  if (/\.(bin|pt|pth|ckpt)$/.test(file)) return readTorchCheckpoint(bytes, file);
  throw new CheckpointError(file, 'unknown weight file extension (expected .safetensors or .bin)');
}

/** The weight file `readStateDict(dir)` would read: the first of {@link WEIGHT_FILE_NAMES} present in `dir`. */
export function findWeightFile(dir: string): string {
  if (!fs.existsSync(dir)) throw new CheckpointError(dir, 'no such folder');
  if (!fs.statSync(dir).isDirectory()) return dir;
  for (const name of WEIGHT_FILE_NAMES) {
    const candidate = path.join(dir, name);
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new CheckpointError(
    dir,
    `no weights found: looked for ${WEIGHT_FILE_NAMES.join(' and ')}` +
      (fs.existsSync(path.join(dir, 'unet')) ? ` (this looks like a pipeline folder: try ${path.join(dir, 'unet')})` : ''),
  );
}

/**
 * Reads the weights of a diffusers model folder (`config.json` + `diffusion_pytorch_model.safetensors` or `.bin`;
 * safetensors is preferred when both are present) into a state dict with PyTorch names and layouts, float32.
 * A path to a weight file is read directly.
 *
 * ```ts
 * const stateDict = readStateDict('ddpm-cifar10-32/unet');
 * stateDict.size; // 328 tensors
 * ```
 */
export function readStateDict(dir: string): StateDict {
  return readWeightFile(findWeightFile(dir));
}

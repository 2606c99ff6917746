import * as fs from 'fs';
import * as path from 'path';
import { CheckpointError } from '../../io/checkpoint-error';
import { StateDict } from '../../io/state-dict';
import { decodeWeightFile, weightFileFormat } from '../../models/unet/load-unet';
import { noWeightFileDetail, UNET_FOLDER, WEIGHT_FILE_NAMES, weightFileCandidates } from '../../loading/pipeline-layout';
import { FileReadError, MAX_WEIGHT_FILE_BYTES, readRegularFile } from './read-file';

export { WEIGHT_FILE_NAMES };

/**
 * Reads one weight file by its extension: `.safetensors`, or PyTorch's `.bin` / `.pt` / `.pth` (zip + pickle).
 * The extension is checked first; the file must be a regular file of at most `MAX_WEIGHT_FILE_BYTES` (a FIFO, a
 * device such as `/dev/zero` or a directory is refused, naming the path). Every failure is a {@link CheckpointError}.
 *
 * ```ts
 * const stateDict = readWeightFile('unet/diffusion_pytorch_model.bin');
 * ```
 */
export function readWeightFile(file: string): StateDict {
  weightFileFormat(file); // an unknown extension is refused before anything is read
  let bytes: Uint8Array;
  try {
    bytes = readRegularFile(file, { maxBytes: MAX_WEIGHT_FILE_BYTES });
  } catch (err) {
    if (err instanceof FileReadError) throw new CheckpointError(file, err.detail, undefined, { cause: err });
    throw err;
  }
  return decodeWeightFile(bytes, file);
}

/** The weight file `readStateDict(dir)` would read: the first of {@link WEIGHT_FILE_NAMES} present in `dir`. */
export function findWeightFile(dir: string): string {
  if (!fs.existsSync(dir)) throw new CheckpointError(dir, 'no such folder');
  if (!fs.statSync(dir).isDirectory()) return dir;
  const found = weightFileCandidates(path.join(dir, path.sep)).find((candidate) => fs.existsSync(candidate));
  if (found !== undefined) return found;
  throw new CheckpointError(
    dir,
    `no weights found: ${noWeightFileDetail('')}` +
      (fs.existsSync(path.join(dir, UNET_FOLDER)) ? ` (this looks like a pipeline folder: try ${path.join(dir, UNET_FOLDER)})` : ''),
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

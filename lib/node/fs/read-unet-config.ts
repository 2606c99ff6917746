import { MAX_JSON_BYTES, parseJsonObject } from '../../loading/model-source';
import { parseUNet2DConfig, UNet2DConfig } from '../../models/unet/config';
import { readModelFile } from './fs-model-source';

/**
 * Reads and parses a diffusers `config.json`.
 *
 * ```ts
 * const config = readUNet2DConfig('ddpm-cifar10-32/unet/config.json');
 * ```
 */
export function readUNet2DConfig(file: string): UNet2DConfig {
  return parseUNet2DConfig(parseJsonObject(readModelFile(file, MAX_JSON_BYTES), file), file);
}

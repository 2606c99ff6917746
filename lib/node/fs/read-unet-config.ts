import * as fs from 'fs';
import { parseUNet2DConfig, UNet2DConfig } from '../../models/unet/config';

/**
 * Reads and parses a diffusers `config.json`.
 *
 * ```ts
 * const config = readUNet2DConfig('ddpm-cifar10-32/unet/config.json');
 * ```
 */
export function readUNet2DConfig(file: string): UNet2DConfig {
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: cannot read the UNet config: ${(err as Error).message}`);
  }
  return parseUNet2DConfig(json, file);
}

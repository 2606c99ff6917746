import { ConfigError } from '../../config/config-error';
import { MAX_JSON_FILE_BYTES } from '../../io/reader-limits';
import { readRegularFile } from './read-file';
import { parseUNet2DConfigText, ParseUNet2DConfigOptions, UNet2DConfig } from '../../models/unet/config';

/**
 * Reads and parses a diffusers `config.json` (Node only; the parsing itself is the pure
 * {@link parseUNet2DConfigText}). A file that cannot be read is a {@link ConfigError} naming it.
 *
 * ```ts
 * const config = readUNet2DConfig('ddpm-cifar10-32/unet/config.json');
 * ```
 */
export function readUNet2DConfig(file: string, options: ParseUNet2DConfigOptions = {}): UNet2DConfig {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(readRegularFile(file, { maxBytes: MAX_JSON_FILE_BYTES }));
  } catch (err) {
    const reason = (err as Error).message.replace(`${file}: `, ''); // FileReadError names the file already
    throw new ConfigError(file, null, `cannot read the UNet config: ${reason}`);
  }
  return parseUNet2DConfigText(text, file, options);
}

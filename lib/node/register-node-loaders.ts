import { createHash } from 'crypto';
import { registerPlatformLoaders } from '../loading/platform-loaders';
import { fileSystemHandler } from './fs/tfjs-fs-handler';
import { openModelSource } from './open-model-source';
import { decodePng, encodePng } from './png';

/**
 * Plugs the Node implementations into the core's platform services: folders, `file:` URLs and Hub ids for
 * `fromPretrained`, model folders for `UNet2DModel.save`, pngjs for `outputType: 'png'` and for the pixel digest of `readProvenance`, OpenSSL's sha256 for content hashes. Imported for its effect by
 * the Node entry.
 */
registerPlatformLoaders({
  openModelSource,
  unetSaveHandler: (dir, options) => fileSystemHandler(dir, { force: options.force }),
  encodePng,
  decodePngPixels: (png) => decodePng(png).data,
  createSha256: () => {
    const hash = createHash('sha256');
    return { update: (data) => void hash.update(data), hex: () => hash.digest('hex') };
  },
});

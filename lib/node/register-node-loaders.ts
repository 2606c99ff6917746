import { registerPlatformLoaders } from '../loading/platform-loaders';
import { fileSystemHandler } from './fs/tfjs-fs-handler';
import { openModelSource } from './open-model-source';
import { decodePng, encodePng } from './png';

/**
 * Plugs the Node implementations into the core's platform services: folders, `file:` URLs and Hub ids for
 * `fromPretrained`, model folders for `UNet2DModel.save`, pngjs for `outputType: 'png'` and for the pixel digest of `readProvenance`. Imported for its effect by
 * the Node entry.
 */
registerPlatformLoaders({
  openModelSource,
  unetSaveHandler: (dir, options) => fileSystemHandler(dir, { force: options.force }),
  encodePng,
  decodePngPixels: (png) => decodePng(png).data,
});

import { registerPlatformLoaders } from '../loading/platform-loaders';
import { loadUNetFromFolder } from './fs/load-unet';
import { fileSystemHandler } from './fs/tfjs-fs-handler';
import { loadPipelineComponents } from './load-pipeline';
import { encodePng } from './png';

/**
 * Plugs the Node implementations into the core's platform services: folders and Hub ids for `fromPretrained`, model
 * folders for `UNet2DModel.save`, pngjs for `outputType: 'png'`. Imported for its effect by the Node entry.
 */
registerPlatformLoaders({
  loadPipelineComponents,
  loadUNet: loadUNetFromFolder,
  unetSaveHandler: (dir, options) => fileSystemHandler(dir, { force: options.force }),
  encodePng,
});

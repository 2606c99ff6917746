import type * as tf from '@tensorflow/tfjs-core';
import type { ImagesNHWC } from '../pipelines/image-bytes';
import type { UNet2DModel, UNet2DSaveOptions } from '../models/unet/unet-2d-model';
import type { LoadedPipelineComponents, LoadPipelineOptions } from './load-options';

/**
 * The services `fromPretrained`, `save` and `outputType: 'png'` need from the platform: the one place where the
 * Node/browser split is decided at run time (as `package.json`'s `browser` field decides it at build time). The
 * browser entry leaves them unset; the Node entry (lib/index.ts) registers the disk, Hub and PNG implementations of
 * lib/node/ on import. Core code asks for a service by name and gets a clear error where the platform has none.
 */
export interface PlatformLoaders {
  /** `DDIMPipeline.fromPretrained`: a pipeline's UNet and scheduler config from a folder or a Hub id. */
  loadPipelineComponents(location: string, options: LoadPipelineOptions): Promise<LoadedPipelineComponents>;
  /** `UNet2DModel.fromPretrained`: a UNet from a folder (diffusers, pipeline or converted). */
  loadUNet(location: string): Promise<UNet2DModel>;
  /** `UNet2DModel.save(dir)`: the tfjs IO handler that writes a converted model folder. */
  unetSaveHandler(dir: string, options: UNet2DSaveOptions): tf.io.IOHandler;
  /** `outputType: 'png'`: PNG bytes for NHWC float images. */
  encodePng(images: ImagesNHWC): Uint8Array;
}

const registered: Partial<PlatformLoaders> = {};

/** Registers platform services (the Node entry does this on import). Later registrations replace earlier ones. */
export function registerPlatformLoaders(loaders: Partial<PlatformLoaders>): void {
  Object.assign(registered, loaders);
}

const BROWSER_HINT: Record<keyof PlatformLoaders, string> = {
  loadPipelineComponents: 'in a browser, load a converted pipeline with loadPipelineFromUrl(url)',
  loadUNet: 'in a browser, load a converted UNet with loadUNetFromUrl(modelJsonUrl)',
  unetSaveHandler: 'in a browser, pass a tf.io handler (e.g. tf.io.browserDownloads()) to unet.model.save',
  encodePng: "in a browser, take outputType 'array' or 'tensor' and draw it on a canvas",
};

/**
 * The registered service `name`, or an error that says what to use instead on this platform.
 *
 * ```ts
 * const unet = await platformLoader('loadUNet')('models/tiny-random/unet');
 * ```
 */
export function platformLoader<K extends keyof PlatformLoaders>(name: K): PlatformLoaders[K] {
  const loader = registered[name];
  if (loader === undefined) {
    throw new Error(`${name} is available from the Node entry of tfjs-diffusers only (files, the Hub cache, PNG files); ${BROWSER_HINT[name]}`);
  }
  return loader as PlatformLoaders[K];
}

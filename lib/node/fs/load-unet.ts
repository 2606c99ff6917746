import * as fs from 'fs';
import * as path from 'path';
import type * as tf from '@tensorflow/tfjs-core';
import { UNet2DModel } from '../../models/unet/unet-2d-model';
import { readStateDict } from './read-state-dict';
import { readUNet2DConfig } from './read-unet-2d-config';
import { fileSystemHandler, MODEL_JSON } from './tfjs-fs-handler';

/**
 * `UNet2DModel.fromPretrained` on disk: a diffusers model folder (`config.json` + `diffusion_pytorch_model.safetensors`
 * or `.bin`), a diffusers pipeline folder (its `unet/`), or a folder written by `save` / `convert` (`model.json` +
 * weight shards).
 *
 * ```ts
 * const unet = await loadUNetFromFolder('models/ddpm-cifar10-32-tfjs');
 * ```
 */
export async function loadUNetFromFolder(dir: string): Promise<UNet2DModel> {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new Error(`UNet2DModel.fromPretrained: ${dir} is not a folder`);
  }
  if (fs.existsSync(path.join(dir, MODEL_JSON))) {
    const artifacts = await (fileSystemHandler(dir).load as () => Promise<tf.io.ModelArtifacts>)();
    return UNet2DModel.fromModelArtifacts(artifacts, path.join(dir, MODEL_JSON));
  }
  if (fs.existsSync(path.join(dir, 'config.json'))) {
    const unet = UNet2DModel.fromConfig(readUNet2DConfig(path.join(dir, 'config.json')));
    try {
      unet.loadStateDict(readStateDict(dir), dir);
    } catch (err) {
      unet.dispose();
      throw err;
    }
    return unet;
  }
  const unetDir = path.join(dir, 'unet');
  if (fs.existsSync(unetDir) && fs.statSync(unetDir).isDirectory()) return loadUNetFromFolder(unetDir);
  throw new Error(
    `UNet2DModel.fromPretrained: ${dir} holds neither ${MODEL_JSON} (a converted tfjs model), config.json (a diffusers ` +
      `model folder) nor unet/ (a diffusers pipeline folder)`,
  );
}

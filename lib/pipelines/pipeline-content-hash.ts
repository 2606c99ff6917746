import type * as tf from '@tensorflow/tfjs-core';
import { createSha256 } from '../loading/platform-loaders';
import type { Scheduler } from '../schedulers/scheduler';

/** What {@link pipelineContentHash} reads: a pipeline, or a UNet2DModel and the scheduler the pipeline runs. */
interface HashedPipeline {
  unet: object;
  scheduler: Pick<Scheduler, 'toDiffusersConfig'>;
}

/**
 * A content hash of a loaded pipeline, the model identity in provenance records and manifests: sha256 over the UNet's
 * float32 weights (in the model's weight order, each preceded by its name and shape) and the scheduler's diffusers
 * config. The same model gives the same hash whether it came from the Hub, a diffusers folder, a converted one or a
 * URL in a page, on any backend; any changed weight or scheduler setting changes it.
 *
 * A weight's name is the one its layer gave it (tfjs-layers' `originalName`): tfjs-layers appends `_1`, `_2`, … to
 * the names of a model loaded again in the same process or page, which must not change the model's identity.
 * Incremental ({@link createSha256}: OpenSSL's in Node, ~0.1 s for google/ddpm-cifar10-32's 143 MB on one core;
 * @noble/hashes' in a page, ~1 s): no copy of the weights is made.
 *
 * ```ts
 * const pipeline = await DDIMPipeline.fromPretrained(EMBEDDED_MODEL);
 * await pipelineContentHash(pipeline); // 'sha256:75d788d0…'
 * ```
 */
export async function pipelineContentHash(pipeline: HashedPipeline): Promise<string> {
  const hash = createSha256();
  const encoder = new TextEncoder();
  const unet = pipeline.unet as { model?: { weights?: { name: string; originalName?: string; read(): tf.Tensor }[] } };
  const weights = unet.model?.weights;
  if (weights === undefined) throw new Error('pipelineContentHash: the pipeline\'s UNet exposes no weights (not a UNet2DModel)');
  for (const weight of weights) {
    const value = weight.read();
    hash.update(encoder.encode(`${weight.originalName ?? weight.name}[${value.shape.join(',')}]:${value.dtype}\n`));
    // Read asynchronously: a GPU backend (webgl, webgpu) has no synchronous read without OffscreenCanvas.
    const data = (await value.data()) as Float32Array;
    hash.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  hash.update(encoder.encode(JSON.stringify(pipeline.scheduler.toDiffusersConfig())));
  return `sha256:${hash.hex()}`;
}

import { ProvenanceFields, stampProvenance } from '../../pipelines/image-provenance';
import type { UNet2DPipeline } from '../../pipelines/unet2d-pipeline';
import { decodePng } from '../png';
import { cpuIsa, kernelPath, libraryVersion } from './run-environment';

/**
 * The provenance stamp of one `generate` run (the model hash computed once by the caller): returns a function
 * that adds the provenance chunk to one seed's PNG.
 */
export function provenanceStamper(
  pipeline: UNet2DPipeline,
  settings: { model: string; modelHash: string; steps: number; eta: number; batch: number; backend: string; env: Record<string, string | undefined> },
): (seed: bigint, png: Uint8Array) => Uint8Array {
  let fixed: Omit<ProvenanceFields, 'seed'> | undefined;
  return (seed, png) => {
    fixed ??= {
      steps: settings.steps,
      eta: settings.eta,
      batch: settings.batch,
      pipeline: pipeline.pipelineName,
      scheduler: pipeline.scheduler.toDiffusersConfig(),
      model: settings.model,
      modelHash: settings.modelHash,
      library: libraryVersion(),
      backend: settings.backend,
      kernelPath: kernelPath(settings.backend),
      cpuIsa: cpuIsa(),
    };
    // The pixel digest over what the PNG decodes to, decoded here (pngjs) rather than trusted from the encoder.
    return stampProvenance(png, { seed: seed.toString(), ...fixed }, decodePng(png).data);
  };
}


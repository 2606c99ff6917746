import type { UNet2DPipeline } from '../../pipelines/unet2d-pipeline';
import { checkGenerateMemory, MemoryBudgetError } from '../../pipelines/memory-estimate';
import { UsageError } from '../usage-error';

/**
 * `--seeds-per-forward K`: K samples share one UNet forward, so K is capped by the memory one forward needs
 * (lib/pipelines/memory-estimate.ts); over the cap, a {@link UsageError} (exit 2) that says how many fit, before
 * anything is allocated (`--seeds-per-forward 300000` used to reach 4.5 GB and fail with a bare allocation error).
 */
export function checkSeedsPerForward(seedsPerForward: number, pipeline: UNet2DPipeline): void {
  if (seedsPerForward <= 1) return;
  const [, , height, width] = pipeline.noiseShapeNCHW(1);
  try {
    checkGenerateMemory(pipeline.unet.config as Parameters<typeof checkGenerateMemory>[0], { height, width, batchSize: seedsPerForward, samplesPerForward: seedsPerForward }, `--seeds-per-forward ${seedsPerForward}`);
  } catch (err) {
    if (err instanceof MemoryBudgetError) throw new UsageError(err.message);
    throw err;
  }
}

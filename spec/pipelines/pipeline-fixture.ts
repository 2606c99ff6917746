import type { DDIMPipeline, GenerateOptions } from '../../lib/pipelines/ddim-pipeline';
import { Generator } from '../../lib/random/generator';
import { FixtureArray, loadFixture } from '../helpers/fixtures';

/** One `cases[]` entry of spec/fixtures/pipeline.json. */
export interface PipelineCase {
  id: string;
  generator_seed?: number;
  generator_seeds?: number[];
  num_inference_steps: number;
  eta: number;
  batch_size: number;
  timesteps: number[];
  image_abs_sum: number;
  /** float64 sum of the float32 images (they are ≥ 0, so also the float64 abs-sum). */
  image_sum: number;
  images: FixtureArray & { shape: [number, number, number, number] };
  conditioning: {
    max_abs_diff_vs_float64_evaluation: number;
    mean_abs_diff_vs_float64_evaluation: number;
    ill_conditioned: boolean;
  };
  trace?: { t: number; model_output: FixtureArray; pred_original_sample: FixtureArray; prev_sample: FixtureArray }[];
}

export interface PipelineFixture {
  scheduler_config: Record<string, unknown>;
  cases: PipelineCase[];
}

export const pipelineFixture = (): PipelineFixture => loadFixture<PipelineFixture>('pipeline.json');

export const pipelineCase = (id: string): PipelineCase => {
  const found = pipelineFixture().cases.find((c) => c.id === id);
  if (!found) throw new Error(`pipeline.json has no case ${id}`);
  return found;
};

/** The case's generator(s), freshly seeded: one for the batch, or a list. */
export function caseGenerator(c: PipelineCase): Generator | Generator[] {
  if (c.generator_seeds !== undefined) return c.generator_seeds.map((s) => new Generator().manualSeed(s));
  return new Generator().manualSeed(c.generator_seed ?? 0);
}

/** An NCHW fixture array's values in NHWC order (for comparing with the pipeline's NHWC tensors). */
export function nchwToNhwcValues(a: FixtureArray): Float32Array {
  const [n, c, h, w] = a.shape;
  const out = new Float32Array(a.data.length);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) out[((b * h + y) * w + x) * c + ch] = a.data[((b * c + ch) * h + y) * w + x];
  return out;
}

/**
 * Runs fixture case `c` on `pipeline` as diffusers' reference run did (batch size, the case's generator(s), eta,
 * steps), images as arrays; `extra` adds options under test (forward chunking, a step callback).
 */
export function generateCase(pipeline: DDIMPipeline, c: PipelineCase, extra: Pick<GenerateOptions, 'maxBatchPerForward' | 'onStep'> = {}) {
  return pipeline.generate({
    batchSize: c.batch_size,
    generator: caseGenerator(c),
    eta: c.eta,
    numInferenceSteps: c.num_inference_steps,
    outputType: 'array',
    ...extra,
  });
}

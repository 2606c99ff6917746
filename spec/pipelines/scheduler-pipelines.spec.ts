// Issue 20's pipeline acceptance, for every scheduler of the issue (spec/fixtures/scheduler_pipelines.json, written by
// scripts/fixtures/make_scheduler_pipelines.py with diffusers 0.30.3 on the tiny random UNet): DDPMPipeline with the
// scheduler equals
//   - diffusers' own DDPMPipeline where that runs and is correct (DDPM, DDIM, the DPM-Solvers: init_noise_sigma 1 and
//     an identity scale_model_input, so its loop is the right one), and
//   - everywhere, the loop written in Python with diffusers' schedulers that multiplies the noise by
//     init_noise_sigma, calls scale_model_input and passes the generator only to a step that takes one (where
//     diffusers' pipeline raises TypeError: PNDM, UniPC, DEIS, Heun, LMS, KDPM2; or is wrong: Euler, KDPM2 ancestral).
// A case whose scheduler is not registered (lib/schedulers/all-schedulers.ts) is reported as not run, by name.
import { UNet2DModel } from '../../lib/models/unet/unet-2d-model';
import { DDPMPipeline } from '../../lib/pipelines/ddpm-pipeline';
import { Generator } from '../../lib/random/generator';
import { hasScheduler, schedulerClass } from '../../lib/schedulers/registry';
import { describeEachBackend, TestBackend } from '../helpers/backends';
import { FixtureArray, fixturePath, loadFixture, maxAbsDiff } from '../helpers/fixtures';
import { MARGIN, MEASURED_SCHEDULER_PIPELINE, reportParity } from '../helpers/tolerances';

interface SchedulerPipelineCase {
  id: string;
  scheduler: string;
  overrides: Record<string, unknown>;
  scheduler_config: Record<string, unknown>;
  num_inference_steps: number;
  batch_size: number;
  generator_seed: number | number[];
  step_takes_generator: boolean;
  init_noise_sigma: number;
  unet_evaluations: number;
  loop: { images: FixtureArray; image_abs_sum: number };
  pipeline: { images?: FixtureArray; equals_loop?: boolean; error?: string };
}

/**
 * The pure-JS cpu backend is slow (minutes for these cases on a loaded machine): it runs a noise-drawing first-order
 * case and a second-order one; wasm and wasm+native run every case.
 */
const CPU_CASES = new Set(['ddpm_s10_b2', 'heun_s4_b1']);
const TEST_TIMEOUT_MS = 600_000;

const fixture = loadFixture<{ base_scheduler_config: Record<string, unknown>; cases: SchedulerPipelineCase[] }>('scheduler_pipelines.json');

function generatorOf(seed: number | number[]): Generator | Generator[] {
  return Array.isArray(seed) ? seed.map((s) => new Generator().manualSeed(s)) : new Generator().manualSeed(seed);
}

/** MARGIN × the measured error of a case; a case without a figure fails, printing what it measured here. */
function boundOf(caseId: string, backend: TestBackend, measured: number): number {
  const figure = MEASURED_SCHEDULER_PIPELINE[caseId]?.[backend];
  if (figure === undefined) {
    throw new Error(
      `spec/helpers/tolerances.ts has no measured error for scheduler pipeline case ${caseId} on ${backend} ` +
        `(measured here: ${measured.toExponential(2)}): add it to MEASURED_SCHEDULER_PIPELINE`,
    );
  }
  return MARGIN * figure;
}

test('the fixture covers every scheduler of issue 20, and diffusers\' DDPMPipeline fails where the issue says', () => {
  const names = new Set(fixture.cases.map((c) => c.scheduler));
  expect(names.size).toBe(13);
  const failing = fixture.cases.filter((c) => c.pipeline.error !== undefined).map((c) => c.scheduler);
  expect([...new Set(failing)].sort()).toEqual(
    ['DEISMultistepScheduler', 'HeunDiscreteScheduler', 'KDPM2DiscreteScheduler', 'LMSDiscreteScheduler', 'PNDMScheduler', 'UniPCMultistepScheduler'],
  );
  for (const c of fixture.cases.filter((k) => k.pipeline.error !== undefined)) expect(c.pipeline.error).toMatch(/^TypeError: .*generator/);
});

describeEachBackend('DDPMPipeline with every scheduler against diffusers (scheduler_pipelines.json)', (_tf, backend) => {
  let unet: UNet2DModel;
  beforeAll(async () => {
    unet = await UNet2DModel.fromPretrained(fixturePath('tiny-unet'));
  });
  afterAll(() => unet?.dispose());

  for (const c of fixture.cases.filter((k) => backend !== 'cpu' || CPU_CASES.has(k.id))) {
    const title =
      `${c.id}: ${c.scheduler} ${JSON.stringify(c.overrides)}, ${c.num_inference_steps} steps, batch ${c.batch_size}` +
      (c.pipeline.equals_loop ? ", equals diffusers' DDPMPipeline" : c.pipeline.error ? " (diffusers' DDPMPipeline raises TypeError)" : " (diffusers' DDPMPipeline skips scale_model_input)");
    if (!hasScheduler(c.scheduler)) {
      test.skip(`${title} — not run: ${c.scheduler} is not registered in lib/schedulers/all-schedulers.ts`, () => {});
      continue;
    }
    test(title, async () => {
      const scheduler = schedulerClass(c.scheduler).fromConfig({ ...fixture.base_scheduler_config, ...c.overrides });
      expect(scheduler.stepTakesGenerator).toBe(c.step_takes_generator);
      expect(scheduler.initNoiseSigma).toBeCloseTo(c.init_noise_sigma, 3);
      const pipeline = new DDPMPipeline({ unet, scheduler });
      const steps: number[] = [];
      const { images } = await pipeline.generate({
        batchSize: c.batch_size,
        generator: generatorOf(c.generator_seed),
        numInferenceSteps: c.num_inference_steps,
        outputType: 'array',
        onStep: ({ step, numSteps }) => void steps.push(step, numSteps),
      });
      // Progress counts UNet evaluations (Heun, KDPM2: two per step; PNDM's Runge–Kutta warm-up: more).
      expect(steps.length / 2).toBe(c.unet_evaluations);
      expect(steps[steps.length - 1]).toBe(c.unet_evaluations);
      expect(images.shape).toEqual(c.loop.images.shape);
      const error = maxAbsDiff(images.data, c.loop.images.data);
      const bound = boundOf(c.id, backend, error);
      reportParity(`scheduler pipeline ${c.id}`, backend, error, bound);
      expect(error).toBeLessThanOrEqual(bound);
      if (c.pipeline.images && c.pipeline.equals_loop) expect(maxAbsDiff(images.data, c.pipeline.images.data)).toBe(error);
    }, TEST_TIMEOUT_MS);
  }
});

// Sensitivity ("mutation") tests: the per-element parity bounds of spec/helpers/tolerances.ts must catch a model that
// is slightly wrong, not only the abs-sum checks. Three mutations, each on every backend the suite runs in Node:
// - GroupNorm norm_eps 3e-6 and 1e-5 (torch's GroupNorm default, the likeliest real bug) instead of 1e-6, injected
//   through the model folder's config.json;
// - a structural mistake: the timestep embedding's frequencies divided by `half` instead of `half - freq_shift`
//   (freq_shift ignored), injected in a patched temporary copy of lib/ (lib/ itself has no hooks).
// Each mutated model runs the tiny forward cases (and, where the parity suite runs them, the tiny pipeline cases) and
// must exceed the bound the parity specs use; the unmutated model, through the same harness, must stay within it.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { UNet2DModel } from '../../lib/models/unet/unet-2d-model';
import { DDIMPipeline } from '../../lib/pipelines/ddim-pipeline';
import { describeEachBackend, TestBackend } from '../helpers/backends';
import { fixturePath, maxAbsDiff } from '../helpers/fixtures';
import { recipeStateDict } from '../helpers/recipe-weights';
import type { StateDict } from '../../lib/io/state-dict';
import { FREQ_SHIFT_IGNORED, patchedLibCopy } from '../helpers/patched-lib';
import { parityBound, tinyPipelineBound } from '../helpers/tolerances';
import { fullFixture, nchwValues, nhwcFromFixture, tinyFixture, UNetCase } from '../models/unet/unet-fixture';
import { generateCase, pipelineFixture } from '../pipelines/pipeline-fixture';

/** The tiny model folder with config.json overridden, in a fresh temporary directory. */
function tinyModelWith(overrides: Record<string, unknown>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-diffusers-mutant-'));
  const config = JSON.parse(fs.readFileSync(fixturePath('tiny-unet', 'config.json'), 'utf8'));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config, ...overrides }));
  fs.copyFileSync(fixturePath('tiny-unet', 'diffusion_pytorch_model.safetensors'), path.join(dir, 'diffusion_pytorch_model.safetensors'));
  return dir;
}

/** Worst max-abs error of a model over forward cases (default: the tiny model's), per case. */
async function forwardErrors(unet: UNet2DModel, cases: UNetCase[] = tinyFixture().cases): Promise<Record<string, number>> {
  const errors: Record<string, number> = {};
  for (const c of cases) {
    const sample = nhwcFromFixture(c.sample);
    const out = unet.predict(sample, c.timestep);
    errors[c.id] = maxAbsDiff(await nchwValues(out), c.output.data);
    tf.dispose([sample, out]);
  }
  return errors;
}

/**
 * Pipeline cases rerun with each mutation, for the report (a 2-step and the 10-step deterministic case, whose bound is
 * the loosest): on wasm and wasm+native only, as the pure-JS cpu backend takes a minute for them; the forward cases,
 * which every backend runs, are what the assertions rest on.
 */
const SENSITIVITY_PIPELINE_CASES = new Set(['tiny_s2_eta0_b1_seed0', 'tiny_s10_eta0_b1_seed0']);

/** For each pipeline case: how far the images land from PyTorch's, and the bound the parity spec holds them to. */
async function pipelineErrors(unet: UNet2DModel, label: TestBackend): Promise<Record<string, { error: number; bound: number }>> {
  const pipeline = new DDIMPipeline({ unet, scheduler: pipelineFixture().scheduler_config });
  const out: Record<string, { error: number; bound: number }> = {};
  if (label === 'cpu') return out;
  for (const c of pipelineFixture().cases.filter((k) => SENSITIVITY_PIPELINE_CASES.has(k.id))) {
    const { images } = await generateCase(pipeline, c);
    out[c.id] = { error: maxAbsDiff(images.data, c.images.data), bound: tinyPipelineBound(c.id, label) };
  }
  return out;
}

function report(what: string, label: TestBackend, forward: Record<string, number>, bound: number, pipeline?: Record<string, { error: number; bound: number }>): void {
  const caught = Object.entries(forward).filter(([, e]) => e > bound).map(([id, e]) => `${id} ${e.toExponential(2)}`);
  const pipelineCaught = Object.entries(pipeline ?? {}).filter(([, r]) => r.error > r.bound).map(([id, r]) => `${id} ${r.error.toExponential(2)} > ${r.bound.toExponential(2)}`);
  console.log(
    `sensitivity: ${what} [${label}] forward bound ${bound.toExponential(2)}; caught by forward cases: ${caught.join(', ') || 'none'}` +
      (pipeline ? `; by pipeline cases: ${pipelineCaught.join(', ') || 'none'}` : ''),
  );
}

describeEachBackend('sensitivity: the parity bounds catch small model mistakes', (_tfBackend, label) => {
  const bound = () => parityBound('tinyForward', label);
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  test('control: the unmutated model through the same harness stays within the bounds', async () => {
    const unet = await UNet2DModel.fromPretrained(fixturePath('tiny-unet'));
    const forward = await forwardErrors(unet);
    unet.dispose();
    expect(Math.max(...Object.values(forward))).toBeLessThanOrEqual(bound());
  });

  for (const normEps of [3e-6, 1e-5]) {
    test(`GroupNorm norm_eps ${normEps} instead of 1e-6 (config override) fails the per-element bounds`, async () => {
      const dir = tinyModelWith({ norm_eps: normEps });
      dirs.push(dir);
      const unet = await UNet2DModel.fromPretrained(dir);
      expect(unet.config.normEps).toBe(normEps);
      const forward = await forwardErrors(unet);
      const pipeline = await pipelineErrors(unet, label);
      unet.dispose();
      report(`norm_eps ${normEps}`, label, forward, bound(), label === 'cpu' ? undefined : pipeline);
      // The tiny forward parity test (unet-2d-model.spec.ts) fails: its worst case exceeds the bound; so do the
      // per-element image checks of ddim-pipeline.spec.ts (no abs-sum needed).
      expect(Math.max(...Object.values(forward))).toBeGreaterThan(bound());
      if (label !== 'cpu') expect(Object.values(pipeline).every((r) => r.error > r.bound)).toBe(true);
    });
  }

  test('structural: the timestep frequencies ignore freq_shift (patched copy of lib/) fails the per-element bounds', async () => {
    const copy = patchedLibCopy(FREQ_SHIFT_IGNORED);
    dirs.push(copy);
    // The copy's own platform registry, filled as jest's setupFiles fills lib/'s (else fromPretrained cannot read a folder).
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a patched copy of lib/ at a path made at run time
    require(path.join(copy, 'node', 'register-node-loaders'));
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the same patched copy
    const mutant = require(path.join(copy, 'models', 'unet', 'unet-2d-model')) as typeof import('../../lib/models/unet/unet-2d-model');
    const unet = await mutant.UNet2DModel.fromPretrained(fixturePath('tiny-unet'));
    const forward = await forwardErrors(unet);
    const pipeline = await pipelineErrors(unet, label);
    unet.dispose();
    report('freq_shift ignored', label, forward, bound(), label === 'cpu' ? undefined : pipeline);
    expect(Math.max(...Object.values(forward))).toBeGreaterThan(bound());
    if (label !== 'cpu') expect(Object.values(pipeline).every((r) => r.error > r.bound)).toBe(true);
  });
});

/**
 * Full size (unet_full.json: 128–256 channels, where wasm+native runs its Winograd convolutions): the fullForward bound
 * catches norm_eps 1e-5 (torch's GroupNorm default) on every forward case. norm_eps 3e-6 moves the full-size output by
 * 1.4–2.0e-5, within 5× the measured error of every backend, so only the tiny model's bounds above catch it; this
 * block measures and prints it (with TFJS_DIFFUSERS_SENSITIVITY_EPS3=1) rather than asserting it. Not on cpu: a
 * full-size forward takes ~10 s there.
 */
describeEachBackend('sensitivity at full size: the fullForward bound catches norm_eps 1e-5', (_tfBackend, label) => {
  const fixture = fullFixture();
  let weights: StateDict | undefined;
  const errors = async (normEps: number): Promise<number[]> => {
    weights ??= recipeStateDict(fixture.state_dict_keys, fixture.weights_seed);
    const unet = UNet2DModel.fromConfig({ ...fixture.config, norm_eps: normEps });
    try {
      unet.loadStateDict(weights, 'recipe weights');
      return Object.values(await forwardErrors(unet, fixture.cases));
    } finally {
      unet.dispose();
    }
  };

  test('control within, norm_eps 1e-5 beyond the bound on every case', async () => {
    const bound = parityBound('fullForward', label);
    const control = await errors(1e-6);
    // norm_eps 3e-6 is measured only on request (TFJS_DIFFUSERS_SENSITIVITY_EPS3=1): it is not asserted, and its
    // forwards took a third of this suite's time.
    const eps3 = process.env.TFJS_DIFFUSERS_SENSITIVITY_EPS3 === '1' ? await errors(3e-6) : undefined;
    const eps10 = await errors(1e-5);
    console.log(
      `sensitivity: full size [${label}] bound ${bound.toExponential(2)}; control ${control.map((e) => e.toExponential(2)).join(' ')}; ` +
        `${eps3 ? `norm_eps 3e-6 ${eps3.map((e) => e.toExponential(2)).join(' ')} (not asserted); ` : ''}norm_eps 1e-5 ${eps10.map((e) => e.toExponential(2)).join(' ')}`,
    );
    expect(Math.max(...control)).toBeLessThanOrEqual(bound);
    expect(Math.min(...eps10)).toBeGreaterThan(bound);
  });
}, ['wasm', 'wasm+native']);

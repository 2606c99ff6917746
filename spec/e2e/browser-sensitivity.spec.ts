// Sensitivity ("mutation") tests in the browser: the per-element bounds of the browser e2e (spec/helpers/tolerances.ts,
// used by spec/e2e/browser.spec.ts) must catch a model that is slightly wrong, on webgl and on wasm in headless
// Chromium. The mutations are those of the Node sensitivity spec (spec/parity/sensitivity.spec.ts):
// - GroupNorm norm_eps 3e-6 and 1e-5 (torch's GroupNorm default) instead of 1e-6, injected through the config in a
//   copy of models/tiny-random whose unet/model.json metadata says so (the page loads it like any converted model);
// - a structural mistake: the timestep frequencies ignore freq_shift, injected in a patched temporary copy of lib/
//   bundled by scripts/build-browser.js into a temporary browser bundle (lib/ itself has no hooks).
// Each variant runs, through the same harness, the browser e2e's checks: the tiny UNet forward cases and the demo's
// pipeline cases against PyTorch, and the pipeline's abs-sum. The unmutated library and model (a bundle built the same
// way from lib/) must stay within every bound; each mutant must exceed the forward bound on every backend.
import { describeNotRun } from '../helpers/not-run';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Page } from 'playwright-core';
import type * as BrowserLib from '../../lib/browser';
import { imageAbsSum } from '../../lib/pipelines/image-abs-sum';
import { maxAbsDiff } from '../helpers/fixtures';
import { FREQ_SHIFT_IGNORED, patchedLibCopy } from '../helpers/patched-lib';
import { startStaticServer, type StaticServer } from '../../test-support/static-server';
import {
  browserAbsSumBound,
  browserForwardBound,
  browserPipelineBound,
  MEASURED_BROWSER_PIPELINE,
  type BrowserBackend,
} from '../helpers/tolerances';
import { tinyFixture } from '../models/unet/unet-fixture';
import { pipelineCase } from '../pipelines/pipeline-fixture';
import { chromiumMissingReason, launchChromium, type LaunchedChromium } from '../../test-support/chromium';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- scripts/build-browser.js is CommonJS without types
const { buildBrowserBundle } = require('../../scripts/build-browser.js') as {
  buildBrowserBundle(options: { lib: string; outDir: string }): Promise<{ outFile: string }>;
};

const ROOT = path.join(__dirname, '..', '..');
const BACKENDS: BrowserBackend[] = ['webgl', 'wasm'];
/** The browser e2e's pipeline cases: those tolerances.ts has browser figures for. */
const PIPELINE_CASES = Object.keys(MEASURED_BROWSER_PIPELINE).map(pipelineCase);

/** A library bundle and a model folder, as the page sees them. */
interface Variant {
  name: string;
  bundle: 'control' | 'mutant';
  model: string;
  /** The GroupNorm epsilon the loaded UNet must report (proves the config override took effect). */
  normEps: number;
}
const CONTROL: Variant = { name: 'control (unmutated)', bundle: 'control', model: 'tiny-random', normEps: 1e-6 };
const NORM_EPS_MUTANTS = [3e-6, 1e-5];
const normEpsVariant = (eps: number): Variant => ({
  name: `GroupNorm norm_eps ${eps} (config)`,
  bundle: 'control',
  model: `tiny-random-norm-eps-${eps}`,
  normEps: eps,
});
const FREQ_SHIFT_VARIANT: Variant = { name: 'freq_shift ignored (patched lib copy)', bundle: 'mutant', model: 'tiny-random', normEps: 1e-6 };

/** What one variant measured on one backend. */
interface Measured {
  forward: Record<string, number>;
  pipeline: Record<string, { error: number; absSum: number }>;
}

type PageWindow = { lib: typeof BrowserLib };

const WORK_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-diffusers-browser-sensitivity-'));
const tempDirs: string[] = [WORK_DIR];
let server: StaticServer;
let browser: LaunchedChromium;
const pages: Partial<Record<Variant['bundle'], Page>> = {};
const report: string[] = [];

/** A copy of models/tiny-random whose UNet config (model.json metadata) has `norm_eps` = `eps`. */
function writeNormEpsModel(modelsDir: string, eps: number): void {
  const dir = path.join(modelsDir, `tiny-random-norm-eps-${eps}`);
  fs.cpSync(path.join(ROOT, 'models', 'tiny-random'), dir, { recursive: true });
  const modelJson = path.join(dir, 'unet', 'model.json');
  const model = JSON.parse(fs.readFileSync(modelJson, 'utf8'));
  model.userDefinedMetadata.diffusers.config.norm_eps = eps;
  fs.writeFileSync(modelJson, JSON.stringify(model));
}

/** The page beside a bundle: it imports the bundle as `window.lib`. */
const PAGE_HTML = `<!doctype html><meta charset="utf-8"><title>browser sensitivity</title>
<script type="module">import * as lib from './tfjs-diffusers.esm.js'; window.lib = lib;</script>
`;

/** Opens the page of a bundle and waits for its library. */
async function openPage(bundle: Variant['bundle']): Promise<Page> {
  const page = await browser.context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(`${server.origin}/${bundle}/index.html`);
  await page.waitForFunction(() => (window as unknown as PageWindow).lib !== undefined, undefined, { timeout: 30000 }).catch(() => {
    throw new Error(`the ${bundle} bundle did not load: ${errors.join('; ') || 'no page error reported'}`);
  });
  return page;
}

/** Runs the browser e2e's checks of one variant on one backend, in the page of its bundle. */
async function measure(variant: Variant, backend: BrowserBackend): Promise<Measured> {
  const page = pages[variant.bundle]!;
  const forwardCases = tinyFixture().cases;
  const out = await page.evaluate(
    async ({ backend, model, inputs, pipelineCases }) => {
      const { lib } = window as unknown as PageWindow;
      const { tf } = lib;
      await lib.setBackend(backend);
      const pipeline = await lib.loadPipelineFromUrl(`/models/${model}/`);
      const unet = pipeline.unet as BrowserLib.UNet2DModel;
      const forward: number[][] = [];
      for (const c of inputs) {
        const x = tf.transpose(tf.tensor4d(c.data, c.shape as [number, number, number, number]), [0, 2, 3, 1]) as BrowserLib.tf.Tensor4D;
        const eps = unet.predict(x, c.timestep);
        const epsNCHW = tf.transpose(eps, [0, 3, 1, 2]);
        forward.push(Array.from(await epsNCHW.data()));
        tf.dispose([x, eps, epsNCHW]);
      }
      const images: number[][] = [];
      for (const c of pipelineCases) {
        const generated = await pipeline.generate({
          generator: new lib.Generator().manualSeed(c.seed),
          numInferenceSteps: c.steps,
          eta: c.eta,
          batchSize: c.batch,
          outputType: 'array',
        });
        images.push(Array.from(generated.images.data));
      }
      const normEps = unet.config.normEps;
      pipeline.dispose();
      return { forward, images, normEps };
    },
    {
      backend,
      model: variant.model,
      inputs: forwardCases.map((c) => ({ data: c.sample.data, shape: c.sample.shape, timestep: c.timestep })),
      pipelineCases: PIPELINE_CASES.map((c) => ({ seed: c.generator_seed ?? 0, steps: c.num_inference_steps, eta: c.eta, batch: c.batch_size })),
    },
  );
  expect(out.normEps).toBe(variant.normEps);
  const measured: Measured = { forward: {}, pipeline: {} };
  forwardCases.forEach((c, i) => (measured.forward[c.id] = maxAbsDiff(out.forward[i], c.output.data)));
  PIPELINE_CASES.forEach((c, i) => {
    measured.pipeline[c.id] = {
      error: maxAbsDiff(out.images[i], c.images.data),
      absSum: imageAbsSum({ shape: c.images.shape, data: Float32Array.from(out.images[i]) }),
    };
  });
  return measured;
}

/** Which of the browser e2e's checks `m` fails: the forward bound, each pipeline case's bound, each abs-sum bound. */
function caughtBy(m: Measured, backend: BrowserBackend): { forward: string[]; pipeline: string[]; absSum: string[]; line: string } {
  const forward = Object.entries(m.forward).filter(([id, e]) => e > browserForwardBound(id, backend)).map(([id]) => id);
  const pipeline: string[] = [];
  const absSum: string[] = [];
  const perCase = Object.entries(m.forward).map(([id, e]) => `${id} ${e.toExponential(2)} (bound ${browserForwardBound(id, backend).toExponential(2)})`);
  const parts = [`forward ${perCase.join(', ')}`];
  for (const c of PIPELINE_CASES) {
    const { error, absSum: sum } = m.pipeline[c.id];
    const bound = browserPipelineBound(c.id, backend);
    const sumGap = Math.abs(sum - c.image_abs_sum);
    const sumBound = browserAbsSumBound(c.id, c.image_abs_sum, backend);
    if (error > bound) pipeline.push(c.id);
    if (sumGap > sumBound) absSum.push(c.id);
    parts.push(`${c.id} ${error.toExponential(2)} (bound ${bound.toExponential(2)}), abs-sum off by ${sumGap.toExponential(2)} (bound ${sumBound.toExponential(2)})`);
  }
  return { forward, pipeline, absSum, line: parts.join('; ') };
}

/** Every test of this file; they need a Chromium (test-support/chromium.ts says which is used). */
function sensitivityTests(): void {
  beforeAll(async () => {
    const mutantLib = patchedLibCopy(FREQ_SHIFT_IGNORED);
    tempDirs.push(mutantLib);
    // Both bundles built the same way, into temporary folders (dist/browser/ is browser.spec.ts's).
    for (const [bundle, lib] of [['control', path.join(ROOT, 'lib')], ['mutant', mutantLib]] as const) {
      const outDir = path.join(WORK_DIR, bundle);
      await buildBrowserBundle({ lib, outDir });
      fs.writeFileSync(path.join(outDir, 'index.html'), PAGE_HTML);
    }
    fs.rmSync(mutantLib, { recursive: true, force: true });
    const modelsDir = path.join(WORK_DIR, 'models');
    fs.cpSync(path.join(ROOT, 'models', 'tiny-random'), path.join(modelsDir, 'tiny-random'), { recursive: true });
    for (const eps of NORM_EPS_MUTANTS) writeNormEpsModel(modelsDir, eps);
    server = await startStaticServer({
      '/control/': path.join(WORK_DIR, 'control'),
      '/mutant/': path.join(WORK_DIR, 'mutant'),
      '/models/': modelsDir,
    });
    browser = await launchChromium();
    pages.control = await openPage('control');
    pages.mutant = await openPage('mutant');
  }, 120000);

  afterAll(async () => {
    console.log(`browser sensitivity:\n${report.join('\n')}`);
    await browser?.close();
    await server?.close();
    for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  describe.each(BACKENDS)('browser sensitivity [%s]: the browser e2e bounds catch small model mistakes', (backend) => {
    test('control: the unmutated library and model through the same harness stay within every bound', async () => {
      const m = await measure(CONTROL, backend);
      const caught = caughtBy(m, backend);
      report.push(`[${backend}] ${CONTROL.name}: ${caught.line}`);
      expect({ forward: caught.forward, pipeline: caught.pipeline, absSum: caught.absSum }).toEqual({ forward: [], pipeline: [], absSum: [] });
    }, 180000);

    for (const variant of [...NORM_EPS_MUTANTS.map(normEpsVariant), FREQ_SHIFT_VARIANT]) {
      test(`${variant.name} fails the per-element bounds`, async () => {
        const m = await measure(variant, backend);
        const caught = caughtBy(m, backend);
        report.push(
          `[${backend}] ${variant.name}: ${caught.line}; caught by: ` +
            [...caught.forward.map((id) => `forward ${id}`), ...caught.pipeline.map((id) => `pipeline ${id}`), ...caught.absSum.map((id) => `abs-sum ${id}`)]
              .filter(Boolean)
              .join(', '),
        );
        expect(caught.forward.length).toBeGreaterThan(0);
      }, 180000);
    }
  });
}

const chromiumMissing = chromiumMissingReason();
if (chromiumMissing === null) describe('in Chromium', sensitivityTests);
else describeNotRun('browser', chromiumMissing, 'in Chromium', sensitivityTests);

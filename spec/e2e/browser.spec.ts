import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import type { Page } from 'playwright-core';
import type * as BrowserLib from '../../lib/browser';
import { setBackend } from '../../lib/node/backends/set-backend';
import { DDIMPipeline } from '../../lib/pipelines/ddim-pipeline';
import { imageAbsSum } from '../../lib/pipelines/image-abs-sum';
import { Generator } from '../../lib/random/generator';
import { nchwToNhwc } from '../../lib/random/randn-tensor';
import { loadFixture, maxAbsDiff } from '../helpers/fixtures';
import { startStaticServer, type StaticServer } from '../../test-support/static-server';
import { browserAbsSumBound, browserForwardBound, browserPipelineBound } from '../helpers/tolerances';
import { tinyFixture } from '../models/unet/unet-fixture';
import { chromiumMissingReason, launchChromium, type LaunchedChromium } from '../../test-support/chromium';
import { describeNotRun } from '../helpers/not-run';
import { DemoSettings, runDemoForm } from '../helpers/demo-form';

// The library in headless Chromium (Debian's chromium, driven by playwright-core): the demo page examples/web runs
// DDIMPipeline on the embedded models/tiny-random (the fixture's tiny UNet and scheduler config) on webgl and wasm,
// and its images are compared with PyTorch's (spec/fixtures/pipeline.json) and with Node's cpu backend.

const ROOT = path.join(__dirname, '..', '..');
const EMBEDDED_MODEL = path.join(ROOT, 'models', 'tiny-random');

/** Artifacts of this run (screenshot, measured differences), in a fresh temp folder; never committed. */
const ARTIFACTS_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-diffusers-e2e-'));

/** What the demo page puts on `window` (examples/web/main.js). */
interface DemoResult {
  backend: string;
  absSum: number;
  images: { shape: number[]; data: number[] };
  initialNoiseNHWC: { shape: number[]; data: number[] } | null;
  stepMs: number[];
  totalMs: number;
}
interface DemoWindow {
  tfjsDiffusers: typeof BrowserLib;
  demo: { lastResult: DemoResult | null };
}

/** A pipeline.json case the browser runs, with its tolerances. */
interface PipelineCase {
  id: string;
  settings: Omit<DemoSettings, 'backend'>;
}

/**
 * The cases: seed 0 with 2 steps (deterministic DDIM) and 10 steps with η = 1 (fresh noise every step).
 * Both are well conditioned in float32 (pipeline.json `conditioning`: float32 vs float64 of the same math differs by
 * 1.5e-6 at most), so a backend's distance to PyTorch measures the backend, not chaos.
 */
const PIPELINE_CASES: PipelineCase[] = [
  { id: 'tiny_s2_eta0_b1_seed0', settings: { seed: '0', steps: 2, eta: 0, batch: 1 } },
  { id: 'tiny_s10_eta1_b1_seed0', settings: { seed: '0', steps: 10, eta: 1, batch: 1 } },
];

// Tolerances: spec/helpers/tolerances.ts (browserForwardBound, browserPipelineBound, browserAbsSumBound), MARGIN × the
// errors measured here; spec/e2e/browser-sensitivity.spec.ts proves they catch small model mistakes.

let server: StaticServer;
let browser: LaunchedChromium;
let page: Page;
const measured: Record<string, unknown> = {};

/** Node cpu images for a case, computed once (the pure-JS cpu backend takes ~2 s a UNet forward). */
const nodeCpuImages = new Map<string, Float32Array>();
async function nodeCpuImagesFor(c: PipelineCase): Promise<Float32Array> {
  if (!nodeCpuImages.has(c.id)) {
    await setBackend('cpu');
    const pipeline = await DDIMPipeline.fromPretrained(EMBEDDED_MODEL);
    const { images } = await pipeline.generate({
      generator: new Generator().manualSeed(c.settings.seed),
      numInferenceSteps: c.settings.steps,
      eta: c.settings.eta,
      batchSize: c.settings.batch,
      outputType: 'array',
    });
    pipeline.dispose();
    nodeCpuImages.set(c.id, images.data);
  }
  return nodeCpuImages.get(c.id)!;
}

/** Fills the demo's form, presses Generate, and waits for the page to say done (or fail). */
async function generateInPage(settings: DemoSettings): Promise<DemoResult> {
  await page.evaluate(() => void ((window as unknown as DemoWindow).demo.lastResult = null));
  await runDemoForm(page, settings, 90000);
  return page.evaluate(() => (window as unknown as DemoWindow).demo.lastResult!);
}

/** Every browser test; they need a Chromium (spec/e2e/chromium.ts says which is used). */
function browserTests(): void {
  beforeAll(async () => {
    // dist/browser/ is built (when stale) by jest's globalSetup (spec/global-setup.js).
    server = await startStaticServer({
      '/dist/browser/': path.join(ROOT, 'dist', 'browser'),
      '/examples/web/': path.join(ROOT, 'examples', 'web'),
      '/models/': path.join(ROOT, 'models'),
    });
    browser = await launchChromium();
    measured.chromium = browser.source;
    page = await browser.context.newPage();
    // A renderer crash fails every later test with "Target crashed": say once, with what Chromium printed.
    page.on('crash', () => {
      console.error(`Chromium's page crashed (${browser.source}); its last log lines:\n${browser.recentLog()}`);
    });
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(`${server.origin}/examples/web/index.html`);
    await page
      .waitForFunction(() => (window as unknown as DemoWindow).demo !== undefined, undefined, { timeout: 30000 })
      .catch(() => {
        throw new Error(`the demo page did not start: ${pageErrors.join('; ') || 'no page error reported'}`);
      });
  }, 60000);

  afterAll(async () => {
    if (page) {
      await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'demo-page.png'), fullPage: true }).catch(() => undefined);
    }
    fs.writeFileSync(path.join(ARTIFACTS_DIR, 'measured.json'), JSON.stringify(measured, null, 2));
    console.log(`browser e2e artifacts (screenshot, measured differences): ${ARTIFACTS_DIR}\n${JSON.stringify(measured, null, 2)}`);
    await browser?.close();
    await server?.close();
  });

  describe('browser backends in Chromium', () => {
    it('starts webgl on float32 textures, wasm and cpu', async () => {
      const started = await page.evaluate(async () => {
        const lib = (window as unknown as DemoWindow).tfjsDiffusers;
        const out: Record<string, unknown> = {};
        for (const name of ['webgl', 'wasm', 'cpu'] as const) {
          out[name] = await lib.setBackend(name);
          if (name === 'webgl') {
            out.webglFlags = {
              WEBGL_VERSION: lib.tf.env().getNumber('WEBGL_VERSION'),
              WEBGL_RENDER_FLOAT32_ENABLED: lib.tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED'),
              WEBGL_FORCE_F16_TEXTURES: lib.tf.env().getBool('WEBGL_FORCE_F16_TEXTURES'),
              WEBGL_CPU_FORWARD: lib.tf.env().getBool('WEBGL_CPU_FORWARD'),
            };
          }
        }
        return out;
      });
      expect(started).toEqual({
        webgl: 'webgl',
        wasm: 'wasm',
        cpu: 'cpu',
        webglFlags: { WEBGL_VERSION: 2, WEBGL_RENDER_FLOAT32_ENABLED: true, WEBGL_FORCE_F16_TEXTURES: false, WEBGL_CPU_FORWARD: true },
      });
    });

    it('places bit-identical seeded noise on every backend (drawn on the CPU)', async () => {
      const randn = loadFixture('randn.json');
      const single = randn.cases.find((c: { id: string }) => c.id === 'seed0_shape1x3x32x32').outputs[0].data as number[];
      const list = randn.cases.find((c: { kind: string }) => c.kind === 'randn_tensor_generator_list');
      const noise = await page.evaluate(async (listSeeds: string[]) => {
        const lib = (window as unknown as DemoWindow).tfjsDiffusers;
        const out: Record<string, { single: number[]; list: number[] }> = {};
        for (const name of ['cpu', 'wasm', 'webgl'] as const) {
          await lib.setBackend(name);
          const a = lib.randnTensor([1, 3, 32, 32], { generator: new lib.Generator().manualSeed(0) });
          const gens = listSeeds.map((s) => new lib.Generator().manualSeed(s));
          const b = lib.randnTensor([listSeeds.length, 3, 32, 32], { generator: gens });
          // Add 0 on the backend so the values go through a kernel and back, not only upload and download.
          const a0 = lib.tf.add(a, 0);
          out[name] = { single: Array.from(await a0.data()), list: Array.from(await b.data()) };
          lib.tf.dispose([a, b, a0]);
        }
        return out;
      }, list.seeds as string[]);
      for (const name of ['cpu', 'wasm', 'webgl']) {
        // Bit-exact: Array.from(Float32Array) gives the exact doubles the fixture holds.
        expect(noise[name].single).toEqual(single);
        expect(noise[name].list).toEqual(list.output.data);
      }
    });
  });

  describe('the browser bundle', () => {
    it('imports nothing: no module of Node nor any other file is left to resolve', () => {
      const bundle = fs.readFileSync(path.join(ROOT, 'dist', 'browser', 'tfjs-diffusers.esm.js'), 'utf8');
      expect(bundle.match(/^\s*import\b.*$/gm) ?? []).toEqual([]);
      for (const wasm of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) {
        expect(fs.existsSync(path.join(ROOT, 'dist', 'browser', wasm))).toBe(true);
      }
    });

    it('loads the embedded model from code: DDIMPipeline.fromPretrained(EMBEDDED_MODEL), a URL beside the bundle', async () => {
      const c = PIPELINE_CASES[0];
      const result = await page.evaluate(async (settings) => {
        const lib = (window as unknown as DemoWindow).tfjsDiffusers;
        await lib.setBackend('wasm');
        const pipeline = await lib.DDIMPipeline.fromPretrained(lib.EMBEDDED_MODEL);
        const { images } = await pipeline.generate({
          generator: new lib.Generator().manualSeed(settings.seed),
          numInferenceSteps: settings.steps,
          eta: settings.eta,
          outputType: 'array',
        });
        pipeline.dispose();
        return { url: lib.EMBEDDED_MODEL, data: Array.from(images.data) };
      }, c.settings);
      // dist/browser/tfjs-diffusers.esm.js + ../../models/tiny-random/: the package's own models/ folder.
      expect(result.url).toBe(`${server.origin}/models/tiny-random/`);
      const diff = maxAbsDiff(Float32Array.from(result.data), await nodeCpuImagesFor(c));
      measured.embeddedModelFromCode = diff;
      expect(diff).toBeLessThanOrEqual(browserPipelineBound(c.id, 'wasm'));
    });

    it('fails with a clear message when a page calls a Node-only method', async () => {
      const message = await page.evaluate(async () => {
        const lib = (window as unknown as DemoWindow).tfjsDiffusers;
        const pipeline = await lib.DDIMPipeline.fromPretrained(lib.EMBEDDED_MODEL);
        return pipeline.generate({ numInferenceSteps: 1, outputType: 'png' }).then(
          () => 'generated a PNG',
          (err: Error) => err.message,
        ).finally(() => pipeline.dispose());
      });
      expect(message).toMatch(/^encodePng is available from the Node entry of tfjs-diffusers only \(files, the Hub cache, PNG files\); in a browser, take outputType 'array'/);
    });
  });

  describe('UNet2DModel in Chromium', () => {
    // The tiny UNet's forward cases (spec/fixtures/unet_tiny.json) through loadUNetFromUrl on the embedded model's
    // unet/ (the same weights), each within its browserForwardBound.
    const cases = tinyFixture().cases;

    it("is a standard tfjs LayersModel: the bundle's tfl.loadLayersModel reads it (custom layers registered)", async () => {
      const loaded = await page.evaluate(async () => {
        const lib = (window as unknown as DemoWindow).tfjsDiffusers;
        await lib.setBackend('wasm');
        const model = await lib.tfl.loadLayersModel('/models/tiny-random/unet/model.json');
        // tfjs-layers suffixes a symbolic input's name (`sample_1`) when a model with that input name was built in the
        // page before (the tests above load pipelines): compare the names without that suffix.
        const summary = { params: model.countParams(), inputs: model.inputs.map((i) => i.name.replace(/_\d+$/, '')), outputs: model.outputs.length };
        model.dispose();
        return summary;
      });
      // Inputs in the order UNet2DModel.predict feeds them: [sampleNHWC, timestep].
      expect(loaded).toEqual({ params: tinyFixture().num_parameters, inputs: ['sample', 'timestep'], outputs: 1 });
    });

    for (const backend of ['webgl', 'wasm'] as const) {
      it(`[${backend}] predicts the fixture cases within their bounds of PyTorch`, async () => {
        const outputs = await page.evaluate(
          async ({ backend, inputs }) => {
            const lib = (window as unknown as DemoWindow).tfjsDiffusers;
            const { tf } = lib;
            await lib.setBackend(backend);
            const unet = await lib.loadUNetFromUrl('/models/tiny-random/unet/model.json');
            const results: number[][] = [];
            for (const c of inputs) {
              const x = tf.transpose(tf.tensor4d(c.data, c.shape as [number, number, number, number]), [0, 2, 3, 1]) as tf.Tensor4D;
              const eps = unet.predict(x, c.timestep);
              const epsNCHW = tf.transpose(eps, [0, 3, 1, 2]);
              results.push(Array.from(await epsNCHW.data()));
              tf.dispose([x, eps, epsNCHW]);
            }
            unet.dispose();
            return results;
          },
          { backend, inputs: cases.map((c) => ({ data: c.sample.data, shape: c.sample.shape, timestep: c.timestep })) },
        );
        const vsTorch = Object.fromEntries(cases.map((c, i) => [c.id, maxAbsDiff(outputs[i], c.output.data)]));
        measured[`unet forward [browser ${backend}] max abs vs PyTorch`] = vsTorch;
        for (const c of cases) expect(vsTorch[c.id]).toBeLessThanOrEqual(browserForwardBound(c.id, backend));
      });
    }
  });

  describe('the demo page in Chromium', () => {
    const fixtureCases = loadFixture('pipeline.json').cases as Array<{ id: string; images: { data: number[] }; image_abs_sum: number }>;
    const noiseNCHW = loadFixture('randn.json').cases.find((c: { id: string }) => c.id === 'seed0_shape1x3x32x32').outputs[0];

    for (const backend of ['webgl', 'wasm'] as const) {
      for (const c of PIPELINE_CASES) {
        it(`[${backend}] ${c.id}: the image of PyTorch and of Node cpu within ${browserPipelineBound(c.id, backend).toExponential(2)}, the abs-sum of PyTorch's, from the same noise`, async () => {
          const golden = fixtureCases.find((f) => f.id === c.id)!;
          const result = await generateInPage({ backend, ...c.settings });
          expect(result.backend).toBe(backend);

          // The UNet's first input is the pipeline's initial noise as this backend holds it: torch's, bit for bit.
          expect(result.initialNoiseNHWC!.data).toEqual(Array.from(nchwToNhwc(Float32Array.from(noiseNCHW.data), noiseNCHW.shape)));

          const vsTorch = maxAbsDiff(result.images.data, golden.images.data);
          const vsNodeCpu = maxAbsDiff(result.images.data, await nodeCpuImagesFor(c));
          const nodeAbsSum = imageAbsSum({ shape: [1, 32, 32, 3], data: await nodeCpuImagesFor(c) });
          measured[`${c.id} [browser ${backend}]`] = {
            maxAbsVsPyTorch: vsTorch,
            maxAbsVsNodeCpu: vsNodeCpu,
            absSum: result.absSum,
            absSumPyTorch: golden.image_abs_sum,
            absSumNodeCpu: nodeAbsSum,
            totalMs: Math.round(result.totalMs),
          };
          expect(vsNodeCpu).toBeLessThanOrEqual(browserPipelineBound(c.id, backend));
          expect(vsTorch).toBeLessThanOrEqual(browserPipelineBound(c.id, backend));
          // The abs-sum the page computed (imageAbsSum of its images) against PyTorch's.
          expect(Math.abs(result.absSum - golden.image_abs_sum)).toBeLessThanOrEqual(browserAbsSumBound(c.id, golden.image_abs_sum, backend));

          // The page shows the abs-sum of what it drew; paste Node's to see the comparison readout.
          expect(await page.textContent('#out-abs-sum')).toBe(result.absSum.toFixed(4));
          await page.fill('#node-abs-sum', String(nodeAbsSum));
          expect(await page.textContent('#out-node-diff')).toMatch(/^\d\.\d{3}e[-+]\d+ \(relative /);
          expect(await page.locator('#images canvas').count()).toBe(c.settings.batch);
        });
      }
    }

    it("shows the reference abs-sum that build:browser wrote (dist/browser/node-reference.json, PyTorch's fixture)", async () => {
      const c = PIPELINE_CASES[0];
      const golden = fixtureCases.find((f) => f.id === c.id)!;
      await generateInPage({ backend: 'cpu', ...c.settings });
      expect(await page.textContent('#node-source')).toBe('(pytorch fixture, node-reference.json)');
      expect(Number(await page.inputValue('#node-abs-sum'))).toBe(golden.image_abs_sum);
      expect(await page.textContent('#out-node-diff')).toMatch(/^\d\.\d{3}e[-+]\d+ \(relative /);
    });

    it("a failed run clears the previous run's images and numbers", async () => {
      await generateInPage({ backend: 'cpu', ...PIPELINE_CASES[0].settings });
      expect(await page.locator('#images canvas').count()).toBe(1);
      // A seed the page refuses (its own check, once the run has started): what the Generate button runs.
      const message = await page.evaluate(() =>
        (window as unknown as { demo: { run(s: { seed: string }): Promise<unknown> } }).demo.run({ seed: 'x' }).then(() => null, (err: Error) => err.message),
      );
      expect(message).toBe('Seed: a non-negative integer, got "x".');
      expect(await page.getAttribute('#status', 'data-state')).toBe('error');
      expect(await page.textContent('#error')).toBe('Seed: a non-negative integer, got "x".');
      expect(await page.locator('#images canvas').count()).toBe(0);
      for (const id of ['#out-backend', '#out-abs-sum', '#out-time', '#out-node-diff']) expect(await page.textContent(id)).toBe('–');
      expect(await page.inputValue('#node-abs-sum')).toBe('');
      expect(await page.evaluate(() => (window as unknown as DemoWindow).demo.lastResult)).toBeNull();
      await page.fill('#seed', '0');
    });

    it('says on the page why webgpu cannot start (Chromium runs with --disable-gpu)', async () => {
      await page.selectOption('#backend', 'webgpu');
      await page.click('#run');
      await page.waitForFunction(() => document.getElementById('status')!.dataset.state === 'error');
      // 127.0.0.1 is a secure context, so navigator.gpu exists; --disable-gpu leaves it without an adapter.
      expect(await page.textContent('#error')).toBe(
        "setBackend('webgpu'): navigator.gpu.requestAdapter() found no WebGPU adapter (no usable GPU).",
      );
      // Back on a working backend so the closing screenshot shows images and the comparison with Node.
      const c = PIPELINE_CASES[1];
      await generateInPage({ backend: 'webgl', ...c.settings });
      await page.fill('#node-abs-sum', String(imageAbsSum({ shape: [1, 32, 32, 3], data: await nodeCpuImagesFor(c) })));
      expect(await page.textContent('#error')).toBe('');
    });
  });
}

const chromiumMissing = chromiumMissingReason();
if (chromiumMissing === null) describe('in Chromium', browserTests);
else describeNotRun('browser', chromiumMissing, 'in Chromium', browserTests);

// Keep the tf import meaningful for type-only users of this file (tf.Tensor4D in page callbacks).
export type { tf };

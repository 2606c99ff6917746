import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import type { Page } from 'playwright-core';
import type * as BrowserLib from '../../lib/browser';
import { setBackend } from '../../lib/backends/set-backend';
import { UNet2DModel } from '../../lib/models/unet/unet-2d-model';
import { fixturePath, loadFixture, maxAbsDiff } from '../helpers/fixtures';
import { nchwValues, nhwcFromFixture, tinyFixture } from '../models/unet/unet-fixture';
import { launchChromium, type LaunchedChromium } from './chromium';
import { startStaticServer, type StaticServer } from '../helpers/static-server';

const ROOT = path.join(__dirname, '..', '..');

/** What the demo page puts on `window` for scripts and this test. */
interface DemoWindow {
  tfjsDiffusers: typeof BrowserLib;
}

let server: StaticServer;
let browser: LaunchedChromium;
let page: Page;
/** Converted test models (the tiny fixture UNet in the tfjs format), served at /test-models/. */
let modelsDir: string;
/** The tiny UNet in Node on the cpu backend: the reference the browser backends are compared with. */
let nodeUnet: UNet2DModel;

beforeAll(async () => {
  // Always rebuild: the bundle must be the library of this checkout (esbuild takes about a second).
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build-browser.js')], { stdio: 'pipe' });
  await setBackend('cpu');
  modelsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-diffusers-e2e-models-'));
  nodeUnet = await UNet2DModel.fromPretrained(fixturePath('tiny-unet'));
  await nodeUnet.save(path.join(modelsDir, 'tiny-unet'));
  server = await startStaticServer({
    '/dist/browser/': path.join(ROOT, 'dist', 'browser'),
    '/examples/web/': path.join(ROOT, 'examples', 'web'),
    '/test-models/': modelsDir,
  });
  browser = await launchChromium();
  page = await browser.context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  await page.goto(`${server.origin}/examples/web/index.html`);
  await page.waitForFunction(() => (window as unknown as DemoWindow).tfjsDiffusers !== undefined, undefined, { timeout: 30000 }).catch(() => {
    throw new Error(`the demo page did not load the bundle: ${pageErrors.join('; ') || 'no page error reported'}`);
  });
}, 60000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  nodeUnet?.dispose();
  if (modelsDir) fs.rmSync(modelsDir, { recursive: true, force: true });
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

  it('says why webgpu cannot start when Chromium runs with --disable-gpu', async () => {
    const message = await page.evaluate(async () => {
      const lib = (window as unknown as DemoWindow).tfjsDiffusers;
      return lib.setBackend('webgpu').then(
        () => 'started',
        (err: Error) => err.message,
      );
    });
    // 127.0.0.1 is a secure context, so navigator.gpu exists; --disable-gpu leaves it without an adapter.
    expect(message).toBe("setBackend('webgpu'): navigator.gpu.requestAdapter() found no WebGPU adapter (no usable GPU).");
  });

  it('places bit-identical initial noise on every backend (drawn on the CPU)', async () => {
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

describe('UNet2DModel in Chromium', () => {
  // The tiny UNet's forward cases (spec/fixtures/unet_tiny.json). Against PyTorch the bound is the UNet suite's:
  // float32 ports with other summation orders land within 1e-4 (torch's own float32-vs-float64 gap is 1.1e-6).
  const TORCH_TOLERANCE = 1e-4;
  const cases = tinyFixture().cases;

  for (const backend of ['webgl', 'wasm'] as const) {
    it(`[${backend}] loads by URL and predicts the fixture cases within ${TORCH_TOLERANCE} of PyTorch`, async () => {
      const outputs = await page.evaluate(
        async ({ backend, inputs }) => {
          const lib = (window as unknown as DemoWindow).tfjsDiffusers;
          const { tf } = lib;
          await lib.setBackend(backend);
          const unet = await lib.loadUNetFromUrl('/test-models/tiny-unet/model.json');
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
      const vsTorch = cases.map((c, i) => maxAbsDiff(outputs[i], c.output.data));
      // eslint-disable-next-line no-console
      console.log(`UNet forward [browser ${backend}] max abs vs PyTorch per case: ${vsTorch.map((d) => d.toExponential(2)).join(', ')}`);
      expect(Math.max(...vsTorch)).toBeLessThan(TORCH_TOLERANCE);
    });
  }
});

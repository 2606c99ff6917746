// Cross-backend agreement and speed of DDIMPipeline: the same seeds on Node cpu, Node wasm (and tfjs-node when
// installed), and in headless Chromium on wasm, webgl (with and without WEBGL_CPU_FORWARD), cpu and webgpu, on the
// embedded models/tiny-random; PyTorch's images from spec/fixtures/pipeline.json where it has the case. Prints the
// markdown tables of docs/backends.md and writes dist/browser/node-reference.json (the demo page's Node readout).
//
//   node scripts/build-browser.js && npx tsc -p bench/tsconfig.json && node build/bench/backends.js \
//     [--quick] [--update-docs] [--no-webgpu] [--no-full-size]
//
// --quick: seed 0, 2 steps only. --update-docs: rewrite the measured section of docs/backends.md.
// --no-full-size: skip the speed table at google/ddpm-cifar10-32's size (35.7 M synthetic weights).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import type { Page } from 'playwright-core';
import type * as BrowserLib from '../lib/browser';
import { BackendName, isBackendAvailable, setBackend, SetBackendOptions } from '../lib/node/backends/set-backend';
import { nativeKernelsStatus } from '../lib/node/backends/native';
import { wasmBackendInfo } from '../lib/node/backends/wasm-threads';
import { DDPM_CIFAR10_32_UNET_CONFIG } from '../lib/models/unet/ddpm-cifar10-32';
import { UNet2DModel } from '../lib/models/unet/unet-2d-model';
import { DDIMPipeline } from '../lib/pipelines/ddim-pipeline';
import { imageAbsSum } from '../lib/pipelines/image-abs-sum';
import { DDPM_CIFAR10_SCHEDULER_CONFIG } from '../lib/node/fs/pipeline-folder';
import { Generator } from '../lib/random/generator';
import { CHROMIUM_FLAGS, launchChromium } from '../test-support/chromium';
import { startStaticServer } from '../test-support/static-server';
import { syntheticStateDict } from '../test-support/synthetic-checkpoint';
import { parseBenchArgs } from './args';
import { maxAbsDiff, median } from './stats';

const ROOT = path.join(__dirname, '..', '..');
const EMBEDDED_MODEL = path.join(ROOT, 'models', 'tiny-random');
const DOCS_FILE = path.join(ROOT, 'docs', 'backends.md');
const NODE_REFERENCE_FILE = path.join(ROOT, 'dist', 'browser', 'node-reference.json');
const START_MARKER = '<!-- measure-backends:start -->';
const END_MARKER = '<!-- measure-backends:end -->';

interface Case {
  seed: string;
  steps: number;
  eta: number;
}
const caseId = (c: Case) => `seed ${c.seed}, ${c.steps} steps, η ${c.eta}`;

/** One backend's run of one case. */
interface Run {
  images: Float32Array;
  absSum: number;
  /**
   * Milliseconds of the whole generate call, noise to the images read back. Per-step callbacks are not a measure on
   * webgl / webgpu: their ops are queued and run later, so only a read-back times the work.
   */
  totalMs: number;
}
type Runs = Map<string, Run>; // by caseId

/** A browser backend as the bench runs it. */
interface BrowserBackendSpec {
  label: string;
  backend: 'wasm' | 'webgl' | 'webgpu' | 'cpu';
  /** tfjs flags set after the backend starts. */
  flags?: Record<string, boolean>;
  /** Only the cases this filter keeps (the pure-JS cpu backend is slow). */
  only?: (c: Case) => boolean;
}

interface Options {
  quick: boolean;
  updateDocs: boolean;
  webgpu: boolean;
  fullSize: boolean;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseBenchArgs(
    'bench/backends',
    { quick: { type: 'boolean' }, 'update-docs': { type: 'boolean' }, 'no-webgpu': { type: 'boolean' }, 'no-full-size': { type: 'boolean' } },
    argv,
  );
  return { quick: values.quick === true, updateDocs: values['update-docs'] === true, webgpu: values['no-webgpu'] !== true, fullSize: values['no-full-size'] !== true };
}

function casesFor(opts: Options): Case[] {
  if (opts.quick) return [{ seed: '0', steps: 2, eta: 0 }];
  const cases: Case[] = [];
  for (const seed of ['0', '42']) for (const steps of [2, 10]) for (const eta of [0, 1]) cases.push({ seed, steps, eta });
  // Deterministic DDIM over many steps with random weights amplifies rounding (spec/fixtures/tolerance.json).
  cases.push({ seed: '0', steps: 50, eta: 0 });
  return cases;
}

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

async function runNode(backend: BackendName, cases: Case[], options: SetBackendOptions = {}): Promise<Runs> {
  await setBackend(backend, options);
  const pipeline = await DDIMPipeline.fromPretrained(EMBEDDED_MODEL);
  const runs: Runs = new Map();
  for (const c of cases) {
    log(`node ${backend} ${JSON.stringify(options)}: ${caseId(c)}`);
    const started = performance.now();
    const { images } = await pipeline.generate({
      generator: new Generator().manualSeed(c.seed),
      numInferenceSteps: c.steps,
      eta: c.eta,
      outputType: 'array',
    });
    runs.set(caseId(c), { images: images.data, absSum: imageAbsSum(images), totalMs: performance.now() - started });
  }
  pipeline.dispose();
  return runs;
}

interface PageWindow {
  tfjsDiffusers: typeof BrowserLib;
}

/** What the browser reports about itself. */
interface BrowserInfo {
  userAgent: string;
  webglRenderer: string | null;
  webgpuAdapter: string | null;
  wasm: { simd: boolean; threads: boolean; threadsCount: number } | null;
}

async function browserInfo(page: Page): Promise<BrowserInfo> {
  return page.evaluate(async () => {
    const lib = (window as unknown as PageWindow).tfjsDiffusers;
    const gl = document.createElement('canvas').getContext('webgl2');
    const debug = gl?.getExtension('WEBGL_debug_renderer_info');
    const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<{ info?: { vendor: string; architecture: string } } | null> } }).gpu;
    const adapter = gpu ? await gpu.requestAdapter() : null;
    let wasm: BrowserInfo['wasm'];
    try {
      await lib.setBackend('wasm');
      wasm = {
        simd: Boolean(await lib.tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')),
        threads: Boolean(await lib.tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')),
        threadsCount: (lib.tf.backend() as unknown as { getThreadsCount?: () => number }).getThreadsCount?.() ?? 1,
      };
    } catch {
      wasm = null;
    }
    return {
      userAgent: navigator.userAgent,
      webglRenderer: gl && debug ? String(gl.getParameter(debug.UNMASKED_RENDERER_WEBGL)) : null,
      webgpuAdapter: adapter ? `${adapter.info?.vendor ?? '?'} ${adapter.info?.architecture ?? ''}`.trim() : null,
    wasm,
    };
  });
}

/** Runs the cases on one browser backend, in the page, with the pipeline loaded by URL. */
async function runBrowser(page: Page, spec: BrowserBackendSpec, cases: Case[], modelUrl: string): Promise<Runs | string> {
  const selected = cases.filter(spec.only ?? (() => true));
  log(`browser ${spec.label}: ${selected.length} cases`);
  const result = await page.evaluate(
    async ({ spec, cases, modelUrl }) => {
      const lib = (window as unknown as PageWindow).tfjsDiffusers;
      try {
        await lib.setBackend(spec.backend);
      } catch (err) {
        return err instanceof Error ? err.message : String(err);
      }
      for (const [flag, value] of Object.entries(spec.flags ?? {})) lib.tf.env().set(flag, value);
      const pipeline = await lib.loadPipelineFromUrl(modelUrl);
      const out: Array<{ images: number[]; totalMs: number }> = [];
      for (const c of cases) {
        const started = performance.now();
        const { images } = await pipeline.generate({
          generator: new lib.Generator().manualSeed(c.seed),
          numInferenceSteps: c.steps,
          eta: c.eta,
          outputType: 'array',
        });
        out.push({ images: Array.from(images.data), totalMs: performance.now() - started });
      }
      pipeline.dispose();
      return out;
    },
    { spec: { backend: spec.backend, flags: spec.flags }, cases: selected, modelUrl },
  );
  if (typeof result === 'string') return result;
  const runs: Runs = new Map();
  selected.forEach((c, i) => {
    const images = Float32Array.from(result[i].images);
    runs.set(caseId(c), { images, absSum: imageAbsSum({ shape: [1, 32, 32, 3], data: images }), totalMs: result[i].totalMs });
  });
  return runs;
}

/**
 * ms per step at google/ddpm-cifar10-32's size (synthetic weights), batch 1: a 1-step warm-up (shader compilation,
 * weight upload), then a timed 3-step generate with its images read back, divided by 3.
 */
async function fullSizeStepMs(
  page: Page | null,
  backend: string,
  modelUrl: string,
  nodeBackend?: BackendName,
  nodeOptions: SetBackendOptions = {},
): Promise<number | string> {
  const steps = 3;
  if (nodeBackend) {
    await setBackend(nodeBackend, nodeOptions);
    const unet = await UNet2DModel.fromPretrained(modelUrl);
    const pipeline = new DDIMPipeline({ unet, scheduler: { ...DDPM_CIFAR10_SCHEDULER_CONFIG } });
    await pipeline.generate({ generator: new Generator().manualSeed(0), numInferenceSteps: 1, outputType: 'array' });
    const started = performance.now();
    await pipeline.generate({ generator: new Generator().manualSeed(0), numInferenceSteps: steps, outputType: 'array' });
    const ms = (performance.now() - started) / steps;
    pipeline.dispose();
    return ms;
  }
  return page!.evaluate(
    async ({ backend, modelUrl, steps }) => {
      const lib = (window as unknown as PageWindow).tfjsDiffusers;
      try {
        await lib.setBackend(backend as 'wasm');
      } catch (err) {
        return err instanceof Error ? err.message : String(err);
      }
      const pipeline = await lib.loadPipelineFromUrl(modelUrl);
      await pipeline.generate({ generator: new lib.Generator().manualSeed(0), numInferenceSteps: 1, outputType: 'array' });
      const started = performance.now();
      await pipeline.generate({ generator: new lib.Generator().manualSeed(0), numInferenceSteps: steps, outputType: 'array' });
      const ms = (performance.now() - started) / steps;
      pipeline.dispose();
      return ms;
    },
    { backend, modelUrl, steps },
  );
}


function formatDiff(d: number | undefined): string {
  if (d === undefined) return '–';
  return d === 0 ? '**0**' : d.toExponential(1);
}

/** PyTorch's images for the cases pipeline.json holds (seed 0, batch 1). */
function pytorchRuns(cases: Case[]): Runs {
  const fixture = JSON.parse(fs.readFileSync(path.join(ROOT, 'spec', 'fixtures', 'pipeline.json'), 'utf8'));
  const runs: Runs = new Map();
  for (const c of cases) {
    const found = fixture.cases.find(
      (f: { generator_seed?: number | string; num_inference_steps: number; eta: number; batch_size: number }) =>
        String(f.generator_seed) === c.seed && f.num_inference_steps === c.steps && f.eta === c.eta && f.batch_size === 1,
    );
    if (found) runs.set(caseId(c), { images: Float32Array.from(found.images.data), absSum: found.image_abs_sum, totalMs: NaN });
  }
  return runs;
}

async function writeFullSizeModel(dir: string): Promise<void> {
  const unet = UNet2DModel.fromConfig(DDPM_CIFAR10_32_UNET_CONFIG);
  unet.loadStateDict(syntheticStateDict(DDPM_CIFAR10_32_UNET_CONFIG));
  await unet.save(dir);
  unet.dispose();
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  if (!fs.existsSync(path.join(ROOT, 'dist', 'browser', 'tfjs-diffusers.esm.js'))) {
    throw new Error('bench/backends: build the browser bundle first: node scripts/build-browser.js');
  }
  const cases = casesFor(opts);
  const results = new Map<string, Runs>(); // by backend label
  const notes: string[] = [];

  results.set('PyTorch 1.13.1 cpu', pytorchRuns(cases));
  results.set('Node cpu', await runNode('cpu', cases));
  // Plain tfjs wasm, as in the browser; the native oneDNN kernels (Node only) get their own row when built.
  results.set('Node wasm', await runNode('wasm', cases, { native: false }));
  const wasmInfo = wasmBackendInfo();
  const nodeWasmInfo = {
    simd: Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')),
    threads: wasmInfo?.threads ?? 1,
  };
  if (nativeKernelsStatus().available) {
    results.set('Node wasm + native', await runNode('wasm', cases, { native: true }));
  } else {
    notes.push('wasm + native (oneDNN) kernels: the addon is not built here, so no row (see the section above).');
  }
  if (isBackendAvailable('tfjs-node')) results.set('Node tfjs-node', await runNode('tfjs-node', cases));
  else notes.push('tfjs-node: not installed here (its install downloads libtensorflow), so no column.');

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-diffusers-bench-backends-'));
  if (opts.fullSize) {
    log('writing a google/ddpm-cifar10-32-size UNet with synthetic weights');
    await writeFullSizeModel(path.join(tmp, 'full-size'));
  }
  const server = await startStaticServer({
    '/dist/browser/': path.join(ROOT, 'dist', 'browser'),
    '/examples/web/': path.join(ROOT, 'examples', 'web'),
    '/models/': path.join(ROOT, 'models'),
    '/bench-models/': tmp,
  });
  const modelUrl = `${server.origin}/models/tiny-random/`;
  const fullSizeUrl = `${server.origin}/bench-models/full-size/model.json`;
  const speedFull = new Map<string, number | string>();
  let info: BrowserInfo | null;
  let webgpuInfo: BrowserInfo | null = null;
  try {
    if (opts.fullSize) {
      log('full size: node wasm');
      speedFull.set('Node wasm', await fullSizeStepMs(null, 'wasm', path.join(tmp, 'full-size'), 'wasm', { native: false }));
      if (nativeKernelsStatus().available) {
        speedFull.set('Node wasm + native', await fullSizeStepMs(null, 'wasm', path.join(tmp, 'full-size'), 'wasm', { native: true }));
      }
    }
    const chromium = await launchChromium();
    try {
      const page = await chromium.context.newPage();
      await page.goto(`${server.origin}/examples/web/index.html`);
      await page.waitForFunction(() => (window as unknown as PageWindow).tfjsDiffusers !== undefined);
      info = await browserInfo(page);
      const specs: BrowserBackendSpec[] = [
        { label: 'Chromium wasm', backend: 'wasm' },
        { label: 'Chromium webgl', backend: 'webgl' },
        { label: 'Chromium webgl, CPU_FORWARD off', backend: 'webgl', flags: { WEBGL_CPU_FORWARD: false } },
        { label: 'Chromium cpu', backend: 'cpu', only: (c) => c.steps <= 2 },
      ];
      for (const spec of specs) {
        const runs = await runBrowser(page, spec, cases, modelUrl);
        if (typeof runs === 'string') notes.push(`${spec.label}: could not start: ${runs}`);
        else results.set(spec.label, runs);
      }
      if (opts.fullSize) {
        for (const backend of ['wasm', 'webgl']) {
          log(`full size: chromium ${backend}`);
          speedFull.set(`Chromium ${backend}`, await fullSizeStepMs(page, backend, fullSizeUrl));
        }
      }
    } finally {
      await chromium.close();
    }
    if (opts.webgpu) {
      // --disable-gpu leaves WebGPU without an adapter; --enable-unsafe-webgpu gives it SwiftShader's Vulkan.
      const chromiumGpu = await launchChromium(['--enable-unsafe-webgpu']);
      try {
        const page = await chromiumGpu.context.newPage();
        await page.goto(`${server.origin}/examples/web/index.html`);
        await page.waitForFunction(() => (window as unknown as PageWindow).tfjsDiffusers !== undefined);
        webgpuInfo = await browserInfo(page);
        const runs = await runBrowser(page, { label: 'Chromium webgpu', backend: 'webgpu' }, cases, modelUrl);
        if (typeof runs === 'string') notes.push(`Chromium webgpu: could not start: ${runs}`);
        else results.set('Chromium webgpu', runs);
        if (opts.fullSize && typeof runs !== 'string') {
          log('full size: chromium webgpu');
          speedFull.set('Chromium webgpu', await fullSizeStepMs(page, 'webgpu', fullSizeUrl));
        }
      } finally {
        await chromiumGpu.close();
      }
    }
  } finally {
    await server.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }

  writeNodeReference(results, cases);
  const markdown = renderMarkdown(results, cases, speedFull, notes, info, webgpuInfo, nodeWasmInfo);
  process.stdout.write(markdown);
  if (opts.updateDocs) {
    const doc = fs.readFileSync(DOCS_FILE, 'utf8');
    const start = doc.indexOf(START_MARKER);
    const end = doc.indexOf(END_MARKER);
    if (start < 0 || end < start) throw new Error(`${DOCS_FILE}: markers ${START_MARKER} … ${END_MARKER} not found`);
    fs.writeFileSync(DOCS_FILE, doc.slice(0, start + START_MARKER.length) + '\n' + markdown + doc.slice(end));
    log(`updated ${path.relative(ROOT, DOCS_FILE)}`);
  }
}

function writeNodeReference(results: Map<string, Runs>, cases: Case[]): void {
  const entries: unknown[] = [];
  for (const label of ['Node cpu', 'Node wasm']) {
    for (const c of cases) {
      const run = results.get(label)?.get(caseId(c));
      if (run) {
        entries.push({
          model: 'models/tiny-random',
          backend: label.toLowerCase(),
          seed: c.seed,
          steps: c.steps,
          eta: c.eta,
          batch: 1,
          perImageGenerators: false,
          absSum: run.absSum,
        });
      }
    }
  }
  fs.mkdirSync(path.dirname(NODE_REFERENCE_FILE), { recursive: true });
  fs.writeFileSync(NODE_REFERENCE_FILE, JSON.stringify({ generatedBy: 'bench/backends.ts', entries }, null, 1));
  log(`wrote ${path.relative(ROOT, NODE_REFERENCE_FILE)} (${entries.length} entries)`);
}

function renderMarkdown(
  results: Map<string, Runs>,
  cases: Case[],
  speedFull: Map<string, number | string>,
  notes: string[],
  info: BrowserInfo | null,
  webgpuInfo: BrowserInfo | null,
  nodeWasm: { simd: boolean; threads: number },
): string {
  const labels = [...results.keys()];
  const lines: string[] = [];
  const date = new Date().toISOString().slice(0, 10);
  lines.push(`Measured ${date} by \`node build/bench/backends.js\` on ${os.cpus()[0]?.model ?? 'an unknown CPU'} ` +
    `(${os.cpus().length} cores), Node ${process.version}, tfjs ${tf.version_core}, ${info?.userAgent.match(/Chrome\/[\d.]+/)?.[0] ?? 'Chromium'} ` +
    `headless with \`${CHROMIUM_FLAGS.join(' ')}\`.`);
  lines.push('');
  lines.push(`- Chromium webgl renders on: ${info?.webglRenderer ?? 'unknown'}.`);
  lines.push(`- Chromium webgpu (a second Chromium with \`--enable-unsafe-webgpu\` added): adapter ${webgpuInfo?.webgpuAdapter ?? 'none'}; ` +
    `with the test flags alone (\`--disable-gpu\`) Chromium has navigator.gpu but no adapter: ${info?.webgpuAdapter ?? 'none'}.`);
  lines.push(`- wasm: Node SIMD ${nodeWasm.simd}, ${nodeWasm.threads} thread(s) (setBackend's 'auto'); Chromium SIMD ` +
    `${info?.wasm?.simd}, multithreading ${info?.wasm?.threads} (the page is served without cross-origin isolation, so ` +
    `no SharedArrayBuffer: one thread).`);
  for (const note of notes) lines.push(`- ${note}`);
  lines.push('');
  lines.push('### Max abs difference of the images, every pair of backends');
  lines.push('');
  lines.push('Images are in [0, 1] (diffusers `output_type="np"`), batch 1, embedded `models/tiny-random`. **0** = bit-identical.');
  lines.push('');
  lines.push(`| pair | ${cases.map(caseId).join(' | ')} |`);
  lines.push(`|---|${cases.map(() => '---:').join('|')}|`);
  for (let i = 0; i < labels.length; i++) {
    for (let j = i + 1; j < labels.length; j++) {
      const cells = cases.map((c) => {
        const a = results.get(labels[i])!.get(caseId(c));
        const b = results.get(labels[j])!.get(caseId(c));
        return formatDiff(a && b ? maxAbsDiff(a.images, b.images) : undefined);
      });
      lines.push(`| ${labels[i]} ↔ ${labels[j]} | ${cells.join(' | ')} |`);
    }
  }
  lines.push('');
  lines.push('### abs-sum of the images (`np.abs(images).sum()`)');
  lines.push('');
  lines.push(`| backend | ${cases.map(caseId).join(' | ')} |`);
  lines.push(`|---|${cases.map(() => '---:').join('|')}|`);
  for (const label of labels) {
    const cells = cases.map((c) => {
      const run = results.get(label)!.get(caseId(c));
      return run ? run.absSum.toFixed(4) : '–';
    });
    lines.push(`| ${label} | ${cells.join(' | ')} |`);
  }
  lines.push('');
  lines.push('### Speed, tiny model (565k parameters, 32×32, batch 1)');
  lines.push('');
  lines.push('Wall time of `generate` from the noise to the images read back (on webgl and webgpu only a read-back waits for');
  lines.push('the queued GPU work). The first run of a backend includes its shader compilation and weight upload.');
  lines.push('');
  lines.push('| backend | first run (ms, 2 steps) | ms per step (later runs, median of total / steps) |');
  lines.push('|---|---:|---:|');
  for (const label of labels) {
    if (label.startsWith('PyTorch')) continue;
    const runs = cases.map((c) => [c, results.get(label)!.get(caseId(c))] as const).filter((r) => r[1] !== undefined);
    const first = runs[0]?.[1]?.totalMs ?? NaN;
    const later = median(runs.slice(1).map(([c, r]) => r!.totalMs / c.steps));
    lines.push(`| ${label} | ${first.toFixed(0)} | ${Number.isNaN(later) ? '–' : later.toFixed(1)} |`);
  }
  if (speedFull.size > 0) {
    lines.push('');
    lines.push("### Speed at google/ddpm-cifar10-32's size (35.7 M parameters, synthetic weights, 32×32, batch 1)");
    lines.push('');
    lines.push('One warm-up step, then a 3-step `generate` with its images read back, divided by 3.');
    lines.push('');
    lines.push('| backend | ms per step |');
    lines.push('|---|---:|');
    for (const [label, ms] of speedFull) lines.push(`| ${label} | ${typeof ms === 'number' ? ms.toFixed(0) : ms} |`);
  }
  lines.push('');
  return lines.join('\n');
}

main().catch((err) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});

// Provenance in every image, the browser half (issue 22): the demo page's "Download PNG" in headless Chromium saves a
// PNG carrying the record `tfjs-diffusers generate` writes, and the built CLI's `replay` (a child process, as a user
// runs it) regenerates it in Node and says identical, or by how much it differs and why. Edits are made by a writer in
// the test (one metadata field, one pixel; the file stays a valid PNG), as spec/node/cli/replay.spec.ts does for the
// CLI's own PNGs.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PNG } from 'pngjs';
import type { Page } from 'playwright-core';
import { insertITxtChunk, readITxtChunks } from '../../lib/io/png-text-chunk';
import { PROVENANCE_KEYWORD } from '../../lib/pipelines/image-provenance';
import { EXIT, runCli } from '../helpers/cli';
import { describeNotRun } from '../helpers/not-run';
import { MARGIN } from '../helpers/tolerances';
import { startStaticServer, type StaticServer } from '../../test-support/static-server';
import { chromiumMissingReason, launchChromium, type LaunchedChromium } from '../../test-support/chromium';

import { DemoSettings, runDemoForm } from '../helpers/demo-form';
const ROOT = path.join(__dirname, '..', '..');


let tmp: string;
let server: StaticServer;
let browser: LaunchedChromium;
let page: Page;
/** The provenance record of `generate --seed 3 --steps 2` (the CLI's, on this machine). */
let cliRecord: Record<string, unknown>;
/** A copy of models/tiny-random served at /mirror/tiny-random/: a "converted model by URL" the test can take away. */
let mirror: string;

/** Each replay's verdict (its stdout, else its stderr), printed at the end: what the bounds below were measured from. */
const verdicts: Record<string, string> = {};
async function cli(...argv: string[]) {
  const run = await runCli(argv, { cwd: tmp, timeoutMs: 180000 });
  if (argv[0] === 'replay') {
    const key = argv.slice(1).join(' ');
    verdicts[key in verdicts ? `${key} (again)` : key] = (run.stdout || run.stderr).trim();
  }
  return run;
}
const recordOf = (file: string) => JSON.parse(readITxtChunks(new Uint8Array(fs.readFileSync(path.join(tmp, file)))).get(PROVENANCE_KEYWORD)!);

/** Fills the demo's form, presses Generate, waits for it, clicks "Download PNG" and saves the download as `file`. */
async function downloadFromDemo(settings: DemoSettings, file: string): Promise<void> {
  await runDemoForm(page, settings, 120000);
  expect(await page.getAttribute('#download', 'aria-disabled')).toBe('false');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  expect(download.suggestedFilename()).toBe(`tfjs-diffusers-seed${settings.seed}-${settings.backend}.png`);
  await download.saveAs(path.join(tmp, file));
}

/** `png` re-encoded by pngjs (without its provenance chunk) after `editPixels`, then given `text` as its provenance. */
function rewrite(png: Buffer, text: string, editPixels: (data: Buffer) => void = () => undefined): Uint8Array {
  const decoded = PNG.sync.read(png);
  editPixels(decoded.data);
  return insertITxtChunk(new Uint8Array(PNG.sync.write(decoded, { colorType: 2 })), PROVENANCE_KEYWORD, text);
}

function downloadTests(): void {
  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'browser-download-'));
    mirror = fs.mkdtempSync(path.join(os.tmpdir(), 'browser-download-mirror-'));
    fs.cpSync(path.join(ROOT, 'models', 'tiny-random'), path.join(mirror, 'tiny-random'), { recursive: true });
    // dist/ and dist/browser/ are built (when stale) by jest's globalSetup (spec/global-setup.js).
    server = await startStaticServer({
      '/dist/browser/': path.join(ROOT, 'dist', 'browser'),
      '/examples/web/': path.join(ROOT, 'examples', 'web'),
      '/models/': path.join(ROOT, 'models'),
      '/mirror/': mirror,
    });
    browser = await launchChromium();
    page = await browser.context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(`${server.origin}/examples/web/index.html`);
    await page.waitForFunction(() => (window as unknown as { demo?: unknown }).demo !== undefined, undefined, { timeout: 30000 }).catch(() => {
      throw new Error(`the demo page did not start: ${pageErrors.join('; ') || 'no page error reported'}`);
    });
    const generated = await cli('generate', '--seed', '3', '--steps', '2', '--out', 'cli.png');
    expect(generated.code).toBe(EXIT.ok);
    cliRecord = recordOf('cli.png');
  }, 180000);

  afterAll(async () => {
    console.log(`replay verdicts of the demo's downloads:\n${JSON.stringify(verdicts, null, 2)}`);
    await browser?.close();
    await server?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.rmSync(mirror, { recursive: true, force: true });
  });

  it('[wasm] the download carries the record generate writes (same fields, model hash, library); replay in Node says identical', async () => {
    await downloadFromDemo({ backend: 'wasm', seed: '3', steps: 2, eta: 0, batch: 1 }, 'wasm.png');
    const record = recordOf('wasm.png');
    expect(Object.keys(record)).toEqual(Object.keys(cliRecord));
    expect(record).toMatchObject({
      seed: '3', steps: 2, eta: 0, batch: 1, pipeline: 'DDIMPipeline', model: 'embedded:tiny-random', backend: 'wasm', kernelPath: 'wasm',
      // The same model gives the same content hash in the page (over http) as in the CLI (from the folder).
      modelHash: cliRecord.modelHash, scheduler: cliRecord.scheduler, library: cliRecord.library, format: cliRecord.format,
    });
    expect(record.library).toBe(`tfjs-diffusers@${JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version}`);
    expect(record.cpuIsa).toMatch(/^unknown \(browser: .*Chrome/);

    // Chromium's wasm backend and Node's plain wasm (replay turns the native kernels off for a record of plain wasm):
    // measured bit-identical (the same XNNPACK build).
    const replay = await cli('replay', 'wasm.png');
    expect(replay.stderr).toContain('recorded on wasm (wasm, unknown (browser: ');
    expect(replay.stdout).toBe('identical: wasm.png is reproduced bit for bit (wasm, wasm)\n');
    expect(replay.code).toBe(EXIT.ok);
  });

  it('[wasm] a batch (a grid, with eta 1) replays identically too', async () => {
    await downloadFromDemo({ backend: 'wasm', seed: '5', steps: 2, eta: 1, batch: 3 }, 'grid.png');
    const decoded = PNG.sync.read(fs.readFileSync(path.join(tmp, 'grid.png')));
    expect([decoded.width, decoded.height]).toEqual([64, 64]); // 2 × 2 grid of 32 × 32, the 4th cell black
    expect(recordOf('grid.png')).toMatchObject({ seed: '5', steps: 2, eta: 1, batch: 3 });
    const replay = await cli('replay', 'grid.png');
    expect(replay.stdout).toBe('identical: grid.png is reproduced bit for bit (wasm, wasm)\n');
    expect(replay.code).toBe(EXIT.ok);
  });

  it('[webgl] replay in Node says how much it differs and why: another kernel path', async () => {
    await downloadFromDemo({ backend: 'webgl', seed: '3', steps: 2, eta: 0, batch: 1 }, 'webgl.png');
    expect(recordOf('webgl.png')).toMatchObject({ backend: 'webgl', kernelPath: 'webgl', modelHash: cliRecord.modelHash });
    const replay = await cli('replay', 'webgl.png');
    // Node has no webgl: replay runs its default backend and says so; webgl's float32 shaders (SwiftShader here:
    // Chromium runs with --disable-gpu) differ from Node's kernels in the last float digits, which moved 1 byte of
    // 3072 by 1/255 (measured); bound: MARGIN (5) × that count, by at most 1/255.
    expect(replay.stderr).toContain('replay: the recorded backend webgl does not run in Node: replaying on the default backend (--backend to choose)');
    const verdict = /^differs: (\d+) of 3072 bytes, by at most 1\/255; why: another kernel path: recorded webgl, this run wasm/.exec(replay.stdout);
    expect(verdict).not.toBeNull();
    expect(Number(verdict![1])).toBeLessThanOrEqual(MARGIN * 1);
    expect(replay.code).toBe(EXIT.runtime);
  });

  it('one edited metadata field or one edited pixel of a downloaded PNG is detected', async () => {
    const png = fs.readFileSync(path.join(tmp, 'wasm.png'));
    const record = recordOf('wasm.png');
    fs.writeFileSync(path.join(tmp, 'eta.png'), rewrite(png, JSON.stringify({ ...record, eta: 0.5 })));
    const eta = await cli('replay', 'eta.png');
    expect(eta.stderr).toContain('the metadata was edited after the image was written');
    expect(eta.stdout).toMatch(/^differs: \d+ of 3072 bytes/);
    expect(eta.code).toBe(EXIT.runtime);

    fs.writeFileSync(path.join(tmp, 'pixel.png'), rewrite(png, JSON.stringify(record), (data) => void (data[4 * 100 + 1] ^= 1)));
    const pixel = await cli('replay', 'pixel.png');
    expect(pixel.stderr).toContain('the pixels were edited after the image was written');
    expect(pixel.stdout).toMatch(/^differs: 1 of 3072 bytes, by at most 1\/255/);
    expect(pixel.code).toBe(EXIT.runtime);
  });

  it('a model loaded by URL: replay loads it from the URL; once gone, a named error with the model and hash, and --model finds it', async () => {
    const url = `${server.origin}/mirror/tiny-random/`;
    await downloadFromDemo({ backend: 'wasm', seed: '3', steps: 2, eta: 0, batch: 1, modelUrl: url }, 'url.png');
    expect(recordOf('url.png')).toMatchObject({ model: url, modelHash: cliRecord.modelHash });
    const fromUrl = await cli('replay', 'url.png');
    expect(fromUrl.stdout).toBe('identical: url.png is reproduced bit for bit (wasm, wasm)\n');
    expect(fromUrl.code).toBe(EXIT.ok);

    fs.rmSync(path.join(mirror, 'tiny-random'), { recursive: true });
    const gone = await cli('replay', 'url.png');
    expect(gone.stderr).toContain(`replay: not replayed: the model this image needs (as recorded, "${url}"; content hash ${String(cliRecord.modelHash)}) cannot be loaded here: `);
    expect(gone.stderr).toContain('pass --model <a folder, Hub id or URL of the model with that content hash>');
    expect(gone.stdout).toBe('');
    expect(gone.code).toBe(EXIT.runtime);

    const found = await cli('replay', 'url.png', '--model', path.join(ROOT, 'models', 'tiny-random'));
    expect(found.stdout).toBe('identical: url.png is reproduced bit for bit (wasm, wasm)\n');
    expect(found.code).toBe(EXIT.ok);
  });
}

const chromiumMissing = chromiumMissingReason();
if (chromiumMissing === null) describe('the demo page download in Chromium, replayed by the CLI', downloadTests);
else describeNotRun('browser', chromiumMissing, 'the demo page download in Chromium, replayed by the CLI', downloadTests);

// Provenance in every image (issue 22): the built CLI's `generate` writes a PNG that carries an iTXt chunk with what
// decides its bits, and `replay` regenerates it and says whether the bits are identical. Edits are made the way a
// user (or an attacker) would: by a writer in the test that re-encodes the PNG with one metadata field or one pixel
// changed, keeping the file a valid PNG (fresh CRCs), so only the provenance check can notice.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PNG } from 'pngjs';
import { insertITxtChunk, readITxtChunks } from '../../../lib/io/png-text-chunk';
import { PROVENANCE_KEYWORD } from '../../../lib/pipelines/image-provenance';
import { EXIT, runCli } from '../../helpers/cli';

let tmp: string;
const cli = (...argv: string[]) => runCli(argv, { cwd: tmp });

/** `png` re-encoded (without its provenance chunk) after `editPixels`, then given `text` as its provenance. */
function rewrite(png: Buffer, text: string, editPixels: (data: Buffer) => void = () => undefined): Uint8Array {
  const decoded = PNG.sync.read(png);
  editPixels(decoded.data);
  return insertITxtChunk(new Uint8Array(PNG.sync.write(decoded, { colorType: 2 })), PROVENANCE_KEYWORD, text);
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'replay-'));
  const run = await cli('generate', '--seed', '3', '--steps', '2', '--out', 'a.png');
  expect(run.stderr).not.toMatch(/error/i);
  expect(run.code).toBe(EXIT.ok);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('generate writes the provenance chunk: seed, steps, eta, pipeline, scheduler, model hash, library, backend, kernel path', () => {
  const text = readITxtChunks(new Uint8Array(fs.readFileSync(path.join(tmp, 'a.png')))).get(PROVENANCE_KEYWORD);
  expect(text).toBeDefined();
  const record = JSON.parse(text!);
  expect(record).toMatchObject({ seed: '3', steps: 2, eta: 0, batch: 1, pipeline: 'DDIMPipeline', model: 'embedded:tiny-random' });
  expect(record.scheduler._class_name).toBe('DDIMScheduler');
  expect(record.modelHash).toMatch(/^sha256:[0-9a-f]{64}$/);
  expect(record.library).toMatch(/^tfjs-diffusers@\d/);
  for (const field of ['backend', 'kernelPath', 'cpuIsa', 'imageSha256', 'digest']) expect(typeof record[field]).toBe('string');
});

test('replay of an untouched image says identical (exit 0)', async () => {
  const run = await cli('replay', 'a.png');
  expect(run.stdout).toMatch(/^identical: a\.png is reproduced bit for bit/);
  expect(run.code).toBe(EXIT.ok);
});

test('one edited metadata field (the seed, digests kept) is detected: exit 1, says the metadata was edited and the bits differ', async () => {
  const png = fs.readFileSync(path.join(tmp, 'a.png'));
  const record = JSON.parse(readITxtChunks(new Uint8Array(png)).get(PROVENANCE_KEYWORD)!);
  fs.writeFileSync(path.join(tmp, 'seed.png'), rewrite(png, JSON.stringify({ ...record, seed: '4' })));
  const run = await cli('replay', 'seed.png');
  expect(run.stderr).toContain('the metadata was edited after the image was written');
  expect(run.stdout).toMatch(/^differs: \d+ of 3072 bytes/);
  expect(run.code).toBe(EXIT.runtime);
});

test('one edited metadata field that does not change the bits (the library) is still detected by the digest', async () => {
  const png = fs.readFileSync(path.join(tmp, 'a.png'));
  const record = JSON.parse(readITxtChunks(new Uint8Array(png)).get(PROVENANCE_KEYWORD)!);
  fs.writeFileSync(path.join(tmp, 'library.png'), rewrite(png, JSON.stringify({ ...record, library: 'tfjs-diffusers@9.9.9' })));
  const run = await cli('replay', 'library.png');
  expect(run.stdout).toMatch(/^identical/);
  expect(run.stderr).toContain('the metadata was edited after the image was written');
  expect(run.code).toBe(EXIT.runtime);
});

test('one edited pixel is detected: exit 1, 1 byte differs, the pixels were edited', async () => {
  const png = fs.readFileSync(path.join(tmp, 'a.png'));
  const text = readITxtChunks(new Uint8Array(png)).get(PROVENANCE_KEYWORD)!;
  fs.writeFileSync(path.join(tmp, 'pixel.png'), rewrite(png, text, (data) => void (data[4 * 37] ^= 1)));
  const run = await cli('replay', 'pixel.png');
  expect(run.stderr).toContain('the pixels were edited after the image was written');
  expect(run.stdout).toMatch(/^differs: 1 of 3072 bytes, by at most 1\/255/);
  expect(run.code).toBe(EXIT.runtime);
});

test('a PNG without provenance, or not a PNG, is a usage error naming the file (exit 2)', async () => {
  const png = fs.readFileSync(path.join(tmp, 'a.png'));
  fs.writeFileSync(path.join(tmp, 'plain.png'), PNG.sync.write(PNG.sync.read(png)));
  fs.writeFileSync(path.join(tmp, 'text.png'), 'hello');
  const plain = await cli('replay', 'plain.png');
  expect(plain.stderr).toContain('plain.png: no tfjs-diffusers provenance chunk');
  expect(plain.code).toBe(EXIT.usage);
  const text = await cli('replay', 'text.png');
  expect(text.stderr).toContain('text.png: not a PNG file');
  expect(text.code).toBe(EXIT.usage);
});

test('a PNG of plain wasm (generate --native off) replays on plain wasm by default: identical', async () => {
  const run = await cli('generate', '--seed', '3', '--steps', '2', '--backend', 'wasm', '--native', 'off', '--out', 'plain-wasm.png');
  expect(run.code).toBe(EXIT.ok);
  expect(JSON.parse(readITxtChunks(new Uint8Array(fs.readFileSync(path.join(tmp, 'plain-wasm.png')))).get(PROVENANCE_KEYWORD)!).kernelPath).toBe('wasm');
  const replay = await cli('replay', 'plain-wasm.png');
  expect(replay.stdout).toBe('identical: plain-wasm.png is reproduced bit for bit (wasm, wasm)\n');
  expect(replay.code).toBe(EXIT.ok);
});

test('control characters in a record field reach the terminal escaped (a record cannot print a fake verdict line)', async () => {
  const png = fs.readFileSync(path.join(tmp, 'a.png'));
  const record = JSON.parse(readITxtChunks(new Uint8Array(png)).get(PROVENANCE_KEYWORD)!);
  fs.writeFileSync(path.join(tmp, 'ansi.png'), rewrite(png, JSON.stringify({ ...record, library: 'x\u001b[2K\ridentical: fake' })));
  const run = await cli('replay', 'ansi.png');
  expect(run.stderr).toContain('by x\\u001b[2K\\u000didentical: fake');
  expect(run.stderr).not.toContain('\u001b');
  expect(run.code).toBe(EXIT.runtime);
});

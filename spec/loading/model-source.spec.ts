import { MAX_JSON_FILE_BYTES } from '../../lib/io/reader-limits';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import type { AddressInfo } from 'net';
import { HttpModelSource } from '../../lib/loading/http-model-source';
import { MAX_JSON_DEPTH } from '../../lib/io/reader-limits';
import { ModelFileNotFoundError, ModelFileTooLargeError, ModelJsonError, ModelSource, ModelSourceError } from '../../lib/loading/model-source';
import { FsModelSource } from '../../lib/node/fs/fs-model-source';
import { startStaticServer, type StaticServer } from '../../test-support/static-server';
import { runIsolated } from '../helpers/run-isolated';

const CHILD = path.join(__dirname, 'model-source-child.ts');

// The two ModelSource implementations answer the same questions the same way about the same folder: one folder on
// disk, read directly and over HTTP from 127.0.0.1.

let tmp: string;
let server: StaticServer;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'model-source-'));
  fs.mkdirSync(path.join(tmp, 'unet'));
  fs.writeFileSync(path.join(tmp, 'model_index.json'), '{"unet": ["diffusers", "UNet2DModel"]}');
  fs.writeFileSync(path.join(tmp, 'unet', 'weights.bin'), Buffer.alloc(1000, 7));
  fs.writeFileSync(path.join(tmp, 'array.json'), '[1, 2]');
  fs.writeFileSync(path.join(tmp, 'broken.json'), '{"a": ');
  fs.writeFileSync(path.join(tmp, 'deep.json'), `${'['.repeat(MAX_JSON_DEPTH + 1)}${']'.repeat(MAX_JSON_DEPTH + 1)}`);
  fs.writeFileSync(path.join(tmp, 'deep-in-string.json'), JSON.stringify({ s: '['.repeat(1000) }));
  fs.writeFileSync(path.join(tmp, 'big.json'), Buffer.alloc(MAX_JSON_FILE_BYTES + 1, 0x20));
  server = await startStaticServer({ '/m/': tmp });
});

afterAll(async () => {
  await server?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const sources = (): [string, ModelSource][] => [
  ['fs', new FsModelSource(tmp)],
  ['http', new HttpModelSource(`${server.origin}/m`)],
];

describe.each([['fs'], ['http']])('%s ModelSource', (kind) => {
  const source = (): ModelSource => sources().find(([k]) => k === kind)![1];

  test('exists, readBytes and readJson of the same folder', async () => {
    const s = source();
    expect(await s.exists('model_index.json')).toBe(true);
    expect(await s.exists('unet/weights.bin')).toBe(true);
    expect(await s.exists('nothing.json')).toBe(false);
    expect(await s.exists('unet')).toBe(false); // a folder is not a file
    expect(Buffer.from(await s.readBytes('unet/weights.bin', { maxBytes: 1000 })).equals(Buffer.alloc(1000, 7))).toBe(true);
    expect(await s.readJson('model_index.json')).toEqual({ unet: ['diffusers', 'UNet2DModel'] });
    expect(await s.readJson('deep-in-string.json')).toEqual({ s: '['.repeat(1000) });
  });

  test('named errors that name the file: missing, too large, bad JSON, a path out of the folder', async () => {
    const s = source();
    await expect(s.readBytes('nothing.bin', { maxBytes: 10 })).rejects.toBeInstanceOf(ModelFileNotFoundError);
    await expect(s.readBytes('nothing.bin', { maxBytes: 10 })).rejects.toThrow(s.describe('nothing.bin'));
    await expect(s.readBytes('unet/weights.bin', { maxBytes: 999 })).rejects.toThrow(
      new ModelFileTooLargeError(s.describe('unet/weights.bin'), 1000, 999),
    );
    await expect(s.readJson('big.json')).rejects.toBeInstanceOf(ModelFileTooLargeError);
    await expect(s.readJson('array.json')).rejects.toThrow(new ModelJsonError(s.describe('array.json'), 'must hold a JSON object, got an array'));
    await expect(s.readJson('broken.json')).rejects.toThrow(/broken\.json: not valid JSON: /);
    await expect(s.readJson('deep.json')).rejects.toThrow(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
    for (const escape of ['../etc/passwd', '/etc/passwd', 'unet/../../x', '']) {
      await expect(s.readBytes(escape, { maxBytes: 10 })).rejects.toThrow(/is not a plain relative path inside the model folder/);
    }
  });
});

describe('HttpModelSource', () => {
  test('a body without a declared length is cut off at maxBytes (streamed, not buffered whole)', async () => {
    // A server that sends chunked bytes forever: the reader must stop at the cap.
    const endless = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024);
      const pump = (): void => {
        while (res.write(chunk)) {
          /* fill the socket buffer */
        }
        res.once('drain', pump);
      };
      pump();
      res.on('close', () => res.removeAllListeners('drain'));
    });
    await new Promise<void>((resolve) => endless.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(endless.address() as AddressInfo).port}`;
    try {
      const error = await new HttpModelSource(`${origin}/x/`).readBytes('model.json', { maxBytes: 1_000_000 }).catch((e) => e);
      expect(error).toBeInstanceOf(ModelFileTooLargeError);
      expect((error as ModelFileTooLargeError).size).toBeLessThan(1_000_000 + 256 * 1024);
    } finally {
      endless.closeAllConnections();
      await new Promise((resolve) => endless.close(resolve));
    }
  });

  test('HTTP errors and unreachable servers name the URL', async () => {
    const s = new HttpModelSource('http://127.0.0.1:9/nothing/', { fetchFunc: async () => new Response('no', { status: 500 }) });
    await expect(s.exists('model.json')).rejects.toThrow(new ModelSourceError('http://127.0.0.1:9/nothing/model.json', 'answered HTTP 500'));
    const down = new HttpModelSource('http://127.0.0.1:9/nothing/', {
      fetchFunc: async () => {
        throw new TypeError('fetch failed');
      },
    });
    await expect(down.readJson('model.json')).rejects.toThrow('http://127.0.0.1:9/nothing/model.json: could not fetch it: fetch failed');
    expect(() => new HttpModelSource('ftp://example.com/x/')).toThrow('ftp://example.com/x/: is a ftp: URL; HttpModelSource reads http(s) URLs');
    expect(() => new HttpModelSource('models/tiny-random')).toThrow('models/tiny-random: is not a URL (outside a page, pass an absolute http(s) URL)');
  });
});

describe('FsModelSource on files that are not regular files (in a child process with a timeout)', () => {
  test('a FIFO, /dev/zero and a folder are refused at once, naming the path', async () => {
    const fifo = path.join(tmp, 'fifo.json');
    execFileSync('mkfifo', [fifo]);
    fs.mkdirSync(path.join(tmp, 'dir.json'));
    // In a fresh node with a small heap and a timeout (spec/helpers/run-isolated.ts): a reader that blocked on the
    // FIFO or read /dev/zero without end would be killed by the timeout, not hang jest.
    const limits = { timeoutMs: 20000, maxOldSpaceMb: 64 };
    const outcomes = [
      ...runIsolated(CHILD, 'read-json', [tmp, 'fifo.json', 'dir.json'], limits),
      ...runIsolated(CHILD, 'read-model-file', ['/dev/zero'], limits),
    ];
    const out = outcomes.map((o) => (o.result === 'error' ? `${o.name}: ${o.message}` : JSON.stringify(o)));
    expect(out).toEqual([
      `ModelSourceError: ${path.join(tmp, 'fifo.json')}: is a named pipe (FIFO), not a regular file: refused`,
      `ModelSourceError: ${path.join(tmp, 'dir.json')}: is a directory, not a regular file: refused`,
      'ModelSourceError: /dev/zero: is a character device, not a regular file: refused',
    ]);
  });
});

import { spawn } from 'child_process';
import * as esbuild from 'esbuild';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { assertWritableFolder } from '../../../lib/node/fs/writable-folder';

// `generate`'s output check (assertWritableFolder) races with itself when the shards of one Kubernetes Indexed Job
// start together on a new --out-dir: one run removes the folder it created while another probes it. Found by the
// scale-out spec under load (a shard exited 2: "--out-dir: cannot write into sharded (ENOENT)").

let work: string;
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'writable-folder-'));
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

test('a new folder: probed, then the folders it made are removed again; a file in the path gives ENOTDIR', () => {
  const target = path.join(work, 'new', 'deep');
  assertWritableFolder(target);
  expect(fs.existsSync(path.join(work, 'new'))).toBe(false);
  fs.mkdirSync(path.join(work, 'keep'));
  assertWritableFolder(path.join(work, 'keep'));
  expect(fs.readdirSync(path.join(work, 'keep'))).toEqual([]); // the existing folder stays, the probe is gone
  fs.writeFileSync(path.join(work, 'a-file'), 'x');
  expect(() => assertWritableFolder(path.join(work, 'a-file', 'sub'))).toThrow(expect.objectContaining({ code: 'ENOTDIR' }));
});

test('8 processes probing the same new folders at once for a second: no process fails, no probe file is left', async () => {
  const bundled = path.join(work, 'writable-folder.js');
  esbuild.buildSync({ entryPoints: [path.resolve(__dirname, '../../../lib/node/fs/writable-folder.ts')], outfile: bundled, bundle: true, platform: 'node', format: 'cjs', logLevel: 'error' });
  const base = path.join(work, 'race');
  // Every process says it is ready, waits for the go file, then probes base/<r mod 4>/out/images for r = 0, 1, …
  // for 1 s: the processes race whatever the machine's load (a start time fixed in advance was missed by processes
  // that took longer than that to start, beside another test run).
  const go = path.join(work, 'go');
  const script = `
    const fs = require('fs');
    const { assertWritableFolder } = require(${JSON.stringify(bundled)});
    const [go, base] = [process.argv[1], process.argv[2]];
    console.log('ready');
    while (!fs.existsSync(go));
    const end = Date.now() + 1000;
    let rounds = 0, failures = [];
    for (let r = 0; Date.now() < end; r++, rounds++) {
      try { assertWritableFolder(base + '/' + (r % 4) + '/out/images'); } catch (e) { failures.push(e.code || e.message); }
    }
    console.log(JSON.stringify({ rounds, failures: failures.slice(0, 5), failed: failures.length }));`;
  let ready = 0;
  const results = await Promise.all(
    Array.from({ length: 8 }, () => new Promise<{ rounds: number; failed: number; failures: string[] }>((resolve, reject) => {
      const child = spawn(process.execPath, ['-e', script, go, base], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d) => {
        if (!out.includes('ready') && (out + d).includes('ready') && ++ready === 8) fs.writeFileSync(go, '');
        out += d;
      });
      child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.slice(out.indexOf('ready') + 'ready'.length))) : reject(new Error(`child exited ${code}`))));
    })),
  );
  expect(results.map((r) => r.failures)).toEqual(results.map(() => []));
  expect(results.every((r) => r.rounds > 10)).toBe(true); // they did race
  const left = fs.existsSync(base) ? fs.readdirSync(base, { recursive: true }).map(String) : [];
  expect(left.filter((f) => f.includes('.tfjs-diffusers-probe-'))).toEqual([]);
}, 30_000);

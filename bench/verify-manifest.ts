// `tfjs-diffusers verify` on big manifests, records only (no images, as `verify --records-only`): the time and the
// process's peak RSS for each size, each size in a fresh process, so the peak is that size's own. Flat memory means the
// peak stays put while the records grow 10× (verify keeps ~10 bytes per seed of the range, not the records).
//
//   npx tsc -p bench/tsconfig.json && node build/bench/verify-manifest.js [--sizes 5000,50000,500000] [--shards 4]
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ManifestRecord } from '../lib/node/cli/manifest';
import { manifestFileName, shardBlock } from '../lib/node/cli/shard';
import { SeedList } from '../lib/node/cli/seed-range';
import { verifyOutputs } from '../lib/node/cli/verify';

interface Options {
  sizes: number[];
  shards: number;
}

function parseArgs(argv: string[]): Options & { one?: number } {
  const opts: Options & { one?: number } = { sizes: [5000, 50000, 500000], shards: 4 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--sizes') opts.sizes = argv[++i].split(',').map(Number);
    else if (a === '--shards') opts.shards = Number(argv[++i]);
    else if (a === '--one') opts.one = Number(argv[++i]);
    else throw new Error(`bench/verify-manifest: unknown argument ${a}`);
  }
  return opts;
}

function record(seed: number, shards: number, index: number): ManifestRecord {
  const hex = (n: number) => n.toString(16).padStart(8, '0').repeat(8);
  return {
    v: 1,
    seed,
    file: `seed${seed}.png`,
    pngSha256: hex(seed * 2654435761 >>> 0),
    pixelsSha256: hex(seed * 40503 >>> 0),
    absSum: 1400 + (seed % 97) / 7,
    steps: 50,
    eta: 0,
    batch: 1,
    shape: [1, 32, 32, 3],
    backend: 'wasm',
    kernelPath: 'wasm+tfjsd-kernels-1+winograd',
    cpuIsa: 'avx512_core',
    model: 'google/ddpm-cifar10-32',
    modelHash: `sha256:${'0'.repeat(64)}`,
    library: 'tfjs-diffusers@0.1.0',
    shard: `${index}/${shards}`,
    seconds: 3.9,
  };
}

/** Writes the shard manifests of seeds 0 … size − 1, 1,000 lines a write. */
function writeManifests(dir: string, size: number, shards: number): number {
  let bytes = 0;
  for (let index = 0; index < shards; index++) {
    const { start, end } = shardBlock(BigInt(size), index, shards);
    const fd = fs.openSync(path.join(dir, manifestFileName({ index, count: shards })), 'w');
    for (let from = Number(start); from < Number(end); from += 1000) {
      const lines: string[] = [];
      for (let seed = from; seed < Math.min(from + 1000, Number(end)); seed++) lines.push(`${JSON.stringify(record(seed, shards, index))}\n`);
      bytes += fs.writeSync(fd, lines.join(''));
    }
    fs.closeSync(fd);
  }
  return bytes;
}

function runOne(size: number, shards: number): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'verify-bench-'));
  try {
    const bytes = writeManifests(dir, size, shards);
    global.gc?.();
    const rssBefore = process.resourceUsage().maxRSS;
    const started = process.hrtime.bigint();
    const report = verifyOutputs(dir, new SeedList([{ from: 0n, to: BigInt(size - 1) }]), { checkFiles: false });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (report.problemCount !== 0) throw new Error(`bench/verify-manifest: the synthetic manifests did not verify:\n${report.lines.join('\n')}`);
    const rssAfter = process.resourceUsage().maxRSS;
    console.log(JSON.stringify({ size, shards, manifestMB: bytes / 1e6, seconds, peakRssMB: rssAfter / 1024, growthMB: (rssAfter - rssBefore) / 1024 }));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function main(): void {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.one !== undefined) return runOne(opts.one, opts.shards);
  console.log(`verify --records-only, ${opts.shards} shard manifests; ${os.cpus()[0]?.model ?? 'unknown CPU'}, load ${os.loadavg()[0].toFixed(1)}`);
  console.log('records   manifest MB   seconds   peak RSS MB   RSS growth in verify MB');
  for (const size of opts.sizes) {
    const child = spawnSync(process.execPath, ['--expose-gc', __filename, '--one', String(size), '--shards', String(opts.shards)], { encoding: 'utf8' });
    if (child.status !== 0) throw new Error(`bench/verify-manifest: size ${size} failed: ${child.stderr}`);
    const r = JSON.parse(child.stdout.trim().split('\n').pop()!) as { manifestMB: number; seconds: number; peakRssMB: number; growthMB: number };
    console.log(
      `${String(size).padStart(7)}   ${r.manifestMB.toFixed(1).padStart(11)}   ${r.seconds.toFixed(2).padStart(7)}   ${r.peakRssMB.toFixed(0).padStart(11)}   ${r.growthMB.toFixed(1).padStart(8)}`,
    );
  }
}

main();

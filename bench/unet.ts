// UNet2DModel benchmark at the google/ddpm-cifar10-32 size (35.7 M parameters) with synthetic weights:
// load (diffusers folder → model), convert (→ tfjs folder), load of the converted folder, and forward passes.
//
//   npx tsc -p bench/tsconfig.json && node build/bench/unet.js [--backend wasm] [--batches 1,8,16] [--runs 5] [--profile]
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { BACKEND_NAMES, BackendName, setBackend } from '../lib/node/backends/set-backend';
import { convertCheckpoint } from '../lib/node/convert/convert-checkpoint';
import { DDPM_CIFAR10_32_UNET_CONFIG } from '../lib/models/unet/ddpm-cifar10-32';
import { UNet2DModel } from '../lib/models/unet/unet-2d-model';
import { writeSyntheticModelFolder } from '../test-support/synthetic-checkpoint';
import { oneOf, parseBenchArgs, positiveInt, positiveIntList } from './args';
import { median } from './stats';

interface Options {
  backend: BackendName;
  batches: number[];
  runs: number;
  profile: boolean;
}

function parseOptions(argv: string[]): Options {
  const script = 'bench/unet';
  const { values } = parseBenchArgs(
    script,
    { backend: { type: 'string', default: 'wasm' }, batches: { type: 'string', default: '1' }, runs: { type: 'string', default: '5' }, profile: { type: 'boolean' } },
    argv,
  );
  return {
    backend: oneOf(script, 'backend', values.backend, BACKEND_NAMES),
    batches: positiveIntList(script, 'batches', values.batches),
    runs: positiveInt(script, 'runs', values.runs),
    profile: values.profile === true,
  };
}

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function timed<T>(fn: () => Promise<T> | T): Promise<[T, number]> {
  const start = process.hrtime.bigint();
  const value = await fn();
  return [value, seconds(start)];
}


/** Wall and CPU seconds of one forward (CPU time: user + system of this process, robust to a busy machine). */
async function forwardSeconds(unet: UNet2DModel, sample: tf.Tensor4D, t: number): Promise<{ wall: number; cpu: number }> {
  const start = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  const out = unet.predict(sample, t);
  await out.data(); // wait for the backend
  out.dispose();
  const cpu = process.cpuUsage(cpuStart);
  return { wall: seconds(start), cpu: (cpu.user + cpu.system) / 1e6 };
}

async function profileForward(unet: UNet2DModel, sample: tf.Tensor4D): Promise<void> {
  const info = await tf.profile(async () => {
    const out = unet.predict(sample, 500);
    await out.data();
    out.dispose();
  });
  const byKernel = new Map<string, { ms: number; count: number }>();
  for (const k of info.kernels) {
    if (k.name.endsWith('__op')) continue; // op-level scopes wrap the kernels listed on their own
    const entry = byKernel.get(k.name) ?? { ms: 0, count: 0 };
    entry.ms += (await k.kernelTimeMs) as number;
    entry.count += 1;
    byKernel.set(k.name, entry);
  }
  const rows = [...byKernel.entries()].sort((a, b) => b[1].ms - a[1].ms);
  const total = rows.reduce((s, [, e]) => s + e.ms, 0);
  console.log(`\nkernel profile, one forward at batch ${sample.shape[0]} (${total.toFixed(1)} ms of kernel time):`);
  console.log('kernel'.padEnd(24) + 'calls'.padStart(8) + 'ms'.padStart(10) + '%'.padStart(8));
  for (const [name, e] of rows) {
    console.log(name.padEnd(24) + String(e.count).padStart(8) + e.ms.toFixed(2).padStart(10) + ((100 * e.ms) / total).toFixed(1).padStart(8));
  }
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  await setBackend(opts.backend);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-diffusers-bench-unet-'));
  const rows: [string, string][] = [];
  try {
    const srcDir = path.join(work, 'ddpm-cifar10-32-synthetic');
    const [, writeS] = await timed(() => writeSyntheticModelFolder(srcDir, { ...DDPM_CIFAR10_32_UNET_CONFIG }));
    rows.push(['write synthetic safetensors checkpoint (setup)', `${writeS.toFixed(2)} s`]);

    const [built, buildS] = await timed(() => UNet2DModel.fromConfig({ ...DDPM_CIFAR10_32_UNET_CONFIG }));
    rows.push(['build (fromConfig, zero weights)', `${buildS.toFixed(2)} s`]);
    built.dispose();

    const [fromDiffusers, loadS] = await timed(() => UNet2DModel.fromPretrained(srcDir));
    rows.push([`load diffusers folder (read + build + weights), ${fromDiffusers.countParams().toLocaleString('en-US')} params`, `${loadS.toFixed(2)} s`]);
    fromDiffusers.dispose();

    const outDir = path.join(work, 'converted');
    const [summary] = await timed(() => convertCheckpoint(srcDir, outDir));
    rows.push([`convert → tfjs (${(summary.bytes / 2 ** 20).toFixed(1)} MiB, ${summary.files.length} files)`, `${summary.seconds.toFixed(2)} s`]);

    const [unet, loadTfjsS] = await timed(() => UNet2DModel.fromPretrained(outDir));
    rows.push(['load converted tfjs folder (tf.loadLayersModel)', `${loadTfjsS.toFixed(2)} s`]);

    for (const batch of opts.batches) {
      const sample = tf.randomNormal([batch, 32, 32, 3], 0, 1, 'float32', 0) as tf.Tensor4D;
      const first = await forwardSeconds(unet, sample, 999);
      await forwardSeconds(unet, sample, 998); // warm-up
      const runs: { wall: number; cpu: number }[] = [];
      for (let i = 0; i < opts.runs; i++) runs.push(await forwardSeconds(unet, sample, 500 + i));
      const wall = median(runs.map((r) => r.wall));
      const cpu = median(runs.map((r) => r.cpu));
      rows.push([`forward batch ${batch}: first call`, `${first.wall.toFixed(3)} s (cpu ${first.cpu.toFixed(3)} s)`]);
      rows.push([
        `forward batch ${batch}: median of ${opts.runs} after warm-up`,
        `${wall.toFixed(3)} s (cpu ${cpu.toFixed(3)} s; ${(wall / batch).toFixed(3)} s/sample)`,
      ]);
      if (opts.profile) await profileForward(unet, sample);
      sample.dispose();
    }
    unet.dispose();
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  const width = Math.max(...rows.map(([k]) => k.length));
  console.log(`\nUNet2DModel (google/ddpm-cifar10-32 size, synthetic weights) on ${tf.getBackend()}, node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'}`);
  console.log(`${'step'.padEnd(width)}  time (wall; cpu = process CPU time, unaffected by other processes)`);
  for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});

/**
 * Per-kernel times of the native addon on the full-size UNet's calls, A/B between two addon builds (e.g. the
 * current kernels against an older oneDNN-based build of native/), interleaved so that the load of a shared machine
 * hits both alike. Phase 1 records every addon call of one full-size forward (synthetic weights) at each batch;
 * phase 2 replays each distinct call, in a fresh process per addon and round, on a heap of its own with random
 * inputs, and prints per kernel group the median over rounds and the spread (min–max).
 *
 *   npx tsc -p bench/tsconfig.json && node build/bench/native-kernels.js [--batches 1,16] [--rounds 5] \
 *       [--threads 1] [--addon native/build/Release/tfjs_diffusers_native.node] [--baseline /path/old.node]
 *
 * Each addon process is started with the environment as is, plus TFJS_DIFFUSERS_NATIVE_ISA when --isa is given.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { setBackend } from '../lib/node/backends/set-backend';
import { loadNativeAddon } from '../lib/node/backends/native/addon';
import type { NativeAddon } from '../lib/node/backends/native/addon';
import { DDPM_CIFAR10_32_UNET_CONFIG } from '../lib/models/unet/ddpm-cifar10-32';
import { UNet2DModel } from '../lib/models/unet/unet-2d-model';
import { syntheticStateDict } from '../test-support/synthetic-checkpoint';
import { parseBenchArgs, positiveInt, positiveIntList } from './args';
import { median } from './stats';

/** One recorded addon call: the function and its numeric arguments (offsets dropped). */
interface Call {
  fn: 'conv2d' | 'matmul' | 'groupNorm';
  args: number[];
  /** The kernel group it is reported under. */
  group: string;
  flops: number;
}

function convGroup(d: number[]): string {
  const [, , , inC, fh, , outC, stride, , , , pt, , , , oh] = d;
  if (fh === 1) return '1x1 conv';
  if (stride === 2) return '3x3 stride-2 conv';
  const winograd = fh === 3 && pt === 1 && inC % 16 === 0 && outC % 16 === 0 && inC >= 64 && outC >= 64 && oh >= 16;
  return winograd ? `3x3 conv ${oh}x${oh} (Winograd)` : `3x3 conv ${oh}x${oh} (direct)`;
}

/** Every addon call of one forward at `batch`, recorded through a wrapper module loaded as the addon. */
async function record(batch: number, addonFile: string): Promise<Call[]> {
  // The addon's functions are read-only properties: a module in front of it records the calls instead.
  const wrapper = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'native-kernels-')), 'recording-addon.js');
  fs.writeFileSync(
    wrapper,
    `const real = require(${JSON.stringify(path.resolve(addonFile))});
const calls = (globalThis.__nativeCalls = []);
module.exports = ({
  conv2d: (...a) => (calls.push(['conv2d', a[3] >= 0 ? 1 : 0, ...Array.from(a[6]), a[7], a[8]]), real.conv2d(...a)),
  matmul: (...a) => (calls.push(['matmul', a[3] >= 0 ? 1 : 0, ...a.slice(5, 10), a[10] ? 1 : 0, a[11] ? 1 : 0, a[12], a[13]]), real.matmul(...a)),
  groupNorm: (...a) => (calls.push(['groupNorm', ...a.slice(5, 10), a[10] ? 1 : 0]), real.groupNorm(...a)),
  setNumThreads: (t) => real.setNumThreads(t), info: () => real.info(), clearCaches: () => real.clearCaches(),
  evictWeights: (k) => real.evictWeights(k), setWinograd: (w) => real.setWinograd(w), readFloat: (h, o) => real.readFloat(h, o),
});
`,
  );
  process.env.TFJS_DIFFUSERS_NATIVE = wrapper;
  await setBackend('wasm', { native: true, threads: 1 });
  if (loadNativeAddon().addon === null) throw new Error(`native-kernels: the addon did not load: ${loadNativeAddon().error}`);
  const config = { ...DDPM_CIFAR10_32_UNET_CONFIG };
  const unet = UNet2DModel.fromConfig(config);
  unet.loadStateDict(syntheticStateDict(config), 'synthetic weights');
  const x = tf.randomNormal([batch, 32, 32, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  const recorded = (globalThis as unknown as { __nativeCalls: Array<[Call['fn'], ...number[]]> }).__nativeCalls;
  recorded.length = 0;
  const y = unet.predict(x, 500);
  await y.data();
  tf.dispose([x, y]);
  unet.dispose();
  return recorded.map(([fn, ...args]): Call => {
    if (fn === 'conv2d') {
      const d = args.slice(1, 18);
      return { fn, args, group: convGroup(d), flops: 2 * d[0] * d[15] * d[16] * d[6] * d[4] * d[5] * d[3] };
    }
    if (fn === 'matmul') {
      const [, ba, bb, m, k, n] = args;
      return { fn, args, group: m === 1 ? 'linear (time embedding)' : 'attention / projection matmul', flops: 2 * Math.max(ba, bb) * m * n * k };
    }
    return { fn, args, group: 'GroupNorm(+SiLU)', flops: 0 };
  });
}

/** Replays `calls` with `addonFile` (this process), `reps` times each after one warm-up; ms per call, in order. */
function replay(addonFile: string, calls: Call[], threads: number, reps: number): number[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the addon file to time is a command-line argument
  const addon = require(path.resolve(addonFile)) as NativeAddon;
  addon.setNumThreads(threads);
  const heap = new Uint8Array(512 * 2 ** 20);
  const floats = new Float32Array(heap.buffer);
  for (let i = 0; i < floats.length; i += 1) floats[i] = ((i * 2654435761) % 1000) / 1000 - 0.5;
  const region = heap.length / 4; // inputs at 0, the second operand at 1/4, the output at 1/2 of the heap, bias at 3/4
  const ms: number[] = [];
  calls.forEach((call, index) => {
    const key = 1_000_000 + index; // one weight tensor per call site (cached transforms, as in a forward)
    const run = () => {
      if (call.fn === 'conv2d') {
        const [bias, ...rest] = call.args;
        const dims = rest.slice(0, 17);
        addon.conv2d(heap, 0, region, bias ? 3 * region : -1, 2 * region, key, dims, rest[17], rest[18]);
      } else if (call.fn === 'matmul') {
        const [bias, ba, bb, m, k, n, ta, tb, act, alpha] = call.args;
        addon.matmul(heap, 0, region, bias ? 3 * region : -1, 2 * region, ba, bb, m, k, n, ta === 1, tb === 1, act, alpha);
      } else {
        const [n, hw, c, groups, eps, silu] = call.args;
        addon.groupNorm(heap, 0, region, 3 * region, 2 * region, n, hw, c, groups, eps, silu === 1);
      }
    };
    run();
    const t0 = process.hrtime.bigint();
    for (let r = 0; r < reps; r++) run();
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6 / reps);
  });
  return ms;
}

const RESULT = 'NATIVE-KERNELS ';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === '--replay') {
    const [, addonFile, callsFile, threads, reps] = argv;
    const calls = JSON.parse(fs.readFileSync(callsFile, 'utf8')) as Call[];
    console.log(RESULT + JSON.stringify(replay(addonFile, calls, Number(threads), Number(reps))));
    return;
  }
  if (argv[0] === '--record') {
    console.log(RESULT + JSON.stringify(await record(Number(argv[1]), argv[2])));
    return;
  }
  const { values } = parseBenchArgs('native-kernels', {
    batches: { type: 'string', default: '1,16' },
    rounds: { type: 'string', default: '5' },
    threads: { type: 'string', default: '1' },
    reps: { type: 'string', default: '3' },
    addon: { type: 'string', default: path.join(__dirname, '..', '..', 'native', 'build', 'Release', 'tfjs_diffusers_native.node') },
    baseline: { type: 'string' },
    isa: { type: 'string' },
  }, argv);
  const batches = positiveIntList('native-kernels', 'batches', values.batches as string);
  const rounds = positiveInt('native-kernels', 'rounds', values.rounds as string);
  const threads = positiveInt('native-kernels', 'threads', values.threads as string);
  const reps = positiveInt('native-kernels', 'reps', values.reps as string);
  const addons: Array<[string, string]> = [['current', values.addon as string]];
  if (values.baseline) addons.push(['baseline', values.baseline as string]);
  const env = values.isa ? { ...process.env, TFJS_DIFFUSERS_NATIVE_ISA: values.isa as string } : process.env;
  const child = (args: string[]): unknown => {
    const r = spawnSync(process.execPath, [__filename, ...args], { encoding: 'utf8', env, maxBuffer: 64 * 2 ** 20 });
    const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith(RESULT));
    if (r.status !== 0 || line === undefined) throw new Error(`native-kernels ${args.join(' ')} failed: ${(r.stderr ?? '').slice(-1000)}`);
    return JSON.parse(line.slice(RESULT.length));
  };
  for (const batch of batches) {
    const calls = child(['--record', String(batch), values.addon as string]) as Call[];
    const callsFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'native-kernels-')), 'calls.json');
    fs.writeFileSync(callsFile, JSON.stringify(calls));
    const groups = [...new Set(calls.map((c) => c.group))];
    const perRound: Record<string, Array<Record<string, number>>> = Object.fromEntries(addons.map(([name]) => [name, []]));
    for (let round = 0; round < rounds; round++) {
      for (const [name, file] of round % 2 === 0 ? addons : [...addons].reverse()) {
        const ms = child(['--replay', file, callsFile, String(threads), String(reps)]) as number[];
        const sums: Record<string, number> = Object.fromEntries(groups.map((g) => [g, 0]));
        ms.forEach((t, i) => (sums[calls[i].group] += t));
        sums.total = ms.reduce((a, b) => a + b, 0);
        perRound[name].push(sums);
      }
    }
    const flops: Record<string, number> = Object.fromEntries(groups.map((g) => [g, 0]));
    for (const c of calls) flops[c.group] += c.flops;
    flops.total = calls.reduce((a, c) => a + c.flops, 0);
    console.log(`\nbatch ${batch}, ${threads} thread(s), ${rounds} interleaved rounds, ms per forward's calls: median (min–max)${values.isa ? `, ISA ${values.isa}` : ''}`);
    console.log(['kernel group', 'calls', 'GFLOP', ...addons.map(([n]) => n), ...(addons.length > 1 ? ['current / baseline'] : []), 'GFLOP/s (current)'].join(' | '));
    for (const g of [...groups, 'total']) {
      const cells = addons.map(([name]) => {
        const xs = perRound[name].map((r) => r[g]);
        return `${median(xs).toFixed(2)} (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)})`;
      });
      const med = (name: string) => median(perRound[name].map((r) => r[g]));
      const ratio = addons.length > 1 ? [(med('current') / med('baseline')).toFixed(2)] : [];
      const count = g === 'total' ? calls.length : calls.filter((c) => c.group === g).length;
      const gflops = flops[g] > 0 ? (flops[g] / 1e9 / (med('current') / 1e3)).toFixed(1) : '–';
      console.log([g, count, (flops[g] / 1e9).toFixed(2), ...cells, ...ratio, gflops].join(' | '));
    }
  }
  console.log(`\nload average ${os.loadavg().map((l) => l.toFixed(2)).join(', ')} (${os.cpus().length} logical CPUs)`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

/**
 * The onnxruntime-node peer: diffusers' UNet2DModel for google/ddpm-cifar10-32 exported with torch.onnx.export
 * (bench/torch_unet.py), run by onnxruntime-node's CPU execution provider with `--threads` intra-op threads, at
 * each batch size. bench/run.ts starts one process of this per round and reads the JSON line it prints last.
 *
 *   node build/bench/onnxruntime-unet.js --module <onnxruntime-node folder> --model <unet.onnx> --batches 1,16 \
 *       [--runs 3] [--threads 2]
 */
import { parseBenchArgs, positiveInt, positiveIntList } from './args';
import { median, timedForwards, warmUp } from './stats';

export const ORT_PREFIX = 'ORT_UNET_RESULT ';

interface Ort {
  InferenceSession: { create(path: string, options: Record<string, unknown>): Promise<Session> };
  Tensor: new (type: string, data: Float32Array | BigInt64Array, dims: number[]) => unknown;
  env: { versions: { common: string } };
}
interface Session {
  run(feeds: Record<string, unknown>): Promise<Record<string, { data: Float32Array }>>;
}

async function main(): Promise<void> {
  const script = 'bench/onnxruntime-unet';
  const { values } = parseBenchArgs(script, {
    module: { type: 'string' },
    model: { type: 'string' },
    batches: { type: 'string', default: '1,16' },
    runs: { type: 'string', default: '3' },
    threads: { type: 'string', default: '2' },
  });
  if (values.module === undefined || values.model === undefined) throw new Error(`${script}: --module and --model are required`);
  const batches = positiveIntList(script, 'batches', values.batches);
  const runs = positiveInt(script, 'runs', values.runs);
  const threads = positiveInt(script, 'threads', values.threads);
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- onnxruntime-node from a path the user gives (not a dependency)
  const ort = require(values.module) as Ort;
  const session = await ort.InferenceSession.create(values.model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const results = [];
  for (const batch of batches) {
    const sample = new Float32Array(batch * 3 * 32 * 32).map((_, i) => Math.sin(i * 12.9898) * 0.5);
    const feeds = { sample: new ort.Tensor('float32', sample, [batch, 3, 32, 32]), timestep: new ort.Tensor('int64', new BigInt64Array(batch).fill(500n), [batch]) };
    const start = performance.now();
    await session.run(feeds);
    const firstMs = performance.now() - start;
    await warmUp(() => session.run(feeds));
    const times = await timedForwards(async () => {
      const t0 = performance.now();
      await session.run(feeds);
      return performance.now() - t0;
    }, runs);
    const medianMs = median(times);
    results.push({ batch, firstMs, medianMs, minMs: Math.min(...times), runs: times.length, msPerSample: medianMs / batch });
  }
  console.log(ORT_PREFIX + JSON.stringify({ onnxruntime: ort.env.versions.common, threads, batches: results }));
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}

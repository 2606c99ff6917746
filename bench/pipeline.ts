// DDIMPipeline benchmark: whole generate() calls (noise, steps, output) on the embedded tiny model and on a
// google/ddpm-cifar10-32-sized UNet (35.7 M parameters, zero weights: the same work as the real ones), per backend,
// batch size and UNet chunk size. Prints a table.
//
//   npx tsc -p bench/tsconfig.json && node build/bench/pipeline.js [--backends wasm,cpu] [--batches 1,16] [--steps 10]
//                                   [--chunks 16] [--models tiny,cifar10]
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { BACKEND_NAMES, BackendName, setBackend } from '../lib/node/backends/set-backend';
import { DDPM_CIFAR10_32_UNET_CONFIG } from '../lib/models/unet/ddpm-cifar10-32';
import { UNet2DModel } from '../lib/models/unet/unet-2d-model';
import { DDIMPipeline } from '../lib/pipelines/ddim-pipeline';
import { DDPM_CIFAR10_SCHEDULER_CONFIG } from '../lib/node/fs/pipeline-folder';
import { Generator } from '../lib/random/generator';
import { listOf, parseBenchArgs, positiveInt, positiveIntList } from './args';

interface Options {
  backends: BackendName[];
  batches: number[];
  steps: number;
  chunks: number[];
  models: ('tiny' | 'cifar10')[];
}

function parseOptions(argv: string[]): Options {
  const script = 'bench/pipeline';
  const { values } = parseBenchArgs(
    script,
    {
      backends: { type: 'string', default: 'wasm' },
      batches: { type: 'string', default: '1,16' },
      steps: { type: 'string', default: '10' },
      chunks: { type: 'string', default: '16' },
      models: { type: 'string', default: 'tiny,cifar10' },
    },
    argv,
  );
  return {
    backends: listOf(script, 'backends', values.backends, BACKEND_NAMES),
    batches: positiveIntList(script, 'batches', values.batches),
    steps: positiveInt(script, 'steps', values.steps),
    chunks: positiveIntList(script, 'chunks', values.chunks),
    models: listOf(script, 'models', values.models, ['tiny', 'cifar10'] as const),
  };
}

async function loadModel(model: 'tiny' | 'cifar10'): Promise<DDIMPipeline> {
  if (model === 'tiny') return DDIMPipeline.fromPretrained(path.join(__dirname, '..', '..', 'models', 'tiny-random'));
  return new DDIMPipeline({ unet: UNet2DModel.fromConfig(DDPM_CIFAR10_32_UNET_CONFIG), scheduler: DDPM_CIFAR10_SCHEDULER_CONFIG });
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const rows: string[][] = [['model', 'backend', 'batch', 'chunk', 'steps', 'seconds', 'ms/step', 'images/s', 'tensors/step']];
  for (const backend of opts.backends) {
    await setBackend(backend);
    for (const model of opts.models) {
      const pipeline = await loadModel(model);
      // One step first: kernels compile (webgl), XNNPACK packs weights (wasm).
      await pipeline.generate({ numInferenceSteps: 1, generator: new Generator().manualSeed(0), outputType: 'array' });
      for (const batch of opts.batches) {
        for (const chunk of opts.chunks) {
          if (chunk > batch && chunk !== opts.chunks[0]) continue;
          const tensors = new Set<number>();
          const start = process.hrtime.bigint();
          await pipeline.generate({
            batchSize: batch,
            generator: new Generator().manualSeed(0),
            numInferenceSteps: opts.steps,
            maxBatchPerForward: chunk,
            outputType: 'array',
            onStep: () => void tensors.add(tf.memory().numTensors),
          });
          const seconds = Number(process.hrtime.bigint() - start) / 1e9;
          rows.push([
            model,
            backend,
            String(batch),
            String(Math.min(chunk, batch)),
            String(opts.steps),
            seconds.toFixed(2),
            ((seconds * 1000) / opts.steps).toFixed(1),
            (batch / seconds).toFixed(2),
            [...tensors].join('/'),
          ]);
        }
      }
      pipeline.dispose();
    }
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const r of rows) console.log(r.map((v, c) => v.padStart(widths[c])).join('  '));
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});

/**
 * Scheduler step cost and parity, per tfjs backend.
 *
 *   npx tsc -p bench/tsconfig.json && node build/bench/schedulers.js [--runs R]
 *
 * Timing: median of R runs (after a warm-up) of one `step` including the read-back of prev_sample, for the
 * cifar10 shape and a batch of 16, NCHW and NHWC, eta 0 and eta 1 (noise drawn from a generator).
 * Parity: the worst relative error (max |Δ| / max |expected|) over the golden cases of spec/fixtures/scheduler.json.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { BackendName, setBackend } from '../lib/node/backends/set-backend';
import { Generator } from '../lib/random/generator';
import { DDIMScheduler } from '../lib/schedulers/ddim';
import { DDPMScheduler } from '../lib/schedulers/ddpm';
import { parseBenchArgs, positiveInt } from './args';
import { median } from './stats';

interface FixtureArray {
  shape: number[];
  data: number[];
}

interface GoldenCase {
  id: string;
  scheduler: 'DDIMScheduler' | 'DDPMScheduler';
  config_overrides: Record<string, unknown>;
  num_inference_steps: number;
  timestep: number;
  eta?: number;
  use_clipped_model_output?: boolean;
  model_output: FixtureArray;
  sample: FixtureArray;
  prev_sample: FixtureArray;
  pred_original_sample: FixtureArray;
  variance_noise?: FixtureArray;
}

export interface ParityRow {
  backend: string;
  scheduler: string;
  cases: number;
  worstPrevSample: number;
  worstPredOriginalSample: number;
  bitExactCases: number;
}

export interface TimingRow {
  backend: string;
  case: string;
  medianMs: number;
}

function relativeError(actual: ArrayLike<number>, expected: number[]): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / scale;
}


/** Worst errors against the golden cases on the active backend. */
export async function schedulerParity(backend: string): Promise<ParityRow[]> {
  const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'spec', 'fixtures', 'scheduler.json'), 'utf8'));
  const rows: ParityRow[] = [];
  for (const name of ['DDIMScheduler', 'DDPMScheduler'] as const) {
    const row: ParityRow = { backend, scheduler: name, cases: 0, worstPrevSample: 0, worstPredOriginalSample: 0, bitExactCases: 0 };
    for (const c of (fixture.cases as GoldenCase[]).filter((k) => k.scheduler === name)) {
      const json = { ...fixture.scheduler_config, ...c.config_overrides };
      const mo = tf.tensor(c.model_output.data, c.model_output.shape);
      const x = tf.tensor(c.sample.data, c.sample.shape);
      const vn = c.variance_noise ? tf.tensor(c.variance_noise.data, c.variance_noise.shape) : undefined;
      let out;
      if (name === 'DDIMScheduler') {
        const s = DDIMScheduler.fromConfig(json);
        s.setTimesteps(c.num_inference_steps);
        out = s.step(mo, c.timestep, x, { eta: c.eta, useClippedModelOutput: c.use_clipped_model_output, varianceNoise: vn });
      } else {
        const s = DDPMScheduler.fromConfig(json);
        s.setTimesteps(c.num_inference_steps);
        out = s.step(mo, c.timestep, x, { varianceNoise: vn });
      }
      const ePrev = relativeError(await out.prevSample.data(), c.prev_sample.data);
      const eX0 = relativeError(await out.predOriginalSample.data(), c.pred_original_sample.data);
      row.cases++;
      row.worstPrevSample = Math.max(row.worstPrevSample, ePrev);
      row.worstPredOriginalSample = Math.max(row.worstPredOriginalSample, eX0);
      if (ePrev === 0 && eX0 === 0) row.bitExactCases++;
      tf.dispose([mo, x, vn, out.prevSample, out.predOriginalSample]);
    }
    rows.push(row);
  }
  return rows;
}

/** Median time of one DDIM step (with read-back) for a few shapes on the active backend. */
export async function schedulerTiming(backend: string, runs: number): Promise<TimingRow[]> {
  const scheduler = new DDIMScheduler();
  scheduler.setTimesteps(50);
  const cases: Array<{ name: string; shape: number[]; eta: number; layout: 'NCHW' | 'NHWC' }> = [
    { name: 'DDIM [1,3,32,32] eta 0', shape: [1, 3, 32, 32], eta: 0, layout: 'NCHW' },
    { name: 'DDIM [1,3,32,32] eta 1', shape: [1, 3, 32, 32], eta: 1, layout: 'NCHW' },
    { name: 'DDIM [1,32,32,3] NHWC eta 1', shape: [1, 32, 32, 3], eta: 1, layout: 'NHWC' },
    { name: 'DDIM [16,3,32,32] eta 0', shape: [16, 3, 32, 32], eta: 0, layout: 'NCHW' },
    { name: 'DDIM [16,3,32,32] eta 1', shape: [16, 3, 32, 32], eta: 1, layout: 'NCHW' },
  ];
  const rows: TimingRow[] = [];
  for (const c of cases) {
    const mo = tf.randomNormal(c.shape);
    const x = tf.randomNormal(c.shape);
    const generator = new Generator().manualSeed(0);
    const once = async (): Promise<number> => {
      const t0 = process.hrtime.bigint();
      const out = scheduler.step(mo, 500, x, { eta: c.eta, generator: c.eta > 0 ? generator : undefined, layout: c.layout });
      await out.prevSample.data();
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      tf.dispose([out.prevSample, out.predOriginalSample]);
      return ms;
    };
    await once();
    const times: number[] = [];
    for (let i = 0; i < runs; i++) times.push(await once());
    rows.push({ backend, case: c.name, medianMs: median(times) });
    tf.dispose([mo, x]);
  }
  return rows;
}

function table(header: string[], body: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

export async function main(args: string[] = process.argv.slice(2)): Promise<void> {
  const { values } = parseBenchArgs('bench/schedulers', { runs: { type: 'string', default: '20' } }, args);
  const runs = positiveInt('bench/schedulers', 'runs', values.runs);
  const parity: ParityRow[] = [];
  const timing: TimingRow[] = [];
  for (const backend of ['cpu', 'wasm'] as BackendName[]) {
    await setBackend(backend);
    parity.push(...(await schedulerParity(backend)));
    timing.push(...(await schedulerTiming(backend, runs)));
  }
  console.log(`Scheduler parity against diffusers 0.30.3 (Node ${process.version}, ${process.arch})\n`);
  console.log(
    table(
      ['backend', 'scheduler', 'cases', 'bit-exact', 'worst prev_sample', 'worst pred_original_sample'],
      parity.map((r) => [r.backend, r.scheduler, String(r.cases), String(r.bitExactCases), r.worstPrevSample.toExponential(2), r.worstPredOriginalSample.toExponential(2)]),
    ),
  );
  console.log(`\nOne step, median of ${runs} runs (with read-back)\n`);
  console.log(table(['backend', 'case', 'median ms'], timing.map((r) => [r.backend, r.case, r.medianMs.toFixed(3)])));
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

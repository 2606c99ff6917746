/**
 * randn throughput: values per second for torch-exact noise on the CPU (no tfjs involved).
 *
 *   npx tsc -p bench/tsconfig.json && node build/bench/randn.js [--numel N] [--runs R]
 *
 * Each row is the median of R timed runs after one warm-up run, each run a fresh generator drawing
 * `numel` values in one call.
 */
import { Generator } from '../lib/random/generator';
import { randn, RandnDtype, RandnVariant } from '../lib/random/randn';
import { parseBenchArgs, positiveInt } from './args';
import { median } from './stats';

export interface RandnBenchRow {
  case: string;
  numel: number;
  medianMs: number;
  valuesPerSecond: number;
}

interface BenchCase {
  name: string;
  dtype: RandnDtype;
  variant: RandnVariant;
}

const CASES: BenchCase[] = [
  { name: "float32, variant 'avx2' (x86-64 torch)", dtype: 'float32', variant: 'avx2' },
  { name: "float32, variant 'default' (ARM torch)", dtype: 'float32', variant: 'default' },
  { name: 'float64', dtype: 'float64', variant: 'avx2' },
];


/** Times every case; returns one row per case. */
export function benchRandn(numel = 1_000_000, runs = 7): RandnBenchRow[] {
  return CASES.map(({ name, dtype, variant }) => {
    const once = (): number => {
      const generator = new Generator().manualSeed(0);
      const t0 = process.hrtime.bigint();
      const out = randn([numel], { generator, dtype, variant });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (out.length !== numel) throw new Error('randn returned the wrong length');
      return ms;
    };
    once(); // warm-up: lets the JIT compile the hot loops
    const times = Array.from({ length: runs }, once);
    const medianMs = median(times);
    return { case: name, numel, medianMs, valuesPerSecond: numel / (medianMs / 1000) };
  });
}

function formatTable(rows: RandnBenchRow[]): string {
  const header = ['case', 'values', 'median ms', 'values/s'];
  const body = rows.map((r) => [
    r.case,
    r.numel.toLocaleString('en-US'),
    r.medianMs.toFixed(1),
    `${(r.valuesPerSecond / 1e6).toFixed(1)} M`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells: string[]): string =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...body.map(line)].join('\n');
}

/** Runs the benchmark and prints a Markdown table. */
export function main(args: string[] = process.argv.slice(2)): RandnBenchRow[] {
  const { values } = parseBenchArgs('bench/randn', { numel: { type: 'string', default: '1000000' }, runs: { type: 'string', default: '7' } }, args);
  const numel = positiveInt('bench/randn', 'numel', values.numel);
  const runs = positiveInt('bench/randn', 'runs', values.runs);
  const rows = benchRandn(numel, runs);
  console.log(`randn throughput (median of ${runs} runs, Node ${process.version}, ${process.arch})\n`);
  console.log(formatTable(rows));
  return rows;
}

if (require.main === module) {
  main();
}

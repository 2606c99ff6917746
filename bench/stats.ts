/**
 * The median of timings: benchmarks on a shared machine are noisy, so they report the median of several runs,
 * never one run. NaN for no values.
 *
 * ```ts
 * median([3, 1, 2]); // 2
 * ```
 */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * Warm-up before the timed forwards, the same rule for the library and both peers: after the first forward (reported
 * as `firstMs`), forwards until WARMUP_FORWARDS have run or WARMUP_SECONDS have passed, whichever comes first (at
 * least one). V8 compiles tfjs' per-op JavaScript over the first ~20 forwards of a process (a batch-1 forward on the
 * native path fell from ~100 to ~50 ms over them on AMD EPYC Zen 4; with V8's optimizing compiler off it stays at
 * ~85 ms), and a pipeline's 50 steps run mostly warm; a 7 s plain-wasm forward needs no more than one.
 * bench/torch_unet.py applies the same numbers (passed on its command line by bench/run.ts).
 */
export const WARMUP_FORWARDS = 20;
export const WARMUP_SECONDS = 5;

/**
 * The timed forwards after the warm-up, the same rule for every contender: at least the `--runs` asked for, and more
 * until TIMED_MIN_SECONDS of timed forwards have passed, at most TIMED_MAX_FORWARDS. Three batch-1 forwards (~0.2 s)
 * gave medians 15 % apart between rounds of the same addon (AMD EPYC Zen 3, quiet); a second of them does not.
 */
export const TIMED_MIN_SECONDS = 1;
export const TIMED_MAX_FORWARDS = 30;

/** Times `forward` (its own ms per call) by the rule above. */
export async function timedForwards(forward: () => Promise<number>, runs: number): Promise<number[]> {
  const times: number[] = [];
  let total = 0;
  while (times.length < runs || (total < TIMED_MIN_SECONDS * 1000 && times.length < TIMED_MAX_FORWARDS)) {
    const ms = await forward();
    times.push(ms);
    total += ms;
  }
  return times;
}

/** Runs `forward` as the warm-up rule above says; returns how many forwards ran. */
export async function warmUp(forward: () => Promise<unknown>, maxForwards = WARMUP_FORWARDS, maxSeconds = WARMUP_SECONDS): Promise<number> {
  const start = performance.now();
  let n = 0;
  do {
    await forward();
    n++;
  } while (n < maxForwards && performance.now() - start < maxSeconds * 1000);
  return n;
}

/** The largest |a[i] − b[i]| (arrays of one length; the bench compares images and outputs of one shape). */
export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`maxAbsDiff: ${a.length} values against ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

/**
 * Turns of the event loop during long synchronous work (reading, decoding, converting and writing a multi-GB
 * checkpoint): a signal handler, a timer or an abort only run when JavaScript returns to the event loop, so a
 * `convert` that never yields acts on SIGTERM (what `timeout` and Kubernetes send) only once it is done, and the
 * SIGKILL that follows leaves its temporary folder behind. Each long stage calls the function this returns between
 * two units of work (a tensor, a shard); it yields a macrotask turn only when `intervalMs` have passed since the last
 * one, so its cost is one `performance.now()` per call plus one turn per interval.
 *
 * ```ts
 * const pause = eventLoopYielder();
 * for (const tensor of tensors) {
 *   convert(tensor);
 *   await pause(); // yields at most every 50 ms
 * }
 * ```
 */

/** Most milliseconds of synchronous work between two turns of the event loop in the long stages. */
const YIELD_INTERVAL_MS = 50;

function nextMacrotask(): Promise<void> {
  // setImmediate in Node (after pending I/O and signals); a zero timeout in browsers.
  return new Promise((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)));
}

/**
 * A function to await between units of synchronous work: it resolves at once, or after one turn of the event loop
 * when more than `intervalMs` (default {@link YIELD_INTERVAL_MS}) passed since the previous turn (or since the
 * yielder was made).
 */
export function eventLoopYielder(intervalMs: number = YIELD_INTERVAL_MS): () => Promise<void> {
  if (!Number.isFinite(intervalMs) || intervalMs < 0) {
    throw new Error(`eventLoopYielder: intervalMs must be a finite number ≥ 0, got ${String(intervalMs)}`);
  }
  let last = performance.now();
  return async () => {
    if (performance.now() - last < intervalMs) return;
    await nextMacrotask();
    last = performance.now();
  };
}

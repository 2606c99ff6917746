// Property-based fuzzing (fast-check) of the checkpoint readers: the safetensors header parser, the pickle machine
// (through readTorchCheckpoint) and its zip reader. Each run generates FUZZ_RUNS structure-aware inputs (valid
// files, then mutated) in a child process with a 512 MB heap and a time limit, and asserts "a result or a named
// CheckpointError naming the file, nothing else" (plus bounded messages and no Object.prototype pollution).
// Budget: each parser must finish its 10,000 inputs within 60 s (about 2-5 s on a 2-core AMD EPYC Zen 4).
// The seed changes every run and is printed; FUZZ_SEED=<n> replays one.
import { runHostileOne } from './hostile/run-hostile';
import type { FuzzSummary } from './fuzz/outcomes';

const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const BUDGET_MS = 60_000;
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);

describe.each([
  ['the safetensors header parser', 'fuzz-safetensors'],
  ['the pickle machine (readTorchCheckpoint, valid zip)', 'fuzz-pickle'],
  ['the torch zip reader (readTorchCheckpoint, valid pickle)', 'fuzz-zip'],
])('fuzzing %s', (what, task) => {
  test(`${RUNS} generated inputs: a result or a named error, within ${BUDGET_MS / 1000} s`, () => {
    const outcome = runHostileOne(task, [String(RUNS), String(SEED)], { timeoutMs: BUDGET_MS + 15_000, maxOldSpaceMb: 512 });
    if (outcome.result !== 'ok') throw new Error(`${what} (seed ${SEED}): ${JSON.stringify(outcome).slice(0, 4000)}`);
    const summary = outcome.value as FuzzSummary;
    console.log(
      `fuzz ${task}: ${summary.runs} inputs in ${summary.ms} ms (seed ${summary.seed}); ${summary.pastFirstCheck} got past the first check, ` +
        `${summary.ok} read without error; outcomes ${JSON.stringify(summary.counts)}`,
    );
    expect(summary.runs).toBe(RUNS);
    expect(summary.ms).toBeLessThanOrEqual(BUDGET_MS);
    // The generators are structure-aware: most inputs must reach the deeper checks, and some must be valid.
    expect(summary.pastFirstCheck).toBeGreaterThan(RUNS / 2);
    expect(summary.ok).toBeGreaterThan(RUNS / 20);
  });
});

import type { SeedList } from './seed-range';
import { parsePositiveInteger, quoted, UsageError } from '../usage-error';

/** Shard `index` of `count` (0 ≤ index < count), and where that came from (for messages and the manifest). */
export interface Shard {
  index: number;
  count: number;
  /** `--shard 2/8`, `JOB_COMPLETION_INDEX=2 with --shards 8`, `SLURM_ARRAY_TASK_ID=3 (…)`. */
  source: string;
}

/**
 * The positions of the seed list that shard `index` of `count` runs: the contiguous block
 * [⌊index·T/count⌋, ⌊(index+1)·T/count⌋) of the T positions, in list order.
 *
 * A pure function of (T, index, count): every process computes the same split from the same `--seeds` and N with no
 * coordination; the blocks cover every position exactly once; their sizes differ by at most one; a shard beyond T
 * gets an empty block. Example: `--seeds 0-9` on 4 shards → 0-1, 2-4, 5-6, 7-9.
 *
 * ```ts
 * shardBlock(10n, 1, 4); // { start: 2n, end: 5n }
 * ```
 */
export function shardBlock(total: bigint, index: number, count: number): { start: bigint; end: bigint } {
  if (!Number.isSafeInteger(count) || count < 1) throw new Error(`shardBlock: count=${count} must be a positive integer`);
  if (!Number.isSafeInteger(index) || index < 0 || index >= count) {
    throw new Error(`shardBlock: index=${index} must be an integer in [0, ${count - 1}]`);
  }
  if (total < 0n) throw new Error(`shardBlock: total=${total} must be >= 0`);
  const n = BigInt(count);
  return { start: (BigInt(index) * total) / n, end: (BigInt(index + 1) * total) / n };
}

/**
 * The seeds shard `shard` runs, still as ranges (nothing is expanded).
 *
 * ```ts
 * shardSeeds(parseSeedList('--seeds', '0-49999'), { index: 3, count: 4, source: '--shard 3/4' }).toString(); // '37500-49999'
 * ```
 */
export function shardSeeds(seeds: SeedList, shard: Pick<Shard, 'index' | 'count'>): SeedList {
  const { start, end } = shardBlock(seeds.count, shard.index, shard.count);
  return seeds.slice(start, end);
}

/** The file name a shard's manifest has in the output folder: `manifest-<index>-of-<count>.jsonl`. */
export function manifestFileName(shard: Pick<Shard, 'index' | 'count'>): string {
  return `manifest-${shard.index}-of-${shard.count}.jsonl`;
}

/** The `<index>` and `<count>` of a {@link manifestFileName}, or undefined for any other name. */
export function parseManifestFileName(name: string): { index: number; count: number } | undefined {
  const match = /^manifest-(\d+)-of-(\d+)\.jsonl$/.exec(name);
  if (!match) return undefined;
  const index = Number(match[1]);
  const count = Number(match[2]);
  return Number.isSafeInteger(count) && index < count ? { index, count } : undefined;
}

function parseIndex(name: string, raw: string, where: string): number {
  const text = raw.trim();
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`${where}: ${name} must be a whole number >= 0, got ${quoted(raw)}`);
  }
  return Number(text);
}

/** `--shard 2/8` → { index: 2, count: 8 }. */
function parseShardFlag(raw: string): Shard {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(raw);
  if (!match) throw new UsageError(`--shard: expected I/N like 0/4 (shard I of N, 0 <= I < N), got ${quoted(raw)}`);
  const index = parseIndex('I', match[1], '--shard');
  const count = parseIndex('N', match[2], '--shard');
  if (count < 1 || index >= count) {
    throw new UsageError(`--shard: expected I/N with 0 <= I < N, got ${quoted(raw)}`);
  }
  return { index, count, source: `--shard ${index}/${count}` };
}

/** The environment variables a scheduler sets for array tasks. */
export const KUBERNETES_INDEX_VARIABLE = 'JOB_COMPLETION_INDEX';
export const SLURM_VARIABLES = {
  id: 'SLURM_ARRAY_TASK_ID',
  count: 'SLURM_ARRAY_TASK_COUNT',
  min: 'SLURM_ARRAY_TASK_MIN',
  max: 'SLURM_ARRAY_TASK_MAX',
  step: 'SLURM_ARRAY_TASK_STEP',
} as const;

/**
 * A Slurm array task's shard. Array ids need not start at 0 (`--array=1-8`) and may have a step (`--array=0-30:10`):
 * the shard is (ID − MIN) / STEP of COUNT. An array that is not one arithmetic progression (`--array=1,3,10`, where
 * COUNT ≠ (MAX − MIN) / STEP + 1) is refused: its ids cannot be numbered 0 … COUNT − 1 from the variables alone.
 */
function slurmShard(env: Record<string, string | undefined>, shardsFlag: number | undefined): Shard {
  const { id: ID, count: COUNT, min: MIN, max: MAX, step: STEP } = SLURM_VARIABLES;
  const read = (name: string): number | undefined => {
    const raw = env[name];
    return raw === undefined || raw.trim() === '' ? undefined : parseIndex(name, raw, 'the Slurm array environment');
  };
  const id = read(ID)!;
  const count = read(COUNT);
  const min = read(MIN);
  const max = read(MAX);
  const step = read(STEP) ?? 1;
  const shown = [ID, COUNT, MIN, MAX, STEP].map((name) => `${name}=${env[name] ?? '(unset)'}`).join(' ');
  if (count === undefined || min === undefined || max === undefined) {
    throw new UsageError(
      `${ID} is set but ${COUNT}, ${MIN} and ${MAX} are not all set (${shown}): run as a Slurm job array (sbatch --array=0-N), ` +
        'or pass --shard I/N',
    );
  }
  if (step < 1 || count < 1 || max < min || (max - min) % step !== 0 || (max - min) / step + 1 !== count || (id - min) % step !== 0 || id < min || id > max) {
    throw new UsageError(
      `this Slurm array's task ids are not one range (${shown}): tfjs-diffusers numbers the shards (ID - MIN) / STEP and needs ` +
        'COUNT = (MAX - MIN) / STEP + 1; submit the array as one range like --array=0-15 (a %limit is fine), or pass --shard I/N',
    );
  }
  const index = (id - min) / step;
  if (shardsFlag !== undefined && shardsFlag !== count) {
    throw new UsageError(`--shards ${shardsFlag} disagrees with ${COUNT}=${count}: leave --shards out under Slurm, or make them equal`);
  }
  return { index, count, source: `${ID}=${id} (shard ${index} of ${COUNT}=${count})` };
}

/**
 * The shard this process runs, from the flags and the environment, or undefined for a run of the whole list:
 * 1. `--shard I/N`;
 * 2. a Kubernetes Indexed Job: `JOB_COMPLETION_INDEX` (which Kubernetes sets) with `--shards N` (the Job's
 *    `completions`, which Kubernetes does not pass to the pod);
 * 3. a Slurm job array: `SLURM_ARRAY_TASK_ID` with `_COUNT`, `_MIN`, `_MAX` (and `_STEP`), see {@link slurmShard}.
 * Ambiguous or inconsistent settings are a {@link UsageError} naming the flags and variables.
 */
export function resolveShard(flags: { shard?: string; shards?: string }, env: Record<string, string | undefined>): Shard | undefined {
  const shardsFlag = flags.shards === undefined ? undefined : parsePositiveInteger('--shards', flags.shards);
  if (flags.shard !== undefined) {
    if (shardsFlag !== undefined) {
      throw new UsageError(`--shard and --shards: give one or the other, got --shard ${quoted(flags.shard)} and --shards ${quoted(flags.shards!)}`);
    }
    return parseShardFlag(flags.shard);
  }
  const k8s = env[KUBERNETES_INDEX_VARIABLE];
  const slurm = env[SLURM_VARIABLES.id];
  const k8sSet = k8s !== undefined && k8s.trim() !== '';
  const slurmSet = slurm !== undefined && slurm.trim() !== '';
  if (k8sSet && slurmSet) {
    throw new UsageError(
      `both ${KUBERNETES_INDEX_VARIABLE}=${k8s} and ${SLURM_VARIABLES.id}=${slurm} are set: pass --shard I/N to say which shard this is`,
    );
  }
  if (k8sSet) {
    const index = parseIndex(KUBERNETES_INDEX_VARIABLE, k8s, 'the Kubernetes Indexed Job environment');
    if (shardsFlag === undefined) {
      throw new UsageError(
        `${KUBERNETES_INDEX_VARIABLE}=${k8s} is set (a Kubernetes Indexed Job) but --shards is not: pass --shards N with N = the Job's completions`,
      );
    }
    if (index >= shardsFlag) {
      throw new UsageError(`${KUBERNETES_INDEX_VARIABLE}=${k8s} is not below --shards ${shardsFlag}: --shards must equal the Job's completions`);
    }
    return { index, count: shardsFlag, source: `${KUBERNETES_INDEX_VARIABLE}=${index} with --shards ${shardsFlag}` };
  }
  if (slurmSet) return slurmShard(env, shardsFlag);
  if (shardsFlag !== undefined) {
    throw new UsageError(
      `--shards ${shardsFlag} needs ${KUBERNETES_INDEX_VARIABLE} (a Kubernetes Indexed Job) or a Slurm array task; ` +
        'elsewhere pass --shard I/N',
    );
  }
  return undefined;
}

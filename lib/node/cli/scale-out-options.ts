import { GenerateOptions, parsePositiveInteger, RawGenerateOptions, UsageError } from './arguments';
import { resolveShard } from './shard';

/**
 * Adds the scale-out flags of `generate` to checked options: the shard (`--shard I/N`, or `--shards N` with
 * JOB_COMPLETION_INDEX, or a Slurm array task), `--seeds-per-forward K`, and `--resume` / `--no-resume`.
 *
 * `--resume` (the default when a shard is set, since a restarted pod or a requeued array task must pick up where it
 * stopped): seeds whose PNG exists in `--out-dir` and matches its record in the shard's manifest are skipped; every
 * other seed is generated and written (replacing a PNG that has no matching record). `--no-resume` keeps the plain
 * behaviour: an existing output is an error unless `--force`. `--force` regenerates every seed.
 * @throws {@link UsageError} naming the flags.
 */
export function resolveScaleOutOptions(
  options: GenerateOptions,
  raw: RawGenerateOptions,
  env: Record<string, string | undefined>,
): GenerateOptions {
  const shard = resolveShard({ shard: raw.shard, shards: raw.shards }, env);
  const seedsPerForward = raw.seedsPerForward === undefined ? 1 : parsePositiveInteger('--seeds-per-forward', raw.seedsPerForward);
  if (seedsPerForward > 1 && options.batch > 1) {
    throw new UsageError(
      `--seeds-per-forward ${seedsPerForward} with --batch ${options.batch}: a seed's --batch images come from one generator stream, ` +
        'which cannot share a forward with other seeds; use one or the other',
    );
  }
  if (shard !== undefined && options.output.kind === 'file') {
    throw new UsageError(`--out: names one file but this process runs shard ${shard.index}/${shard.count} (${shard.source}); use --out-dir`);
  }
  if (raw.resume === true && options.force) {
    throw new UsageError('--resume and --force: give one or the other (--force regenerates every seed)');
  }
  if (raw.resume === true && options.output.kind !== 'dir') {
    throw new UsageError('--resume: needs --out-dir (it skips the seeds whose PNG and manifest record are there)');
  }
  const resume = options.output.kind === 'dir' && !options.force && (raw.resume ?? shard !== undefined);
  return { ...options, shard, seedsPerForward, resume };
}

/**
 * Backends whose UNet gives each sample the same bits alone and inside a batch (docs/backends.md, "Batch
 * invariance"; proven bit for bit at batch 1, 3, 4 and 16 by spec/models/unet/batch-invariance.spec.ts): cpu, and
 * wasm with or without the native kernels (on AVX-512 and AVX2). tfjs-node, webgl and webgpu are not measured.
 */
export const BATCH_INVARIANT_BACKENDS: readonly string[] = ['cpu', 'wasm'];

/**
 * The seeds per forward a run can use on `backend` without changing any seed's bytes: `requested` on a batch-invariant
 * backend, else 1, with a warning saying so (so `--seeds-per-forward` is a speed knob only, never a result knob).
 */
export function effectiveSeedsPerForward(requested: number, backend: string, warn: (message: string) => void): number {
  if (requested <= 1 || BATCH_INVARIANT_BACKENDS.includes(backend)) return requested;
  warn(
    `--seeds-per-forward ${requested}: the ${backend} backend is not known to be batch-invariant (a seed's bits could ` +
      `depend on the seeds beside it), so each seed runs alone; batch-invariant backends: ${BATCH_INVARIANT_BACKENDS.join(', ')}`,
  );
  return 1;
}

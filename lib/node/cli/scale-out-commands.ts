import * as path from 'path';
import type { Command } from 'commander';
import { parseSeedList, UsageError } from './arguments';
import type { CliIO } from './cli-io';
import { mergeOutputs, MERGED_MANIFEST } from '../scale-out/merge';
import { KUBERNETES_INDEX_VARIABLE, SLURM_VARIABLES } from '../scale-out/shard';
import { VerifyFailedError, verifyOutputs } from '../scale-out/verify';
import { safeLine } from './safe-text';
import { refuseExistingMergeOutputs } from './merge-outputs-guard';

/** The scale-out flags of `generate` (checked by `resolveScaleOutOptions`). */
export function addScaleOutOptions(generate: Command): void {
  generate
    .option('--shard <I/N>', 'run shard I of N of the seeds: the contiguous block floor(I*T/N) … floor((I+1)*T/N)-1 of the T seeds')
    .option('--shards <N>', `the shard count under a Kubernetes Indexed Job (${KUBERNETES_INDEX_VARIABLE} gives I; N = the Job's completions)`)
    .option('--seeds-per-forward <K>', 'K seeds share one UNet forward, each with its own generator: same bytes per seed, more throughput (default 1)')
    .option('--resume', 'skip seeds whose PNG in --out-dir matches its manifest record (default under a shard)')
    .option('--no-resume', 'do not skip: an existing output is an error unless --force')
    .addHelpText(
      'after',
      `\nScale-out: with --out-dir, each shard streams manifest-<I>-of-<N>.jsonl (one record per seed). Under a Slurm array ` +
        `the shard comes from ${SLURM_VARIABLES.id} and ${SLURM_VARIABLES.count}/_MIN/_MAX/_STEP. Check a folder with ` +
        '`tfjs-diffusers verify DIR --seeds A-B`. See docs/scale-out.md.\n',
    );
}

function checkedDir(raw: string): string {
  if (raw.trim() === '') throw new UsageError(`DIR: expected a folder, got ${JSON.stringify(raw)}`);
  return raw;
}

/** `verify` and `merge`: the report goes to stdout; problems end in a {@link VerifyFailedError} (exit code 1). */
export function addScaleOutCommands(program: Command, io: CliIO): void {
  program
    .command('verify')
    .description('check a generate --out-dir folder: every seed recorded once, every PNG matching its record, one set of settings')
    .argument('<dir>', 'the --out-dir of the generate runs (all shards)')
    .requiredOption('--seeds <list>', 'the seeds the folder must hold, as generate takes them: 0-49999')
    .option('--records-only', 'check the manifests alone, not the PNG files')
    .action((dirArg: string, raw: { seeds: string; recordsOnly?: boolean }) => {
      const dir = path.resolve(io.cwd, checkedDir(dirArg));
      const report = verifyOutputs(dir, parseSeedList('--seeds', raw.seeds), { checkFiles: !raw.recordsOnly });
      io.stdout(`${report.lines.map((line) => safeLine(line)).join('\n')}\n`);
      if (report.problemCount > 0) throw new VerifyFailedError(`verify: ${report.problemCount} problem(s) in ${dirArg}`);
    });

  program
    .command('merge')
    .description(`verify a folder, then write its records as one manifest in seed order (${MERGED_MANIFEST}) and optionally a .npz`)
    .argument('<dir>', 'the --out-dir of the generate runs (all shards)')
    .requiredOption('--seeds <list>', 'the seeds the folder must hold: 0-49999')
    .option('--out <file.jsonl>', `the merged manifest (default <dir>/${MERGED_MANIFEST})`)
    .option('--npz <file.npz>', 'also write every image as one uint8 NHWC array arr_0 (what FID tools read)')
    .option('--force', 'replace an existing --out or --npz file')
    .action(async (dirArg: string, raw: { seeds: string; out?: string; npz?: string; force?: boolean }) => {
      const dir = path.resolve(io.cwd, checkedDir(dirArg));
      const resolve = (file: string | undefined) => (file === undefined ? undefined : path.resolve(io.cwd, file));
      refuseExistingMergeOutputs(raw, io.cwd);
      const { report, lines } = await mergeOutputs(dir, parseSeedList('--seeds', raw.seeds), { out: resolve(raw.out), npz: resolve(raw.npz) });
      io.stdout(`${lines.join('\n')}\n`);
      if (report.problemCount > 0) throw new VerifyFailedError(`merge: ${report.problemCount} problem(s) in ${dirArg}; nothing written`);
    });
}

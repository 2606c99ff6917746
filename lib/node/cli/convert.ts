import * as fs from 'fs';
import * as path from 'path';
import { convertCheckpoint, ConvertSummary } from '../convert/convert-checkpoint';
import { convertPipelineFolder, ConvertPipelineSummary } from '../convert/convert-pipeline';
import { UsageError } from './arguments';
import type { CliIO } from './cli-io';

export interface ConvertArgs {
  /** The diffusers model or pipeline folder. */
  src: string;
  /** The folder to write (model.json + shards). */
  out: string;
  force?: boolean;
  /** Where the summary lines go. Default: console.log. */
  print?: (line: string) => void;
}

/** The one-line summary `convert` prints. */
function formatConvertSummary(summary: Pick<ConvertSummary, 'source' | 'parameters' | 'bytes' | 'files' | 'seconds'>, out: string): string {
  const mib = (summary.bytes / (1024 * 1024)).toFixed(1);
  return (
    `converted ${summary.source} → ${out}: ${summary.parameters.toLocaleString('en-US')} parameters, ` +
    `${mib} MiB in ${summary.files.length} files, ${summary.seconds.toFixed(2)} s`
  );
}

/**
 * `tfjs-diffusers convert <src> <out> [--force]`: converts a diffusers UNet2DModel checkpoint to the tfjs format and
 * prints a summary. Pure: no process exit, no argument parsing (the CLI's main wires those).
 *
 * ```ts
 * await runConvert({ src: 'ddpm-cifar10-32', out: 'models/ddpm-cifar10-32', force: true });
 * // converted ddpm-cifar10-32/unet → models/ddpm-cifar10-32: 35,746,307 parameters, 136.4 MiB in 36 files, 2.10 s
 * ```
 */
export async function runConvert(args: ConvertArgs): Promise<ConvertSummary> {
  const summary = await convertCheckpoint(args.src, args.out, { force: args.force });
  (args.print ?? console.log)(formatConvertSummary(summary, args.out));
  return summary;
}

/**
 * `tfjs-diffusers convert <diffusers_dir> <out_dir> [--force]` as the CLI runs it: converts a whole pipeline folder
 * (the UNet to the tfjs format, the scheduler config and model_index.json alongside; see `convertPipelineFolder`),
 * once and atomically, then prints the one-line summary on stdout. Bad paths are usage errors (exit code 2).
 */
export async function runConvertCommand(src: string, out: string, options: { force: boolean }, io: CliIO): Promise<ConvertPipelineSummary> {
  const srcDir = path.resolve(io.cwd, src);
  const outDir = path.resolve(io.cwd, out);
  if (!fs.existsSync(srcDir) || !fs.statSync(srcDir).isDirectory()) {
    throw new UsageError(`<diffusers_dir>: expected a folder, got "${src}" (no such folder)`);
  }
  if (!options.force && fs.existsSync(outDir)) {
    throw new UsageError(`<out_dir>: "${out}" already exists; pass --force to replace it`);
  }
  const summary = await convertPipelineFolder(srcDir, outDir, { force: options.force });
  io.stdout(`${formatConvertSummary(summary, out)}\n`);
  return summary;
}

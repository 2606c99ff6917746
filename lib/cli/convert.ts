import { convertCheckpoint, ConvertSummary } from '../models/unet/convert';

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
export function formatConvertSummary(summary: ConvertSummary, out: string): string {
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

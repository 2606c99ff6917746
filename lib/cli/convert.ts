import * as fs from 'fs';
import * as path from 'path';
import { convertPipelineFolder } from '../pipelines/convert-pipeline';
import { UsageError } from './arguments';
import type { CliIO } from './cli-io';

/** `1234567` → `1,234,567`. */
function withThousands(n: number): string {
  return n.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

function formatBytes(bytes: number): string {
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(1)} kB`;
  return `${bytes} B`;
}

/**
 * `tfjs-diffusers convert <diffusers_dir> <out_dir>`: converts once, atomically, and prints a one-line summary
 * (parameters, bytes written, seconds) on stdout.
 */
export async function runConvert(src: string, out: string, options: { force: boolean }, io: CliIO): Promise<void> {
  const srcDir = path.resolve(io.cwd, src);
  const outDir = path.resolve(io.cwd, out);
  if (!fs.existsSync(srcDir) || !fs.statSync(srcDir).isDirectory()) {
    throw new UsageError(`<diffusers_dir>: expected a folder, got "${src}" (no such folder)`);
  }
  if (!options.force && fs.existsSync(outDir)) {
    throw new UsageError(`<out_dir>: "${out}" already exists; pass --force to replace it`);
  }
  if (path.relative(srcDir, outDir) === '') {
    throw new UsageError(`<out_dir>: must differ from <diffusers_dir>, got "${out}" for both`);
  }
  const summary = await convertPipelineFolder(srcDir, outDir, { force: options.force });
  io.stdout(
    `converted ${src} -> ${out}: ${withThousands(summary.parameters)} parameters, ${formatBytes(summary.bytes)}, ` +
      `${summary.seconds.toFixed(2)} s\n`,
  );
}

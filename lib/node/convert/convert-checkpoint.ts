import * as fs from 'fs';
import * as path from 'path';
import { loadUNetFromSource } from '../../models/unet/load-unet';
import { findUNetLayout } from '../../loading/pipeline-layout';
import { ensureBackend } from '../backends/set-backend';
import { FsModelSource } from '../fs/fs-model-source';
import { assertOutputOutsideSource, OUTPUT_MARKER } from '../fs/output-folder';

export interface ConvertOptions {
  /** Replace an existing output folder. Default false: an existing folder is an error. */
  force?: boolean;
}

export interface ConvertSummary {
  /** Number of parameters written. */
  parameters: number;
  /** Bytes written (model.json + weight shards). */
  bytes: number;
  /** Wall time of the whole conversion (read, map, write), seconds. */
  seconds: number;
  /** The diffusers model folder that was read (`srcDir` or its `unet/`). */
  source: string;
  /** The files written, relative to `outDir`. */
  files: string[];
}

/**
 * Converts a diffusers UNet2DModel checkpoint (a model folder with `config.json` and
 * `diffusion_pytorch_model.safetensors` / `.bin`, or a pipeline folder with `unet/`) to the tfjs LayersModel format
 * (`model.json` + 4 MiB weight shards, the diffusers config in `userDefinedMetadata.diffusers`), written atomically:
 * a temporary folder renamed into place, an existing `outDir` replaced only with `force`.
 *
 * ```ts
 * const { parameters, bytes, seconds } = await convertCheckpoint('ddpm-cifar10-32', 'models/ddpm-cifar10-32');
 * ```
 */
export async function convertCheckpoint(srcDir: string, outDir: string, options: ConvertOptions = {}): Promise<ConvertSummary> {
  const start = process.hrtime.bigint();
  assertOutputOutsideSource(srcDir, outDir);
  if (!options.force && fs.existsSync(outDir)) {
    throw new Error(`${outDir} already exists; pass --force (force: true) to overwrite it`);
  }
  const folder = new FsModelSource(srcDir);
  const layout = await findUNetLayout(folder);
  if (layout.format === 'tfjs') {
    throw new Error(`${srcDir} is already a converted tfjs model (it has ${layout.modelJson}); convert reads diffusers folders`);
  }
  const source = path.dirname(folder.describe(layout.config));
  // A fresh process has no tfjs backend yet; conversion does no math, so the pure-JS one holds the weights.
  await ensureBackend('cpu');
  const unet = await loadUNetFromSource(folder, layout);
  try {
    const parameters = unet.countParams();
    await unet.save(outDir, { force: options.force, source: path.basename(path.resolve(srcDir)) });
    const files = fs.readdirSync(outDir).filter((f) => f !== OUTPUT_MARKER).sort();
    const bytes = files.reduce((sum, f) => sum + fs.statSync(path.join(outDir, f)).size, 0);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    return { parameters, bytes, seconds, source, files };
  } finally {
    unet.dispose();
  }
}

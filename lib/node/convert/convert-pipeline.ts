import * as fs from 'fs';
import * as path from 'path';
import { writeDirAtomic } from '../fs/atomic-write';
import { convertCheckpoint } from './convert-checkpoint';
import { DDIMScheduler } from '../../schedulers/ddim';
import { hasScheduler, schedulerFromConfig } from '../../schedulers/registry';
import { readPipelineFolder } from '../fs/pipeline-folder';
import { assertOutputOutsideSource, OUTPUT_MARKER } from '../fs/output-folder';
import { CONVERTED_LAYOUT } from '../../loading/pipeline-layout';

/** What {@link convertPipelineFolder} reports. */
export interface ConvertPipelineSummary {
  /** UNet parameters written. */
  parameters: number;
  /** Bytes written in all (weights, model.json, configs). */
  bytes: number;
  /** Wall time of the conversion, seconds. */
  seconds: number;
  /** The UNet folder that was read. */
  source: string;
  /** The files written, relative to the output folder, '/'-separated (the output marker files aside). */
  files: string[];
  /** Where the scheduler config came from, or null when the cifar10 default was written. */
  schedulerConfigFile: string | null;
}

function listFiles(dir: string, prefix = ''): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.name !== OUTPUT_MARKER)
    .flatMap((e) => (e.isDirectory() ? listFiles(path.join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]))
    .sort();
}

/**
 * Converts a diffusers folder (pipeline, flat or bare UNet layout, see `readPipelineFolder`) into a pipeline folder
 * that {@link DDIMPipeline.fromPretrained} loads without reading PyTorch files again:
 *
 * ```
 * <out>/model_index.json                  the source's, or a DDIMPipeline one; plus "_tfjs_diffusers": { converted_from }
 * <out>/unet/model.json + weight shards   convertCheckpoint's tfjs LayersModel format
 * <out>/scheduler/scheduler_config.json   the source's scheduler config (the cifar10 DDPM one for a bare UNet)
 * ```
 * Written atomically: a temporary folder renamed into place; an existing `out` is replaced only with `force`, and
 * only when it is empty or was written by this library (`OUTPUT_MARKER`). `out` may not be, contain or lie inside
 * `src`.
 *
 * ```ts
 * const { parameters, bytes, seconds } = await convertPipelineFolder('ddpm-cifar10-32', 'ddpm-cifar10-32-tfjs');
 * ```
 */
export async function convertPipelineFolder(src: string, out: string, options: { force?: boolean } = {}): Promise<ConvertPipelineSummary> {
  const started = performance.now();
  assertOutputOutsideSource(src, out);
  const folder = await readPipelineFolder(src);
  if (folder.unetConverted) {
    throw new Error(`${folder.unetDir} is already converted (it holds model.json); convert reads diffusers folders`);
  }
  // Fail before the long part if the scheduler config is bad: checked by the class it names when this library has
  // it, else by DDIMScheduler (what DDIMPipeline converts any scheduler config to).
  const className = folder.schedulerConfig._class_name;
  if (typeof className === 'string' && hasScheduler(className)) schedulerFromConfig(folder.schedulerConfig, { onWarning: () => {} });
  else DDIMScheduler.fromConfig(folder.schedulerConfig, { onWarning: () => {} });
  let parameters = 0;
  await writeDirAtomic(
    out,
    async (tmp) => {
      ({ parameters } = await convertCheckpoint(folder.unetDir, path.join(tmp, CONVERTED_LAYOUT.unetFolder)));
      fs.mkdirSync(path.join(tmp, CONVERTED_LAYOUT.schedulerFolder));
      fs.writeFileSync(path.join(tmp, ...CONVERTED_LAYOUT.schedulerConfig.split('/')), `${JSON.stringify(folder.schedulerConfig, null, 2)}\n`);
      const modelIndex = {
        ...(folder.modelIndex ?? {
          _class_name: 'DDIMPipeline',
          scheduler: ['diffusers', String(folder.schedulerConfig._class_name ?? 'DDPMScheduler')],
          unet: ['diffusers', 'UNet2DModel'],
        }),
        // The source folder's name only: an absolute path would record the converting machine's layout (issue 22).
        _tfjs_diffusers: { format: 'tfjs-layers', converted_from: path.basename(path.resolve(src)) },
      };
      fs.writeFileSync(path.join(tmp, CONVERTED_LAYOUT.modelIndex), `${JSON.stringify(modelIndex, null, 2)}\n`);
    },
    { force: options.force, writer: 'convertPipelineFolder' },
  );
  const files = listFiles(out);
  const bytes = files.reduce((sum, f) => sum + fs.statSync(path.join(out, ...f.split('/'))).size, 0);
  return {
    parameters,
    bytes,
    seconds: (performance.now() - started) / 1000,
    source: folder.unetDir,
    files,
    schedulerConfigFile: folder.schedulerConfigFile,
  };
}

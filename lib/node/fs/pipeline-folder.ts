import * as fs from 'fs';
import * as path from 'path';
import { DDPM_CIFAR10_SCHEDULER_CONFIG } from '../../schedulers/ddpm-cifar10-32';
import { readJsonFile } from './read-file';
import { MODEL_JSON } from './tfjs-fs-handler';

export { DDPM_CIFAR10_SCHEDULER_CONFIG };

/** The parts of a pipeline folder, as found on disk. */
export interface PipelineFolder {
  /** The folder holding the UNet (`<dir>/unet`, or `<dir>` itself for a bare UNet or the flat layout). */
  unetDir: string;
  /** Whether the UNet is already in the tfjs format (`model.json`). */
  unetConverted: boolean;
  /** The scheduler config JSON; the cifar10 DDPM config when the folder has none. */
  schedulerConfig: Record<string, unknown>;
  /** Where the scheduler config came from: a file, or null for the default. */
  schedulerConfigFile: string | null;
  /** `model_index.json`, when there is one. */
  modelIndex: Record<string, unknown> | null;
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function readJsonObject(file: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = readJsonFile(file);
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`${file}: expected a JSON object, got ${Array.isArray(value) ? 'an array' : String(value)}`);
  }
  return value as Record<string, unknown>;
}

/**
 * Finds the UNet and the scheduler config of a folder in any of the layouts diffusers reads:
 * - a pipeline folder: `model_index.json`, `unet/`, `scheduler/scheduler_config.json`;
 * - the flat layout of early Hub repositories: `config.json`, weights and `scheduler_config.json` side by side;
 * - a bare UNet folder (diffusers `config.json` + weights, or a converted `model.json`): then the scheduler is
 *   {@link DDPM_CIFAR10_SCHEDULER_CONFIG};
 * - any of these converted by `tfjs-diffusers convert` (`unet/model.json`).
 *
 * ```ts
 * const { unetDir, schedulerConfig } = readPipelineFolder('ddpm-cifar10-32');
 * ```
 * @throws naming the folder and what it lacks.
 */
export function readPipelineFolder(dir: string): PipelineFolder {
  if (!isDirectory(dir)) throw new Error(`${dir} is not a folder`);
  const modelIndexFile = path.join(dir, 'model_index.json');
  const modelIndex = fs.existsSync(modelIndexFile) ? readJsonObject(modelIndexFile) : null;
  if (modelIndex !== null) {
    const unetEntry = modelIndex.unet;
    if (unetEntry === undefined) {
      throw new Error(`${modelIndexFile}: no "unet" component; DDIMPipeline needs a UNet2DModel`);
    }
    if (Array.isArray(unetEntry) && typeof unetEntry[1] === 'string' && unetEntry[1] !== 'UNet2DModel') {
      throw new Error(`${modelIndexFile}: unet is a ${unetEntry[1]}; DDIMPipeline runs UNet2DModel pipelines only`);
    }
  }
  const unetDir = isDirectory(path.join(dir, 'unet')) ? path.join(dir, 'unet') : dir;
  const unetConverted = fs.existsSync(path.join(unetDir, MODEL_JSON));
  if (!unetConverted && !fs.existsSync(path.join(unetDir, 'config.json'))) {
    throw new Error(
      `${dir} holds no UNet: expected unet/ (a pipeline folder), or config.json + diffusion_pytorch_model.safetensors / .bin ` +
        `(a UNet folder), or ${MODEL_JSON} (a converted folder)`,
    );
  }
  const candidates = [path.join(dir, 'scheduler', 'scheduler_config.json'), path.join(dir, 'scheduler_config.json')];
  const schedulerConfigFile = candidates.find((f) => fs.existsSync(f)) ?? null;
  const schedulerConfig = schedulerConfigFile === null ? { ...DDPM_CIFAR10_SCHEDULER_CONFIG } : readJsonObject(schedulerConfigFile);
  return { unetDir, unetConverted, schedulerConfig, schedulerConfigFile, modelIndex };
}

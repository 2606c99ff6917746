import * as fs from 'fs';
import * as path from 'path';
import { snapshotDownload, HubDownloadOptions } from '../io/hub';
import { defaultHubCacheDir, looksLikeRepoId } from '../io/hub-cache';
import { MODEL_JSON } from '../io/tfjs-format';
import { UNet2DModel } from '../models/unet/unet-2d-model';
import { convertPipelineFolder } from './convert-pipeline';
import { readPipelineFolder } from './pipeline-folder';

/** Options of `DDIMPipeline.fromPretrained`: the Hub download's (used for a Hub id only), plus status messages. */
export interface LoadPipelineOptions extends HubDownloadOptions {
  /** Told, in one line, about slow work: a download, a one-time conversion. Default: silent. */
  onStatus?: (message: string) => void;
  /** Receives the scheduler's warning about config keys it ignores. Default `console.warn`. */
  onWarning?: (message: string) => void;
}

/** What the loader hands to the pipeline. */
export interface LoadedPipelineComponents {
  unet: UNet2DModel;
  /** The scheduler config JSON (diffusers' snake_case), to be read by `DDIMScheduler.fromConfig`. */
  schedulerConfig: Record<string, unknown>;
  /** The folder the components were read from (for a Hub id: the converted cache folder). */
  dir: string;
}

/**
 * The folder where a Hub snapshot's tfjs conversion is kept: `<hub cache>/tfjs-diffusers/<org>--<name>/<commit>`,
 * beside huggingface_hub's own `models--<org>--<name>` folders, so the Hub cache holds both.
 */
export function convertedCacheDir(cacheDir: string, repoId: string, commit: string): string {
  return path.join(cacheDir, 'tfjs-diffusers', repoId.split('/').join('--'), commit);
}

/**
 * Downloads a Hub repository's pipeline files into the Hugging Face cache (once), converts them to the tfjs format
 * (once per commit) and returns the converted folder.
 */
export async function downloadAndConvert(repoId: string, options: LoadPipelineOptions = {}): Promise<string> {
  const env = options.env ?? process.env;
  const cacheDir = options.cacheDir ?? defaultHubCacheDir(env);
  options.onStatus?.(`fetching ${repoId} (Hugging Face Hub cache: ${cacheDir})`);
  const { onStatus: _onStatus, onWarning: _onWarning, ...hubOptions } = options;
  const snapshot = await snapshotDownload(repoId, { ...hubOptions, cacheDir, env });
  const converted = convertedCacheDir(cacheDir, repoId, path.basename(snapshot));
  if (!fs.existsSync(path.join(converted, 'unet', MODEL_JSON))) {
    options.onStatus?.(`converting ${repoId} to the tfjs format, once: ${converted}`);
    await convertPipelineFolder(snapshot, converted, { force: true });
  }
  return converted;
}

/**
 * Loads the UNet and the scheduler config of a pipeline from a folder (any layout `readPipelineFolder` knows) or a
 * Hub id (`org/name`, downloaded and converted once by {@link downloadAndConvert}). A local folder wins over a Hub id
 * of the same name, as in diffusers.
 */
export async function loadPipelineComponents(dirOrHubId: string, options: LoadPipelineOptions = {}): Promise<LoadedPipelineComponents> {
  if (typeof dirOrHubId !== 'string' || dirOrHubId.trim() === '') {
    throw new Error(`DDIMPipeline.fromPretrained: expected a folder or a Hub id like google/ddpm-cifar10-32, got ${JSON.stringify(dirOrHubId)}`);
  }
  let dir: string;
  if (fs.existsSync(dirOrHubId)) {
    dir = dirOrHubId;
  } else if (looksLikeRepoId(dirOrHubId) && dirOrHubId.includes('/')) {
    dir = await downloadAndConvert(dirOrHubId, options);
  } else {
    throw new Error(
      `DDIMPipeline.fromPretrained: ${JSON.stringify(dirOrHubId)} is neither an existing folder nor a Hub id like google/ddpm-cifar10-32`,
    );
  }
  const folder = readPipelineFolder(dir);
  const unet = await UNet2DModel.fromPretrained(folder.unetDir);
  return { unet, schedulerConfig: folder.schedulerConfig, dir };
}

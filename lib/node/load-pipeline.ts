import * as fs from 'fs';
import * as path from 'path';
import type { LoadedPipelineComponents, LoadPipelineOptions } from '../loading/load-options';
import { snapshotDownload } from './hub/hub';
import { defaultHubCacheDir, looksLikeRepoId } from './hub/hub-cache';
import { MODEL_JSON } from './fs/tfjs-fs-handler';
import { loadUNetFromFolder } from './fs/load-unet';
import { convertPipelineFolder } from './convert/convert-pipeline';
import { readPipelineFolder } from './fs/pipeline-folder';

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
  const unet = await loadUNetFromFolder(folder.unetDir);
  return { unet, schedulerConfig: folder.schedulerConfig, dir };
}

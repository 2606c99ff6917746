import * as fs from 'fs';
import * as path from 'path';
import type { LoadedPipelineComponents, LoadPipelineOptions } from '../loading/load-options';
import { snapshotDownload } from './hub/hub';
import { convertedCacheDir, convertedLockPath, defaultHubCacheDir, looksLikeRepoId } from './hub/cache';
import { FileLock } from './fs/file-lock';
import { MODEL_JSON } from './fs/tfjs-fs-handler';
import { loadUNetFromFolder } from './fs/load-unet';
import { convertPipelineFolder } from './convert/convert-pipeline';
import { readPipelineFolder } from './fs/pipeline-folder';

export { convertedCacheDir };

/** Folders `writeDirAtomic` left beside `target` when a converting process was killed (`.<name>.tmp-<pid>-...`). */
function removeAbandonedConversions(target: string): void {
  const prefix = `.${path.basename(target)}.tmp-`;
  let names: string[];
  try {
    names = fs.readdirSync(path.dirname(target));
  } catch {
    return;
  }
  for (const name of names) if (name.startsWith(prefix)) fs.rmSync(path.join(path.dirname(target), name), { recursive: true, force: true });
}

/**
 * Downloads a Hub repository's pipeline files into the Hugging Face cache (once), converts them to the tfjs format
 * (once per commit) and returns the converted folder. Safe for many processes on one cache: the downloads take a
 * lock per blob (hub/download.ts), the conversion one per commit, so one process converts and the others wait for
 * its result; a converter killed midway leaves a temporary folder that the next one removes.
 */
export async function downloadAndConvert(repoId: string, options: LoadPipelineOptions = {}): Promise<string> {
  const env = options.env ?? process.env;
  const cacheDir = options.cacheDir ?? defaultHubCacheDir(env);
  options.onStatus?.(`fetching ${repoId} (Hugging Face Hub cache: ${cacheDir})`);
  const { onStatus: _onStatus, onWarning: _onWarning, ...hubOptions } = options;
  const snapshot = await snapshotDownload(repoId, { ...hubOptions, cacheDir, env });
  const converted = convertedCacheDir(cacheDir, repoId, path.basename(snapshot));
  const done = (): boolean => fs.existsSync(path.join(converted, 'unet', MODEL_JSON));
  if (done()) return converted;
  const lock = await FileLock.acquire(convertedLockPath(cacheDir, repoId, path.basename(snapshot)), {
    onWait: (holder) => options.onStatus?.(`waiting for another process converting ${repoId}${holder ? ` (pid ${holder.pid} on ${holder.hostname})` : ''}`),
  });
  try {
    if (!done()) {
      // Only a lock holder converts, so any temporary folder left beside the target is from a killed converter.
      removeAbandonedConversions(converted);
      options.onStatus?.(`converting ${repoId} to the tfjs format, once: ${converted}`);
      await convertPipelineFolder(snapshot, converted, { force: true });
    }
  } finally {
    lock.release();
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

import * as fs from 'fs';
import * as path from 'path';
import type { LoadPipelineOptions } from '../loading/load-options';
import type { ModelSource } from '../loading/model-source';
import { CONVERTED_LAYOUT } from '../loading/pipeline-layout';
import { snapshotDownload } from './hub/hub';
import { convertedCacheDir, convertedLockPath, defaultHubCacheDir } from './hub/cache';
import { FileLock } from './fs/file-lock';
import { convertPipelineFolder } from './convert/convert-pipeline';
import { FsModelSource } from './fs/fs-model-source';
import { classifyModelLocation } from './hub/model-location';

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
  const done = (): boolean => fs.existsSync(path.join(converted, ...CONVERTED_LAYOUT.unetModelJson.split('/')));
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
 * Node's {@link PlatformLoaders.openModelSource}: a folder or `file:` URL is read where it is; a Hub id
 * (`org/name`) is downloaded and converted once by {@link downloadAndConvert}, then its converted cache folder is
 * read. A local folder wins over a Hub id of the same name, as in diffusers (see `classifyModelLocation`).
 *
 * ```ts
 * const source = await openModelSource('google/ddpm-cifar10-32');
 * ```
 */
export async function openModelSource(location: string, options: LoadPipelineOptions = {}): Promise<ModelSource> {
  const where = classifyModelLocation(location);
  return new FsModelSource(where.kind === 'folder' ? where.dir : await downloadAndConvert(where.repoId, options));
}

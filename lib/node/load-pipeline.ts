import * as fs from 'fs';
import * as path from 'path';
import type { LoadPipelineOptions } from '../loading/load-options';
import type { ModelSource } from '../loading/model-source';
import { CONVERTED_LAYOUT } from '../loading/pipeline-layout';
import { snapshotDownload } from './hub/hub';
import { defaultHubCacheDir } from './hub/hub-cache';
import { convertPipelineFolder } from './convert/convert-pipeline';
import { FsModelSource } from './fs/fs-model-source';
import { classifyModelLocation } from './model-location';

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
  if (!fs.existsSync(path.join(converted, ...CONVERTED_LAYOUT.unetModelJson.split('/')))) {
    options.onStatus?.(`converting ${repoId} to the tfjs format, once: ${converted}`);
    await convertPipelineFolder(snapshot, converted, { force: true });
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

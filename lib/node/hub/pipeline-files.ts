import {
  checkModelIndex,
  MODEL_INDEX_FILE,
  SCHEDULER_CONFIG_PATHS,
  UNET_CONFIG_FILE,
  UNET_FOLDER,
  noWeightFileDetail,
  weightFileCandidates,
} from '../../loading/pipeline-layout';
import { ModelSourceError, parseJsonObject } from '../../loading/model-source';
import { readModelFile } from '../fs/fs-model-source';
import { HubError, HubRepoFileError } from './errors';

/**
 * Which files of a Hub repository a DDIM pipeline needs, in the layouts lib/loading/pipeline-layout.ts defines (the
 * one module that knows diffusers' folder layout): the Hub client asks for these, then the loader reads the
 * snapshot like any folder.
 */

/** A repository the picker can ask for files: `file` returns the local path, or null for a missing optional file. */
export interface RepoFileSource {
  readonly repoId: string;
  readonly revision: string;
  file(file: string, optional?: boolean): Promise<string | null>;
}

async function modelFolderFiles(repo: RepoFileSource, folder: string): Promise<string[]> {
  const prefix = folder === '' ? '' : `${folder}/`;
  const config = `${prefix}${UNET_CONFIG_FILE}`;
  await repo.file(config);
  for (const weights of weightFileCandidates(prefix)) {
    if ((await repo.file(weights, true)) !== null) return [config, weights];
  }
  throw new HubError(`${repo.repoId}: no weights in ${folder === '' ? 'the repository root' : `${folder}/`}: ${noWeightFileDetail(prefix)}`);
}

/** model_index.json as a checked object of components; anything else (null, a list, bad JSON, too big, no unet) a named error. */
function readModelIndex(repoId: string, local: string, maxBytes: number): Record<string, unknown> {
  try {
    const components = parseJsonObject(readModelFile(local, maxBytes), MODEL_INDEX_FILE);
    checkModelIndex(components, MODEL_INDEX_FILE);
    return components;
  } catch (err) {
    if (err instanceof ModelSourceError) throw new HubRepoFileError(repoId, MODEL_INDEX_FILE, err.message.slice(`${MODEL_INDEX_FILE}: `.length));
    throw err;
  }
}

/**
 * Fetches (through `repo`) and returns the files a DDIM pipeline needs: with a `model_index.json`, the pipeline
 * layout (`model_index.json`, `unet/config.json`, the preferred weight file, the scheduler config if the index names
 * a scheduler); without, the model layout (`config.json` and the weights at the top, and a flat
 * `scheduler_config.json` when the repository has one).
 */
export async function pickPipelineFiles(repo: RepoFileSource, maxJsonBytes: number): Promise<string[]> {
  const modelIndex = await repo.file(MODEL_INDEX_FILE, true);
  if (modelIndex === null) {
    if ((await repo.file(UNET_CONFIG_FILE, true)) === null) {
      throw new HubError(`${repo.repoId}: neither ${MODEL_INDEX_FILE} (a pipeline) nor ${UNET_CONFIG_FILE} (a model) found at revision ${repo.revision}`);
    }
    const files = await modelFolderFiles(repo, '');
    const flatScheduler = SCHEDULER_CONFIG_PATHS[SCHEDULER_CONFIG_PATHS.length - 1];
    if ((await repo.file(flatScheduler, true)) !== null) files.push(flatScheduler);
    return files;
  }
  const components = readModelIndex(repo.repoId, modelIndex, maxJsonBytes);
  const files = [MODEL_INDEX_FILE, ...(await modelFolderFiles(repo, UNET_FOLDER))];
  if (Object.prototype.hasOwnProperty.call(components, 'scheduler')) {
    await repo.file(SCHEDULER_CONFIG_PATHS[0]);
    files.push(SCHEDULER_CONFIG_PATHS[0]);
  }
  return files;
}

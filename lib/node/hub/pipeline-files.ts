import * as fs from 'fs';
import { HubError, HubRepoFileError } from './errors';

/**
 * Which files of a Hub repository a DDIM pipeline needs: the one place the Hub client knows the diffusers layout
 * (to be replaced by the shared layout module, lib/loading/pipeline-layout.ts, when it lands).
 */

/** A repository the picker can ask for files: `file` returns the local path, or null for a missing optional file. */
export interface RepoFileSource {
  readonly repoId: string;
  readonly revision: string;
  file(file: string, optional?: boolean): Promise<string | null>;
}

/** The weight files of a diffusers model folder, preferred first. */
const WEIGHT_FILES = ['diffusion_pytorch_model.safetensors', 'diffusion_pytorch_model.bin'];

async function modelFolderFiles(repo: RepoFileSource, folder: string): Promise<string[]> {
  const prefix = folder === '' ? '' : `${folder}/`;
  const config = `${prefix}config.json`;
  await repo.file(config);
  for (const name of WEIGHT_FILES) {
    if ((await repo.file(`${prefix}${name}`, true)) !== null) return [config, `${prefix}${name}`];
  }
  throw new HubError(
    `${repo.repoId}: no weights in ${folder === '' ? 'the repository root' : `${folder}/`}: looked for ${WEIGHT_FILES.map((n) => prefix + n).join(' and ')}`,
  );
}

/** model_index.json as an object of components; anything else (null, a list, bad JSON, too big) a named error. */
function readModelIndex(repoId: string, local: string, maxBytes: number): Record<string, unknown> {
  const file = 'model_index.json';
  const size = fs.statSync(local).size;
  if (size > maxBytes) throw new HubRepoFileError(repoId, file, `${size} bytes, over the ${maxBytes}-byte limit for JSON files`);
  let value: unknown;
  try {
    value = JSON.parse(fs.readFileSync(local, 'utf8'));
  } catch (err) {
    throw new HubRepoFileError(repoId, file, `not valid JSON (${(err as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const shown = JSON.stringify(value);
    throw new HubRepoFileError(repoId, file, `expected a JSON object of pipeline components, got ${shown.length > 80 ? `${shown.slice(0, 80)}...` : shown}`);
  }
  return value as Record<string, unknown>;
}

const has = (object: Record<string, unknown>, key: string): boolean => Object.prototype.hasOwnProperty.call(object, key);

/**
 * Fetches (through `repo`) and returns the files a DDIM pipeline needs: with a `model_index.json`, the pipeline
 * layout (`model_index.json`, `unet/config.json`, `unet/diffusion_pytorch_model.safetensors` or else `.bin`,
 * `scheduler/scheduler_config.json` if the index names a scheduler); without, the model layout (`config.json` and
 * the weights at the top).
 */
export async function pickPipelineFiles(repo: RepoFileSource, maxJsonBytes: number): Promise<string[]> {
  const modelIndex = await repo.file('model_index.json', true);
  if (modelIndex === null) {
    if ((await repo.file('config.json', true)) === null) {
      throw new HubError(`${repo.repoId}: neither model_index.json (a pipeline) nor config.json (a model) found at revision ${repo.revision}`);
    }
    return modelFolderFiles(repo, '');
  }
  const components = readModelIndex(repo.repoId, modelIndex, maxJsonBytes);
  if (!has(components, 'unet')) {
    throw new HubRepoFileError(
      repo.repoId,
      'model_index.json',
      `has no "unet" component (components: ${Object.keys(components).filter((k) => !k.startsWith('_')).join(', ')})`,
    );
  }
  const files = ['model_index.json', ...(await modelFolderFiles(repo, 'unet'))];
  if (has(components, 'scheduler')) {
    await repo.file('scheduler/scheduler_config.json');
    files.push('scheduler/scheduler_config.json');
  }
  return files;
}

import { ModelJsonError, ModelSource, ModelSourceError } from './model-source';

/**
 * The one place that knows how diffusers and tfjs-diffusers lay out a model folder, over any {@link ModelSource}
 * (a folder on disk, a Hub snapshot, an http(s) URL, and a Hub repository itself: the Hub client picks the files to
 * download by running this search, lib/node/hub/pipeline-files.ts, so a new weight format or layout is added here
 * only):
 *
 * - a diffusers pipeline: `model_index.json` (its `unet` a `UNet2DModel`), `unet/` and
 *   `scheduler/scheduler_config.json`;
 * - the flat layout of early Hub repositories: `config.json`, the weights and `scheduler_config.json` side by side;
 * - a bare UNet folder: diffusers' `config.json` + `diffusion_pytorch_model.safetensors` (or `.bin`), or a converted
 *   `model.json` + weight shards; then there is no scheduler config (the pipeline supplies its default);
 * - any of these converted by `tfjs-diffusers convert` (`unet/model.json`, written by {@link CONVERTED_LAYOUT}).
 */

/** The pipeline's component index. */
export const MODEL_INDEX_FILE = 'model_index.json';
/** The folder of a pipeline's UNet. */
export const UNET_FOLDER = 'unet';
/** The folder of a pipeline's scheduler. */
const SCHEDULER_FOLDER = 'scheduler';
/** A diffusers model's config. */
export const UNET_CONFIG_FILE = 'config.json';
/** A scheduler's config. */
const SCHEDULER_CONFIG_FILE = 'scheduler_config.json';
/** The weight files of a diffusers model folder, in order of preference (safetensors never runs a pickle). */
export const WEIGHT_FILE_NAMES = ['diffusion_pytorch_model.safetensors', 'diffusion_pytorch_model.bin'] as const;
/** The file name of a tfjs model's topology and weights manifest. */
export const MODEL_JSON = 'model.json';
/** Where the scheduler config may be, in order: a pipeline's `scheduler/`, then the flat layout's. */
const SCHEDULER_CONFIG_PATHS = [`${SCHEDULER_FOLDER}/${SCHEDULER_CONFIG_FILE}`, SCHEDULER_CONFIG_FILE] as const;
/**
 * The weight-file search, the one definition: the paths of the weight files a diffusers model folder may hold, in
 * order of preference, in `folder` ('' for the top, or `'unet/'`; any prefix ending in the separator). Every reader
 * (this module's layouts, the Hub file picker, `readStateDict`) takes the first of these that exists.
 *
 * ```ts
 * weightFileCandidates('unet/'); // ['unet/diffusion_pytorch_model.safetensors', 'unet/diffusion_pytorch_model.bin']
 * ```
 */
export function weightFileCandidates(folder: string): string[] {
  return WEIGHT_FILE_NAMES.map((name) => `${folder}${name}`);
}

/** The error detail when a folder holds none of {@link weightFileCandidates}: "looked for A and B". */
export function noWeightFileDetail(folder: string): string {
  return `looked for ${weightFileCandidates(folder).join(' and ')}`;
}

/**
 * The folder URL of a location that names a bare converted UNet's `model.json` (query string and all), else the
 * location itself: the one URL rule of `fromPretrained` and `loadPipelineFromUrl`.
 *
 * ```ts
 * modelFolderUrl('https://example.com/unet/model.json?v=2'); // 'https://example.com/unet/'
 * ```
 */
export function modelFolderUrl(url: string): string {
  return url.replace(/\/model\.json(\?[^/]*)?$/, '/');
}

/**
 * The weight shards a converted `model.json` lists (its `weightsManifest` groups' `paths`), relative to the source:
 * each shard path is relative to the folder of `modelJsonPath`.
 *
 * ```ts
 * convertedShardPaths({ weightsManifest: [{ paths: ['group1-shard1of2.bin', 'group1-shard2of2.bin'], weights: [] }] }, 'unet/model.json', 'unet/model.json');
 * // ['unet/group1-shard1of2.bin', 'unet/group1-shard2of2.bin']
 * ```
 * @throws {ModelJsonError} naming `where` when `weightsManifest` is not a list of groups with string `paths`.
 */
export function convertedShardPaths(modelJson: Record<string, unknown>, modelJsonPath: string, where: string): string[] {
  const manifest: unknown = modelJson.weightsManifest;
  const isGroup = (group: unknown): group is { paths: string[] } => {
    const paths = group !== null && typeof group === 'object' ? (group as { paths?: unknown }).paths : undefined;
    return Array.isArray(paths) && paths.every((name) => typeof name === 'string');
  };
  if (!Array.isArray(manifest) || !manifest.every(isGroup)) {
    throw new ModelJsonError(where, 'weightsManifest must be a list of { paths: string[], weights: [...] } groups');
  }
  const folder = modelJsonPath.slice(0, modelJsonPath.lastIndexOf('/') + 1);
  return manifest.flatMap((group) => group.paths.map((name) => `${folder}${name}`));
}

/** What `tfjs-diffusers convert` writes, relative to its output folder. */
export const CONVERTED_LAYOUT = {
  modelIndex: MODEL_INDEX_FILE,
  unetFolder: UNET_FOLDER,
  unetModelJson: `${UNET_FOLDER}/${MODEL_JSON}`,
  schedulerFolder: SCHEDULER_FOLDER,
  schedulerConfig: `${SCHEDULER_FOLDER}/${SCHEDULER_CONFIG_FILE}`,
} as const;

/** A folder does not hold what the loader needs, or what it holds is not a UNet2DModel pipeline. */
export class ModelLayoutError extends ModelSourceError {
  constructor(where: string, message: string) {
    super(where, message);
    this.name = 'ModelLayoutError';
  }
}

/** Where a UNet's files are, relative to the source. */
export type UNetLayout =
  /** A converted tfjs LayersModel: `model.json` (the diffusers config in its metadata) + the shards it lists. */
  | { format: 'tfjs'; modelJson: string }
  /** A diffusers model folder: `config.json` and one weight file. */
  | { format: 'diffusers'; config: string; weights: string };

/** Where a pipeline's parts are, relative to the source. */
export interface PipelineLayout {
  unet: UNetLayout;
  /** The scheduler config's path, or null when the folder has none (a bare UNet). */
  schedulerConfigFile: string | null;
  /** `model_index.json`, when the folder has one (already checked to name a UNet2DModel `unet`). */
  modelIndex: Record<string, unknown> | null;
}

/**
 * Checks that a `model_index.json` names a UNet2DModel `unet` component (what DDIMPipeline runs).
 *
 * ```ts
 * checkModelIndex({ unet: ['diffusers', 'UNet2DModel'] }, 'model_index.json'); // passes
 * ```
 * @throws {ModelLayoutError} naming `file` and the component found.
 */
export function checkModelIndex(modelIndex: Record<string, unknown>, file: string): void {
  if (!Object.prototype.hasOwnProperty.call(modelIndex, 'unet')) {
    const components = Object.keys(modelIndex).filter((k) => !k.startsWith('_')).slice(0, 20);
    throw new ModelLayoutError(file, `no "unet" component (components: ${components.join(', ') || 'none'}); DDIMPipeline needs a UNet2DModel`);
  }
  const entry = modelIndex.unet;
  if (Array.isArray(entry) && typeof entry[1] === 'string' && entry[1] !== 'UNet2DModel') {
    throw new ModelLayoutError(file, `unet is a ${entry[1].slice(0, 100)}; DDIMPipeline runs UNet2DModel pipelines only`);
  }
}

/** The UNet layout in `folder` ('' or 'unet/'), or null when it holds neither a model.json nor a config.json. */
async function unetLayoutIn(source: ModelSource, folder: string): Promise<UNetLayout | null> {
  if (await source.exists(`${folder}${MODEL_JSON}`)) return { format: 'tfjs', modelJson: `${folder}${MODEL_JSON}` };
  const config = `${folder}${UNET_CONFIG_FILE}`;
  if (!(await source.exists(config))) return null;
  for (const weights of weightFileCandidates(folder)) {
    if (await source.exists(weights)) return { format: 'diffusers', config, weights };
  }
  throw new ModelLayoutError(source.describe(config), `no weights beside it: ${noWeightFileDetail(folder)}`);
}

const NO_UNET =
  `holds no UNet: expected ${UNET_FOLDER}/ (a pipeline folder), or ${UNET_CONFIG_FILE} + ${WEIGHT_FILE_NAMES.join(' / ')} ` +
  `(a UNet folder), or ${MODEL_JSON} (a converted folder)`;

/**
 * Finds the UNet of a folder: `model.json` or `config.json` + weights at the top, else in `unet/` (a pipeline
 * folder).
 *
 * ```ts
 * await findUNetLayout(new FsModelSource('models/tiny-random')); // { format: 'tfjs', modelJson: 'unet/model.json' }
 * ```
 * @throws {ModelLayoutError} naming the folder and what it lacks.
 */
export async function findUNetLayout(source: ModelSource): Promise<UNetLayout> {
  const layout = (await unetLayoutIn(source, '')) ?? (await unetLayoutIn(source, `${UNET_FOLDER}/`));
  if (layout === null) throw new ModelLayoutError(source.location, NO_UNET);
  return layout;
}

/**
 * Finds the parts of a pipeline in any of the layouts above: with a `model_index.json`, the UNet in `unet/`;
 * without, the UNet at the top or in `unet/`; the scheduler config at the first of {@link SCHEDULER_CONFIG_PATHS}
 * present, else none (the default).
 *
 * ```ts
 * const { unet, schedulerConfigFile } = await findPipelineLayout(new FsModelSource('ddpm-cifar10-32'));
 * // { format: 'diffusers', config: 'unet/config.json', weights: 'unet/diffusion_pytorch_model.safetensors' },
 * // 'scheduler/scheduler_config.json'
 * ```
 * @throws {ModelLayoutError} naming the folder or file and what is wrong.
 */
export async function findPipelineLayout(source: ModelSource): Promise<PipelineLayout> {
  let modelIndex: Record<string, unknown> | null = null;
  if (await source.exists(MODEL_INDEX_FILE)) {
    modelIndex = await source.readJson(MODEL_INDEX_FILE);
    checkModelIndex(modelIndex, source.describe(MODEL_INDEX_FILE));
  }
  const unet = modelIndex !== null ? await unetLayoutIn(source, `${UNET_FOLDER}/`) : await findUNetLayout(source);
  if (unet === null) throw new ModelLayoutError(source.location, NO_UNET);
  let schedulerConfigFile: string | null = null;
  for (const candidate of SCHEDULER_CONFIG_PATHS) {
    if (await source.exists(candidate)) {
      schedulerConfigFile = candidate;
      break;
    }
  }
  return { unet, schedulerConfigFile, modelIndex };
}

/**
 * Every file of `source` a pipeline in `layout` is read from, in reading order: `model_index.json` when there is
 * one, the UNet's files (`config.json` and its weight file, or `model.json` and the shards it lists), the scheduler
 * config when there is one. A copy of just these files loads like the whole folder: what the Hub client downloads.
 *
 * ```ts
 * await pipelineLayoutFiles(source, await findPipelineLayout(source));
 * // ['model_index.json', 'unet/config.json', 'unet/diffusion_pytorch_model.safetensors', 'scheduler/scheduler_config.json']
 * ```
 * @throws {ModelJsonError} when a converted `model.json` lists its shards wrongly.
 */
export async function pipelineLayoutFiles(source: ModelSource, layout: PipelineLayout): Promise<string[]> {
  const files = layout.modelIndex !== null ? [MODEL_INDEX_FILE] : [];
  const { unet } = layout;
  if (unet.format === 'diffusers') files.push(unet.config, unet.weights);
  else files.push(unet.modelJson, ...convertedShardPaths(await source.readJson(unet.modelJson), unet.modelJson, source.describe(unet.modelJson)));
  if (layout.schedulerConfigFile !== null) files.push(layout.schedulerConfigFile);
  return files;
}

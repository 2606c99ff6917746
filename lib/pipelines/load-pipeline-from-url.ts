import { loadUNetFromUrl, LoadUNetFromUrlOptions } from '../models/unet/load-from-url';
import { DDIMPipeline } from './ddim-pipeline';
import { DDPM_CIFAR10_SCHEDULER_CONFIG } from '../schedulers/ddpm-cifar10-32';

/** Options of {@link loadPipelineFromUrl}. */
export interface LoadPipelineFromUrlOptions extends LoadUNetFromUrlOptions {
  /** Receives `DDIMScheduler.fromConfig`'s warning about ignored config keys. Default `console.warn`. */
  onWarning?: (message: string) => void;
}

/** What {@link resolvePipelineUrls} found: where the UNet's model.json is, and the scheduler config. */
export interface PipelineUrls {
  unetModelJsonUrl: string;
  schedulerConfig: Record<string, unknown>;
  /** The URL the scheduler config came from, or null for {@link DDPM_CIFAR10_SCHEDULER_CONFIG}. */
  schedulerConfigUrl: string | null;
}

/** GETs a JSON object; null on 404 (an optional file), an error naming the URL otherwise. */
async function fetchJsonObjectOrNull(url: string, options: LoadUNetFromUrlOptions): Promise<Record<string, unknown> | null> {
  const fetchFunc = options.fetchFunc ?? fetch;
  let response: Response;
  try {
    response = await fetchFunc(url, options.requestInit);
  } catch (err) {
    throw new Error(`loadPipelineFromUrl: could not fetch ${url}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (response.status === 404) return null;
  if (!response.ok) throw new Error(`loadPipelineFromUrl: ${url} answered HTTP ${response.status}`);
  let value: unknown;
  try {
    value = await response.json();
  } catch (err) {
    throw new Error(`loadPipelineFromUrl: ${url} is not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`loadPipelineFromUrl: ${url} must hold a JSON object, got ${Array.isArray(value) ? 'an array' : String(value)}`);
  }
  return value as Record<string, unknown>;
}

/**
 * Finds a converted pipeline's parts over HTTP, in the layouts `DDIMPipeline.fromPretrained` reads from disk:
 * a folder converted by `tfjs-diffusers convert` (`model_index.json`, `unet/model.json`,
 * `scheduler/scheduler_config.json`), the flat layout (`model.json` + `scheduler_config.json`), or the URL of a bare
 * UNet `model.json` (then with google/ddpm-cifar10-32's DDPM scheduler config).
 */
export async function resolvePipelineUrls(url: string, options: LoadUNetFromUrlOptions = {}): Promise<PipelineUrls> {
  if (typeof url !== 'string' || url.length === 0) {
    throw new Error(`loadPipelineFromUrl: url must be a pipeline folder URL or a model.json URL, got ${JSON.stringify(url)}`);
  }
  const base = typeof location !== 'undefined' ? location.href : undefined;
  if (/\/model\.json(\?.*)?$/.test(url)) {
    return { unetModelJsonUrl: url, schedulerConfig: { ...DDPM_CIFAR10_SCHEDULER_CONFIG }, schedulerConfigUrl: null };
  }
  let folder: string;
  try {
    folder = new URL(url.endsWith('/') ? url : `${url}/`, base).href;
  } catch {
    throw new Error(`loadPipelineFromUrl: ${JSON.stringify(url)} is not a URL (outside a page, pass an absolute http(s) URL)`);
  }
  const modelIndexUrl = new URL('model_index.json', folder).href;
  const modelIndex = await fetchJsonObjectOrNull(modelIndexUrl, options);
  if (modelIndex !== null) {
    const unetEntry = modelIndex.unet;
    if (unetEntry === undefined) {
      throw new Error(`loadPipelineFromUrl: ${modelIndexUrl} has no "unet" component; DDIMPipeline needs a UNet2DModel`);
    }
    if (Array.isArray(unetEntry) && typeof unetEntry[1] === 'string' && unetEntry[1] !== 'UNet2DModel') {
      throw new Error(`loadPipelineFromUrl: ${modelIndexUrl}: unet is a ${unetEntry[1]}; DDIMPipeline runs UNet2DModel pipelines only`);
    }
  }
  const unetModelJsonUrl = new URL(modelIndex !== null ? 'unet/model.json' : 'model.json', folder).href;
  for (const candidate of ['scheduler/scheduler_config.json', 'scheduler_config.json']) {
    const schedulerConfigUrl = new URL(candidate, folder).href;
    const schedulerConfig = await fetchJsonObjectOrNull(schedulerConfigUrl, options);
    if (schedulerConfig !== null) return { unetModelJsonUrl, schedulerConfig, schedulerConfigUrl };
  }
  return { unetModelJsonUrl, schedulerConfig: { ...DDPM_CIFAR10_SCHEDULER_CONFIG }, schedulerConfigUrl: null };
}

/**
 * `DDIMPipeline.fromPretrained` for a converted pipeline served over HTTP: works in browsers (and in Node 18+),
 * reads no files. The UNet loads with {@link loadUNetFromUrl}; the scheduler config becomes a `DDIMScheduler` as
 * in diffusers.
 *
 * ```js
 * const pipeline = await loadPipelineFromUrl('models/tiny-random/');   // relative to the page
 * const { images } = await pipeline.generate({ generator: new Generator().manualSeed(0), numInferenceSteps: 2,
 *   outputType: 'array' });
 * ```
 * @throws naming the URL that is missing or malformed.
 */
export async function loadPipelineFromUrl(url: string, options: LoadPipelineFromUrlOptions = {}): Promise<DDIMPipeline> {
  const { unetModelJsonUrl, schedulerConfig } = await resolvePipelineUrls(url, options);
  const unet = await loadUNetFromUrl(unetModelJsonUrl, options);
  try {
    return new DDIMPipeline({ unet, scheduler: schedulerConfig, onWarning: options.onWarning });
  } catch (err) {
    unet.dispose();
    throw err;
  }
}

import { HttpModelSource } from '../../loading/http-model-source';
import { loadUNetFromSource } from './load-unet';
import { ModelSourceError } from '../../loading/model-source';
import type { UNet2DModel } from './unet-2d-model';

/** Options of {@link loadUNetFromUrl}. */
export interface LoadUNetFromUrlOptions {
  /** Called with the fraction of weight bytes fetched, from 0 to 1. */
  onProgress?: (fraction: number) => void;
  /** Passed to every `fetch` (headers, credentials, ...). */
  requestInit?: RequestInit;
  /** Replaces the global `fetch` (tests, custom caching). */
  fetchFunc?: typeof fetch;
}

/**
 * Loads a converted UNet (the tfjs LayersModel format written by `UNet2DModel.save` or the `convert` command:
 * `model.json` + weight shards) over HTTP. Works in browsers and in Node 18+ (global `fetch`); reads no files.
 * The same loader as `UNet2DModel.fromPretrained` (lib/models/unet/load-unet.ts) over an {@link HttpModelSource}.
 *
 * ```js
 * const unet = await loadUNetFromUrl('https://example.com/ddpm-cifar10-32/model.json', {
 *   onProgress: (f) => (bar.value = f),
 * });
 * ```
 * The graph is built from the diffusers config kept in the model.json's metadata; the weights manifest is checked
 * against that config (every name and shape) before a weight is fetched; then the weights are loaded by name.
 *
 * @throws naming the URL when it cannot be fetched, holds no UNet2DModel config, or its weights do not fit.
 */
export async function loadUNetFromUrl(modelJsonUrl: string, options: LoadUNetFromUrlOptions = {}): Promise<UNet2DModel> {
  if (typeof modelJsonUrl !== 'string' || modelJsonUrl.length === 0) {
    throw new TypeError(`loadUNetFromUrl: modelJsonUrl must be the URL of a model.json, got ${JSON.stringify(modelJsonUrl)}`);
  }
  const slash = modelJsonUrl.lastIndexOf('/');
  const file = modelJsonUrl.slice(slash + 1);
  if (file === '' || file.includes('?')) {
    throw new ModelSourceError(modelJsonUrl, 'loadUNetFromUrl takes the URL of a model.json file');
  }
  const source = new HttpModelSource(slash < 0 ? './' : modelJsonUrl.slice(0, slash + 1), options);
  return loadUNetFromSource(source, { format: 'tfjs', modelJson: file }, options);
}

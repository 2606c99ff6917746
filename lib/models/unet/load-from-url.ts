import * as tf from '@tensorflow/tfjs-core';
import { checkTfjsWeightSpecs } from './check-weight-specs';
import { parseUNet2DConfig } from './config';
import { UNET_METADATA_KEY, UNet2DMetadata, UNet2DModel } from './unet-2d-model';

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
 * A fetch whose promise resolves only once the whole body has arrived. tfjs' http handler starts every weight
 * shard's fetch at once and reads no body until all responses have started; over HTTP/1.1 a browser opens at most 6
 * connections per host, so with more than 6 shards of 4 MB (google/ddpm-cifar10-32 has 35) the 7th request waits
 * for a connection that the first 6 hold until their bodies are read: a deadlock. Reading each body as it comes
 * frees its connection.
 */
export function bodyBufferingFetch(fetchFunc: typeof fetch = (input, init) => fetch(input, init)): typeof fetch {
  return async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const response = await fetchFunc(input, init);
    const body = await response.arrayBuffer();
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}

/** The `userDefinedMetadata.diffusers` record of a model.json, or an error naming the URL. */
function unetMetadataOf(artifacts: tf.io.ModelArtifacts, url: string): UNet2DMetadata {
  const metadata = (artifacts.userDefinedMetadata as Record<string, unknown> | undefined)?.[UNET_METADATA_KEY] as
    | Partial<UNet2DMetadata>
    | undefined;
  if (metadata == null || metadata._class_name !== 'UNet2DModel' || typeof metadata.config !== 'object' || metadata.config === null) {
    throw new Error(
      `loadUNetFromUrl: ${url} has no userDefinedMetadata.${UNET_METADATA_KEY} with a UNet2DModel config ` +
        `(not a model converted by tfjs-diffusers: use \`tfjs-diffusers convert\` or UNet2DModel.save)`,
    );
  }
  return metadata as UNet2DMetadata;
}

/**
 * Loads a converted UNet (the tfjs LayersModel format written by `UNet2DModel.save` or the `convert` command:
 * `model.json` + weight shards) over HTTP, with tfjs' own `tf.io.http` handler. Works in browsers and in Node
 * 18+ (global `fetch`); reads no files.
 *
 * ```js
 * const unet = await loadUNetFromUrl('https://example.com/ddpm-cifar10-32/model.json', {
 *   onProgress: (f) => (bar.value = f),
 * });
 * ```
 * The graph is rebuilt from the diffusers config kept in the model.json's metadata, then the weights are loaded
 * by name (`LayersModel.loadWeights`, strict: every weight present, every shape checked).
 *
 * @throws naming the URL when it cannot be fetched, holds no UNet2DModel config, or its weights do not fit.
 */
export async function loadUNetFromUrl(modelJsonUrl: string, options: LoadUNetFromUrlOptions = {}): Promise<UNet2DModel> {
  if (typeof modelJsonUrl !== 'string' || modelJsonUrl.length === 0) {
    throw new Error(`loadUNetFromUrl: modelJsonUrl must be the URL of a model.json, got ${JSON.stringify(modelJsonUrl)}`);
  }
  const handler = tf.io.http(modelJsonUrl, {
    onProgress: options.onProgress,
    requestInit: options.requestInit,
    fetchFunc: bodyBufferingFetch(options.fetchFunc),
  });
  let artifacts: tf.io.ModelArtifacts;
  try {
    // tf.io.http's handler always has load(); the IOHandler type marks it optional.
    artifacts = await handler.load!();
  } catch (err) {
    throw new Error(`loadUNetFromUrl: could not load ${modelJsonUrl}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const metadata = unetMetadataOf(artifacts, modelJsonUrl);
  if (artifacts.weightData == null || artifacts.weightSpecs == null) {
    throw new Error(`loadUNetFromUrl: ${modelJsonUrl} lists no weights (weightsManifest is empty)`);
  }
  // The config (limits included) and the manifest against it are checked before anything is built.
  const config = parseUNet2DConfig(metadata.config, `${modelJsonUrl} (userDefinedMetadata.${UNET_METADATA_KEY}.config)`);
  checkTfjsWeightSpecs(config, artifacts.weightSpecs, modelJsonUrl);
  const unet = UNet2DModel.fromConfig(config);
  const weights = tf.io.decodeWeights(artifacts.weightData, artifacts.weightSpecs);
  try {
    unet.model.loadWeights(weights, true);
  } catch (err) {
    unet.dispose();
    throw new Error(
      `loadUNetFromUrl: the weights of ${modelJsonUrl} do not fit the UNet its config describes: ` +
        (err instanceof Error ? err.message : String(err)),
    );
  } finally {
    tf.dispose(Object.values(weights));
  }
  return unet;
}

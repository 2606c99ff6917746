import type * as tf from '@tensorflow/tfjs-core';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2';
import { bytesToHex } from '@noble/hashes/utils';
import { HttpModelSource, HttpModelSourceOptions } from './http-model-source';
import type { LoadPipelineOptions } from './load-options';
import type { ModelSource } from './model-source';
import { modelFolderUrl } from './pipeline-layout';

/**
 * NHWC images for {@link PlatformLoaders.encodePng}: the shape of `pipelines/image-bytes.ts`'s `ImagesNHWC` (declared
 * here so that loading/ imports nothing above it; the Node registration type-checks that the two agree).
 */
interface PngImages {
  shape: [number, number, number, number];
  data: ArrayLike<number>;
}

/** The options of `UNet2DModel.save` that reach the save handler. */
interface SaveHandlerOptions {
  /** Replace an existing folder. */
  force?: boolean;
}

/**
 * The services `fromPretrained`, `save` and `outputType: 'png'` need from the platform: the one place where the
 * Node/browser split is decided at run time (as `package.json`'s `browser` field decides it at build time). The
 * browser entry leaves them unset; the Node entry (lib/index.ts) registers the disk, Hub and PNG implementations of
 * lib/node/ on import. Core code asks for a service by name and gets a clear error where the platform has none.
 */
export interface PlatformLoaders {
  /**
   * A {@link ModelSource} for a location that is not an http(s) URL: in Node a folder, a `file:` URL or a Hub id
   * (downloaded and converted into the Hugging Face cache first).
   */
  openModelSource(location: string, options: LoadPipelineOptions): Promise<ModelSource>;
  /** `UNet2DModel.save(dir)`: the tfjs IO handler that writes a converted model folder. */
  unetSaveHandler(dir: string, options: SaveHandlerOptions): tf.io.IOHandler;
  /** `outputType: 'png'`: PNG bytes for NHWC float images. */
  encodePng(images: PngImages): Uint8Array;
  /** `readProvenance`: a PNG's decoded 8-bit pixels (height × width × channels, row-major), for its pixel digest. */
  decodePngPixels(png: Uint8Array): Uint8Array;
  /**
   * An incremental sha256 (model content hashes, provenance digests). Optional: without it {@link createSha256} uses
   * @noble/hashes (pure JS, every platform); Node registers its OpenSSL one, ~10× faster on 143 MB of weights.
   */
  createSha256(): Sha256Hasher;
}

/** An incremental sha256: `update` any number of times, then `hex` once. */
export interface Sha256Hasher {
  update(data: Uint8Array): void;
  /** The digest as 64 lower-case hex digits. */
  hex(): string;
}

/**
 * A new incremental sha256: the platform's ({@link PlatformLoaders.createSha256}) where one is registered, else
 * @noble/hashes'. Both give the same digest (spec/pipelines/image-provenance.spec.ts compares them).
 *
 * ```ts
 * const h = createSha256(); h.update(bytes); h.hex(); // 'e3b0c442…' for no bytes
 * ```
 */
export function createSha256(): Sha256Hasher {
  if (registered.createSha256 !== undefined) return registered.createSha256();
  return nobleSha256Hasher();
}

/** @noble/hashes' sha256 behind {@link Sha256Hasher}: the implementation of every platform without its own. */
export function nobleSha256Hasher(): Sha256Hasher {
  const hash = nobleSha256.create();
  return {
    update: (data) => void hash.update(data),
    hex: () => bytesToHex(hash.digest()),
  };
}

const registered: Partial<PlatformLoaders> = {};

/** Registers platform services (the Node entry does this on import). Later registrations replace earlier ones. */
export function registerPlatformLoaders(loaders: Partial<PlatformLoaders>): void {
  Object.assign(registered, loaders);
}

const BROWSER_HINT: Record<keyof PlatformLoaders, string> = {
  openModelSource: 'in a browser, pass the http(s) URL of a model folder (or one relative to the page)',
  unetSaveHandler: 'in a browser, pass a tf.io handler (e.g. tf.io.browserDownloads()) to unet.model.save',
  encodePng: "in a browser, take outputType 'array' or 'tensor' and draw it on a canvas (or provenancePng(images, fields) for a PNG file)",
  decodePngPixels: 'in a browser, pass the pixels you encoded to stampProvenance; check a PNG\'s provenance with `tfjs-diffusers replay <png>` in Node',
  createSha256: 'createSha256() falls back to @noble/hashes',
};

/**
 * The registered service `name`, or an error that says what to use instead on this platform.
 *
 * ```ts
 * const png = platformLoader('encodePng')(images);
 * ```
 */
export function platformLoader<K extends keyof PlatformLoaders>(name: K): PlatformLoaders[K] {
  const loader = registered[name];
  if (loader === undefined) {
    throw new Error(`${name} is available from the Node entry of tfjs-diffusers only (files, the Hub cache, PNG files); ${BROWSER_HINT[name]}`);
  }
  return loader as PlatformLoaders[K];
}

/** Whether `location` is an absolute http(s) URL. */
function isHttpUrl(location: string): boolean {
  return /^https?:\/\//i.test(location);
}

/**
 * Where `fromPretrained` reads from: an http(s) URL on every platform (a model folder, or a converted UNet's
 * `model.json`); in a page, without the Node entry, also a URL relative to the page; anything else goes to the
 * platform's {@link PlatformLoaders.openModelSource} (Node: a folder, a `file:` URL, a Hub id).
 *
 * ```ts
 * const source = await resolveModelSource('https://example.com/models/tiny-random/');
 * ```
 */
export async function resolveModelSource(location: string, options: LoadPipelineOptions & HttpModelSourceOptions = {}): Promise<ModelSource> {
  if (typeof location !== 'string' || location.trim() === '') {
    throw new TypeError(`expected a folder, a URL or a Hub id like google/ddpm-cifar10-32, got ${JSON.stringify(location) ?? String(location)}`);
  }
  const inPage = typeof globalThis.location !== 'undefined' && typeof (globalThis as { document?: unknown }).document !== 'undefined';
  if (isHttpUrl(location) || (registered.openModelSource === undefined && inPage)) {
    return new HttpModelSource(modelFolderUrl(location), {
      fetchFunc: options.fetchFunc ?? options.fetchImpl,
      requestInit: options.requestInit,
    });
  }
  return platformLoader('openModelSource')(location, options);
}

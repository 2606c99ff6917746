import { MAX_JSON_FILE_BYTES } from '../io/reader-limits';
import {
  checkRelativePath,
  ModelFileNotFoundError,
  ModelFileTooLargeError,
  ModelSource,
  ModelSourceError,
  parseJsonObject,
} from './model-source';

/** Options of {@link HttpModelSource}. */
export interface HttpModelSourceOptions {
  /** Passed to every `fetch` (headers, credentials, ...). */
  requestInit?: RequestInit;
  /** Replaces the global `fetch` (tests, custom caching). */
  fetchFunc?: typeof fetch;
}

/**
 * A model folder served over http(s): a {@link ModelSource} on `fetch`, so it runs in browsers and in Node alike.
 *
 * Every read takes the whole body at once, as it arrives, with a cap. That matters beyond memory: a browser opens at
 * most 6 HTTP/1.1 connections per host and frees one only when its body has been read, so a loader that starts every
 * weight shard's request and reads no body until all have answered (tfjs' own `tf.io.http` does that; google/ddpm-
 * cifar10-32 has 35 shards) deadlocks at the 7th. Reading each body as its response comes frees its connection.
 *
 * ```ts
 * const source = new HttpModelSource('https://example.com/models/tiny-random/');
 * await source.readJson('model_index.json');
 * ```
 */
export class HttpModelSource implements ModelSource {
  /** The folder URL, ending in '/'. */
  readonly location: string;
  private readonly fetchFunc: typeof fetch;
  private readonly requestInit: RequestInit | undefined;

  /** `folderUrl`: an absolute http(s) URL, or one relative to the page in a browser. */
  constructor(folderUrl: string, options: HttpModelSourceOptions = {}) {
    const base = typeof location !== 'undefined' ? location.href : undefined;
    let url: URL;
    try {
      url = new URL(folderUrl === '' ? './' : folderUrl.endsWith('/') ? folderUrl : `${folderUrl}/`, base);
    } catch {
      throw new ModelSourceError(String(folderUrl), 'is not a URL (outside a page, pass an absolute http(s) URL)');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ModelSourceError(String(folderUrl), `is a ${url.protocol} URL; HttpModelSource reads http(s) URLs`);
    }
    this.location = url.href;
    this.fetchFunc = options.fetchFunc ?? ((input, init) => fetch(input, init));
    this.requestInit = options.requestInit;
  }

  describe(file: string): string {
    return new URL(checkRelativePath(file, this.location), this.location).href;
  }

  private async request(file: string, method: 'GET' | 'HEAD'): Promise<Response> {
    const url = this.describe(file);
    try {
      return await this.fetchFunc(url, { ...this.requestInit, method });
    } catch (err) {
      throw new ModelSourceError(url, `could not fetch it: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  async exists(file: string): Promise<boolean> {
    let response = await this.request(file, 'HEAD');
    if (response.status === 405 || response.status === 501) {
      // A server without HEAD: ask with GET and drop the body.
      response = await this.request(file, 'GET');
      await response.body?.cancel();
    }
    if (response.status === 404 || response.status === 410) return false;
    if (!response.ok) throw new ModelSourceError(this.describe(file), `answered HTTP ${response.status}`);
    return true;
  }

  async readBytes(file: string, options: { maxBytes: number }): Promise<Uint8Array> {
    const url = this.describe(file);
    const response = await this.request(file, 'GET');
    if (response.status === 404 || response.status === 410) {
      await response.body?.cancel();
      throw new ModelFileNotFoundError(url, `not found (HTTP ${response.status})`);
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new ModelSourceError(url, `answered HTTP ${response.status}`);
    }
    // Content-Length counts the bytes on the wire: with a Content-Encoding (gzip, br, deflate: fetch decodes them) a
    // small body can expand 1000-fold, so the cap applies to the decoded bytes as they stream in (issue 22: a gzip
    // config.json of 1 MiB on the wire went through the 8 MiB cap as 1 GiB of JSON). Without an encoding, a declared
    // length over the cap is refused before the body is read.
    const encoding = (response.headers.get('content-encoding') ?? 'identity').trim().toLowerCase();
    const declared = Number(response.headers.get('content-length') ?? NaN);
    if ((encoding === '' || encoding === 'identity') && Number.isFinite(declared) && declared > options.maxBytes) {
      await response.body?.cancel();
      throw new ModelFileTooLargeError(url, declared, options.maxBytes);
    }
    return readBodyBounded(response, url, options.maxBytes);
  }

  async readJson(file: string): Promise<Record<string, unknown>> {
    return parseJsonObject(await this.readBytes(file, { maxBytes: MAX_JSON_FILE_BYTES }), this.describe(file));
  }
}

/** A response's body, refused with a {@link ModelFileTooLargeError} as soon as it passes `maxBytes`. */
async function readBodyBounded(response: Response, url: string, maxBytes: number): Promise<Uint8Array> {
  try {
    if (response.body === null) return new Uint8Array(0);
    const chunks: Uint8Array[] = [];
    let total = 0;
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel();
        throw new ModelFileTooLargeError(url, total, maxBytes);
      }
      chunks.push(value);
    }
    if (chunks.length === 1) return chunks[0];
    const out = new Uint8Array(total);
    let offset = 0;
    for (const chunk of chunks) {
      out.set(chunk, offset);
      offset += chunk.byteLength;
    }
    return out;
  } catch (err) {
    if (err instanceof ModelSourceError) throw err;
    throw new ModelSourceError(url, `the download broke off: ${err instanceof Error ? err.message : String(err)}`);
  }
}

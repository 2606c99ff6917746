/** Environment variables as a plain record (`process.env` in Node). */
export type HubEnv = Record<string, string | undefined>;

export interface HubDownloadOptions {
  /** Branch, tag or commit. Default 'main'. */
  revision?: string;
  /** Default: `HF_ENDPOINT`, else https://huggingface.co. */
  endpoint?: string;
  /** Default: `HF_HUB_CACHE`, else `HF_HOME/hub`, else ~/.cache/huggingface/hub. */
  cacheDir?: string;
  /** Bearer token for private or gated repositories. Default: `HF_TOKEN`. Sent to the endpoint's origin only. */
  token?: string;
  /** Cache only, no network. Default: `HF_HUB_OFFLINE`. */
  offline?: boolean;
  /** Where the HF_* variables come from. Default `process.env`. */
  env?: HubEnv;
  /** Called as bytes arrive (and once, with `cached: true`, for a file already in the cache). */
  onProgress?: (progress: HubProgress) => void;
  /** The fetch to use (tests, proxies). Default: the global fetch. */
  fetchImpl?: typeof fetch;
  /** How many times an interrupted download is resumed before giving up. Default 3. */
  retries?: number;
  /** Pause before the first retry, doubled each time. Default 1000 ms. */
  retryDelayMs?: number;
  /** A request fails when the server sends nothing for this long. Default 60000 ms. */
  timeoutMs?: number;
}

export interface HubProgress {
  /** The file's path in the repository. */
  file: string;
  /** Bytes of the file on disk so far. */
  loaded: number;
  /** The file's size, when the server said. */
  total: number | undefined;
  /** True when the file came from the cache. */
  cached: boolean;
}

/** Options of `DDIMPipeline.fromPretrained` (and the other pipelines'): the Hub download's (used for a Hub id only), plus status messages. */
export interface LoadPipelineOptions extends HubDownloadOptions {
  /** Told, in one line, about slow work: a download, a one-time conversion. Default: silent. */
  onStatus?: (message: string) => void;
  /** Receives the scheduler's warning about config keys it ignores. Default `console.warn`. */
  onWarning?: (message: string) => void;
}

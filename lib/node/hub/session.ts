import type { HubDownloadOptions, HubEnv } from '../../loading/load-options';
import { MAX_JSON_FILE_BYTES } from '../../io/reader-limits';
import { HubEndpointError, HubError, HubRedirectError } from './errors';
import { retryDelayMs } from './retry-policy';

/**
 * The HTTP side of the Hub client: which endpoint, which token for which origin, which redirects to follow, how
 * long to wait, how often to retry. Node's built-in fetch does the requests (`redirect: 'manual'`: every redirect
 * passes {@link redirectTarget}).
 */

/** The limits a download is held to; each can be passed as an option (tests use small ones). */
export interface HubLimits {
  /** The most a `.json` file may hold, announced or not. Default 8 MiB (diffusers configs are a few KB). */
  maxJsonBytes: number;
  /**
   * A download is abandoned when its average rate over the last `slowWindowMs` stays under this. Default 10 KB/s over
   * 30 s: a slow link for the 143 MB weights still works (at 10 KB/s that is 4 hours), a drip does not.
   */
  minBytesPerSecond: number;
  slowWindowMs: number;
  /** Redirects followed per request. Default 5. */
  maxRedirects: number;
}

const DEFAULT_HUB_LIMITS: HubLimits = { maxJsonBytes: MAX_JSON_FILE_BYTES, minBytesPerSecond: 10_000, slowWindowMs: 30_000, maxRedirects: 5 };

/** The options the Hub functions take: the public download options plus the limits. */
export type HubClientOptions = HubDownloadOptions & Partial<HubLimits>;

const DEFAULT_ENDPOINT = 'https://huggingface.co';

const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ABORT_ERR',
]);

/** The error code of a network failure (`ECONNREFUSED`, ...) anywhere in an error's cause chain, if any. */
export function networkErrorCode(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown; name?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && NETWORK_ERROR_CODES.has(e.code)) return e.code;
    if (e.name === 'AbortError' || e.name === 'TimeoutError') return 'ETIMEDOUT';
  }
  return err instanceof TypeError && /fetch failed|terminated/.test(err.message) ? 'ECONNRESET' : undefined;
}

/** Whether `err` or one of its causes carries `code` (undici wraps its errors in a TypeError's cause). */
function hasErrorCode(err: unknown, code: string): boolean {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (e.code === code) return true;
  }
  return false;
}

/** An error that a retry may cure (the connection, not the content). */
export function networkError(message: string): Error {
  return Object.assign(new Error(message), { code: 'ECONNRESET' });
}

/**
 * The endpoint as a URL without a trailing slash: the `endpoint` option, else `HF_ENDPOINT`, else the Hub.
 *
 * ```ts
 * resolveEndpoint({}, { HF_ENDPOINT: 'http://127.0.0.1:8080/' }); // 'http://127.0.0.1:8080'
 * resolveEndpoint({}, { HF_ENDPOINT: 'hub' }); // throws HubEndpointError: HF_ENDPOINT "hub" is not an http(s) URL
 * ```
 */
function resolveEndpoint(options: { endpoint?: string }, env: HubEnv): string {
  const [variable, value] = options.endpoint !== undefined ? ['the endpoint option', options.endpoint] : env.HF_ENDPOINT ? ['HF_ENDPOINT', env.HF_ENDPOINT] : ['', DEFAULT_ENDPOINT];
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new HubEndpointError(variable, value);
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw new HubEndpointError(variable, value);
  }
  return url.toString().replace(/\/+$/, '');
}

/**
 * Where a redirect from `from` to `location` leads, if it may be followed: to https anywhere, or to http only from
 * http within the endpoint's own origin (a local `HF_ENDPOINT` such as http://127.0.0.1:8080). Never https → http.
 * `location` is resolved against `from` as a browser would, so `//host/x` (protocol-relative) is another host.
 */
function redirectTarget(from: string, location: string, endpoint: string): URL {
  let to: URL;
  try {
    to = new URL(location, from);
  } catch {
    throw new HubRedirectError(from, location, 'it is not a URL');
  }
  if (to.protocol === 'https:') return to;
  if (to.protocol === 'http:') {
    if (new URL(from).protocol === 'https:') throw new HubRedirectError(from, location, 'https must not lead to http');
    if (to.origin !== new URL(endpoint).origin) {
      throw new HubRedirectError(from, location, `plain http is followed only within the endpoint's origin (${new URL(endpoint).origin})`);
    }
    return to;
  }
  throw new HubRedirectError(from, location, `${to.protocol} is not http(s)`);
}

/**
 * Whether a Location names no host (`/path`, `path`): the only redirects the HEAD of resolve/ follows, as
 * huggingface_hub does. `//host/path` (protocol-relative) and `/\host` name a host: they are the download location.
 */
function isHostRelative(location: string): boolean {
  return !/^[a-z][a-z0-9+.-]*:/i.test(location) && !/^\s*[\\/]{2}/.test(location);
}

/** A response with the controls of its request: `touch` re-arms the silence timer, `abort` ends it, `done` clears. */
export interface HubResponse {
  response: Response;
  /** The URL that answered (after the redirects followed). */
  url: string;
  touch(): void;
  abort(reason: Error): void;
  done(): void;
}

export class HubSession {
  readonly endpoint: string;
  readonly limits: HubLimits;
  readonly retries: number;
  readonly retryDelayMs: number;
  private readonly token: string | undefined;
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;

  constructor(options: HubClientOptions, env: HubEnv) {
    this.endpoint = resolveEndpoint(options, env);
    this.token = options.token ?? (env.HF_TOKEN || undefined);
    this.fetchImpl = options.fetchImpl ?? globalThis.fetch;
    this.retries = options.retries ?? 3;
    this.retryDelayMs = options.retryDelayMs ?? 1000;
    this.timeoutMs = options.timeoutMs ?? 60000;
    this.limits = {
      maxJsonBytes: options.maxJsonBytes ?? DEFAULT_HUB_LIMITS.maxJsonBytes,
      minBytesPerSecond: options.minBytesPerSecond ?? DEFAULT_HUB_LIMITS.minBytesPerSecond,
      slowWindowMs: options.slowWindowMs ?? DEFAULT_HUB_LIMITS.slowWindowMs,
      maxRedirects: options.maxRedirects ?? DEFAULT_HUB_LIMITS.maxRedirects,
    };
  }

  /** The headers for `url`: the token only for the endpoint's own origin, never for a CDN or another host. */
  private headers(url: string, extra: Record<string, string>): Record<string, string> {
    const headers: Record<string, string> = { 'user-agent': 'tfjs-diffusers', 'accept-encoding': 'identity', ...extra };
    if (this.token !== undefined && new URL(url).origin === new URL(this.endpoint).origin) headers.authorization = `Bearer ${this.token}`;
    return headers;
  }

  /** One request (no redirect followed), failing when the server stays silent for `timeoutMs`. */
  private async once(url: string, method: string, extra: Record<string, string>): Promise<HubResponse> {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const abort = (reason: Error): void => {
      clearTimeout(timer);
      controller.abort(reason);
    };
    const touch = (): void => {
      clearTimeout(timer);
      const silence = `no data from ${new URL(url).host} for ${this.timeoutMs / 1000} s`;
      timer = setTimeout(() => controller.abort(Object.assign(new Error(silence), { code: 'ETIMEDOUT' })), this.timeoutMs);
    };
    const done = (): void => clearTimeout(timer);
    touch();
    try {
      const response = await this.fetchImpl(url, { method, redirect: 'manual', headers: this.headers(url, extra), signal: controller.signal });
      touch();
      return { response, url, touch, abort, done };
    } catch (err) {
      done();
      if (hasErrorCode(err, 'UND_ERR_HEADERS_OVERFLOW')) {
        // Not a connection problem (which would suggest HF_HUB_OFFLINE): the server's answer itself is malformed.
        throw new HubError(`${new URL(url).host} answered ${method} ${url} with response headers larger than Node's limit (--max-http-header-size, 16 KiB by default): a broken or hostile server; refused`);
      }
      throw err;
    }
  }

  /** {@link once}, asked again after a 429 or a passing 5xx (retry-policy.ts), at most `retries` times. */
  private async onceRetrying(url: string, method: string, extra: Record<string, string>): Promise<HubResponse> {
    for (let attempt = 0; ; attempt++) {
      const answer = await this.once(url, method, extra);
      const { status, headers } = answer.response;
      const delay = attempt < this.retries ? retryDelayMs(status, headers.get('retry-after'), attempt, this.retryDelayMs) : null;
      if (delay === null) return answer;
      answer.done();
      await answer.response.body?.cancel().catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  /**
   * A request that follows redirects through {@link redirectTarget}. With `hostRelativeOnly` (the HEAD of
   * `resolve/`), a redirect that names a host is not followed but returned: its Location is where to download.
   */
  async request(url: string, method: 'HEAD' | 'GET', options: { headers?: Record<string, string>; hostRelativeOnly: boolean }): Promise<HubResponse> {
    for (let redirects = 0; ; redirects++) {
      const answer = await this.onceRetrying(url, method, options.headers ?? {});
      const { status } = answer.response;
      const location = answer.response.headers.get('location');
      if (status < 300 || status >= 400 || location === null || status === 304) return answer;
      let target: URL;
      try {
        target = redirectTarget(url, location, this.endpoint);
      } catch (err) {
        answer.done();
        throw err;
      }
      if (options.hostRelativeOnly && !(isHostRelative(location) && target.origin === new URL(url).origin)) return answer;
      answer.done();
      await answer.response.body?.cancel().catch(() => undefined);
      if (redirects >= this.limits.maxRedirects) throw new HubRedirectError(url, location, `more than ${this.limits.maxRedirects} redirects`);
      url = target.toString();
    }
  }
}

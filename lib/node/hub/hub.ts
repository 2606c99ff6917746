import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { HubDownloadOptions, HubProgress } from '../../loading/load-options';
import { MAX_JSON_BYTES, parseJsonObject } from '../../loading/model-source';
import {
  checkModelIndex,
  MODEL_INDEX_FILE,
  SCHEDULER_CONFIG_PATHS,
  UNET_CONFIG_FILE,
  UNET_FOLDER,
  WEIGHT_FILE_NAMES as WEIGHT_FILES,
} from '../../loading/pipeline-layout';
import { readModelFile } from '../fs/fs-model-source';
import { classifyModelLocation } from '../model-location';
import {
  COMMIT_HASH,
  HubCacheRepo,
  HubEnv,
  defaultHubCacheDir,
  isHubOfflineEnv,
  validateRepoFilePath,
  validateRepoId,
  validateRevision,
} from './hub-cache';

/**
 * Downloads from the Hugging Face Hub into the huggingface_hub cache (see hub-cache.ts for the layout), the way
 * huggingface_hub's `hf_hub_download` / `snapshot_download` do:
 *
 * 1. `HEAD <endpoint>/<repo>/resolve/<revision>/<file>` (relative redirects followed, absolute ones, to the LFS CDN,
 *    not): `X-Repo-Commit` gives the commit, `X-Linked-Etag` / `ETag` the blob name, `X-Linked-Size` /
 *    `Content-Length` the size. The first answer pins the commit: later files are asked for at that commit.
 * 2. A blob already in the cache is linked into the snapshot without downloading it again.
 * 3. Otherwise `GET` into `blobs/<etag>.incomplete`, resuming with `Range: bytes=<have>-` (206 appends, 200
 *    restarts), checked against the size and the ETag (sha256 for LFS files, git's blob sha1 for the others), then
 *    renamed to `blobs/<etag>`. A bad checksum deletes the file and fails.
 *
 * Node's built-in fetch does the HTTP; no dependency is added.
 */

export type { HubDownloadOptions, HubProgress };

/** A Hub download that failed: the message says what to do about it. */
export class HubError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
    this.name = 'HubError';
  }
}

/** The Hub (or the cache, offline) says this file does not exist in the repository at that revision. */
export class HubFileNotFoundError extends HubError {
  constructor(readonly repoId: string, readonly file: string, readonly revision: string) {
    super(`${file} not found in ${repoId} at revision ${revision}`, 404);
    this.name = 'HubFileNotFoundError';
  }
}

const DEFAULT_ENDPOINT = 'https://huggingface.co';
const MAX_REDIRECTS = 5;
const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ABORT_ERR',
]);

interface FileMetadata {
  commit: string;
  etag: string;
  size: number | undefined;
  downloadUrl: string;
}

/** The error code of a network failure (`ECONNREFUSED`, ...) anywhere in an error's cause chain, if any. */
function networkErrorCode(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown; name?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && NETWORK_ERROR_CODES.has(e.code)) return e.code;
    if (e.name === 'AbortError' || e.name === 'TimeoutError') return 'ETIMEDOUT';
  }
  return err instanceof TypeError && /fetch failed|terminated/.test(err.message) ? 'ECONNRESET' : undefined;
}

function normalizeEtag(etag: string | null): string | undefined {
  if (etag === null) return undefined;
  const value = etag.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
  return value === '' ? undefined : value;
}

function parseSize(value: string | null): number | undefined {
  if (value === null || !/^\d+$/.test(value.trim())) return undefined;
  const n = Number(value.trim());
  return Number.isSafeInteger(n) ? n : undefined;
}

async function fileDigest(file: string, algorithm: 'sha256' | 'sha1', prefix?: string): Promise<string> {
  const hash = createHash(algorithm);
  if (prefix !== undefined) hash.update(prefix);
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One repository at one revision: resolves the commit once, then downloads or finds files. */
class HubRepoSession {
  readonly endpoint: string;
  readonly cache: HubCacheRepo;
  readonly offline: boolean;
  private readonly token: string | undefined;
  private readonly fetchImpl: typeof fetch;
  private readonly retries: number;
  private readonly retryDelayMs: number;
  private readonly timeoutMs: number;
  readonly revision: string;
  /** Pinned by the first answer from the server (or the cache, offline). */
  commit: string | undefined;

  constructor(readonly repoId: string, private readonly options: HubDownloadOptions = {}) {
    validateRepoId(repoId);
    const env = options.env ?? process.env;
    this.revision = options.revision ?? 'main';
    validateRevision(this.revision);
    this.endpoint = (options.endpoint ?? (env.HF_ENDPOINT || DEFAULT_ENDPOINT)).replace(/\/+$/, '');
    this.cache = new HubCacheRepo(options.cacheDir ?? defaultHubCacheDir(env), repoId);
    this.offline = options.offline ?? isHubOfflineEnv(env);
    this.token = options.token ?? (env.HF_TOKEN || undefined);
    this.fetchImpl = options.fetchImpl ?? globalThis.fetch;
    this.retries = options.retries ?? 3;
    this.retryDelayMs = options.retryDelayMs ?? 1000;
    this.timeoutMs = options.timeoutMs ?? 60000;
    if (COMMIT_HASH.test(this.revision)) this.commit = this.revision;
  }

  /** The snapshot folder of the pinned commit. */
  snapshotDir(): string {
    if (this.commit === undefined) throw new Error('no commit resolved yet');
    return this.cache.snapshotDir(this.commit);
  }

  /**
   * The local path of `file`, downloading it if needed. With `optional`, a file the repository does not have
   * gives `null` instead of a {@link HubFileNotFoundError}.
   */
  async file(file: string, optional = false): Promise<string | null> {
    validateRepoFilePath(file);
    if (this.offline) return this.fromCache(file, optional, 'HF_HUB_OFFLINE is set');
    let metadata: FileMetadata | null;
    try {
      metadata = await this.metadata(file);
    } catch (err) {
      const code = networkErrorCode(err);
      if (code === undefined) throw err;
      // Offline without saying so: use the cache if it has the answer, like huggingface_hub.
      const cached = this.cachedAnswer(file);
      if (cached === undefined) throw this.unreachable(code);
      if (cached === null && !optional) throw new HubFileNotFoundError(this.repoId, file, this.revision);
      return cached;
    }
    if (metadata === null) {
      if (this.commit !== undefined) this.cache.markNoExist(this.commit, file);
      if (optional) return null;
      throw new HubFileNotFoundError(this.repoId, file, this.revision);
    }
    if (this.commit === undefined) {
      this.commit = metadata.commit;
      this.cache.writeRef(this.revision, this.commit);
    }
    const { etag, size } = metadata;
    const pointer = this.cache.cachedFile(this.commit, file);
    if (pointer !== undefined || fs.existsSync(this.cache.blobPath(etag))) {
      this.options.onProgress?.({ file, loaded: size ?? fs.statSync(this.cache.blobPath(etag)).size, total: size, cached: true });
      return pointer ?? this.cache.linkSnapshotFile(this.commit, file, etag);
    }
    await this.downloadBlob(file, metadata);
    return this.cache.linkSnapshotFile(this.commit, file, etag);
  }

  /** Offline: the cached file, or null for an optional file known (or assumed) absent, or an error. */
  private fromCache(file: string, optional: boolean, why: string): string | null {
    const commit = this.commit ?? this.cache.resolveCommit(this.revision);
    if (commit === undefined) {
      throw new HubError(
        `${why} and ${this.repoId} at revision ${this.revision} is not in the cache (${this.cache.root}): ` +
          `download it once online, or download the folder manually and run \`tfjs-diffusers convert <dir> <out>\``,
      );
    }
    this.commit = commit;
    const cached = this.cache.cachedFile(commit, file);
    if (cached !== undefined) return cached;
    if (optional) return null;
    throw new HubError(`${why} and ${file} of ${this.repoId}@${commit} is not in the cache (${this.cache.root})`);
  }

  /** Whether the cache can answer for `file` without the network: its path, null if known absent, or undefined. */
  private cachedAnswer(file: string): string | null | undefined {
    const commit = this.commit ?? this.cache.resolveCommit(this.revision);
    if (commit === undefined) return undefined;
    const cached = this.cache.cachedFile(commit, file);
    if (cached !== undefined) {
      this.commit = commit;
      return cached;
    }
    if (this.cache.isMarkedNoExist(commit, file)) {
      this.commit = commit;
      return null;
    }
    return undefined;
  }

  private unreachable(code: string): HubError {
    return new HubError(
      `cannot reach ${this.endpoint} (${code}) to download ${this.repoId}: check the connection, set HF_ENDPOINT to a ` +
        `reachable mirror, or set HF_HUB_OFFLINE=1 to use the cache (${this.cache.cacheDir}); or download the model ` +
        `folder by hand (e.g. \`git clone ${this.endpoint}/${this.repoId}\`) and run \`tfjs-diffusers convert <dir> <out>\``,
    );
  }

  private headers(url: string, extra: Record<string, string> = {}): Record<string, string> {
    const headers: Record<string, string> = { 'user-agent': 'tfjs-diffusers', 'accept-encoding': 'identity', ...extra };
    if (this.token !== undefined && new URL(url).origin === new URL(this.endpoint).origin) {
      headers.authorization = `Bearer ${this.token}`;
    }
    return headers;
  }

  /** A fetch that fails when the server stays silent for `timeoutMs` (the signal is re-armed by `touch`). */
  private async request(url: string, init: RequestInit): Promise<{ response: Response; touch: () => void; done: () => void }> {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const touch = (): void => {
      clearTimeout(timer);
      const silence = `no data from ${new URL(url).host} for ${this.timeoutMs / 1000} s`;
      timer = setTimeout(() => controller.abort(Object.assign(new Error(silence), { code: 'ETIMEDOUT' })), this.timeoutMs);
    };
    const done = (): void => clearTimeout(timer);
    touch();
    try {
      const response = await this.fetchImpl(url, { ...init, signal: controller.signal });
      touch();
      return { response, touch, done };
    } catch (err) {
      done();
      throw err;
    }
  }

  private resolveUrl(file: string): string {
    const revision = encodeURIComponent(this.commit ?? this.revision);
    return `${this.endpoint}/${this.repoId}/resolve/${revision}/${file.split('/').map(encodeURIComponent).join('/')}`;
  }

  /** HEAD: commit, etag, size and where to GET; null when the file does not exist. */
  private async metadata(file: string): Promise<FileMetadata | null> {
    let url = this.resolveUrl(file);
    for (let redirects = 0; ; redirects++) {
      const { response, done } = await this.request(url, { method: 'HEAD', redirect: 'manual', headers: this.headers(url) });
      done();
      const location = response.headers.get('location');
      const relativeRedirect = response.status >= 300 && response.status < 400 && location !== null && location.startsWith('/');
      if (relativeRedirect) {
        if (redirects >= MAX_REDIRECTS) throw new HubError(`${url}: more than ${MAX_REDIRECTS} redirects`);
        url = new URL(location!, url).toString();
        continue;
      }
      if (response.status === 404 || response.status === 401 || response.status === 403) {
        const code = response.headers.get('x-error-code');
        const commit = response.headers.get('x-repo-commit');
        if (this.commit === undefined && commit !== null && COMMIT_HASH.test(commit)) {
          this.commit = commit;
          this.cache.writeRef(this.revision, commit);
        }
        if (code === 'RepoNotFound' || response.status !== 404) {
          throw new HubError(
            `repository ${this.repoId} not found at ${this.endpoint} (HTTP ${response.status}${code ? ` ${code}` : ''}): ` +
              'check the name; for a private or gated repository set HF_TOKEN',
            response.status,
          );
        }
        if (code === 'RevisionNotFound') {
          throw new HubError(`revision ${this.revision} not found in ${this.repoId} (HTTP 404 RevisionNotFound)`, 404);
        }
        return null;
      }
      if (response.status >= 400 || (response.status >= 300 && location === null)) {
        throw new HubError(`${url}: HTTP ${response.status} ${response.statusText}`, response.status);
      }
      const commit = response.headers.get('x-repo-commit');
      const etag = normalizeEtag(response.headers.get('x-linked-etag') ?? response.headers.get('etag'));
      if (commit === null || !COMMIT_HASH.test(commit) || etag === undefined) {
        throw new HubError(
          `${url}: the server did not send the X-Repo-Commit and ETag headers of a Hugging Face Hub ` +
            `(X-Repo-Commit ${JSON.stringify(commit)}, ETag ${JSON.stringify(etag ?? null)}): is HF_ENDPOINT (${this.endpoint}) a Hub?`,
        );
      }
      if (!/^[\w.-]{1,200}$/.test(etag) || etag.endsWith('.incomplete')) {
        throw new HubError(`${url}: ETag ${JSON.stringify(etag)} is not usable as a cache file name`);
      }
      const size = parseSize(response.headers.get('x-linked-size') ?? response.headers.get('content-length'));
      const downloadUrl = location !== null && response.status >= 300 ? new URL(location, url).toString() : url;
      return { commit, etag, size, downloadUrl };
    }
  }

  /** GET into blobs/<etag>.incomplete (resuming), verify, rename to blobs/<etag>. */
  private async downloadBlob(file: string, metadata: FileMetadata): Promise<void> {
    const { etag, size, downloadUrl } = metadata;
    const incomplete = this.cache.incompletePath(etag);
    fs.mkdirSync(path.dirname(incomplete), { recursive: true });
    for (let attempt = 0; ; attempt++) {
      try {
        await this.fetchInto(file, downloadUrl, incomplete, size);
        break;
      } catch (err) {
        const code = networkErrorCode(err);
        if (code === undefined || err instanceof HubError) throw err;
        const have = fs.existsSync(incomplete) ? fs.statSync(incomplete).size : 0;
        if (attempt >= this.retries) {
          throw new HubError(
            `download of ${this.repoId}/${file} interrupted after ${have}${size !== undefined ? ` of ${size}` : ''} bytes ` +
              `(${code}: ${(err as Error).message}); run again to resume from there`,
          );
        }
        await sleep(this.retryDelayMs * 2 ** attempt);
      }
    }
    await this.verify(file, incomplete, etag, size);
    fs.renameSync(incomplete, this.cache.blobPath(etag));
  }

  private async fetchInto(file: string, url: string, incomplete: string, size: number | undefined): Promise<void> {
    let have = fs.existsSync(incomplete) ? fs.statSync(incomplete).size : 0;
    if (size !== undefined && have > size) {
      fs.rmSync(incomplete);
      have = 0;
    }
    if (size !== undefined && have === size) return;
    const range: Record<string, string> = have > 0 ? { range: `bytes=${have}-` } : {};
    const { response, touch, done } = await this.request(url, { method: 'GET', redirect: 'follow', headers: this.headers(url, range) });
    try {
      let append = false;
      if (response.status === 206) {
        const match = /^bytes (\d+)-/.exec(response.headers.get('content-range') ?? '');
        append = match !== null && Number(match[1]) === have;
        if (!append) {
          await response.body?.cancel();
          fs.rmSync(incomplete, { force: true });
          throw Object.assign(new Error(`the server resumed at ${response.headers.get('content-range')}, not at byte ${have}`), { code: 'ECONNRESET' });
        }
      } else if (response.status === 416 && have > 0) {
        // Our partial file does not fit the server's: start over.
        await response.body?.cancel();
        fs.rmSync(incomplete, { force: true });
        throw Object.assign(new Error('the server refused to resume (HTTP 416)'), { code: 'ECONNRESET' });
      } else if (response.status !== 200) {
        await response.body?.cancel();
        throw new HubError(`${url}: HTTP ${response.status} ${response.statusText} while downloading ${file}`, response.status);
      }
      let loaded = append ? have : 0;
      const handle = await fs.promises.open(incomplete, append ? 'a' : 'w');
      try {
        this.options.onProgress?.({ file, loaded, total: size, cached: false });
        if (response.body !== null) {
          for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
            touch();
            loaded += chunk.length;
            if (size !== undefined && loaded > size) {
              await handle.close().catch(() => undefined);
              fs.rmSync(incomplete, { force: true });
              throw new HubError(`${url}: the server sent more than the ${size} bytes it announced for ${file}; download refused`);
            }
            await handle.write(chunk);
            this.options.onProgress?.({ file, loaded, total: size, cached: false });
          }
        }
      } finally {
        await handle.close().catch(() => undefined);
      }
      if (size !== undefined && loaded < size) {
        throw Object.assign(new Error(`the connection closed after ${loaded} of ${size} bytes`), { code: 'ECONNRESET' });
      }
    } finally {
      done();
    }
  }

  /** Size, then the ETag as a checksum: sha256 (LFS files) or git's blob sha1 (other files). */
  private async verify(file: string, incomplete: string, etag: string, size: number | undefined): Promise<void> {
    const actualSize = fs.statSync(incomplete).size;
    const refuse = (what: string): never => {
      fs.rmSync(incomplete, { force: true });
      throw new HubError(
        `the download of ${this.repoId}/${file} is corrupted: ${what}; the file was deleted, run again to download it afresh`,
      );
    };
    if (size !== undefined && actualSize !== size) refuse(`it has ${actualSize} bytes, the server announced ${size}`);
    if (/^[0-9a-f]{64}$/.test(etag)) {
      const sha256 = await fileDigest(incomplete, 'sha256');
      if (sha256 !== etag) refuse(`its sha256 is ${sha256}, the Hub says ${etag}`);
    } else if (/^[0-9a-f]{40}$/.test(etag)) {
      const sha1 = await fileDigest(incomplete, 'sha1', `blob ${actualSize}\0`);
      if (sha1 !== etag) refuse(`its git blob sha1 is ${sha1}, the Hub says ${etag}`);
    }
  }
}

/**
 * Downloads one file of a Hub repository into the cache and returns its local path (like huggingface_hub's
 * `hf_hub_download`). A file already in the cache is not downloaded again.
 *
 * ```ts
 * const config = await hfHubDownload('google/ddpm-cifar10-32', 'unet/config.json');
 * ```
 */
export async function hfHubDownload(repoId: string, file: string, options: HubDownloadOptions = {}): Promise<string> {
  return (await new HubRepoSession(repoId, options).file(file))!;
}

async function fetchModelFolder(session: HubRepoSession, folder: string): Promise<string[]> {
  const prefix = folder === '' ? '' : `${folder}/`;
  const config = `${prefix}${UNET_CONFIG_FILE}`;
  await session.file(config);
  for (const name of WEIGHT_FILES) {
    if ((await session.file(`${prefix}${name}`, true)) !== null) return [config, `${prefix}${name}`];
  }
  throw new HubError(
    `${session.repoId}: no weights in ${folder === '' ? 'the repository root' : `${folder}/`}: looked for ${WEIGHT_FILES.map((n) => prefix + n).join(' and ')}`,
  );
}

async function fetchPipelineFiles(session: HubRepoSession): Promise<string[]> {
  const modelIndex = await session.file(MODEL_INDEX_FILE, true);
  if (modelIndex === null) {
    // The model layout: config.json and the weights at the top.
    const config = await session.file(UNET_CONFIG_FILE, true);
    if (config === null) {
      throw new HubError(`${session.repoId}: neither model_index.json (a pipeline) nor config.json (a model) found at revision ${session.revision}`);
    }
    return fetchModelFolder(session, '');
  }
  const components = parseJsonObject(readModelFile(modelIndex, MAX_JSON_BYTES), `${session.repoId}/${MODEL_INDEX_FILE}`);
  checkModelIndex(components, `${session.repoId}/${MODEL_INDEX_FILE}`);
  const files = [MODEL_INDEX_FILE, ...(await fetchModelFolder(session, UNET_FOLDER))];
  if ('scheduler' in components) {
    await session.file(SCHEDULER_CONFIG_PATHS[0]);
    files.push(SCHEDULER_CONFIG_PATHS[0]);
  }
  return files;
}

/**
 * Finds (and downloads into the cache) the files a DDIM pipeline needs from a Hub repository: with a
 * `model_index.json`, the pipeline layout (`model_index.json`, `unet/config.json`, `unet/diffusion_pytorch_model.
 * safetensors` or else `.bin`, `scheduler/scheduler_config.json`); without, the model layout (`config.json` and the
 * weights). Returns the repository paths chosen.
 *
 * ```ts
 * await resolvePipelineFiles('google/ddpm-cifar10-32');
 * // ['model_index.json', 'unet/config.json', 'unet/diffusion_pytorch_model.bin', 'scheduler/scheduler_config.json']
 * ```
 */
export async function resolvePipelineFiles(repoId: string, options: HubDownloadOptions = {}): Promise<string[]> {
  return fetchPipelineFiles(new HubRepoSession(repoId, options));
}

/**
 * Downloads a Hub repository's files into the cache (like huggingface_hub's `snapshot_download`) and returns the
 * snapshot folder, which holds them under their repository paths. Without `files`, the files a DDIM pipeline needs
 * ({@link resolvePipelineFiles}). All files come from one commit. Downloads are atomic, resumable and checksummed;
 * with `HF_HUB_OFFLINE=1` (or when the Hub cannot be reached) the cache alone answers.
 *
 * ```ts
 * const dir = await snapshotDownload('google/ddpm-cifar10-32', { onProgress: (p) => console.log(p.file, p.loaded) });
 * // ~/.cache/huggingface/hub/models--google--ddpm-cifar10-32/snapshots/<commit>
 * ```
 */
export async function snapshotDownload(repoId: string, options: HubDownloadOptions & { files?: string[] } = {}): Promise<string> {
  const session = new HubRepoSession(repoId, options);
  if (options.files === undefined) {
    await fetchPipelineFiles(session);
  } else {
    for (const file of options.files) await session.file(file);
  }
  if (session.commit === undefined) throw new HubError(`${repoId}: no files requested, so no commit was resolved`);
  return session.snapshotDir();
}

/**
 * A local folder for `model`: an existing path as is, else a Hub repository id downloaded with
 * {@link snapshotDownload} (the pipeline files). What the CLI's `--model <dir|hub-id>` needs.
 *
 * ```ts
 * await resolveModelPath('./my-model');             // './my-model'
 * await resolveModelPath('google/ddpm-cifar10-32'); // '~/.cache/huggingface/hub/models--google--ddpm-cifar10-32/snapshots/<commit>'
 * ```
 */
export async function resolveModelPath(model: string, options: HubDownloadOptions = {}): Promise<string> {
  const where = classifyModelLocation(model);
  return where.kind === 'folder' ? where.dir : snapshotDownload(where.repoId, options);
}

import * as fs from 'fs';
import type { HubDownloadOptions, HubProgress } from '../../loading/load-options';
import { COMMIT_HASH, HubCacheRepo, blobNameOfEtag, defaultHubCacheDir, isHubOfflineEnv, validateRepoFilePath, validateRepoId, validateRevision } from './cache';
import { downloadBlob } from './download';
import { HubError, HubFileNotFoundError, HubMetadataError, HubResponseError } from './errors';
import { pickPipelineFiles, RepoFileSource } from './pipeline-files';
import { HubClientOptions, HubSession, networkErrorCode } from './session';
import { classifyModelLocation } from './model-location';

/**
 * The Hugging Face Hub client's public face: `hfHubDownload`, `snapshotDownload`, `resolvePipelineFiles`,
 * `resolveModelPath`, over one repository at one revision ({@link HubRepo}), the way huggingface_hub's
 * `hf_hub_download` / `snapshot_download` work:
 *
 * 1. `HEAD <endpoint>/<repo>/resolve/<revision>/<file>` (session.ts: same-origin redirects followed, the one to the
 *    LFS CDN is where to download): `X-Repo-Commit` gives the commit, `X-Linked-Etag` / `ETag` the blob name (a hex
 *    hash, cache.ts), `X-Linked-Size` / `Content-Length` the size. The first answer pins the commit.
 * 2. A blob already in the cache is linked into the snapshot without downloading it again.
 * 3. Otherwise download.ts: under the blob's lock, resumable, capped, rate-checked, verified by its hash, atomic.
 *
 * Node's built-in fetch does the HTTP; no dependency is added.
 */

export type { HubDownloadOptions, HubProgress, HubClientOptions };
export * from './errors';

/** What a HEAD of resolve/ says about a file. */
interface FileMetadata {
  commit: string;
  etag: string;
  size: number | undefined;
  downloadUrl: string;
}

function parseSize(value: string | null): number | undefined {
  if (value === null || !/^\d+$/.test(value.trim())) return undefined;
  const n = Number(value.trim());
  return Number.isSafeInteger(n) ? n : undefined;
}

/** One repository at one revision: resolves the commit once, then downloads or finds files. */
class HubRepo implements RepoFileSource {
  readonly session: HubSession;
  readonly cache: HubCacheRepo;
  readonly offline: boolean;
  readonly revision: string;
  /** Pinned by the first answer from the server (or the cache, offline). */
  commit: string | undefined;

  constructor(readonly repoId: string, private readonly options: HubClientOptions = {}) {
    validateRepoId(repoId);
    const env = options.env ?? process.env;
    this.revision = options.revision ?? 'main';
    validateRevision(this.revision);
    this.session = new HubSession(options, env);
    this.cache = new HubCacheRepo(options.cacheDir ?? defaultHubCacheDir(env), repoId);
    this.offline = options.offline ?? isHubOfflineEnv(env);
    if (COMMIT_HASH.test(this.revision)) this.commit = this.revision;
  }

  /** The snapshot folder of the pinned commit. */
  snapshotDir(): string {
    if (this.commit === undefined) throw new HubError(`${this.repoId}: no files requested, so no commit was resolved`);
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
      if (code === undefined || err instanceof HubError) throw err;
      // Offline without saying so: use the cache if it has the answer, like huggingface_hub.
      const cached = this.cachedAnswer(file, optional);
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
    const blob = this.cache.blobPath(etag);
    if (pointer === undefined && !fs.existsSync(blob)) {
      const downloaded = await downloadBlob(
        this.session,
        {
          repoId: this.repoId,
          file,
          url: metadata.downloadUrl,
          etag,
          size,
          limit: /\.json$/i.test(file) ? this.session.limits.maxJsonBytes : undefined,
          blob,
          incomplete: this.cache.incompletePath(etag),
          lockFile: this.cache.lockPath(etag),
        },
        { onProgress: this.options.onProgress },
      );
      if (downloaded) return this.cache.linkSnapshotFile(this.commit, file, etag);
    }
    this.options.onProgress?.({ file, loaded: size ?? fs.statSync(blob).size, total: size, cached: true });
    return pointer ?? this.cache.linkSnapshotFile(this.commit, file, etag);
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

  /**
   * Whether the cache can answer for `file` without the network: its path, null if known absent (or, for an
   * `optional` file of a cached commit, assumed absent, as with HF_HUB_OFFLINE: the pipeline search asks for files a
   * snapshot may not have, such as `unet/model.json`), or undefined.
   */
  private cachedAnswer(file: string, optional: boolean): string | null | undefined {
    const commit = this.commit ?? this.cache.resolveCommit(this.revision);
    if (commit === undefined) return undefined;
    const cached = this.cache.cachedFile(commit, file);
    if (cached !== undefined) {
      this.commit = commit;
      return cached;
    }
    if (optional || this.cache.isMarkedNoExist(commit, file)) {
      this.commit = commit;
      return null;
    }
    return undefined;
  }

  private unreachable(code: string): HubError {
    const endpoint = this.session.endpoint;
    return new HubError(
      `cannot reach ${endpoint} (${code}) to download ${this.repoId}: check the connection, set HF_ENDPOINT to a ` +
        `reachable mirror, or set HF_HUB_OFFLINE=1 to use the cache (${this.cache.cacheDir}); or download the model ` +
        `folder by hand (e.g. \`git clone ${endpoint}/${this.repoId}\`) and run \`tfjs-diffusers convert <dir> <out>\``,
    );
  }

  private resolveUrl(file: string): string {
    const revision = encodeURIComponent(this.commit ?? this.revision);
    return `${this.session.endpoint}/${this.repoId}/resolve/${revision}/${file.split('/').map(encodeURIComponent).join('/')}`;
  }

  /** HEAD: commit, etag, size and where to GET; null when the file does not exist. */
  private async metadata(file: string): Promise<FileMetadata | null> {
    const { response, url, done } = await this.session.request(this.resolveUrl(file), 'HEAD', { hostRelativeOnly: true });
    done();
    const location = response.headers.get('location');
    if (response.status === 404 || response.status === 401 || response.status === 403) {
      const code = response.headers.get('x-error-code');
      const commit = response.headers.get('x-repo-commit');
      if (this.commit === undefined && commit !== null && COMMIT_HASH.test(commit)) {
        this.commit = commit;
        this.cache.writeRef(this.revision, commit);
      }
      if (code === 'RepoNotFound' || response.status !== 404) {
        throw new HubError(
          `repository ${this.repoId} not found at ${this.session.endpoint} (HTTP ${response.status}${code ? ` ${code}` : ''}): ` +
            'check the name; for a private or gated repository set HF_TOKEN',
          response.status,
        );
      }
      if (code === 'RevisionNotFound') {
        throw new HubError(`revision ${this.revision} not found in ${this.repoId} (HTTP 404 RevisionNotFound)`, 404);
      }
      return null;
    }
    const redirected = response.status >= 300 && response.status < 400 && location !== null;
    if (response.status >= 400 || (response.status >= 300 && !redirected)) {
      throw new HubResponseError(url, response.status, response.statusText);
    }
    const commit = response.headers.get('x-repo-commit');
    const etagHeader = response.headers.get('x-linked-etag') ?? response.headers.get('etag');
    if (commit === null || !COMMIT_HASH.test(commit) || etagHeader === null) {
      throw new HubMetadataError(
        url,
        'X-Repo-Commit',
        commit,
        `and ETag ${JSON.stringify(etagHeader)}: the server did not send the X-Repo-Commit and ETag headers of a Hugging Face Hub; is the endpoint (${this.session.endpoint}) a Hub?`,
      );
    }
    const etag = blobNameOfEtag(etagHeader, url);
    const size = parseSize(response.headers.get('x-linked-size') ?? response.headers.get('content-length'));
    // The redirect to another origin (the LFS CDN) is where to download; it passed session.ts's redirect rules.
    const downloadUrl = redirected ? new URL(location!, url).toString() : url;
    return { commit, etag, size, downloadUrl };
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
export async function hfHubDownload(repoId: string, file: string, options: HubClientOptions = {}): Promise<string> {
  return (await new HubRepo(repoId, options).file(file))!;
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
export async function resolvePipelineFiles(repoId: string, options: HubClientOptions = {}): Promise<string[]> {
  const repo = new HubRepo(repoId, options);
  return pickPipelineFiles(repo, repo.session.limits.maxJsonBytes);
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
export async function snapshotDownload(repoId: string, options: HubClientOptions & { files?: string[] } = {}): Promise<string> {
  const repo = new HubRepo(repoId, options);
  if (options.files === undefined) {
    await pickPipelineFiles(repo, repo.session.limits.maxJsonBytes);
  } else {
    for (const file of options.files) await repo.file(file);
  }
  return repo.snapshotDir();
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
export async function resolveModelPath(model: string, options: HubClientOptions = {}): Promise<string> {
  const where = classifyModelLocation(model);
  return where.kind === 'folder' ? where.dir : snapshotDownload(where.repoId, options);
}

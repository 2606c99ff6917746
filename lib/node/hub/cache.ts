import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeFileAtomic } from '../fs/atomic-write';
import { HubArgumentError, HubMetadataError } from './errors';

/**
 * The Hugging Face Hub cache, in huggingface_hub's layout, so that Python and this library share downloads:
 *
 * ```
 * <cacheDir>/models--<org>--<name>/
 *   blobs/<etag>                      file contents, named by ETag (sha256 for LFS files, git sha1 otherwise)
 *   blobs/<etag>.incomplete           a download in progress (resumed from its length)
 *   snapshots/<commit>/<path>         relative symlinks into blobs/ (copies where symlinks are not allowed)
 *   refs/<revision>                   the commit a branch or tag pointed to at the last download
 *   .no_exist/<commit>/<path>         empty markers: the file does not exist at that commit
 * <cacheDir>/.locks/models--<org>--<name>/<etag>.tfjs-diffusers.lock   held while one process downloads that blob
 * <cacheDir>/tfjs-diffusers/<org>--<name>/<commit>/                     the tfjs conversion of that snapshot
 * <cacheDir>/.locks/tfjs-diffusers/<org>--<name>/<commit>.lock          held while one process converts it
 * ```
 *
 * These are the only paths the Hub client writes (docs/checkpoints.md, "Hub cache"). The lock files have their own
 * suffix, not huggingface_hub's `<etag>.lock`: Python holds those with `flock` and never deletes them, which our
 * lock (a file that exists while held, see lib/node/fs/file-lock.ts) would read as held.
 */

import type { HubEnv } from '../../loading/load-options';

export type { HubEnv };

/**
 * The cache folder huggingface_hub would use: `HF_HUB_CACHE`, else `HF_HOME/hub`, else
 * `$XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub`.
 *
 * ```ts
 * defaultHubCacheDir({ HF_HOME: '/data/hf' }); // '/data/hf/hub'
 * ```
 */
export function defaultHubCacheDir(env: HubEnv = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  if (env.HUGGINGFACE_HUB_CACHE) return env.HUGGINGFACE_HUB_CACHE; // the older name, still honoured by Python
  const home = env.HF_HOME || path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'huggingface');
  return path.join(home, 'hub');
}

/** Whether `HF_HUB_OFFLINE` (or the older `TRANSFORMERS_OFFLINE`) asks for the cache only: 1 / true / yes / on. */
export function isHubOfflineEnv(env: HubEnv = process.env): boolean {
  return [env.HF_HUB_OFFLINE, env.TRANSFORMERS_OFFLINE].some((v) => v !== undefined && /^(1|true|yes|on)$/i.test(v.trim()));
}

const REPO_ID = /^(?:[\w.-]+\/)?[\w.-]{1,96}$/;

/**
 * Checks a Hub repository id (`name` or `org/name`) the way huggingface_hub does, so it is safe as a folder name.
 *
 * ```ts
 * validateRepoId('google/ddpm-cifar10-32'); // ok
 * validateRepoId('../etc'); // throws
 * ```
 */
export function validateRepoId(repoId: string): void {
  if (
    typeof repoId !== 'string' ||
    !REPO_ID.test(repoId) ||
    repoId.includes('--') ||
    repoId.includes('..') ||
    /(^|\/)[.-]|[.-]($|\/)/.test(repoId)
  ) {
    throw new HubArgumentError('repoId', repoId, "a Hugging Face Hub repository id ('name' or 'org/name': letters, digits, '-', '_', '.'; no '--' or '..')");
  }
}

/** Whether `value` has the shape of a Hub repository id (for telling `org/name` from a local folder). */
export function looksLikeRepoId(value: string): boolean {
  try {
    validateRepoId(value);
    return true;
  } catch {
    return false;
  }
}

/** Checks a file path inside a repository: relative, '/'-separated, no '.', '..' or empty segments. */
export function validateRepoFilePath(file: string): void {
  const segments = typeof file === 'string' ? file.split('/') : [];
  if (segments.length === 0 || file.includes('\\') || file.includes('\0') || segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw new HubArgumentError('file', file, "a relative path inside a repository ('dir/name', no '..')");
  }
}

/** Checks a revision (branch, tag or commit) is safe as a path under refs/. */
export function validateRevision(revision: string): void {
  if (typeof revision !== 'string' || revision === '' || revision.split('/').some((s) => s === '' || s === '.' || s === '..') || revision.includes('\\')) {
    throw new HubArgumentError('revision', revision, 'a branch, tag or commit name');
  }
  // Checked before any request: a NUL used to surface as a bare TypeError from fetch, 300 characters as ENAMETOOLONG
  // from the cache's refs/ file after the request had gone out. Git refs have no control characters.
  // eslint-disable-next-line no-control-regex -- rejecting control characters in a revision is the point of this test
  if (revision.length > MAX_REVISION_CHARS || /[\u0000-\u001f\u007f]/.test(revision)) {
    throw new HubArgumentError(
      'revision',
      revision.length > 80 ? `${revision.slice(0, 80)}…` : revision,
      `a branch, tag or commit name (at most ${MAX_REVISION_CHARS} characters, no control characters)`,
    );
  }
}

/** Longest revision accepted: a cache file name (refs/<revision>) must stay under the usual 255-byte limit. */
const MAX_REVISION_CHARS = 200;

export const COMMIT_HASH = /^[0-9a-f]{40}$/;

/**
 * The blob name for an ETag header value: a hex hash only, a 64-digit sha256 (LFS files) or a 40-digit git blob
 * sha1 (the others), lower-cased; quotes and a weak `W/` prefix are dropped. Anything else is refused: it could not be
 * verified, and as a file name it could leave `blobs/` (`"."`, `".."`).
 *
 * ```ts
 * blobNameOfEtag('W/"3c7a..."', url); // '3c7a...'
 * blobNameOfEtag('"."', url);         // throws HubMetadataError
 * ```
 */
export function blobNameOfEtag(header: string | null, url: string): string {
  const value = header?.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
  if (value === undefined || !/^(?:[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$/.test(value)) {
    throw new HubMetadataError(url, 'ETag', value ?? header, 'is not a sha256 (64 hex digits) or git sha1 (40 hex digits): refused, it could not be verified');
  }
  return value.toLowerCase();
}

/** `org--name`: a repository id as one path segment. */
function flatRepoName(repoId: string): string {
  return repoId.split('/').join('--');
}

/**
 * The folder where a Hub snapshot's tfjs conversion is kept: `<hub cache>/tfjs-diffusers/<org>--<name>/<commit>`,
 * beside huggingface_hub's own `models--<org>--<name>` folders, so the Hub cache holds both.
 */
export function convertedCacheDir(cacheDir: string, repoId: string, commit: string): string {
  validateRepoId(repoId);
  return path.join(cacheDir, 'tfjs-diffusers', flatRepoName(repoId), commit);
}

/** The lock held while one process converts a snapshot into {@link convertedCacheDir}. */
export function convertedLockPath(cacheDir: string, repoId: string, commit: string): string {
  validateRepoId(repoId);
  return path.join(cacheDir, '.locks', 'tfjs-diffusers', flatRepoName(repoId), `${commit}.lock`);
}

/** One repository's folder in the cache. */
export class HubCacheRepo {
  /** `<cacheDir>/models--org--name`. */
  readonly root: string;

  constructor(readonly cacheDir: string, readonly repoId: string) {
    validateRepoId(repoId);
    this.root = path.join(cacheDir, `models--${flatRepoName(repoId)}`);
  }

  /** The lock held while one process downloads blobs/<etag>. */
  lockPath(etag: string): string {
    return path.join(this.cacheDir, '.locks', path.basename(this.root), `${etag}.tfjs-diffusers.lock`);
  }

  blobPath(etag: string): string {
    return path.join(this.root, 'blobs', etag);
  }

  incompletePath(etag: string): string {
    return `${this.blobPath(etag)}.incomplete`;
  }

  snapshotDir(commit: string): string {
    return path.join(this.root, 'snapshots', commit);
  }

  snapshotFile(commit: string, file: string): string {
    return path.join(this.snapshotDir(commit), ...file.split('/'));
  }

  /** The commit `revision` names in the cache: itself for a commit hash, else what refs/<revision> says. */
  resolveCommit(revision: string): string | undefined {
    if (COMMIT_HASH.test(revision)) return revision;
    try {
      const commit = fs.readFileSync(path.join(this.root, 'refs', ...revision.split('/')), 'utf8').trim();
      return COMMIT_HASH.test(commit) ? commit : undefined;
    } catch {
      return undefined;
    }
  }

  writeRef(revision: string, commit: string): void {
    if (revision === commit) return;
    const ref = path.join(this.root, 'refs', ...revision.split('/'));
    if (this.resolveCommit(revision) !== commit) writeFileAtomic(ref, commit, { force: true });
  }

  /** The snapshot path of `file` at `commit` if it is in the cache (a dangling symlink does not count). */
  cachedFile(commit: string, file: string): string | undefined {
    const pointer = this.snapshotFile(commit, file);
    return fs.existsSync(pointer) ? pointer : undefined;
  }

  private noExistPath(commit: string, file: string): string {
    return path.join(this.root, '.no_exist', commit, ...file.split('/'));
  }

  /** Records that `file` does not exist at `commit` (so offline runs know the fallback to take). */
  markNoExist(commit: string, file: string): void {
    const marker = this.noExistPath(commit, file);
    fs.mkdirSync(path.dirname(marker), { recursive: true });
    fs.writeFileSync(marker, '');
  }

  isMarkedNoExist(commit: string, file: string): boolean {
    return fs.existsSync(this.noExistPath(commit, file));
  }

  /**
   * Points snapshots/<commit>/<file> at blobs/<etag> with a relative symlink, as huggingface_hub does; where
   * symlinks are not allowed (Windows without developer mode) the blob is copied. Atomic: the link is made beside
   * the target and renamed over it.
   */
  linkSnapshotFile(commit: string, file: string, etag: string): string {
    const pointer = this.snapshotFile(commit, file);
    const blob = this.blobPath(etag);
    fs.mkdirSync(path.dirname(pointer), { recursive: true });
    const tmp = `${pointer}.tmp-${process.pid}-${Date.now().toString(36)}`;
    try {
      try {
        fs.symlinkSync(path.relative(path.dirname(pointer), blob), tmp);
      } catch (err) {
        if (!['EPERM', 'EACCES', 'ENOSYS', 'ENOTSUP', 'EINVAL'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
        fs.copyFileSync(blob, tmp);
      }
      fs.renameSync(tmp, pointer);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw err;
    }
    return pointer;
  }
}

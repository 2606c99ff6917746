import * as fs from 'fs';
import * as path from 'path';
import { fileURLToPath } from 'url';
import { ModelFileNotFoundError, ModelSourceError } from '../../loading/model-source';
import { looksLikeRepoId } from './cache';

/** What a model location names in Node: a local folder, or a Hugging Face Hub repository. */
export type ModelLocation = { kind: 'folder'; dir: string } | { kind: 'hub'; repoId: string };

/**
 * Whether a string that names no existing file is meant as a path: it starts with `./`, `../`, `/` or `~`, has a
 * backslash or a drive letter, ends with a slash, or has more than one `/` (a Hub id has exactly one: `org/name`).
 */
export function looksLikePath(location: string): boolean {
  if (/^https?:\/\//i.test(location)) return false; // a URL (`http:` is not a drive letter)
  return (
    /^(\.{1,2}|~)([/\\]|$)/.test(location) ||
    path.isAbsolute(location) ||
    location.includes('\\') ||
    /^[A-Za-z]:([/\\]|$)/.test(location) ||
    location.endsWith('/') ||
    (location.match(/\//g) ?? []).length > 1
  );
}

/**
 * The one rule for "folder or Hub id", as diffusers has it: an existing path is a folder (a relative one against the
 * working directory), a `file:` URL is a folder, and only a string that does not exist, does not look like a path
 * ({@link looksLikePath}) and is a valid `org/name` repository id is a Hub id.
 *
 * ```ts
 * classifyModelLocation('models/tiny-random');     // { kind: 'folder', dir: 'models/tiny-random' } where it exists
 * classifyModelLocation('google/ddpm-cifar10-32'); // { kind: 'hub', repoId: 'google/ddpm-cifar10-32' }
 * classifyModelLocation('./missing');              // throws ModelFileNotFoundError: no such folder
 * ```
 * @throws {ModelFileNotFoundError} for a path that does not exist; {@link ModelSourceError} for a file that is not a
 *   folder, or a string that is neither.
 */
export function classifyModelLocation(location: string): ModelLocation {
  const isFileUrl = /^file:/i.test(location);
  let dir: string;
  try {
    dir = isFileUrl ? fileURLToPath(location) : location;
  } catch (err) {
    throw new ModelSourceError(location, `not a valid file: URL (${(err as Error).message})`);
  }
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(dir);
  } catch {
    stat = undefined;
  }
  if (stat !== undefined) {
    if (!stat.isDirectory()) throw new ModelSourceError(dir, 'is a file, not a model folder (pass the folder that holds it)');
    return { kind: 'folder', dir };
  }
  if (isFileUrl || looksLikePath(location)) throw new ModelFileNotFoundError(path.resolve(dir), 'no such folder');
  if (location.split('/').length === 2 && looksLikeRepoId(location)) return { kind: 'hub', repoId: location };
  throw new ModelSourceError(
    location,
    `is neither an existing folder (from ${process.cwd()}) nor a Hub id like google/ddpm-cifar10-32`,
  );
}

import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { assertReplaceableOutput, OUTPUT_MARKER, outputMarkerText } from './output-folder';
import { removeOnSignal } from './signal-cleanup';

/** Eight hex digits of this host's name: a temporary name says which machine's process made it. */
function hostTag(): string {
  return createHash('sha256').update(os.hostname()).digest('hex').slice(0, 8);
}

/**
 * A hidden temporary name beside `target` (same folder, so a rename onto `target` is atomic):
 * `.<target>.tmp-<pid>-<host tag>-<time>-<random>`. Random bytes keep it unique across machines sharing a folder,
 * where two containers can have the same pid at the same millisecond; the host tag lets a later run tell its own
 * host's leftovers by name alone (see {@link cleanUpAfterKilledWriters}).
 */
export function temporarySibling(target: string): string {
  const unique = `${process.pid}-${hostTag()}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  return path.join(path.dirname(target), `.${path.basename(target)}.tmp-${unique}`);
}

/** The pid in a name {@link temporarySibling} made on this host for `target`, or undefined for any other name. */
function ownTemporaryPid(target: string, name: string): number | undefined {
  const prefix = `.${path.basename(target)}.tmp-`;
  if (!name.startsWith(prefix)) return undefined;
  const match = /^([0-9]{1,10})-([0-9a-f]{8})-[0-9a-z]{1,12}-[0-9a-f]{8}$/.exec(name.slice(prefix.length));
  return match && match[2] === hostTag() ? Number(match[1]) : undefined;
}

/**
 * Writes a file atomically: a temporary file beside the target, then a rename. A reader never sees a
 * half-written file and an existing file survives a crash. Refuses to replace an existing file unless `force`.
 */
export function writeFileAtomic(target: string, data: string | Uint8Array, options: { force?: boolean } = {}): void {
  if (!options.force && fs.existsSync(target)) {
    throw new Error(`${target} already exists; pass --force (force: true) to overwrite it`);
  }
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const tmp = temporarySibling(target);
  const unregister = removeOnSignal(tmp);
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, target);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw withFileName(err, target);
  } finally {
    unregister();
  }
}

/** The file a temporary folder of {@link writeDirAtomic} carries while it is filled: who is filling it. */
const TEMPORARY_MARKER = '.tfjs-diffusers-temporary';

/** {@link TEMPORARY_MARKER}'s text for process `pid` on this host. */
function temporaryMarkerText(pid: number): string {
  return `${JSON.stringify({ host: os.hostname(), pid })}\n`;
}

/** Suffix of the name `target` is moved aside to while `--force` replaces it. */
const ASIDE_SUFFIX = '.old';

/**
 * Cleans up what a killed {@link writeDirAtomic} for `target` left beside it (SIGKILL, the OOM killer, a power cut; a
 * SIGTERM is handled at once by signal-cleanup.ts when the run yields). It looks only at names exactly as
 * {@link temporarySibling} makes them on this host, of a process that is no longer running. Every instant at which a
 * kill can land leaves one of these, and each is handled:
 * - the temporary folder, empty (killed after the mkdir), or holding {@link TEMPORARY_MARKER} naming that process,
 *   whole or cut short (killed inside the marker's write, or while filling), or holding {@link OUTPUT_MARKER}
 *   (killed after the fill, before the rename): removed;
 * - the old `target`, moved aside to `<temporary>.old` while `--force` replaced it: put back if `target` is missing
 *   (killed between the two renames: the user keeps what they had), removed otherwise.
 *
 * Anything else (a foreign name, another host's, a live process's, a folder of files with no marker) is kept.
 */
function cleanUpAfterKilledWriters(target: string): void {
  const folder = path.dirname(target);
  let names: string[];
  try {
    names = fs.readdirSync(folder);
  } catch {
    return;
  }
  for (const name of names) {
    const aside = name.endsWith(ASIDE_SUFFIX);
    const pid = ownTemporaryPid(target, aside ? name.slice(0, -ASIDE_SUFFIX.length) : name);
    if (pid === undefined || pid === process.pid || isRunning(pid)) continue;
    const dir = path.join(folder, name);
    if (aside) putBackOrRemove(dir, target);
    else if (isOwnTemporary(dir, pid)) removeOwnFolder(dir);
  }
}

/** `target` moved aside to `aside`: renamed back if `target` is missing, removed if `target` is there again. */
function putBackOrRemove(aside: string, target: string): void {
  if (!fs.existsSync(target)) {
    try {
      fs.renameSync(aside, target);
      return;
    } catch {
      if (!fs.existsSync(target)) return; // could not put it back: keep it, never delete the only copy
    }
  }
  removeOwnFolder(aside);
}

/** Whether `dir` is a temporary folder process `pid` made: empty, or holding one of the two markers (see above). */
function isOwnTemporary(dir: string, pid: number): boolean {
  let entries: string[];
  try {
    if (!fs.lstatSync(dir).isDirectory()) return false;
    entries = fs.readdirSync(dir);
    if (entries.length === 0 || entries.includes(OUTPUT_MARKER)) return true;
    if (!entries.includes(TEMPORARY_MARKER)) return false;
    // A prefix, not equality: writeFileSync creates the file before it writes, and a kill can fall in between.
    return temporaryMarkerText(pid).startsWith(fs.readFileSync(path.join(dir, TEMPORARY_MARKER), 'utf8'));
  } catch {
    return false; // gone meanwhile, or unreadable: leave it
  }
}

/**
 * Removes a folder this library wrote, its markers last: a kill during the removal leaves a folder that
 * {@link cleanUpAfterKilledWriters} still recognises, never an unmarked remnant.
 */
function removeOwnFolder(dir: string): void {
  const markers = [TEMPORARY_MARKER, OUTPUT_MARKER];
  let entries: string[] = [];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    // not a folder, or gone: the final rmSync handles both
  }
  for (const entry of entries) if (!markers.includes(entry)) fs.rmSync(path.join(dir, entry), { recursive: true, force: true });
  fs.rmSync(dir, { recursive: true, force: true });
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Fills a folder atomically: `fill` writes into a temporary sibling folder, which then replaces `target`.
 * Refuses to replace an existing `target` unless `force`, and even with `force` replaces only an empty folder or one
 * this library wrote (it carries `OUTPUT_MARKER`, which every folder written here gets); on any error the temporary
 * folder is removed and `target` is left as it was. A run killed at any instant leaves nothing that the next write
 * to the same `target` does not clean up or put back (see {@link cleanUpAfterKilledWriters}).
 */
export async function writeDirAtomic(
  target: string,
  fill: (tmpDir: string) => Promise<void> | void,
  options: { force?: boolean; writer?: string } = {},
): Promise<void> {
  fs.mkdirSync(path.dirname(path.resolve(target)), { recursive: true });
  // First: a target that a killed run had moved aside is back before the checks below look at it.
  cleanUpAfterKilledWriters(path.resolve(target));
  if (!options.force && fs.existsSync(target)) {
    throw new Error(`${target} already exists; pass --force (force: true) to overwrite it`);
  }
  assertReplaceableOutput(target);
  const tmp = temporarySibling(path.resolve(target));
  const aside = `${tmp}${ASIDE_SUFFIX}`;
  // Registered before the folder exists: a signal that arrives between the mkdir and the registration would otherwise
  // end the process by its default action and leave the folder (seen under load in CI).
  const unregister = removeOnSignal(tmp);
  try {
    fs.mkdirSync(tmp);
    fs.writeFileSync(path.join(tmp, TEMPORARY_MARKER), temporaryMarkerText(process.pid));
    await fill(tmp);
    // The output marker before the temporary one goes: at every instant the folder holds one of them.
    fs.writeFileSync(path.join(tmp, OUTPUT_MARKER), outputMarkerText(options.writer ?? 'writeDirAtomic'));
    fs.rmSync(path.join(tmp, TEMPORARY_MARKER));
    if (fs.existsSync(target)) fs.renameSync(target, aside);
    fs.renameSync(tmp, target);
  } catch (err) {
    removeOwnFolder(tmp);
    putBackOrRemove(aside, target);
    throw withFileName(err, target);
  } finally {
    unregister();
  }
  if (fs.existsSync(aside)) removeOwnFolder(aside);
}

/**
 * A full disk or quota names the file being written (a bare `ENOSPC: no space left on device, write` does not say
 * which of a run's outputs failed); other errors pass as they are.
 */
export function withFileName(err: unknown, target: string): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code !== 'ENOSPC' && code !== 'EDQUOT') return err;
  return Object.assign(new Error(`${target}: ${code === 'ENOSPC' ? 'no space left on the device' : 'disk quota exceeded'} (${code}) while writing it; nothing was replaced`, { cause: err }), { code });
}

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
 * host's leftovers by name alone (see {@link removeStaleTemporaries}).
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

/**
 * Removes the temporary siblings of `target` that a killed {@link writeDirAtomic} left (SIGKILL, a power cut; a
 * SIGTERM is handled at once by signal-cleanup.ts when the run yields): only folders named exactly as
 * {@link temporarySibling} names them on this host, whose process is no longer running, and that either carry
 * {@link TEMPORARY_MARKER} naming this host and that process, or are empty (a kill between the folder's creation and
 * its marker's write). Nothing it did not write, and nothing another live process is filling, is touched.
 */
function removeStaleTemporaries(target: string): void {
  const folder = path.dirname(target);
  let names: string[];
  try {
    names = fs.readdirSync(folder);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = ownTemporaryPid(target, name);
    if (pid === undefined || pid === process.pid || isRunning(pid)) continue;
    const dir = path.join(folder, name);
    if (isEmptyFolder(dir) || markerNames(dir, pid)) fs.rmSync(dir, { recursive: true, force: true });
  }
}

function isEmptyFolder(dir: string): boolean {
  try {
    return fs.lstatSync(dir).isDirectory() && fs.readdirSync(dir).length === 0;
  } catch {
    return false;
  }
}

function markerNames(dir: string, pid: number): boolean {
  try {
    const owner = JSON.parse(fs.readFileSync(path.join(dir, TEMPORARY_MARKER), 'utf8')) as { host?: unknown; pid?: unknown };
    return owner.host === os.hostname() && owner.pid === pid;
  } catch {
    return false; // not a folder of ours, or one being renamed into place
  }
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
 * folder is removed and `target` is left as it was.
 */
export async function writeDirAtomic(
  target: string,
  fill: (tmpDir: string) => Promise<void> | void,
  options: { force?: boolean; writer?: string } = {},
): Promise<void> {
  if (!options.force && fs.existsSync(target)) {
    throw new Error(`${target} already exists; pass --force (force: true) to overwrite it`);
  }
  assertReplaceableOutput(target);
  fs.mkdirSync(path.dirname(path.resolve(target)), { recursive: true });
  removeStaleTemporaries(path.resolve(target));
  const tmp = temporarySibling(path.resolve(target));
  // Registered before the folder exists: a signal between the two would otherwise kill the process by its default
  // action with the folder made.
  const unregister = removeOnSignal(tmp);
  try {
    fs.mkdirSync(tmp);
    fs.writeFileSync(path.join(tmp, TEMPORARY_MARKER), `${JSON.stringify({ host: os.hostname(), pid: process.pid })}\n`);
    await fill(tmp);
    fs.rmSync(path.join(tmp, TEMPORARY_MARKER));
    fs.writeFileSync(path.join(tmp, OUTPUT_MARKER), outputMarkerText(options.writer ?? 'writeDirAtomic'));
    if (fs.existsSync(target)) {
      const old = `${tmp}.old`;
      fs.renameSync(target, old);
      fs.renameSync(tmp, target);
      fs.rmSync(old, { recursive: true, force: true });
    } else {
      fs.renameSync(tmp, target);
    }
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw withFileName(err, target);
  } finally {
    unregister();
  }
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

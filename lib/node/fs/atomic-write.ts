import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { assertReplaceableOutput, OUTPUT_MARKER, outputMarkerText } from './output-folder';
import { removeOnSignal } from './signal-cleanup';

/**
 * A hidden temporary name beside `target` (same folder, so a rename onto `target` is atomic). Random bytes keep it
 * unique across machines sharing a folder, where two containers can have the same pid at the same millisecond.
 */
export function temporarySibling(target: string): string {
  const unique = `${process.pid}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  return path.join(path.dirname(target), `.${path.basename(target)}.tmp-${unique}`);
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
 * SIGTERM is handled at once by signal-cleanup.ts when the run yields): only folders named as this library names them
 * (`.<target>.tmp-<pid>-…`) that carry {@link TEMPORARY_MARKER} naming this host and a process that is no longer
 * running. Nothing it did not write, and nothing another live process is filling, is touched.
 */
function removeStaleTemporaries(target: string): void {
  const folder = path.dirname(target);
  const prefix = `.${path.basename(target)}.tmp-`;
  let names: string[];
  try {
    names = fs.readdirSync(folder);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const dir = path.join(folder, name);
    let owner: { host?: unknown; pid?: unknown };
    try {
      owner = JSON.parse(fs.readFileSync(path.join(dir, TEMPORARY_MARKER), 'utf8'));
    } catch {
      continue; // not a folder of ours (or one being renamed into place)
    }
    if (owner.host !== os.hostname() || typeof owner.pid !== 'number' || owner.pid === process.pid || isRunning(owner.pid)) continue;
    fs.rmSync(dir, { recursive: true, force: true });
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
  fs.mkdirSync(tmp);
  fs.writeFileSync(path.join(tmp, TEMPORARY_MARKER), `${JSON.stringify({ host: os.hostname(), pid: process.pid })}\n`);
  const unregister = removeOnSignal(tmp);
  try {
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

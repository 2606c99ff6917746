import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/**
 * A lock file that works across processes and across machines sharing a volume (NFS, a Kubernetes
 * ReadWriteMany volume), where `flock` is unreliable and a pid means nothing on another host:
 *
 * - **Take**: `open(lock, 'wx')` (O_CREAT|O_EXCL, atomic on local file systems and on NFSv3+), then write
 *   `{ pid, hostname, token }` into it.
 * - **Heartbeat**: the holder touches the file's mtime every `heartbeatMs` and checks the token is still its own.
 * - **Stale**: a waiter watches the lock's (inode, mtime). If they do not change for `staleMs` *as measured on the
 *   waiter's own clock*, the holder is gone (killed, its machine lost) and the lock is broken. Comparing
 *   observations instead of the mtime with the waiter's clock makes this immune to clock skew between machines.
 *   A holder on the same host whose pid no longer exists is broken sooner, after `2 × heartbeatMs` without a
 *   heartbeat (the pid alone is not trusted: containers sharing a hostname have separate pid namespaces, so a
 *   missing pid may be alive elsewhere, which the heartbeat then shows).
 * - **Break**: the stale file is renamed to a unique name (only one waiter's rename succeeds); a waiter that finds
 *   it moved a *fresh* lock instead (inode or mtime differ from what it judged stale) links it back.
 * - **Lost**: a holder frozen for longer than `staleMs` (SIGSTOP, a suspended VM) may find its lock broken; it sees
 *   that in {@link FileLock.assertHeld} (called before each write of the protected work) and stops.
 *
 * ```ts
 * const lock = await FileLock.acquire('/cache/.locks/x.lock');
 * try { ... lock.assertHeld(); ... } finally { lock.release(); }
 * ```
 */

export interface FileLockOptions {
  /** How often the holder touches the lock. Default 2000 ms. */
  heartbeatMs?: number;
  /** A lock not touched for this long (waiter's clock) is stale. Default 30000 ms (15 heartbeats). */
  staleMs?: number;
  /** How often a waiter looks again (± 50 % jitter). Default 100 ms. */
  pollMs?: number;
  /** Called once when the lock is busy and the caller starts waiting. */
  onWait?: (holder: LockHolder | undefined) => void;
}

/** What a lock file holds. */
export interface LockHolder {
  pid: number;
  hostname: string;
  token: string;
}

/** The lock was broken by another process while this one held it (it was frozen for longer than `staleMs`). */
export class FileLockLostError extends Error {
  constructor(readonly lockFile: string) {
    super(`lost the lock ${lockFile}: another process judged it stale (this process stopped touching it) and took it over`);
    this.name = 'FileLockLostError';
  }
}

const DEFAULTS = { heartbeatMs: 2000, staleMs: 30000, pollMs: 100 };
/** The holders of this process, released on exit so a normal exit never leaves a lock behind. */
const heldLocks = new Set<FileLock>();
let exitHookInstalled = false;

function readHolder(file: string): LockHolder | undefined {
  try {
    const value = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (typeof value?.pid === 'number' && typeof value?.hostname === 'string' && typeof value?.token === 'string') return value;
  } catch {
    // missing, half-written or foreign: no holder known
  }
  return undefined;
}

/** Whether a process with this pid exists on this host (EPERM: it exists, owned by someone else). */
function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface Observation {
  ino: number;
  mtimeMs: number;
  /** When this (ino, mtime) was first seen, on this process's monotonic clock. */
  since: number;
}

export class FileLock {
  private lost = false;
  private released = false;
  private lastCheck = performance.now();
  private readonly heartbeat: NodeJS.Timeout;

  private constructor(readonly file: string, private readonly token: string, heartbeatMs: number) {
    this.heartbeat = setInterval(() => this.touch(), heartbeatMs);
    this.heartbeat.unref();
    heldLocks.add(this);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on('exit', () => {
        for (const lock of heldLocks) lock.release();
      });
    }
  }

  /** Waits until the lock is free (or stale) and takes it. */
  static async acquire(file: string, options: FileLockOptions = {}): Promise<FileLock> {
    const { heartbeatMs, staleMs, pollMs } = { ...DEFAULTS, ...options };
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const token = randomBytes(12).toString('hex');
    const me: LockHolder = { pid: process.pid, hostname: os.hostname(), token };
    let seen: Observation | undefined;
    let waited = false;
    for (;;) {
      try {
        const fd = fs.openSync(file, 'wx');
        try {
          fs.writeSync(fd, JSON.stringify(me));
        } finally {
          fs.closeSync(fd);
        }
        return new FileLock(file, token, heartbeatMs);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      let stat: fs.Stats;
      try {
        stat = fs.statSync(file);
      } catch {
        continue; // released between our open and stat: try again at once
      }
      const now = performance.now();
      if (seen === undefined || seen.ino !== stat.ino || seen.mtimeMs !== stat.mtimeMs) seen = { ino: stat.ino, mtimeMs: stat.mtimeMs, since: now };
      const unchangedFor = now - seen.since;
      const holder = readHolder(file);
      const deadHere = holder !== undefined && holder.hostname === os.hostname() && !pidExists(holder.pid);
      if (unchangedFor >= staleMs || (deadHere && unchangedFor >= 2 * heartbeatMs)) {
        FileLock.breakStale(file, seen);
        seen = undefined;
        continue;
      }
      if (!waited) {
        waited = true;
        options.onWait?.(holder);
      }
      await sleep(pollMs * (0.5 + Math.random()));
    }
  }

  /** Moves a stale lock out of the way; puts back a fresh one moved by mistake (a race with another waiter). */
  private static breakStale(file: string, stale: Observation): void {
    const grave = `${file}.stale-${randomBytes(6).toString('hex')}`;
    try {
      fs.renameSync(file, grave);
    } catch {
      return; // someone else broke or released it
    }
    try {
      const moved = fs.statSync(grave);
      if (moved.ino !== stale.ino || moved.mtimeMs !== stale.mtimeMs) {
        try {
          fs.linkSync(grave, file);
        } catch {
          // a newer lock exists: the holder of the one we moved finds out in assertHeld()
        }
      }
    } finally {
      fs.rmSync(grave, { force: true });
    }
  }

  private owned(): boolean {
    return readHolder(this.file)?.token === this.token;
  }

  private touch(): void {
    if (this.lost || this.released) return;
    if (!this.owned()) {
      this.lost = true;
      clearInterval(this.heartbeat);
      return;
    }
    const now = new Date();
    try {
      fs.utimesSync(this.file, now, now);
    } catch {
      this.lost = true;
    }
  }

  /**
   * Throws {@link FileLockLostError} if the lock is no longer this process's. Cheap: reads the lock file at most
   * every 500 ms (or at once after a pause, which is when a lock can be lost).
   */
  assertHeld(): void {
    const now = performance.now();
    if (!this.lost && now - this.lastCheck >= 500) {
      this.lastCheck = now;
      if (!this.owned()) this.lost = true;
    }
    if (this.lost || this.released) throw new FileLockLostError(this.file);
  }

  /** Releases the lock (only if it is still this process's). Safe to call twice. */
  release(): void {
    if (this.released) return;
    this.released = true;
    clearInterval(this.heartbeat);
    heldLocks.delete(this);
    if (!this.lost && this.owned()) fs.rmSync(this.file, { force: true });
  }
}

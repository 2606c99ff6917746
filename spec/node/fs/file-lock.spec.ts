// The cross-process lock the Hub cache uses (lib/node/fs/file-lock.ts), with small timings so stale detection takes
// milliseconds. The many-processes case is spec/node/hub/concurrent-generate.spec.ts (real processes, one killed).
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FileLock, FileLockLostError, LockHolder } from '../../../lib/node/fs/file-lock';

const FAST = { heartbeatMs: 40, staleMs: 400, pollMs: 10 };
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('FileLock', () => {
  let tmp: string;
  let lockFile: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'file-lock-'));
    lockFile = path.join(tmp, 'locks', 'blob.lock');
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('one holder at a time: 8 contenders each get it once, never two at once; the file is gone after', async () => {
    let holding = 0;
    let most = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const lock = await FileLock.acquire(lockFile, FAST);
        holding++;
        most = Math.max(most, holding);
        order.push(i);
        await sleep(15);
        lock.assertHeld();
        holding--;
        lock.release();
      }),
    );
    expect(most).toBe(1);
    expect(order.sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(fs.readdirSync(path.dirname(lockFile))).toEqual([]);
  });

  test('a live holder is never taken over, however long it holds (its heartbeat moves the mtime)', async () => {
    const holder = await FileLock.acquire(lockFile, FAST);
    let waited = false;
    const contender = FileLock.acquire(lockFile, { ...FAST, onWait: () => (waited = true) });
    await sleep(5 * FAST.staleMs);
    expect(waited).toBe(true);
    expect(() => holder.assertHeld()).not.toThrow();
    holder.release();
    (await contender).release();
  });

  test('a lock left by a dead process on this host is taken after 2 heartbeats without one, not after staleMs', async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const holder: LockHolder = { pid: Number(dead.stdout), hostname: os.hostname(), token: 'dead' };
    fs.mkdirSync(path.dirname(lockFile), { recursive: true });
    fs.writeFileSync(lockFile, JSON.stringify(holder));
    const started = performance.now();
    const lock = await FileLock.acquire(lockFile, { ...FAST, staleMs: 60_000 });
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThanOrEqual(2 * FAST.heartbeatMs);
    expect(waited).toBeLessThan(10_000);
    expect(JSON.parse(fs.readFileSync(lockFile, 'utf8')).pid).toBe(process.pid);
    lock.release();
  });

  test('a lock from another host (or unreadable) is taken once its mtime has not moved for staleMs', async () => {
    for (const content of [JSON.stringify({ pid: 1, hostname: 'another-pod', token: 'x' }), '']) {
      fs.mkdirSync(path.dirname(lockFile), { recursive: true });
      fs.writeFileSync(lockFile, content);
      // An old mtime alone does not count: staleness is measured on the waiter's clock (no clock-skew trouble).
      fs.utimesSync(lockFile, new Date(0), new Date(0));
      const started = performance.now();
      const lock = await FileLock.acquire(lockFile, FAST);
      expect(performance.now() - started).toBeGreaterThanOrEqual(FAST.staleMs);
      lock.release();
    }
    // Nothing but the lock folder is left (the broken lock's temporary name is removed).
    expect(fs.readdirSync(path.dirname(lockFile))).toEqual([]);
  });

  test('a holder whose lock was taken over finds out before its next write, and does not delete the new lock', async () => {
    const lock = await FileLock.acquire(lockFile, FAST);
    // As if this process had been frozen past staleMs and another had broken the lock and taken it.
    fs.writeFileSync(lockFile, JSON.stringify({ pid: 1, hostname: 'another-pod', token: 'theirs' }));
    await sleep(600);
    expect(() => lock.assertHeld()).toThrow(FileLockLostError);
    lock.release();
    expect(JSON.parse(fs.readFileSync(lockFile, 'utf8')).token).toBe('theirs');
  });
});

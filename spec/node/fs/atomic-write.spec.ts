import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { temporarySibling, writeDirAtomic } from '../../../lib/node/fs/atomic-write';

// The leftovers a SIGKILL can leave at any instant of writeDirAtomic, made here without a race: an empty folder (killed
// between mkdir and the marker's write), a folder with its marker (killed while filling), and what is not ours.
describe('writeDirAtomic: leftovers of killed runs', () => {
  let work: string;
  let deadPid: number;
  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'atomic-write-'));
    deadPid = spawnSync(process.execPath, ['-e', '']).pid!; // a process that has ended
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  /** The temporary name a process `pid` on this host would have chosen for `target`. */
  const nameOf = (target: string, pid: number) => path.basename(temporarySibling(target)).replace(`.tmp-${process.pid}-`, `.tmp-${pid}-`);
  const marker = (pid: number, host = os.hostname()) => `${JSON.stringify({ host, pid })}\n`;

  test('temporary names carry the pid and a tag of the host', () => {
    const name = path.basename(temporarySibling(path.join(work, 'out')));
    expect(name).toMatch(new RegExp(`^\\.out\\.tmp-${process.pid}-[0-9a-f]{8}-[0-9a-z]+-[0-9a-f]{8}$`));
  });

  test('removes an empty or marked folder of a dead process on this host; keeps every other one', async () => {
    const target = path.join(work, 'out');
    const emptyDead = path.join(work, nameOf(target, deadPid));
    const markedDead = path.join(work, nameOf(target, deadPid));
    const unmarkedWithFiles = path.join(work, nameOf(target, deadPid)); // our name, but holds files we cannot vouch for
    const otherHost = path.join(work, nameOf(target, deadPid));
    const live = path.join(work, nameOf(target, process.ppid)); // a running process: it may still be filling it
    const foreign = path.join(work, '.out.tmp-1-x-y'); // a name we never make
    const otherTarget = path.join(work, nameOf(path.join(work, 'other'), deadPid));
    for (const dir of [emptyDead, markedDead, unmarkedWithFiles, otherHost, live, foreign, otherTarget]) fs.mkdirSync(dir);
    fs.writeFileSync(path.join(markedDead, '.tfjs-diffusers-temporary'), marker(deadPid));
    fs.writeFileSync(path.join(markedDead, 'half.bin'), 'x');
    fs.writeFileSync(path.join(unmarkedWithFiles, 'notes.txt'), 'mine');
    fs.writeFileSync(path.join(otherHost, '.tfjs-diffusers-temporary'), marker(deadPid, `not-${os.hostname()}`));
    await writeDirAtomic(target, (dir) => fs.writeFileSync(path.join(dir, 'a.txt'), 'a'));
    expect(fs.readFileSync(path.join(target, 'a.txt'), 'utf8')).toBe('a');
    expect(fs.existsSync(emptyDead)).toBe(false);
    expect(fs.existsSync(markedDead)).toBe(false);
    for (const kept of [unmarkedWithFiles, otherHost, live, foreign, otherTarget]) expect([kept, fs.existsSync(kept)]).toEqual([kept, true]);
  });
});

import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { temporarySibling, writeDirAtomic } from '../../../lib/node/fs/atomic-write';

// The leftovers a SIGKILL can leave at any instant of writeDirAtomic, made here without a race: an empty folder (killed
// between mkdir and the marker's write), a marker created but not yet written (CI hit this one: writeFileSync opens,
// then writes), a marker cut short, a folder with its marker (killed while filling), one holding the output marker
// (killed after the fill, before the rename), the old target moved aside (killed between the two renames of --force),
// and what is not ours.
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
    const emptyMarker = path.join(work, nameOf(target, deadPid));
    const cutMarker = path.join(work, nameOf(target, deadPid));
    const outputMarked = path.join(work, nameOf(target, deadPid));
    const markedDead = path.join(work, nameOf(target, deadPid));
    const unmarkedWithFiles = path.join(work, nameOf(target, deadPid)); // our name, but holds files we cannot vouch for
    const otherHost = path.join(work, nameOf(target, deadPid));
    const otherPidMarker = path.join(work, nameOf(target, deadPid)); // a marker naming another process
    const live = path.join(work, nameOf(target, process.ppid)); // a running process: it may still be filling it
    const foreign = path.join(work, '.out.tmp-1-x-y'); // a name we never make
    const otherTarget = path.join(work, nameOf(path.join(work, 'other'), deadPid));
    const removed = [emptyDead, emptyMarker, cutMarker, outputMarked, markedDead];
    const kept = [unmarkedWithFiles, otherHost, otherPidMarker, live, foreign, otherTarget];
    for (const dir of [...removed, ...kept]) fs.mkdirSync(dir);
    fs.writeFileSync(path.join(emptyMarker, '.tfjs-diffusers-temporary'), '');
    fs.writeFileSync(path.join(cutMarker, '.tfjs-diffusers-temporary'), marker(deadPid).slice(0, 9));
    fs.writeFileSync(path.join(outputMarked, '.tfjs-diffusers-output'), '{"written_by":"tfjs-diffusers"}\n');
    fs.writeFileSync(path.join(outputMarked, 'model.json'), '{}');
    fs.writeFileSync(path.join(markedDead, '.tfjs-diffusers-temporary'), marker(deadPid));
    fs.writeFileSync(path.join(markedDead, 'half.bin'), 'x');
    fs.writeFileSync(path.join(unmarkedWithFiles, 'notes.txt'), 'mine');
    fs.writeFileSync(path.join(otherHost, '.tfjs-diffusers-temporary'), marker(deadPid, `not-${os.hostname()}`));
    fs.writeFileSync(path.join(otherPidMarker, '.tfjs-diffusers-temporary'), marker(process.ppid));
    fs.writeFileSync(path.join(otherPidMarker, 'half.bin'), 'x');
    await writeDirAtomic(target, (dir) => fs.writeFileSync(path.join(dir, 'a.txt'), 'a'));
    expect(fs.readFileSync(path.join(target, 'a.txt'), 'utf8')).toBe('a');
    for (const dir of removed) expect([dir, fs.existsSync(dir)]).toEqual([dir, false]);
    for (const dir of kept) expect([dir, fs.existsSync(dir)]).toEqual([dir, true]);
  });

  test('an old target a killed --force run had moved aside is put back when the target is missing', async () => {
    const target = path.join(work, 'replaced');
    const aside = path.join(work, `${nameOf(target, deadPid)}.old`);
    fs.mkdirSync(aside);
    fs.writeFileSync(path.join(aside, '.tfjs-diffusers-output'), '{}\n');
    fs.writeFileSync(path.join(aside, 'a.txt'), 'what the user had');
    // Without --force the next run puts it back, then refuses to replace it: the user keeps what they had.
    await expect(writeDirAtomic(target, (dir) => fs.writeFileSync(path.join(dir, 'a.txt'), 'new'))).rejects.toThrow('already exists');
    expect(fs.readFileSync(path.join(target, 'a.txt'), 'utf8')).toBe('what the user had');
    expect(fs.existsSync(aside)).toBe(false);
  });

  test('an old target moved aside is removed when the target was already replaced', async () => {
    const target = path.join(work, 'replaced-done');
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, '.tfjs-diffusers-output'), '{}\n');
    fs.writeFileSync(path.join(target, 'a.txt'), 'new');
    const aside = path.join(work, `${nameOf(target, deadPid)}.old`);
    fs.mkdirSync(aside);
    fs.writeFileSync(path.join(aside, 'a.txt'), 'old');
    await writeDirAtomic(target, (dir) => fs.writeFileSync(path.join(dir, 'a.txt'), 'newer'), { force: true });
    expect(fs.readFileSync(path.join(target, 'a.txt'), 'utf8')).toBe('newer');
    expect(fs.existsSync(aside)).toBe(false);
    expect(fs.readdirSync(work).filter((f) => f.startsWith('.replaced-done.'))).toEqual([]);
  });
});

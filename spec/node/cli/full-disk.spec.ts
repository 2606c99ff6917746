// A genuinely full disk under the built CLI: a small tmpfs mounted in a private mount namespace (`unshare -rm`: an
// unprivileged user namespace, so no root is needed; plain `unshare -m` where the tests run as root and user
// namespaces are off), with a previous run's outputs copied in. `convert --force` over an existing converted folder
// runs out of room in the middle of a weight shard; `generate --resume` and `merge --npz --force` find the disk
// already full. Each must fail with the runtime exit code and an error naming the file it could not write
// (atomic-write.ts `withFileName`), leave no temporary file, and leave what was there byte for byte. The tmpfs lives
// only as long as the namespace, so the script copies its contents out after the run. Where no mount namespace can be
// opened, the tests are recorded as not run (spec/helpers/not-run.ts), never skipped silently.
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CLI_BIN, EXIT, REPO_ROOT, runCli } from '../../helpers/cli';
import { testNotRun } from '../../helpers/not-run';

/** Runs inside the namespace: mount, copy the staged outputs in, optionally fill the rest, run, copy everything out. */
const IN_NAMESPACE = `set -e
disk=$1; stage=$2; size=$3; fill=$4; report=$5; shift 5
mount -t tmpfs -o size="$size" tmpfs "$disk"
cp -a "$stage/." "$disk/"
if [ "$fill" = fill ]; then cat /dev/zero > "$disk/.filler" 2>/dev/null || true; fi
cd "$disk"
set +e
"$@" > "$report/stdout" 2> "$report/stderr"
echo $? > "$report/code"
rm -f "$disk/.filler"
mkdir "$report/after"
cp -a "$disk/." "$report/after/"
`;

/** The `unshare` options that open a mount namespace here, or why none does. */
function mountNamespace(): { options: string[] } | { reason: string } {
  const probe = fs.mkdtempSync(path.join(os.tmpdir(), 'full-disk-probe-'));
  const failures: string[] = [];
  try {
    const forms = process.getuid?.() === 0 ? [['-rm'], ['-m']] : [['-rm']];
    for (const options of forms) {
      const run = spawnSync('unshare', [...options, 'sh', '-c', 'mount -t tmpfs -o size=64k tmpfs "$1"', 'sh', probe], { encoding: 'utf8' });
      if (run.status === 0) return { options };
      failures.push(`unshare ${options.join(' ')}: ${(run.error?.message ?? run.stderr).trim() || `exit ${run.status}`}`);
    }
  } finally {
    fs.rmSync(probe, { recursive: true, force: true });
  }
  return { reason: `cannot mount a tmpfs in a private mount namespace (${failures.join('; ')})` };
}

let tmp: string;
/** Where the tmpfs is mounted (inside the namespace only). */
let disk: string;

/** Every file under `dir` (relative path → sha256), folders as 'dir'. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const name = path.posix.join(rel, e.name);
      if (e.isDirectory()) {
        out[name] = 'dir';
        walk(name);
      } else {
        out[name] = createHash('sha256').update(fs.readFileSync(path.join(dir, name))).digest('hex');
      }
    }
  };
  walk('');
  return out;
}

/** Runs the built CLI in `disk` on a tmpfs of `size` holding a copy of `stage`; returns its result and what was left. */
function runOnFullDisk(options: string[], stage: string, size: string, fill: boolean, args: string[]) {
  const report = fs.mkdtempSync(path.join(tmp, 'report-'));
  const run = spawnSync('unshare', [...options, 'sh', '-c', IN_NAMESPACE, 'sh', disk, stage, size, fill ? 'fill' : 'no', report, process.execPath, CLI_BIN, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, DEBUG: '' },
  });
  expect(run.stderr).toBe(''); // the script's own failures (mount, cp)
  expect(run.status).toBe(0);
  return {
    code: Number(fs.readFileSync(path.join(report, 'code'), 'utf8')),
    stderr: fs.readFileSync(path.join(report, 'stderr'), 'utf8'),
    after: snapshot(path.join(report, 'after')),
  };
}

const namespace = mountNamespace();

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'full-disk-'));
  disk = path.join(tmp, 'disk');
  fs.mkdirSync(disk);
  if (!('options' in namespace)) return;
  // The previous outputs each case finds on the disk: a converted folder, a generate run of seeds 0-1, its npz.
  fs.mkdirSync(path.join(tmp, 'stage-convert'));
  const converted = await runCli(['convert', path.join(REPO_ROOT, 'spec', 'fixtures', 'tiny-unet'), 'tiny-tfjs'], { cwd: path.join(tmp, 'stage-convert') });
  expect(converted.code).toBe(EXIT.ok);
  fs.mkdirSync(path.join(tmp, 'stage-run'));
  const generated = await runCli(['generate', '--seeds', '0-1', '--steps', '2', '--out-dir', 'run'], { cwd: path.join(tmp, 'stage-run') });
  expect(generated.code).toBe(EXIT.ok);
  const merged = await runCli(['merge', 'run', '--seeds', '0-1', '--npz', 'images.npz', '--out', path.join(tmp, 'merged.jsonl')], { cwd: path.join(tmp, 'stage-run') });
  expect(merged.code).toBe(EXIT.ok);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const fullDiskTest = (title: string, fn: (options: string[]) => void) =>
  'options' in namespace ? test(title, () => fn(namespace.options)) : testNotRun('userns', namespace.reason, title, () => {});

fullDiskTest('convert --force runs out of room mid-shard: the folder is named, the old conversion stays intact', (options) => {
  const stage = path.join(tmp, 'stage-convert');
  // 3 MiB: the old folder (2.3 MB) fits, the new weight shard (2.3 MB) does not.
  const run = runOnFullDisk(options, stage, '3m', false, ['convert', path.join(REPO_ROOT, 'spec', 'fixtures', 'tiny-unet'), 'tiny-tfjs', '--force']);
  expect(run.stderr).toContain(`${disk}/tiny-tfjs: no space left on the device (ENOSPC) while writing it; nothing was replaced`);
  expect(run.code).toBe(EXIT.runtime);
  expect(run.after).toEqual(snapshot(stage));
});

fullDiskTest('generate --resume on a full disk: the PNG is named, the earlier PNGs and manifest stay intact', (options) => {
  const stage = path.join(tmp, 'stage-run');
  const run = runOnFullDisk(options, stage, '256k', true, ['generate', '--seeds', '0-3', '--steps', '2', '--out-dir', 'run', '--resume']);
  expect(run.stderr).toContain(`${disk}/run/seed2.png: no space left on the device (ENOSPC) while writing it; nothing was replaced`);
  expect(run.code).toBe(EXIT.runtime);
  expect(run.after).toEqual(snapshot(stage));
});

fullDiskTest('merge --npz --force on a full disk: the npz is named, the old one stays, no merged manifest', (options) => {
  const stage = path.join(tmp, 'stage-run');
  const run = runOnFullDisk(options, stage, '256k', true, ['merge', 'run', '--seeds', '0-1', '--npz', 'images.npz', '--force']);
  expect(run.stderr).toContain(`${disk}/images.npz: no space left on the device (ENOSPC) while writing it; nothing was replaced`);
  expect(run.code).toBe(EXIT.runtime);
  expect(run.after).toEqual(snapshot(stage));
});

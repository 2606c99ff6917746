import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CLI_BIN } from '../../helpers/cli';
import { forEachManifestLine, parseRecord, ManifestRecord } from '../../../lib/node/scale-out/manifest';
import { hasScheduler, schedulerClassNames } from '../../../lib/schedulers/registry';

// Issue 20's CLI acceptance, for every registered scheduler (the registry of lib/schedulers/all-schedulers.ts: after
// the schedulers' merge this covers DPMSolverMultistepScheduler and the other ten): `generate --scheduler X --seeds
// 0-7 --seeds-per-forward 4 --out-dir d` gives the same PNG bytes as each seed run alone, and `verify` passes. The
// embedded tiny model, 3 steps (multistep solvers then use their second-order update; Heun and KDPM2 evaluate 5 times),
// every command a fresh child process of the built binary.
const SCHEDULERS = schedulerClassNames();
const STEPS = '3';
/** PNDM's Runge–Kutta warm-up needs 4 steps at least (diffusers' set_timesteps fails below that too). */
const stepsFor = (name: string): string => (name === 'PNDMScheduler' ? '4' : STEPS);
const CHILD_TIMEOUT_MS = 180_000;
// One oneDNN thread per process (as spec/node/cli/scale-out.spec.ts): the tiny runs are far slower with OpenMP spinning.
const CHILD_ENV = { DEBUG: '', OMP_NUM_THREADS: '1' };

let work: string;
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'schedulers-cli-'));
});
afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[]): Run {
  const run = spawnSync(process.execPath, [CLI_BIN, ...args], {
    cwd: work,
    encoding: 'utf8',
    timeout: CHILD_TIMEOUT_MS,
    env: { ...process.env, ...CHILD_ENV },
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

function records(dir: string): ManifestRecord[] {
  const out: ManifestRecord[] = [];
  for (const name of fs.readdirSync(path.join(work, dir)).filter((f) => f.startsWith('manifest-'))) {
    forEachManifestLine(path.join(work, dir, name), ({ text }) => {
      const record = parseRecord(text);
      if (typeof record === 'string') throw new Error(`${dir}/${name}: ${record}`);
      out.push(record);
    });
  }
  return out;
}

function png(dir: string, seed: number): Buffer {
  return fs.readFileSync(path.join(work, dir, `seed${seed}.png`));
}

describe.each(SCHEDULERS)('generate --scheduler %s', (name) => {
  test('--seeds-per-forward 4 gives the bytes of each seed alone, the manifest records pipeline and scheduler, verify passes', () => {
    const common = ['generate', '--scheduler', name, '--steps', stepsFor(name), '--seeds', '0-7', '--backend', 'wasm'];
    const grouped = cli([...common, '--seeds-per-forward', '4', '--out-dir', `${name}-k4`]);
    expect([grouped.status, grouped.stderr]).toEqual([0, expect.any(String)]);
    const alone = cli([...common, '--seeds-per-forward', '1', '--out-dir', `${name}-k1`]);
    expect([alone.status, alone.stderr]).toEqual([0, expect.any(String)]);
    // One seed in a process of its own, as a user's single run (for one scheduler: a process costs seconds).
    const separate = name === SCHEDULERS[0];
    if (separate) {
      const single = cli(['generate', '--scheduler', name, '--steps', stepsFor(name), '--seed', '5', '--backend', 'wasm', '--out', `${name}-seed5.png`]);
      expect([single.status, single.stderr]).toEqual([0, expect.any(String)]);
      expect(fs.readFileSync(path.join(work, `${name}-seed5.png`)).equals(png(`${name}-k4`, 5))).toBe(true);
    }

    for (let seed = 0; seed < 8; seed++) expect([seed, png(`${name}-k4`, seed).equals(png(`${name}-k1`, seed))]).toEqual([seed, true]);
    // Different seeds give different images (the comparison above is not vacuous).
    expect(png(`${name}-k4`, 0).equals(png(`${name}-k4`, 1))).toBe(false);

    const recs = records(`${name}-k4`);
    expect(recs).toHaveLength(8);
    for (const r of recs) {
      expect(r.pipeline).toBe('DDPMPipeline');
      expect(r.scheduler?._class_name).toBe(name);
      expect(r.scheduler?.num_train_timesteps).toBe(1000);
    }
    const verify = cli(['verify', `${name}-k4`, '--seeds', '0-7']);
    expect([verify.status, verify.stdout]).toEqual([0, expect.stringContaining('0-7')]);
  });
});

describe('--pipeline, --scheduler-config and what verify checks', () => {
  test('--json records carry the pipeline and the scheduler config; --scheduler-config values reach the scheduler', () => {
    const run = cli(['generate', '--seed', '1', '--steps', '2', '--backend', 'wasm', '--json', '--scheduler-config', 'timestep_spacing=trailing', '--scheduler-config', 'clip_sample=false']);
    expect([run.status, run.stderr]).toEqual([0, expect.any(String)]);
    const record = JSON.parse(run.stdout.trim());
    // The embedded model's model_index.json names DDIMPipeline: the default pipeline.
    expect(record.pipeline).toBe('DDIMPipeline');
    expect(record.scheduler).toMatchObject({ _class_name: 'DDIMScheduler', timestep_spacing: 'trailing', clip_sample: false });
    const plain = cli(['generate', '--seed', '1', '--steps', '2', '--backend', 'wasm', '--json']);
    expect(JSON.parse(plain.stdout.trim()).absSum).not.toBe(record.absSum);
  });

  test('--pipeline ddpm runs the model\'s own DDPMScheduler; the same seed differs from DDIM', () => {
    const ddpm = cli(['generate', '--pipeline', 'ddpm', '--seed', '2', '--steps', '2', '--backend', 'wasm', '--json']);
    expect([ddpm.status, ddpm.stderr]).toEqual([0, expect.any(String)]);
    const record = JSON.parse(ddpm.stdout.trim());
    expect(record).toMatchObject({ pipeline: 'DDPMPipeline', scheduler: { _class_name: 'DDPMScheduler', variance_type: 'fixed_large' } });
    const ddim = JSON.parse(cli(['generate', '--seed', '2', '--steps', '2', '--backend', 'wasm', '--json']).stdout.trim());
    expect(ddim.absSum).not.toBe(record.absSum);
  });

  test.each<[string, string[], RegExp]>([
    ['an unknown scheduler', ['--scheduler', 'FooScheduler'], /--scheduler: expected a scheduler class name \(DDIMScheduler, DDPMScheduler.*\), got "FooScheduler"/],
    ['an unknown pipeline', ['--pipeline', 'sde'], /--pipeline: expected one of ddim, ddpm, pndm, got "sde"/],
    ['a scheduler the ddim pipeline would convert away', ['--pipeline', 'ddim', '--scheduler', 'DDPMScheduler'], /the ddim pipeline converts every scheduler to DDIMScheduler .*use --pipeline ddpm/],
    ['a malformed pair', ['--scheduler-config', 'clip_sample'], /--scheduler-config: expected key=value/],
    ['a key given twice', ['--scheduler-config', 'clip_sample=true', '--scheduler-config', 'clip_sample=false'], /clip_sample is given twice/],
    ['a key the scheduler does not have', ['--scheduler-config', 'solver_orderr=2'], /--scheduler-config: DDIMScheduler has no config key "solver_orderr"/],
    ['a bad value', ['--scheduler-config', 'timestep_spacing=uniform'], /--scheduler-config: .*timestep_spacing="uniform" is not supported/],
  ])('%s is a usage error (exit 2) naming the flag', (_what, args, message) => {
    const run = cli(['generate', '--seed', '0', '--steps', '2', '--backend', 'wasm', ...args]);
    expect(run.stderr).toMatch(message);
    expect(run.status).toBe(2);
  });

  test('verify reports records that mix schedulers (the scheduler is part of the settings it compares)', () => {
    const common = ['generate', '--seeds', '0-3', '--steps', '2', '--backend', 'wasm', '--out-dir', 'mixed'];
    expect(cli([...common, '--shard', '0/2']).status).toBe(0);
    expect(cli([...common, '--shard', '1/2', '--scheduler-config', 'timestep_spacing=trailing']).status).toBe(0);
    const verify = cli(['verify', 'mixed', '--seeds', '0-3']);
    expect(verify.status).toBe(1);
    expect(verify.stdout).toMatch(/the records mix scheduler values/);
  });

  test('--resume accepts a folder of an earlier version (no pipeline or scheduler field), refuses another scheduler', () => {
    const common = ['generate', '--steps', '2', '--backend', 'wasm', '--out-dir', 'older'];
    expect(cli([...common, '--seeds', '0-1']).status).toBe(0);
    const manifest = path.join(work, 'older', 'manifest-0-of-1.jsonl');
    const lines = fs.readFileSync(manifest, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines[0].pipeline).toBe('DDIMPipeline');
    fs.writeFileSync(manifest, lines.map(({ pipeline: _p, scheduler: _s, ...rest }) => `${JSON.stringify(rest)}\n`).join(''));
    const resumed = cli([...common, '--seeds', '0-3', '--resume']);
    expect([resumed.status, resumed.stderr]).toEqual([0, expect.stringContaining('2 seed(s) already done')]);
    // Another scheduler changes modelHash (it hashes the scheduler config), so the old records still refuse it.
    const other = cli([...common, '--seeds', '0-3', '--resume', '--pipeline', 'ddpm']);
    expect(other.status).toBe(2);
    expect(other.stderr).toMatch(/was made with (modelHash|pipeline)=/);
  });

  test('--pipeline pndm runs PNDM when PNDMScheduler is registered, and says that it is not otherwise', () => {
    const run = cli(['generate', '--pipeline', 'pndm', '--seed', '0', '--steps', stepsFor('PNDMScheduler'), '--backend', 'wasm', '--json']);
    if (hasScheduler('PNDMScheduler')) {
      expect([run.status, run.stderr]).toEqual([0, expect.any(String)]);
      expect(JSON.parse(run.stdout.trim())).toMatchObject({ pipeline: 'PNDMPipeline', scheduler: { _class_name: 'PNDMScheduler' } });
    } else {
      expect(run.status).toBe(1);
      expect(run.stderr).toContain('PNDMPipeline: this build has no PNDMScheduler in lib/schedulers/all-schedulers.ts');
    }
  });
});

// The prebuilt native addons committed in prebuilds/ (scripts/prebuild-native.js): one per platform the package
// promises, built from the native/ sources in this tree (their GNU build id is the sources' sha256; the addon's own
// info().sourceHash covers native/src), needing nothing but glibc (what `ldd` shows), and found first by the loader.
// The install script does nothing when one loads, and says in one line why not when none does and nothing can be
// built.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { nativeKernelsStatus } from '../../lib/node/backends/native';
import { addonCandidates, addonNotFoundReason, ADDON_FILE, PREBUILT_PLATFORMS, prebuildTag } from '../../lib/node/backends/native-addon-location';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- CommonJS build scripts without types, loaded as they export themselves
const { elfInfo, compareVersions, ALLOWED_NEEDED } = require('../../scripts/elf-info') as {
  elfInfo: (buf: Buffer) => { machine: string; needed: string[]; maxGlibc?: string; buildId?: string };
  compareVersions: (a: string, b: string) => number;
  ALLOWED_NEEDED: RegExp;
};
// eslint-disable-next-line @typescript-eslint/no-require-imports -- CommonJS build scripts without types, loaded as they export themselves
const { sourcesSha256, MAX_GLIBC, TARGETS } = require('../../scripts/prebuild-native') as {
  sourcesSha256: () => string;
  MAX_GLIBC: string;
  TARGETS: Record<string, { tag: string; machine: string }>;
};

const ROOT = path.resolve(__dirname, '..', '..');
const prebuildPath = (tag: string) => path.join(ROOT, 'prebuilds', tag, ADDON_FILE);
const hostTag = prebuildTag();
const REBUILD = 'run `npm run build:prebuilds` (g++ and g++-aarch64-linux-gnu) and commit prebuilds/';

describe('the committed prebuilt addons', () => {
  const hash = sourcesSha256();

  for (const { tag, machine } of Object.values(TARGETS)) {
    describe(tag, () => {
      const file = prebuildPath(tag);

      test(`exists, is a ${machine} ELF shared object and needs nothing beyond glibc (libc, libm, libpthread, libdl, the loader)`, () => {
        expect(fs.existsSync(file)).toBe(true);
        const info = elfInfo(fs.readFileSync(file));
        expect(info.machine).toBe(machine);
        expect(info.needed.filter((n) => !ALLOWED_NEEDED.test(n))).toEqual([]);
        expect(info.needed).toContain('libc.so.6');
      });

      test(`needs glibc ${MAX_GLIBC} at most (the oldest glibc it loads on; docs/reproducibility.md)`, () => {
        const { maxGlibc } = elfInfo(fs.readFileSync(file));
        expect(maxGlibc).toBeDefined();
        expect(compareVersions(maxGlibc as string, MAX_GLIBC)).toBeLessThanOrEqual(0);
      });

      test('was built from the native/ sources in this tree (its build id is their sha256)', () => {
        const { buildId } = elfInfo(fs.readFileSync(file));
        if (buildId !== hash) throw new Error(`${path.relative(ROOT, file)} was built from other sources (build id ${buildId}, native/ hashes to ${hash}): ${REBUILD}`);
      });
    });
  }

  test('the package promises exactly these platforms', () => {
    expect(Object.values(TARGETS).map((t) => t.tag).sort()).toEqual([...PREBUILT_PLATFORMS].sort());
  });
});

const hostHasPrebuild = (PREBUILT_PLATFORMS as readonly string[]).includes(hostTag);
const describeOnHost = hostHasPrebuild && process.platform === 'linux' ? describe : describe.skip;

describeOnHost(`the ${hostTag} prebuild on this machine`, () => {
  test('`ldd` resolves nothing beyond glibc', () => {
    const ldd = spawnSync('ldd', [prebuildPath(hostTag)], { encoding: 'utf8' });
    expect(ldd.status).toBe(0);
    const libs = ldd.stdout
      .split('\n')
      .map((l) => l.trim().split(/\s+/)[0])
      .filter((l) => l && !l.startsWith('linux-vdso') && !l.startsWith('linux-gate'))
      .map((l) => path.basename(l));
    expect(libs.filter((l) => !ALLOWED_NEEDED.test(l))).toEqual([]);
  });

  test('loads in a fresh Node and reports the hash of native/src it was compiled from', () => {
    const script = `const i = require(${JSON.stringify(prebuildPath(hostTag))}).info(); process.stdout.write(JSON.stringify(i));`;
    const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
    expect(child.stderr).toBe('');
    const info = JSON.parse(child.stdout) as Record<string, unknown>;
    const sourceHashScript = path.join(ROOT, 'native', 'source-hash.js');
    if (fs.existsSync(sourceHashScript)) {
      const tree = spawnSync(process.execPath, [sourceHashScript], { encoding: 'utf8' }).stdout.trim();
      expect({ sourceHash: info.sourceHash }).toEqual({ sourceHash: tree });
    }
  });

  test('is what the library loads (before any native/build), and the one-line reason names the build command when none is found', () => {
    const kinds = addonCandidates(ROOT, undefined);
    expect(kinds.map((c) => c.kind)).toEqual(['prebuild', 'local build', 'local build']);
    expect(kinds[0].path).toBe(prebuildPath(hostTag));
    expect(addonCandidates(ROOT, '/somewhere/x.node')).toEqual([{ kind: 'env', path: '/somewhere/x.node' }]);
    expect(addonNotFoundReason('npm run build:native')).toContain(`no prebuilds/${hostTag}/${ADDON_FILE} in the package`);
    // In this process (each jest file has its own module registry): the status the library reports.
    if (process.env.TFJS_DIFFUSERS_NATIVE !== undefined) throw new Error('unset TFJS_DIFFUSERS_NATIVE for this test: it overrides where the addon is loaded from');
    const status = nativeKernelsStatus();
    expect({ available: status.available, path: status.path }).toEqual({ available: true, path: prebuildPath(hostTag) });
  });

  test('the install script does nothing when the prebuild loads', () => {
    const install = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build-native.js')], { cwd: ROOT, encoding: 'utf8' });
    expect(install.status).toBe(0);
    expect(install.stdout.trim()).toBe(`tfjs-diffusers: prebuilt native kernels for ${hostTag} (prebuilds/${hostTag}/${ADDON_FILE}).`);
    expect(install.stderr).toBe('');
  }, 60_000);
});

describe('the install script without a prebuild for the platform', () => {
  test('and without a compiler: one line saying why, exit code 0 (never fails the install)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-diffusers-install-'));
    try {
      fs.mkdirSync(path.join(dir, 'scripts'));
      // The install script and what it requires, as package.json's "files" ships them.
      for (const file of ['build-native.js', 'node-gyp-location.js']) fs.copyFileSync(path.join(ROOT, 'scripts', file), path.join(dir, 'scripts', file));
      fs.cpSync(path.join(ROOT, 'native', 'binding.gyp'), path.join(dir, 'native', 'binding.gyp'));
      const env: NodeJS.ProcessEnv = { ...process.env, PATH: path.join(dir, 'no-such-bin') };
      delete env.CXX;
      delete env.TFJS_DIFFUSERS_NATIVE;
      const install = spawnSync(process.execPath, [path.join(dir, 'scripts', 'build-native.js')], { cwd: dir, encoding: 'utf8', env });
      expect(install.status).toBe(0);
      expect(install.stdout.trim()).toBe(
        `tfjs-diffusers: native kernels not built (no prebuilt addon for ${hostTag} and no C++ compiler found); the wasm backend runs without them.`,
      );
      const required = spawnSync(process.execPath, [path.join(dir, 'scripts', 'build-native.js'), '--required'], { cwd: dir, encoding: 'utf8', env });
      expect(required.status).toBe(1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { chromium, type BrowserContext } from 'playwright-core';

// Which Chromium the browser tests drive (playwright-core never downloads one):
// 1. CHROMIUM_PATH, when set;
// 2. Debian's chromium package at /usr/bin/chromium (`apt-get install -y chromium`, as .ci/run does);
// 3. the headless Chromium shipped inside the npm package @sparticuz/chromium (a devDependency: `npm ci` brings it,
//    nothing is downloaded at run time). Its brotli-compressed files are unpacked once into
//    node_modules/.cache/tfjs-diffusers-chromium/<version>/, together with the libraries its al2023 pack carries (NSS,
//    NSPR, expat), which it then loads through LD_LIBRARY_PATH: with them it needs only glibc and libgcc_s from the
//    system (`ldd`), which every Linux base image has.

const ROOT = path.join(__dirname, '..');
const DEBIAN_CHROMIUM = '/usr/bin/chromium';

/** Whether `file` is an executable file (fresh-machine hides Debian's chromium behind an empty, non-executable file). */
function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile() && fs.statSync(file).size > 0;
  } catch {
    return false;
  }
}

/** A Chromium to launch: its binary, extra environment, and where it comes from (for the test output). */
export interface ChromiumBinary {
  executablePath: string;
  env: Record<string, string>;
  source: string;
}

/** Where @sparticuz/chromium's files are, when the package is installed and ships a build for this machine. */
export function sparticuzPackage(): { binDir: string; version: string } | null {
  if (process.platform !== 'linux' || process.arch !== 'x64') return null;
  let pkgJson: string;
  try {
    // Its exports map hides package.json: resolve the main file, then walk up to the package folder.
    let dir = path.dirname(require.resolve('@sparticuz/chromium', { paths: [ROOT] }));
    const isPackageRoot = (d: string): boolean =>
      fs.existsSync(path.join(d, 'package.json')) && JSON.parse(fs.readFileSync(path.join(d, 'package.json'), 'utf8')).name === '@sparticuz/chromium';
    while (!isPackageRoot(dir) && path.dirname(dir) !== dir) dir = path.dirname(dir);
    pkgJson = path.join(dir, 'package.json');
  } catch {
    return null;
  }
  const binDir = path.join(path.dirname(pkgJson), 'bin');
  if (!fs.existsSync(path.join(binDir, 'chromium.br'))) return null;
  return { binDir, version: JSON.parse(fs.readFileSync(pkgJson, 'utf8')).version };
}

/**
 * Why the browser tests cannot run here, or null. Checked when the spec file is collected; the npm Chromium is
 * unpacked later, in {@link findChromium}.
 */
export function chromiumMissingReason(): string | null {
  if (process.env.CHROMIUM_PATH) {
    return isExecutable(process.env.CHROMIUM_PATH) ? null : `CHROMIUM_PATH=${process.env.CHROMIUM_PATH} is not an executable file`;
  }
  if (isExecutable(DEBIAN_CHROMIUM) || sparticuzPackage() !== null) return null;
  return (
    `no Chromium: neither Debian's ${DEBIAN_CHROMIUM} (\`apt-get install -y chromium\`) nor the devDependency ` +
    `@sparticuz/chromium for ${process.platform}-${process.arch} (it ships linux-x64 only; run \`npm ci\`), nor CHROMIUM_PATH`
  );
}

/** Unpacks a `.br` file (a single file) or `.tar.br` file (into `dest`) with Node's brotli and the system's tar. */
export function unpackBrotli(file: string, dest: string): void {
  const data = zlib.brotliDecompressSync(fs.readFileSync(file));
  if (file.endsWith('.tar.br')) {
    const tar = spawnSync('tar', ['-x', '-C', dest], { input: data, maxBuffer: 1 << 20 });
    if (tar.status !== 0) throw new Error(`unpacking ${file}: tar ${tar.error?.message ?? tar.stderr.toString().trim()}`);
  } else {
    fs.writeFileSync(path.join(dest, path.basename(file, '.br')), data, { mode: 0o755 });
  }
}

/** @sparticuz/chromium unpacked into node_modules/.cache (once; a finished folder is renamed into place). */
function unpackSparticuz(pkg: { binDir: string; version: string }): ChromiumBinary {
  const dir = path.join(ROOT, 'node_modules', '.cache', 'tfjs-diffusers-chromium', pkg.version);
  if (!fs.existsSync(path.join(dir, 'chromium'))) {
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    const partial = fs.mkdtempSync(`${dir}.partial-`);
    for (const file of ['chromium.br', 'swiftshader.tar.br', 'fonts.tar.br', 'al2023.tar.br']) {
      unpackBrotli(path.join(pkg.binDir, file), partial);
    }
    try {
      fs.renameSync(partial, dir);
    } catch (err) {
      // Another process finished first: use its copy.
      fs.rmSync(partial, { recursive: true, force: true });
      if (!fs.existsSync(path.join(dir, 'chromium'))) throw err;
    }
  }
  const libDir = path.join(dir, 'lib');
  return {
    executablePath: path.join(dir, 'chromium'),
    env: {
      LD_LIBRARY_PATH: [libDir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
      FONTCONFIG_PATH: path.join(dir, 'fonts'),
    },
    source: `@sparticuz/chromium ${pkg.version} (npm), unpacked in ${path.relative(ROOT, dir)}`,
  };
}

/** The Chromium to drive here (see the top of this file); throws with {@link chromiumMissingReason} when none. */
export function findChromium(): ChromiumBinary {
  if (process.env.CHROMIUM_PATH && isExecutable(process.env.CHROMIUM_PATH)) {
    return { executablePath: process.env.CHROMIUM_PATH, env: {}, source: `CHROMIUM_PATH=${process.env.CHROMIUM_PATH}` };
  }
  if (!process.env.CHROMIUM_PATH && isExecutable(DEBIAN_CHROMIUM)) {
    return { executablePath: DEBIAN_CHROMIUM, env: {}, source: `Debian's ${DEBIAN_CHROMIUM}` };
  }
  const pkg = process.env.CHROMIUM_PATH ? null : sparticuzPackage();
  if (pkg === null) throw new Error(chromiumMissingReason() ?? 'no Chromium');
  return unpackSparticuz(pkg);
}

/**
 * The flags of issue 7: headless, no sandbox (CI runs as root), no GPU process (WebGL runs on SwiftShader, Chromium's
 * software renderer; WebGPU is then absent), and no network traffic of Chromium's own.
 */
export const CHROMIUM_FLAGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export interface LaunchedChromium {
  context: BrowserContext;
  /** Which Chromium runs (for the test output). */
  source: string;
  /** The last lines Chromium wrote on stderr (playwright's 'browser' log): what to show when a page crashes. */
  recentLog(): string;
  /** Closes the browser and removes its fresh profile folder. */
  close(): Promise<void>;
}

/** Starts headless Chromium with {@link CHROMIUM_FLAGS} and a fresh `--user-data-dir` under os.tmpdir(). */
export async function launchChromium(extraFlags: readonly string[] = []): Promise<LaunchedChromium> {
  const binary = findChromium();
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-diffusers-chromium-'));
  const log: string[] = [];
  const context = await chromium.launchPersistentContext(userDataDir, {
    logger: {
      isEnabled: (name) => name === 'browser',
      log: (_name, _severity, message) => {
        log.push(String(message));
        if (log.length > 60) log.shift();
      },
    },
    executablePath: binary.executablePath,
    env: { ...process.env, ...binary.env } as Record<string, string>,
    headless: true,
    args: [...CHROMIUM_FLAGS, ...extraFlags],
    viewport: { width: 1100, height: 900 },
  });
  return {
    context,
    source: binary.source,
    recentLog: () => log.join('\n'),
    close: async () => {
      await context.close();
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

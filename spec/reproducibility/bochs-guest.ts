// An AVX-512 machine for the golden-hash specs on a CPU without AVX-512: Bochs 2.7 (an x86 instruction-set emulator
// that implements AVX-512 in software) emulating an Intel Skylake-X, booting Debian's Linux 5.10 with a small
// initramfs that holds this Node, the golden child (golden-child.ts), the x86-64 prebuild and the files they read.
// The guest runs the real prebuilt `avx512` kernels, compiled code and all, and prints each child's
// `GOLDEN-RESULT` line to the serial port, which Bochs writes to a file.
//
// Why these choices (each was tried here):
//   - Bochs 2.7's CPUID leaf 0xD misreports the XSAVES (compacted) area size and gives PKRU no offset. Linux 6.1
//     (bookworm) then turns XSAVE off, so no AVX at all; Linux 5.10 (bullseye) only warns, and with `noxsaves` it
//     keeps the standard XSAVE format, which Bochs gets right (with XSAVES on, it faults restoring Node's state).
//     `clearcpuid=515` hides PKU (X86_FEATURE_PKU) for the same leaf.
//   - Skylake-X, not Tiger Lake: Linux 5.10 faults early on Bochs' Tiger Lake (CET, PKS), and Skylake-X has what the
//     kernels need: AVX-512 F, BW, VL, DQ, CD.
//   - The packages come from Debian (`apt-get download` for bookworm's, the bullseye kernel by its pool URL, pinned by
//     sha256) into node_modules/.cache, once; nothing is installed on the machine.
import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { childBundle, onPath, REPO_ROOT } from './golden-harness';
import { parseGoldenResult, type GoldenPlan, type GoldenResult } from './golden-plan';

/** Where the unpacked packages and the kernel are kept between runs (`npm ci` starts it afresh). */
export const BOCHS_KIT_DIR = path.join(REPO_ROOT, 'node_modules', '.cache', 'tfjs-diffusers', 'bochs-guest');

/** bookworm packages: the emulator, its BIOS images, the boot loader, the ISO writer, a static shell for /init. */
const DEBIAN_PACKAGES = ['bochs', 'bochsbios', 'vgabios', 'libsamplerate0', 'isolinux', 'syslinux-common', 'genisoimage', 'busybox-static'];

/** Debian bullseye's last Linux 5.10 image (see the header for why not bookworm's 6.1). */
const KERNEL = {
  url: 'http://deb.debian.org/debian/pool/main/l/linux-signed-amd64/linux-image-5.10.0-32-amd64_5.10.223-1_amd64.deb',
  sha256: '86a6792f3a03ab15a643f385830cdaa921f15e3e9c8bf63aa55a9243c62fc797',
  vmlinuz: 'boot/vmlinuz-5.10.0-32-amd64',
};

/** The emulated CPU and the kernel command line (see the header). */
export const BOCHS_CPU_MODEL = 'corei7_skylake_x';
const KERNEL_ARGS = 'console=ttyS0,115200 mitigations=off tsc=reliable noxsaves clearcpuid=515 loglevel=6';

function run(command: string, args: string[], options: { cwd?: string; input?: string; timeout?: number } = {}): string {
  const child = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  if (child.status !== 0) {
    const why = child.error ? child.error.message : `exit ${child.status ?? child.signal}`;
    throw new Error(`${command} ${args.join(' ')}: ${why}\n${(child.stderr ?? '').slice(-2000)}`);
  }
  return child.stdout;
}

function sha256File(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** Paths inside the unpacked kit. */
function kitPaths(kit: string) {
  const lib = path.join(kit, 'root', 'usr', 'lib', 'x86_64-linux-gnu');
  return {
    bochs: path.join(kit, 'root', 'usr', 'bin', 'bochs-bin'),
    lib,
    plugins: path.join(lib, 'bochs', 'plugins'),
    share: path.join(kit, 'root', 'usr', 'share', 'bochs'),
    vgabios: path.join(kit, 'root', 'usr', 'share', 'vgabios', 'vgabios.bin'),
    isolinux: path.join(kit, 'root', 'usr', 'lib', 'ISOLINUX', 'isolinux.bin'),
    ldlinux: path.join(kit, 'root', 'usr', 'lib', 'syslinux', 'modules', 'bios', 'ldlinux.c32'),
    genisoimage: path.join(kit, 'root', 'usr', 'bin', 'genisoimage'),
    busybox: path.join(kit, 'root', 'bin', 'busybox'),
    vmlinuz: path.join(kit, 'kernel', KERNEL.vmlinuz),
  };
}

/**
 * The unpacked kit, fetched on first use: `{ kit }`, or what is missing (each named). Needs Debian's apt-get and
 * dpkg-deb and curl, and deb.debian.org reachable once.
 */
export function bochsKit(): { kit: string; missing?: undefined } | { kit?: undefined; missing: string[] } {
  const kit = BOCHS_KIT_DIR;
  const paths = kitPaths(kit);
  const ready = () => Object.values(paths).every((p) => fs.existsSync(p));
  if (ready()) return { kit };
  const missing = ['apt-get', 'dpkg-deb', 'curl'].filter((tool) => onPath(tool) === undefined);
  if (missing.length > 0) return { missing: missing.map((t) => `${t} (the kit is built from Debian packages)`) };
  try {
    const debs = path.join(kit, 'debs');
    fs.mkdirSync(debs, { recursive: true });
    run('apt-get', ['download', ...DEBIAN_PACKAGES], { cwd: debs, timeout: 600_000 });
    const kernelDeb = path.join(debs, path.basename(KERNEL.url));
    run('curl', ['-fsSL', '-o', kernelDeb, KERNEL.url], { timeout: 600_000 });
    const got = sha256File(kernelDeb);
    if (got !== KERNEL.sha256) throw new Error(`${KERNEL.url}: sha256 ${got}, expected ${KERNEL.sha256}`);
    for (const deb of fs.readdirSync(debs)) {
      const into = deb === path.basename(kernelDeb) ? path.join(kit, 'kernel') : path.join(kit, 'root');
      run('dpkg-deb', ['-x', path.join(debs, deb), into]);
    }
    fs.rmSync(debs, { recursive: true, force: true });
  } catch (err) {
    return { missing: [`the Debian packages: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`] };
  }
  return ready() ? { kit } : { missing: [`the unpacked kit in ${kit} is incomplete`] };
}

/** One Node run in the guest: a plan for golden-child.ts and the environment it runs under. */
export interface GuestRun {
  name: string;
  plan: GoldenPlan;
  env: Record<string, string>;
}

/** What the guest said: its CPU and XSAVE state, and each run's result (or its output when it printed none). */
export interface GuestReport {
  cpuFlags: string[];
  xstate: string;
  results: Map<string, GoldenResult | string>;
  serial: string;
  seconds: number;
}

/** The files Node opens for `runs[0]` on this machine (the guest gets them and nothing more from the repository). */
function tracedFiles(bundle: string, planFile: string): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bochs-trace-'));
  const tracer = path.join(dir, 'trace.js');
  const out = path.join(dir, 'files.txt');
  fs.writeFileSync(
    tracer,
    `const fs = require('fs'); const seen = new Set();
for (const name of ['readFileSync', 'openSync', 'statSync']) { const f = fs[name]; fs[name] = function (p, ...rest) { if (typeof p === 'string') seen.add(p); return f.call(this, p, ...rest); }; }
process.on('exit', () => fs.writeFileSync(${JSON.stringify(out)}, [...Object.keys(require.cache), ...seen].join('\\n')));\n`,
  );
  run(process.execPath, ['-r', tracer, bundle, planFile], { cwd: REPO_ROOT, timeout: 300_000 });
  const files = fs.readFileSync(out, 'utf8').split('\n');
  fs.rmSync(dir, { recursive: true, force: true });
  const inRepo = [...new Set(files)].filter((f) => path.isAbsolute(f) && f.startsWith(REPO_ROOT + path.sep) && fs.statSync(f, { throwIfNoEntry: false })?.isFile());
  // Node reads the package.json files of module resolution (exports maps) without fs: each folder's above a file.
  const manifests = new Set<string>();
  for (const file of inRepo) {
    for (let dir = path.dirname(file); dir.startsWith(REPO_ROOT + path.sep); dir = path.dirname(dir)) {
      const manifest = path.join(dir, 'package.json');
      if (fs.existsSync(manifest)) manifests.add(manifest);
    }
  }
  return [...new Set([...inRepo, ...manifests])];
}

/** Copies `from` to `root` + `at` (default: the same absolute path inside the guest). */
function put(root: string, from: string, at: string = from): void {
  const to = path.join(root, at);
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(from, to);
}

/**
 * Boots the guest once and runs each of `runs` in it, in order. `files` are extra files the plans name (guest path →
 * host path). The guest has 2 GiB (the most Debian's Bochs allocates); the emulator runs one core at ~50 million instructions a second here.
 */
export function runInBochs(kit: string, runs: GuestRun[], files: Record<string, string>, timeoutMs: number): GuestReport {
  const started = Date.now();
  const paths = kitPaths(kit);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bochs-guest-'));
  try {
    const root = path.join(work, 'root');
    const repo = '/repo';
    const bundle = childBundle();
    // The Node binary and the shared libraries it loads, at their paths.
    put(root, process.execPath, '/bin/node');
    for (const lib of run('ldd', [process.execPath]).matchAll(/(\/\S+\.so[.\d]*) \(0x/g)) put(root, fs.realpathSync(lib[1]), lib[1]);
    put(root, paths.busybox, '/bin/busybox');
    for (const applet of ['sh', 'mount', 'grep', 'tr', 'dmesg', 'uname', 'sync', 'sleep', 'poweroff', 'cat']) {
      fs.symlinkSync('busybox', path.join(root, 'bin', applet));
    }
    // The repository's files the child opens, traced on this machine with the first plan.
    const firstPlan = path.join(work, 'trace-plan.json');
    fs.writeFileSync(firstPlan, JSON.stringify(runs[0].plan));
    for (const file of tracedFiles(bundle, firstPlan)) put(root, file, path.join(repo, path.relative(REPO_ROOT, file)));
    const guestBundle = path.join(repo, path.relative(REPO_ROOT, bundle));
    for (const [at, from] of Object.entries(files)) put(root, from, at);
    // /init: mount, say what the CPU is, run each plan, power off.
    const lines = [
      '#!/bin/sh',
      'mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev; mount -t tmpfs tmp /tmp',
      'echo "GUEST-FLAGS $(grep -m1 \'^flags\' /proc/cpuinfo)"',
      'echo "GUEST-XSTATE $(dmesg | grep -m1 \'x86/fpu: Enabled xstate\')"',
      `cd ${repo}`,
    ];
    fs.mkdirSync(path.join(root, 'plans'));
    for (const { name, plan, env } of runs) {
      const planAt = `/plans/${name}.json`;
      fs.writeFileSync(path.join(root, planAt), JSON.stringify(plan));
      const vars = Object.entries({ NODE_PATH: `${repo}/node_modules`, ...env }).map(([k, v]) => `${k}='${v}'`).join(' ');
      lines.push(`echo "GUEST-RUN ${name}"`, `${vars} /bin/node ${guestBundle} ${planAt} 2>&1`, `echo "GUEST-EXIT ${name} $?"`);
    }
    lines.push('sync; echo GUEST-DONE; sleep 2; poweroff -f', '');
    for (const dir of ['proc', 'sys', 'dev', 'tmp']) fs.mkdirSync(path.join(root, dir), { recursive: true });
    fs.writeFileSync(path.join(root, 'init'), lines.join('\n'), { mode: 0o755 });

    // The boot CD: ISOLINUX, the kernel, the initramfs (an uncompressed cpio: the emulator would spend minutes on gzip).
    const iso = path.join(work, 'iso');
    fs.mkdirSync(path.join(iso, 'isolinux'), { recursive: true });
    run('sh', ['-c', `find . | sort | '${paths.busybox}' cpio -o -H newc > '${path.join(iso, 'initrd.img')}'`], { cwd: root });
    fs.copyFileSync(paths.vmlinuz, path.join(iso, 'vmlinuz'));
    fs.copyFileSync(paths.isolinux, path.join(iso, 'isolinux', 'isolinux.bin'));
    fs.copyFileSync(paths.ldlinux, path.join(iso, 'isolinux', 'ldlinux.c32'));
    fs.writeFileSync(
      path.join(iso, 'isolinux', 'isolinux.cfg'),
      ['SERIAL 0 115200', 'DEFAULT linux', 'PROMPT 0', 'TIMEOUT 0', 'LABEL linux', '  KERNEL /vmlinuz', '  INITRD /initrd.img', `  APPEND ${KERNEL_ARGS}`, ''].join('\n'),
    );
    const cd = path.join(work, 'boot.iso');
    run(paths.genisoimage, ['-quiet', '-o', cd, '-b', 'isolinux/isolinux.bin', '-c', 'isolinux/boot.cat', '-no-emul-boot', '-boot-load-size', '4', '-boot-info-table', '-r', '-J', iso]);
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(iso, { recursive: true, force: true });

    // Bochs' VNC display overflows a buffer when BXSHARE is a long path: it gets the kit through a short link instead.
    fs.symlinkSync(path.join(kit, 'root'), path.join(work, 'kit'));
    const inKit = (p: string) => path.join('kit', path.relative(path.join(kit, 'root'), p));
    const serialFile = path.join(work, 'serial.out');
    const rc = path.join(work, 'bochsrc');
    fs.writeFileSync(
      rc,
      [
        'memory: guest=2048, host=2048',
        `cpu: model=${BOCHS_CPU_MODEL}, count=1, ips=300000000, reset_on_triple_fault=1`,
        `romimage: file=${inKit(path.join(paths.share, 'BIOS-bochs-latest'))}`,
        `vgaromimage: file=${inKit(paths.vgabios)}`,
        `ata0-master: type=cdrom, path=${cd}, status=inserted`,
        'boot: cdrom',
        `com1: enabled=1, mode=file, dev=${serialFile}`,
        // Debian builds no "nogui" display; the VNC one, not waiting for a viewer, is the headless one it has.
        'display_library: rfb, options="timeout=0"',
        `log: ${path.join(work, 'bochs.log')}`,
        'clock: sync=none, time0=local',
        'mouse: enabled=0',
        '',
      ].join('\n'),
    );
    // Debian's Bochs has its debugger built in and stops before the first instruction: the command file continues.
    const commands = path.join(work, 'debugger-commands');
    fs.writeFileSync(commands, 'c\n');
    const bochs = spawnSync(paths.bochs, ['-q', '-f', rc, '-rc', commands], {
      cwd: work,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
      env: { ...process.env, LD_LIBRARY_PATH: paths.lib, LTDL_LIBRARY_PATH: inKit(paths.plugins), BXSHARE: inKit(paths.share) },
      maxBuffer: 64 * 1024 * 1024,
    });
    const serial = fs.existsSync(serialFile) ? fs.readFileSync(serialFile, 'latin1').replace(/\r/g, '') : '';
    if (!serial.includes('GUEST-DONE')) {
      const why = bochs.error ? bochs.error.message : `exit ${bochs.status ?? bochs.signal}`;
      throw new Error(`the Bochs guest did not finish (${why}, ${((Date.now() - started) / 1000).toFixed(0)} s); serial output:\n${serial.slice(-4000)}\nBochs said:\n${`${bochs.stdout ?? ''}${bochs.stderr ?? ''}`.split('\n').filter((l) => !l.startsWith('ALSA')).slice(-20).join('\n')}`);
    }
    const results = new Map<string, GoldenResult | string>();
    for (const { name } of runs) {
      const from = serial.indexOf(`GUEST-RUN ${name}\n`);
      const to = serial.indexOf(`GUEST-EXIT ${name} `, from);
      const output = from >= 0 && to > from ? serial.slice(from, to) : '';
      results.set(name, parseGoldenResult(output) ?? (output.slice(-3000) || '(no output)'));
    }
    const flags = serial.match(/^GUEST-FLAGS flags\s*:(.*)$/m)?.[1].trim().split(/\s+/) ?? [];
    const xstate = serial.match(/^GUEST-XSTATE (.*)$/m)?.[1] ?? '';
    return { cpuFlags: flags, xstate, results, serial, seconds: (Date.now() - started) / 1000 };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

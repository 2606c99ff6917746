import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vm from 'vm';
import { sparticuzPackage, unpackBrotli } from './chromium';

// SwiftShader, Chromium's CPU implementation of Vulkan, for the webgpu tests in Node: Dawn (the npm package
// `webgpu`) drives it like a GPU driver, so the webgpu backend runs on any Linux x86-64 machine, without a GPU.
// Where it comes from, first found:
// 1. Debian's chromium package: /usr/lib/chromium/vk_swiftshader_icd.json, libvk_swiftshader.so and the Vulkan
//    loader libvulkan.so.1 beside them (`apt-get install -y chromium`, as .ci/run does);
// 2. the devDependency @sparticuz/chromium: bin/swiftshader.tar.br holds the same three files; it is unpacked into a
//    private folder of the system temp dir (one per process, removed at exit).
// Debian's own Vulkan CPU driver, Mesa's lavapipe, is refused by Dawn (it lacks a feature Dawn requires).
//
// Dawn loads the Vulkan loader with dlopen("libvulkan.so.1"), and the loader reads VK_ICD_FILENAMES. A child process
// gets both through its environment ({@link swiftShaderEnv}: LD_LIBRARY_PATH, read by the dynamic linker when the
// process starts); this process, already started, gets the loader preloaded by its full path
// ({@link useSwiftShaderInThisProcess}), after which dlopen("libvulkan.so.1") finds it by its soname.

const DEBIAN_CHROMIUM_LIB = '/usr/lib/chromium';
const ICD_FILE = 'vk_swiftshader_icd.json';
const FILES = [ICD_FILE, 'libvk_swiftshader.so', 'libvulkan.so.1'];

/** A SwiftShader Vulkan driver: the folder with its ICD file, its library and a Vulkan loader; where it came from. */
export interface SwiftShader {
  dir: string;
  icdFile: string;
  source: string;
}

function hasAll(dir: string): boolean {
  return FILES.every((f) => {
    try {
      return fs.statSync(path.join(dir, f)).size > 0;
    } catch {
      return false;
    }
  });
}

/** Why no SwiftShader can be found here, or null (checked without unpacking anything). */
export function swiftShaderMissingReason(): string | null {
  if (process.platform !== 'linux') return `SwiftShader for Dawn is set up on Linux only (this is ${process.platform})`;
  if (hasAll(DEBIAN_CHROMIUM_LIB)) return null;
  const pkg = sparticuzPackage();
  if (pkg !== null && fs.existsSync(path.join(pkg.binDir, 'swiftshader.tar.br'))) return null;
  return (
    `no SwiftShader Vulkan driver: neither Debian's ${DEBIAN_CHROMIUM_LIB}/${ICD_FILE} (\`apt-get install -y chromium\`) ` +
    `nor the devDependency @sparticuz/chromium's bin/swiftshader.tar.br for ${process.platform}-${process.arch} (\`npm ci\`)`
  );
}

let unpacked: SwiftShader | null = null;

/** The SwiftShader to use (see the top of this file); throws with {@link swiftShaderMissingReason} when none. */
export function findSwiftShader(): SwiftShader {
  if (process.platform === 'linux' && hasAll(DEBIAN_CHROMIUM_LIB)) {
    return { dir: DEBIAN_CHROMIUM_LIB, icdFile: path.join(DEBIAN_CHROMIUM_LIB, ICD_FILE), source: `Debian's chromium (${DEBIAN_CHROMIUM_LIB})` };
  }
  if (unpacked !== null && hasAll(unpacked.dir)) return unpacked;
  const reason = swiftShaderMissingReason();
  const pkg = sparticuzPackage();
  if (reason !== null || pkg === null) throw new Error(reason ?? 'no SwiftShader');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-diffusers-swiftshader-'));
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  unpackBrotli(path.join(pkg.binDir, 'swiftshader.tar.br'), dir);
  if (!hasAll(dir)) throw new Error(`@sparticuz/chromium ${pkg.version}'s swiftshader.tar.br lacks one of ${FILES.join(', ')}`);
  unpacked = { dir, icdFile: path.join(dir, ICD_FILE), source: `@sparticuz/chromium ${pkg.version} (npm), unpacked in ${dir}` };
  return unpacked;
}

/** The environment a child process needs to run Dawn on SwiftShader. */
export function swiftShaderEnv(swiftShader: SwiftShader = findSwiftShader()): Record<string, string> {
  return {
    VK_ICD_FILENAMES: swiftShader.icdFile,
    LD_LIBRARY_PATH: [swiftShader.dir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
  };
}

/** glibc's RTLD_NODELETE (Node's os.constants.dlopen does not name it): the library stays loaded after dlclose. */
const RTLD_NODELETE = 0x1000;

/**
 * Makes Dawn in THIS process use SwiftShader: sets VK_ICD_FILENAMES and preloads SwiftShader's Vulkan loader by its
 * path. `process.dlopen` then throws (the loader is no Node addon) and closes the handle, but RTLD_NODELETE keeps the
 * library mapped, and Dawn's later dlopen("libvulkan.so.1") finds it by soname. Call before the first
 * `setBackend('webgpu')` of the process.
 */
export function useSwiftShaderInThisProcess(swiftShader: SwiftShader = findSwiftShader()): SwiftShader {
  // jest gives each test file a copy of process.env, and the Vulkan loader reads the C environment, which only the
  // real process.env writes: the real one is the `process` of Node's own context.
  const realProcess = vm.runInThisContext('process') as NodeJS.Process;
  realProcess.env.VK_ICD_FILENAMES = swiftShader.icdFile;
  process.env.VK_ICD_FILENAMES = swiftShader.icdFile;
  const loader = path.join(swiftShader.dir, 'libvulkan.so.1');
  try {
    process.dlopen({ exports: {} } as NodeJS.Module, loader, os.constants.dlopen.RTLD_NOW | RTLD_NODELETE);
  } catch (err) {
    if (!/did not self-register/.test(String(err))) throw new Error(`preloading ${loader}: ${String(err)}`, { cause: err });
  }
  return swiftShader;
}

import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { writeFileAtomic } from '../fs/atomic-write';
import { WasmBackendInternals, WasmModuleInternals, wasmBackendInternals } from '../../backends/wasm-internals';

/**
 * Multi-threaded tfjs wasm in Node.
 *
 * tfjs-backend-wasm turns threads off in Node (`WASM_HAS_MULTITHREAD_SUPPORT` is false there) and, in browsers,
 * starts its pthread workers from blob URLs, which Node's `worker_threads` cannot load. Its threaded-SIMD binary and
 * emscripten glue do support Node, so this module instantiates them itself: the worker script is written to a file,
 * the wasm binary is read from the package, and the result is handed to tfjs' own `BackendWasm`. tfjs also caps its
 * XNNPACK thread pool at half the logical cores (`emscripten_num_logical_cores() / 2`, read once at start-up); the
 * import is answered with twice the requested count so that the pool gets exactly the requested size.
 */

/** tfjs-backend-wasm pre-creates 8 pthread workers and caps its pool there. */
export const MAX_WASM_THREADS = 8;

/** `threads` of {@link useWasmThreads}: a count, or 'auto' = every logical core (up to {@link MAX_WASM_THREADS}). */
export type WasmThreadsSetting = number | 'auto';

const FACTORY_CONFIG = Symbol.for('tfjs-diffusers.wasmFactoryConfig');

interface FactoryConfig {
  threads: number;
  /** tfjs' own factory (single-threaded SIMD in Node), also the fallback. */
  original: () => Promise<tf.KernelBackend>;
}

type TaggedFactory = (() => Promise<tf.KernelBackend>) & { [FACTORY_CONFIG]?: FactoryConfig };

const WASM_PRIORITY = 2; // tfjs-backend-wasm's registration priority

/** How many threads 'auto' means here: the logical cores, capped at {@link MAX_WASM_THREADS}. */
export function autoWasmThreads(): number {
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(MAX_WASM_THREADS, cores));
}

/** Validates a threads setting and turns 'auto' into a count. */
export function resolveWasmThreads(threads: WasmThreadsSetting | undefined): number {
  if (threads === undefined || threads === 'auto') return autoWasmThreads();
  if (!Number.isSafeInteger(threads) || threads < 1 || threads > MAX_WASM_THREADS) {
    throw new Error(`wasm threads: threads=${String(threads)} must be 'auto' or an integer in [1, ${MAX_WASM_THREADS}]`);
  }
  return threads;
}

/**
 * Registers the `wasm` backend so that it starts with `threads` threads (1: tfjs' own single-threaded SIMD
 * backend). Call before `tf.setBackend('wasm')`; when a wasm backend with another count is already running it is
 * removed first (its tensors are lost). Returns whether the registration changed.
 *
 * ```ts
 * useWasmThreads(2);
 * await tf.setBackend('wasm');
 * wasmThreadsCount(); // 2
 * ```
 */
export function useWasmThreads(threads: WasmThreadsSetting = 'auto'): boolean {
  const count = resolveWasmThreads(threads);
  const current = tf.findBackendFactory('wasm') as TaggedFactory | null;
  if (current == null) {
    throw new Error('wasm threads: no wasm backend is registered; load @tensorflow/tfjs-backend-wasm first');
  }
  const config = current[FACTORY_CONFIG];
  if ((config?.threads ?? 1) === count) return false;
  const original = config?.original ?? current;
  const factory: TaggedFactory = count === 1 ? original : () => createThreadedBackend(count, original);
  if (count > 1) factory[FACTORY_CONFIG] = { threads: count, original };
  tf.removeBackend('wasm');
  tf.registerBackend('wasm', factory, WASM_PRIORITY);
  return true;
}

/** The thread count the registered `wasm` factory asks for (1 for tfjs' own). */
export function configuredWasmThreads(): number {
  const current = tf.findBackendFactory('wasm') as TaggedFactory | null;
  return current?.[FACTORY_CONFIG]?.threads ?? 1;
}

/** What an initialised wasm backend runs. */
export interface WasmBackendInfo {
  /** The binary: 'threaded-simd' when started by {@link useWasmThreads}, else tfjs' choice. */
  binary: 'threaded-simd' | 'simd-or-plain';
  /** Threads in XNNPACK's pool (tfjs' `getThreadsCount()`). */
  threads: number;
  /** pthread workers running (threads - 1 for the threaded binary; the JS thread is the other one). */
  workers: number;
}

/**
 * What the initialised wasm backend runs, or null when it has not started.
 *
 * ```ts
 * await setBackend('wasm', { threads: 2 });
 * wasmBackendInfo(); // { binary: 'threaded-simd', threads: 2, workers: 1 }
 * ```
 */
export function wasmBackendInfo(): WasmBackendInfo | null {
  const backend = tf.engine().registry['wasm'];
  if (backend == null) return null;
  const internals: WasmBackendInternals = wasmBackendInternals(backend);
  const module = internals.wasm;
  return {
    binary: module.tfjsDiffusersBinary === 'threaded-simd' ? 'threaded-simd' : 'simd-or-plain',
    threads: module.tfjs.getThreadsCount(),
    workers: module.PThread?.runningWorkers.length ?? 0,
  };
}

async function createThreadedBackend(threads: number, original: () => Promise<tf.KernelBackend>): Promise<tf.KernelBackend> {
  try {
    const module = await instantiateThreadedModule(threads);
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the very instance tfjs registered (CommonJS cache), after the threaded module exists
    const wasmPackage = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
    addTfjsBridge(module);
    wasmPackage.setThreadsCount(threads); // read by the BackendWasm constructor (init_with_threads_count)
    const backend = new wasmPackage.BackendWasm(module as unknown as ConstructorParameters<typeof wasmPackage.BackendWasm>[0]);
    module.tfjsDiffusersBinary = 'threaded-simd';
    // Idle pool threads wait on futexes; they must not keep the process alive after the program is done.
    for (const worker of module.PThread?.runningWorkers ?? []) worker.unref?.();
    return backend;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    console.warn(`tfjs-diffusers: multi-threaded wasm did not start (${reason.split('\n')[0]}); using single-threaded wasm.`);
    return original();
  }
}

/** The `module.tfjs` functions tfjs' own init() adds before it constructs a BackendWasm (same C entry points). */
function addTfjsBridge(module: WasmModuleInternals): void {
  const m = module as unknown as { cwrap(name: string, ret: string | null, args: string[]): unknown; tfjs: unknown };
  m.tfjs = {
    init: m.cwrap('init', null, []),
    initWithThreadsCount: m.cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: m.cwrap('get_threads_count', 'number', []),
    registerTensor: m.cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: m.cwrap('dispose_data', null, ['number']),
    dispose: m.cwrap('dispose', null, []),
  };
}

/** How long the threaded module may take to compile and load its workers before we fall back. */
const START_TIMEOUT_MS = 60_000;

function wasmPackageDir(): string {
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
}

interface EmscriptenConfig {
  locateFile(file: string, prefix: string): string;
  instantiateWasm(
    imports: { env: Record<string, unknown> } & Record<string, unknown>,
    receiveInstance: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void,
  ): Record<string, never>;
  mainScriptUrlOrBlob: string;
  onAbort(what: unknown): void;
  PThread?: WasmModuleInternals['PThread'];
}

async function instantiateThreadedModule(threads: number): Promise<WasmModuleInternals> {
  const dir = wasmPackageDir();
  const factoryPath = path.join(dir, 'wasm-out', 'tfjs-backend-wasm-threaded-simd.js');
  const wasmPath = path.join(dir, 'dist', 'tfjs-backend-wasm-threaded-simd.wasm');
  const workerPath = writeWorkerScript(dir);
  const binary = fs.readFileSync(wasmPath);
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- an Emscripten factory file inside the wasm package, at a path found at run time
  const factory = require(factoryPath) as (config: EmscriptenConfig) => Promise<WasmModuleInternals>;
  return new Promise<WasmModuleInternals>((resolve, reject) => {
    const config: EmscriptenConfig = {
      locateFile: (file, prefix) =>
        file.endsWith('.worker.js') ? workerPath : file.endsWith('.wasm') ? wasmPath : prefix + file,
      instantiateWasm: (imports, receiveInstance) => {
        if (typeof imports.env.emscripten_num_logical_cores !== 'function') {
          reject(new Error('the threaded wasm binary imports no emscripten_num_logical_cores'));
          return {};
        }
        // tfjs sizes its pool as min(requested, cores / 2): report 2 * threads cores.
        const env = { ...imports.env, emscripten_num_logical_cores: () => 2 * threads };
        WebAssembly.instantiate(binary, { ...imports, env } as WebAssembly.Imports).then(
          ({ instance, module }) => receiveInstance(instance, module),
          reject,
        );
        return {};
      },
      // The pthread workers load the emscripten glue from this file (`importScripts`).
      mainScriptUrlOrBlob: factoryPath,
      onAbort: (what) => reject(new Error(`the threaded wasm module aborted: ${String(what)}`)),
    };
    const timer = setTimeout(() => {
      config.PThread?.terminateAllThreads();
      reject(new Error(`its workers did not start within ${START_TIMEOUT_MS / 1000} s`));
    }, START_TIMEOUT_MS);
    timer.unref();
    factory(config).then(
      (module) => {
        clearTimeout(timer);
        resolve(module);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

/**
 * Writes emscripten's pthread worker script (shipped by tfjs as a string) to a file and returns its path. The file
 * lives in a per-user folder of the temp dir, named by a hash of its content; a folder that is not a private
 * directory of this user is not trusted (the script runs with the process' rights) and a fresh one is made.
 */
function writeWorkerScript(packageDir: string): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a file inside the wasm package, at a path found at run time
  const { wasmWorkerContents } = require(path.join(packageDir, 'wasm-out', 'tfjs-backend-wasm-threaded-simd.worker.js')) as {
    wasmWorkerContents: string;
  };
  // The script sits in a template literal in which its "\n" escapes became newlines; tfjs' own blob loader
  // restores them the same way.
  const source = wasmWorkerContents.replace(/\n/g, '\\n');
  const hash = crypto.createHash('sha256').update(source).digest('hex').slice(0, 16);
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  let dir = path.join(os.tmpdir(), `tfjs-diffusers-${uid ?? 'user'}`);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!isPrivateDir(dir, uid)) dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-diffusers-'));
  const file = path.join(dir, `tfjs-backend-wasm-threaded-simd.worker.${hash}.js`);
  let existing: string | null;
  try {
    existing = fs.readFileSync(file, 'utf8');
  } catch {
    existing = null;
  }
  if (existing !== source) writeFileAtomic(file, source, { force: true });
  return file;
}

function isPrivateDir(dir: string, uid: number | undefined): boolean {
  const st = fs.lstatSync(dir);
  if (!st.isDirectory() || st.isSymbolicLink()) return false;
  if (uid === undefined) return true; // Windows: the temp dir is per user
  return st.uid === uid && (st.mode & 0o022) === 0;
}

import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';

// WebGPU in Node through Dawn, Chromium's WebGPU implementation, as published on npm by its authors: the package
// `webgpu` (dawn.node) ships prebuilt binaries for linux-x64/arm64, macOS and Windows inside its tarball and drives
// the machine's Vulkan, Metal or D3D12 driver. This file is the whole Node side of the `webgpu` backend: it loads
// the package (an optional peer dependency), lists and picks the adapter, registers tfjs-backend-webgpu's backend on
// that adapter, and says which adapter runs.

/** The npm package that gives Node a WebGPU implementation (Dawn's Node bindings). */
const WEBGPU_PACKAGE = 'webgpu';
/** The version of {@link WEBGPU_PACKAGE} this library is tested with (package.json's optional peer dependency). */
const WEBGPU_PACKAGE_VERSION = '0.6.2';
/** The environment variable that picks the adapter when `setBackend('webgpu')` is given none (name part or index). */
export const WEBGPU_ADAPTER_ENV = 'TFJS_DIFFUSERS_WEBGPU_ADAPTER';

/** Which adapter to run on: its index in {@link listWebGpuAdapters}' list, or a part of its name (any case). */
export type WebGpuAdapterChoice = string | number;

/** One WebGPU adapter as Dawn reports it. */
export interface WebGpuAdapter {
  /** Its position in Dawn's list (what an index choice refers to). */
  index: number;
  /** Dawn's adapter name: `NVIDIA GeForce RTX 4090`, `SwiftShader Device (Subzero)`, … */
  name: string;
  /** The native API Dawn drives it with: `vulkan`, `metal`, `d3d12`, `d3d11`, `opengl`, `opengles`. */
  backend: string;
  /** WebGPU's GPUAdapterInfo: `nvidia`, `google`, …; `ampere`, `swiftshader`, …; the driver's description. */
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /**
   * A software adapter (the GPU emulated on the CPU: SwiftShader, llvmpipe/lavapipe, WARP): WebGPU's
   * `isFallbackAdapter`, or such a name. Never chosen by default, and far slower than the wasm backend.
   */
  software: boolean;
}

/** What `setBackend('webgpu')` in Node started: the adapter, and what picked it. */
export interface WebGpuBackendInfo {
  adapter: WebGpuAdapter;
  /** `default` (Dawn's high-performance adapter), `option` (setBackend's `adapter`) or the env variable's name. */
  chosenBy: 'default' | 'option' | typeof WEBGPU_ADAPTER_ENV;
}

/** WebGPU could not start in Node: the package is missing, no adapter, or the chosen adapter does not exist. */
export class WebGpuUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebGpuUnavailableError';
  }
}

// The few WebGPU interfaces used here (the DOM lib of this TypeScript has none; @webgpu/types is not a dependency).
interface GpuAdapterInfoLike {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}
interface GpuAdapterLike {
  info: GpuAdapterInfoLike;
  limits: Record<string, number>;
  requestDevice(descriptor: { requiredFeatures?: string[]; requiredLimits?: Record<string, number> }): Promise<unknown>;
}
interface GpuLike {
  requestAdapter(options?: { powerPreference?: 'high-performance' | 'low-power' }): Promise<GpuAdapterLike | null>;
}
interface DawnModule {
  create(flags: string[]): GpuLike;
  globals: Record<string, unknown>;
}

const INSTALL_HINT = `npm install ${WEBGPU_PACKAGE}@${WEBGPU_PACKAGE_VERSION}`;

/** The folder of the installed `webgpu` package, or null (MODULE_NOT_FOUND: not installed). */
function webgpuPackageDir(): string | null {
  try {
    return path.dirname(require.resolve(`${WEBGPU_PACKAGE}/package.json`));
  } catch {
    return null;
  }
}

/**
 * Loads the `webgpu` package. Its entry is an ES module: Node ≥ 20.19 `require`s it; where it cannot (older Node 20,
 * jest's module system) the package's own addon file is loaded the way its entry does (`dist/<platform>-<arch>/dawn.node`,
 * `darwin-universal` on macOS), minus the entry's patch that unmaps buffers on GPUDevice.destroy() (tfjs keeps its
 * device for the life of the process).
 */
function loadDawn(): DawnModule {
  const dir = webgpuPackageDir();
  if (dir === null) {
    throw new WebGpuUnavailableError(
      `setBackend('webgpu'): WebGPU in Node needs the npm package \`${WEBGPU_PACKAGE}\` (Dawn's Node bindings), which is not installed; install it with \`${INSTALL_HINT}\`.`,
    );
  }
  let entryError: unknown;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional package, loaded only when webgpu is asked for
    return require(WEBGPU_PACKAGE) as DawnModule;
  } catch (err) {
    entryError = err;
  }
  const arch = process.platform === 'darwin' ? 'universal' : process.arch;
  const addon = path.join(dir, 'dist', `${process.platform}-${arch}`, 'dawn.node');
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a native addon file found at run time
    return require(addon) as DawnModule;
  } catch (err) {
    const first = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0];
    throw new WebGpuUnavailableError(
      `setBackend('webgpu'): the npm package \`${WEBGPU_PACKAGE}\` could not be loaded (${first(entryError)}; ${path.relative(dir, addon)}: ${first(err)}); ` +
        `it ships binaries for linux-x64, linux-arm64, darwin and win32-x64/arm64 — reinstall it with \`${INSTALL_HINT}\`.`,
    );
  }
}

/** Whether the `webgpu` package loads here (no adapter is looked for: see {@link listWebGpuAdapters}). */
export function dawnWebGpuLoadable(): boolean {
  try {
    loadDawn();
    return true;
  } catch {
    return false;
  }
}

/** `isFallbackAdapter`, or a known CPU implementation of Vulkan/D3D by name. */
function isSoftwareAdapter(name: string, info: GpuAdapterInfoLike): boolean {
  if (info.isFallbackAdapter === true) return true;
  return /swiftshader|llvmpipe|lavapipe|softpipe|microsoft basic render|\bwarp\b/i.test(`${name} ${info.architecture ?? ''} ${info.description ?? ''}`);
}

function sameInfo(a: GpuAdapterInfoLike, b: GpuAdapterInfoLike): boolean {
  return a.vendor === b.vendor && a.architecture === b.architecture && a.device === b.device && a.description === b.description;
}

/**
 * Dawn's adapters (name and native API), in Dawn's order. dawn.node has no listing call: asked for an adapter name
 * that matches none, its requestAdapter rejects with the list (`Available adapters:` then ` * backend: 'vulkan',
 * name: '…'` lines), which is parsed here.
 */
async function dawnAdapterNames(dawn: DawnModule): Promise<{ backend: string; name: string }[]> {
  const noSuchAdapter = `adapter=tfjs-diffusers: list the adapters ${process.pid}`;
  let message: string;
  try {
    const adapter = await dawn.create([noSuchAdapter]).requestAdapter({ powerPreference: 'high-performance' });
    if (adapter === null) return [];
    message = '';
  } catch (err) {
    message = err instanceof Error ? err.message : String(err);
  }
  const found: { backend: string; name: string }[] = [];
  for (const match of message.matchAll(/^\s*\*\s*backend:\s*'([^']*)',\s*name:\s*'([^']*)'/gm)) {
    found.push({ backend: match[1], name: match[2] });
  }
  return found;
}

function describeAdapter(index: number, listed: { backend: string; name: string }, info: GpuAdapterInfoLike): WebGpuAdapter {
  return {
    index,
    name: listed.name,
    backend: listed.backend,
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
    software: isSoftwareAdapter(listed.name, info),
  };
}

/**
 * Every WebGPU adapter Dawn finds here, in Dawn's order, with its name, native API and whether it is a software
 * adapter. Empty when there is none (on Linux: no Vulkan loader `libvulkan.so.1`, or no Vulkan driver).
 *
 * ```ts
 * await listWebGpuAdapters(); // [{ index: 0, name: 'SwiftShader Device (Subzero)', backend: 'vulkan', software: true, … }]
 * ```
 * @throws {WebGpuUnavailableError} naming the package to install when `webgpu` is missing.
 */
export async function listWebGpuAdapters(): Promise<WebGpuAdapter[]> {
  const dawn = loadDawn();
  const listed = await dawnAdapterNames(dawn);
  const adapters: WebGpuAdapter[] = [];
  for (const [index, entry] of listed.entries()) {
    const adapter = await dawn
      .create([`adapter=${entry.name}`, `backend=${entry.backend}`])
      .requestAdapter({ powerPreference: 'high-performance' })
      .catch(() => null);
    adapters.push(describeAdapter(index, entry, adapter?.info ?? {}));
  }
  return adapters;
}

/** One line naming each adapter, for error messages. */
function adapterList(adapters: readonly WebGpuAdapter[]): string {
  if (adapters.length === 0) return 'Dawn lists none';
  return `Dawn lists ${adapters.map((a) => `${a.index}: ${adapterLabel(a)}`).join('; ')}`;
}

/** `SwiftShader Device (Subzero) (vulkan, SwiftShader driver 5.0.0, software)`. */
export function adapterLabel(adapter: WebGpuAdapter): string {
  const details = [adapter.backend, adapter.description, adapter.software ? 'software' : ''].filter(Boolean);
  return `${adapter.name} (${details.join(', ')})`;
}

const NO_ADAPTER_HINT =
  'on Linux Dawn needs the Vulkan loader libvulkan.so.1 (Debian/Ubuntu: libvulkan1) and a Vulkan driver for the GPU ' +
  '(NVIDIA, AMD or Intel; a CPU emulation such as SwiftShader through VK_ICD_FILENAMES also works, but Mesa\'s lavapipe ' +
  'is refused by Dawn); on macOS Metal and on Windows D3D12 come with the system';

/** The choice from setBackend's option, else from the environment variable, else none. */
export function resolveAdapterChoice(
  option: WebGpuAdapterChoice | undefined,
  env: Record<string, string | undefined> = process.env,
): { choice: WebGpuAdapterChoice; by: WebGpuBackendInfo['chosenBy'] } | null {
  if (option !== undefined) {
    if (typeof option === 'number' ? !Number.isSafeInteger(option) || option < 0 : typeof option !== 'string' || option.trim() === '') {
      throw new WebGpuUnavailableError(`setBackend('webgpu', { adapter: ${JSON.stringify(option)} }): expected an adapter index (0, 1, …) or a part of its name`);
    }
    return { choice: typeof option === 'string' ? option.trim() : option, by: 'option' };
  }
  const raw = env[WEBGPU_ADAPTER_ENV]?.trim();
  if (raw === undefined || raw === '') return null;
  return { choice: /^\d+$/.test(raw) ? Number(raw) : raw, by: WEBGPU_ADAPTER_ENV };
}

function pickAdapter(adapters: readonly WebGpuAdapter[], choice: WebGpuAdapterChoice, by: string): WebGpuAdapter {
  const source = by === 'option' ? `setBackend('webgpu', { adapter: ${JSON.stringify(choice)} })` : `${by}=${choice}`;
  if (typeof choice === 'number') {
    const picked = adapters[choice];
    if (picked === undefined) throw new WebGpuUnavailableError(`${source}: there is no adapter ${choice}; ${adapterList(adapters)}.`);
    return picked;
  }
  const wanted = choice.toLowerCase();
  const picked = adapters.find((a) => `${a.name} ${a.description}`.toLowerCase().includes(wanted));
  if (picked === undefined) throw new WebGpuUnavailableError(`${source}: no adapter's name contains '${choice}'; ${adapterList(adapters)}.`);
  return picked;
}

/** Sets WebGPU's global constants (GPUBufferUsage, GPUMapMode, …) that tfjs-backend-webgpu reads, where absent. */
function installGlobals(dawn: DawnModule): void {
  const global = globalThis as Record<string, unknown>;
  for (const [name, value] of Object.entries(dawn.globals)) {
    if (global[name] === undefined) global[name] = value;
  }
}

/** `navigator.gpu`, as in a browser, when nothing else provides it (Node 21+ has a `navigator` without `gpu`). */
function provideNavigatorGpu(gpu: GpuLike): void {
  const global = globalThis as { navigator?: { gpu?: unknown } };
  if (global.navigator === undefined) {
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  } else if (global.navigator.gpu === undefined) {
    Object.defineProperty(global.navigator, 'gpu', { value: gpu, configurable: true, writable: true });
  }
}

/**
 * tfjs-backend-webgpu flags set before the backend starts, so that a sample's bits never depend on the batch:
 * - `WEBGPU_MATMUL_PROGRAM_TYPE: 3` (MatMulPackedProgram) for every matmul: by default tfjs picks the shader by the
 *   output's size and the adapter (MatMulReduceProgram for ≤ 128 outputs, MatMulSmallOutputSizeProgram for few
 *   workgroups, MatMulSplitKProgram, whose atomic adds are not even run-to-run deterministic), each with its own
 *   summation order, so a sample alone and in a batch got other bits (measured on SwiftShader: 743 of 768 elements,
 *   up to 1.4e-6).
 * - `WEBGPU_CPU_FORWARD: false`: by default an op whose inputs still sit in CPU memory and hold fewer than 1000
 *   elements runs on the cpu backend's kernels, so at batch 1 and at batch 16 the same op of a sample could run on
 *   other kernels; now every op runs in the shaders.
 */
export const WEBGPU_DETERMINISM_FLAGS: Readonly<Record<string, number | boolean>> = {
  WEBGPU_MATMUL_PROGRAM_TYPE: 3,
  WEBGPU_CPU_FORWARD: false,
};

/** What this process's `webgpu` backend was registered on (tfjs' registry is per process, like this). */
let registered: WebGpuBackendInfo | null = null;

/**
 * The adapter the Node `webgpu` backend runs on, once `setBackend('webgpu')` has started it; null otherwise.
 *
 * ```ts
 * await setBackend('webgpu');
 * webGpuBackendInfo(); // { adapter: { name: 'NVIDIA GeForce RTX 4090', backend: 'vulkan', software: false, … }, chosenBy: 'default' }
 * ```
 */
export function webGpuBackendInfo(): WebGpuBackendInfo | null {
  if (registered === null || tf.engine().registry['webgpu'] === undefined) return null;
  return registered;
}

/**
 * The kernels that run the UNet on webgpu, for manifests and `--json` records: `webgpu:` and the adapter
 * (`webgpu:SwiftShader Device (Subzero) (vulkan, SwiftShader driver 5.0.0, software)`); the driver changes the
 * shaders' machine code, and so the bits.
 */
export function webGpuKernelPath(): string {
  const info = webGpuBackendInfo();
  return info === null ? 'webgpu' : `webgpu:${adapterLabel(info.adapter)}`;
}

/**
 * Makes tfjs-backend-webgpu's `webgpu` backend startable in Node: loads Dawn, picks the adapter (the `adapter`
 * choice, else {@link WEBGPU_ADAPTER_ENV}, else Dawn's high-performance adapter: the discrete GPU when there is one),
 * provides `navigator.gpu` and WebGPU's globals, and registers the backend on that adapter, with a device that has
 * no `shader-f16` feature (so no shader can compute in half precision: float32 everywhere) and
 * {@link WEBGPU_DETERMINISM_FLAGS} set. Does not start it.
 *
 * The adapter is fixed for the process once the backend has started: another choice then throws.
 *
 * @throws {WebGpuUnavailableError} with one line saying what is missing (the package, an adapter, the chosen one).
 */
export async function registerDawnWebGpu(option?: WebGpuAdapterChoice, env: Record<string, string | undefined> = process.env): Promise<WebGpuBackendInfo> {
  const dawn = loadDawn();
  const resolved = resolveAdapterChoice(option, env);
  const running = tf.engine().registry['webgpu'] !== undefined;
  // Started already, and no adapter asked for: the running one (no new listing of the adapters).
  if (running && resolved === null && registered !== null) return registered;
  const adapters = await listWebGpuAdapters();
  if (adapters.length === 0) {
    throw new WebGpuUnavailableError(`setBackend('webgpu'): Dawn (npm \`${WEBGPU_PACKAGE}\`) found no WebGPU adapter: ${NO_ADAPTER_HINT}.`);
  }
  let adapter: WebGpuAdapter;
  if (resolved !== null) {
    adapter = pickAdapter(adapters, resolved.choice, resolved.by);
  } else {
    // Dawn's own choice for 'high-performance' (the discrete GPU first), identified in the list by its info.
    const preferred = await dawn.create([]).requestAdapter({ powerPreference: 'high-performance' }).catch(() => null);
    adapter = (preferred && adapters.find((a) => sameInfo(a, preferred.info))) ?? adapters.find((a) => !a.software) ?? adapters[0];
  }
  const info: WebGpuBackendInfo = { adapter, chosenBy: resolved?.by ?? 'default' };

  if (running) {
    if (registered !== null && registered.adapter.index === adapter.index && registered.adapter.name === adapter.name) return registered;
    throw new WebGpuUnavailableError(
      `setBackend('webgpu'): the webgpu backend already runs on ${registered === null ? 'an adapter this library did not choose' : adapterLabel(registered.adapter)}; ` +
        `a process keeps its adapter: choose ${adapterLabel(adapter)} before the first setBackend('webgpu'), in a new process.`,
    );
  }

  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when setBackend('webgpu') runs, never at import
  const { WebGPUBackend } = require('@tensorflow/tfjs-backend-webgpu') as typeof import('@tensorflow/tfjs-backend-webgpu');
  for (const [flag, value] of Object.entries(WEBGPU_DETERMINISM_FLAGS)) tf.env().set(flag, value);
  const gpu = dawn.create([`adapter=${adapter.name}`, `backend=${adapter.backend}`]);
  installGlobals(dawn);
  provideNavigatorGpu(gpu);
  if (tf.findBackendFactory('webgpu') !== null) tf.removeBackend('webgpu');
  tf.registerBackend(
    'webgpu',
    async () => {
      const gpuAdapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
      if (gpuAdapter === null) throw new WebGpuUnavailableError(`setBackend('webgpu'): ${adapterLabel(adapter)} is gone`);
      const limits = gpuAdapter.limits;
      // tfjs-backend-webgpu's own factory asks for the same limits; no optional feature is requested (no shader-f16).
      const device = await gpuAdapter.requestDevice({
        requiredFeatures: [],
        requiredLimits: {
          maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
          maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
          maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
          maxBufferSize: limits.maxBufferSize,
          maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
          maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
        },
      });
      return new WebGPUBackend(device as ConstructorParameters<typeof WebGPUBackend>[0], gpuAdapter.info as ConstructorParameters<typeof WebGPUBackend>[1]);
    },
    3,
  );
  registered = info;
  return info;
}

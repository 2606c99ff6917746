// setBackend in Node: its error paths and the order in which it picks a default backend. The optional packages are
// made missing or present with jest's module registry (jest.doMock, `virtual` for packages not installed here), in a
// fresh copy of lib/backends/set-backend.ts per scenario, so the answers do not depend on what this machine has.
import * as tf from '@tensorflow/tfjs-core';
import { BACKEND_NAMES, setBackend } from '../../../lib/node/backends/set-backend';

type SetBackendModule = typeof import('../../../lib/node/backends/set-backend');

// One copy of tfjs-core and of the backend packages for the whole file, whatever the scenarios reset: tfjs keeps its
// platform, engine and kernel registry in a global, so a second copy of tfjs-core sets the platform again and a second
// copy of a backend package registers its ~170 kernels again, each with a console warning ("Platform node has already
// been set", "The kernel '…' for backend 'webgl' is already registered": 354 warning blocks in `npm test`). A user's
// process loads each once; so does this file. The optional packages (tfjs-node(-gpu), wasm) stay per scenario below.
const SHARED_PACKAGES = ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-backend-webgl', '@tensorflow/tfjs-backend-webgpu'];
for (const name of SHARED_PACKAGES) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the copy loaded before any reset, kept for the file
  const copy: unknown = name === '@tensorflow/tfjs-core' ? tf : require(name);
  jest.doMock(name, () => copy);
}

type PackageState = 'missing' | 'present' | 'actual';

function isInstalled(name: string): boolean {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
}

/**
 * A fresh set-backend module (and registry) in which each of the optional packages is `missing` (its require throws
 * what Node throws for an absent package), `present` (an empty module) or `actual` (the installed one). Every call
 * sets all three: jest keeps a doMock for the rest of the file.
 */
function withPackages(tfjsNodeGpu: PackageState, tfjsNode: PackageState, wasm: PackageState = 'actual'): SetBackendModule {
  const states: [string, PackageState][] = [
    ['@tensorflow/tfjs-node-gpu', tfjsNodeGpu],
    ['@tensorflow/tfjs-node', tfjsNode],
    ['@tensorflow/tfjs-backend-wasm', wasm],
  ];
  let loaded: SetBackendModule | undefined;
  // set-backend requires the packages lazily, after isolateModules has returned: clear what earlier scenarios cached.
  jest.resetModules();
  jest.isolateModules(() => {
    for (const [name, state] of states) {
      jest.doMock(
        name,
        () => {
          if (state === 'present') {
            // As tfjs-node(-gpu) does on import: register its 'tensorflow' backend (isBackendAvailable checks the registry).
            if (name.startsWith('@tensorflow/tfjs-node')) {
              if (tf.findBackendFactory('tensorflow') === null) tf.registerBackend('tensorflow', () => ({}) as never, 3);
            }
            return {};
          }
          if (state === 'actual') return jest.requireActual(name);
          const err = new Error(`Cannot find module '${name}'\nRequire stack:\n- lib/backends/set-backend.ts`) as Error & { code: string };
          err.code = 'MODULE_NOT_FOUND';
          throw err;
        },
        { virtual: !isInstalled(name) }, // virtual: a mock for a package that is not installed here
      );
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh module per scenario, after jest.doMock (a static import would be hoisted above the mocks)
    loaded = require('../../../lib/node/backends/set-backend') as SetBackendModule;
  });
  return loaded!;
}

describe('setBackend error paths (Node)', () => {
  test('an unknown backend name lists the known ones', async () => {
    await expect(setBackend('tpu' as never)).rejects.toThrow(
      `setBackend: unknown backend 'tpu'; expected one of ${BACKEND_NAMES.join(', ')}`,
    );
  });

  test("a bad `native` value says what it must be; native: true off wasm says it is wasm's", async () => {
    await expect(setBackend('wasm', { native: 'yes' as never })).rejects.toThrow("setBackend('wasm'): native=yes must be 'auto', true or false");
    await expect(setBackend('cpu', { native: true })).rejects.toThrow(
      "setBackend('cpu', { native: true }): the native kernels exist for the wasm backend only",
    );
  });

  test('webgl loads in Node but registers no backend there, and says what it needs', async () => {
    await expect(setBackend('webgl')).rejects.toThrow(
      "setBackend('webgl'): @tensorflow/tfjs-backend-webgl loaded but registered no 'webgl' backend in this environment (WebGL needs a browser with a WebGL2 context).",
    );
  });

  test('webgpu in Node without a Vulkan driver names what is missing (Dawn, issue 23)', async () => {
    // This process sets no VK_ICD_FILENAMES, and Debian's lavapipe is refused by Dawn: no adapter here. (With a GPU's
    // Vulkan driver it starts: spec/node/backends/webgpu.spec.ts runs it on SwiftShader.)
    const started = await setBackend('webgpu').then(
      () => null,
      (err: Error) => err.message,
    );
    if (started !== null) {
      expect(started).toMatch(/^setBackend\('webgpu'\): (Dawn \(npm `webgpu`\) found no WebGPU adapter|WebGPU in Node needs the npm package `webgpu`)/);
    }
  });

  test('a missing tfjs-node names the package and how to install it', async () => {
    const m = withPackages('missing', 'missing');
    await expect(m.setBackend('tfjs-node')).rejects.toThrow(
      "setBackend('tfjs-node'): the package @tensorflow/tfjs-node could not be loaded (Cannot find module '@tensorflow/tfjs-node'). " +
        'Install it with `npm install @tensorflow/tfjs-node` (its install script downloads libtensorflow, which needs network access).',
    );
    await expect(m.setBackend('tfjs-node-gpu')).rejects.toThrow('Install it with `npm install @tensorflow/tfjs-node-gpu`');
    expect(m.isBackendAvailable('tfjs-node')).toBe(false);
  });

  test('a failed call leaves the active backend as it was', async () => {
    await setBackend('cpu');
    await expect(setBackend('webgl')).rejects.toThrow();
    await expect(withPackages('missing', 'missing').setBackend('tfjs-node')).rejects.toThrow();
    expect(tf.getBackend()).toBe('cpu');
  });
});

describe('setBackend default order in Node: tfjs-node-gpu, tfjs-node, wasm, cpu', () => {
  test('without tfjs-node(-gpu): wasm, and setBackend() starts it', async () => {
    const m = withPackages('missing', 'missing');
    expect(m.defaultBackendName()).toBe('wasm');
    expect(await m.setBackend(undefined, { native: false, threads: 1 })).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
  });

  test('without tfjs-node(-gpu) and wasm: cpu', () => {
    expect(withPackages('missing', 'missing', 'missing').defaultBackendName()).toBe('cpu');
  });

  test('tfjs-node before wasm, tfjs-node-gpu before tfjs-node', () => {
    expect(withPackages('missing', 'present').defaultBackendName()).toBe('tfjs-node');
    expect(withPackages('present', 'present').defaultBackendName()).toBe('tfjs-node-gpu');
  });
});

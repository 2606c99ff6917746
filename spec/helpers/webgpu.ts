import { dawnWebGpuLoadable } from '../../lib/node/backends/dawn-webgpu';
import { setBackend } from '../../lib/node/backends/set-backend';
import { findSwiftShader, swiftShaderMissingReason, useSwiftShaderInThisProcess, type SwiftShader } from '../../test-support/swiftshader';
import { describeNotRun } from './not-run';

/**
 * Why the webgpu tests cannot run here, or null: they need the npm package `webgpu` (Dawn; a devDependency, so
 * `npm ci` brings it) and SwiftShader's Vulkan driver (Debian's chromium, else @sparticuz/chromium's copy:
 * test-support/swiftshader.ts). They always run on SwiftShader, even where a GPU is present, so that the measured
 * bounds apply.
 */
export function webgpuMissingReason(): string | null {
  if (!dawnWebGpuLoadable()) return 'the npm package `webgpu` (Dawn) does not load here (`npm ci` installs the devDependency)';
  return swiftShaderMissingReason();
}

/**
 * `describe` for tests on the webgpu backend in this process: SwiftShader is set up and `setBackend('webgpu')` run
 * before them, or the block is reported as not run (or fails under TFJS_DIFFUSERS_REQUIRE=webgpu).
 */
export function describeOnWebGpu(title: string, body: (swiftShader: () => SwiftShader) => void): void {
  const missing = webgpuMissingReason();
  let swiftShader: SwiftShader | undefined;
  const get = () => swiftShader ?? (swiftShader = findSwiftShader());
  if (missing !== null) {
    describeNotRun('webgpu', missing, title, () => body(get));
    return;
  }
  describe(title, () => {
    beforeAll(async () => {
      useSwiftShaderInThisProcess(get());
      await setBackend('webgpu');
    }, 120_000);
    body(get);
  });
}

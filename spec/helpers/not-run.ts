import * as fs from 'fs';
import * as path from 'path';

/**
 * Tests that need something a machine may lack: the native addon, a Chromium to drive, WebGPU in Node (the npm package
 * `webgpu` and a Vulkan driver: SwiftShader, test-support/swiftshader.ts), qemu-aarch64 with an arm64 Node (the arm64
 * golden hashes), a CPU with AVX-512 (that code path of the native kernels), the Bochs guest that emulates one (opt-in:
 * only run when named, golden-hashes-avx512-bochs.spec.ts), a mount namespace an unprivileged user may
 * open (`unshare -rm`, to mount a small full tmpfs: full-disk.spec.ts). When it is missing
 * they are registered as skipped (jest counts them) and recorded, and spec/reporters/not-run-reporter.js prints one
 * line at the end of the run saying which did not run and why. When this project's variable asks for them
 * (`TFJS_DIFFUSERS_REQUIRE=native,browser,webgpu`, set by .ci/run; not `CI=true`, which every hosted CI sets for users who
 * lack oneDNN), a missing one is a failing test instead.
 */
export type Requirement = 'native' | 'browser' | 'webgpu' | 'arm64' | 'avx512' | 'userns' | 'bochs';

/** The project variable that turns a missing requirement into a failure. */
export const REQUIRE_ENV = 'TFJS_DIFFUSERS_REQUIRE';
/** Folder where skipped blocks are recorded for the reporter (set by spec/global-setup.js). */
export const NOT_RUN_DIR_ENV = 'TFJS_DIFFUSERS_NOT_RUN_DIR';

const REQUIREMENTS: readonly Requirement[] = ['native', 'browser', 'webgpu', 'arm64', 'avx512', 'userns', 'bochs'];

/** The requirements `TFJS_DIFFUSERS_REQUIRE` names (comma-separated); throws on a name it does not know. */
export function requiredHere(env: string | undefined = process.env[REQUIRE_ENV]): Set<Requirement> {
  const names = (env ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const name of names) {
    if (!(REQUIREMENTS as readonly string[]).includes(name)) {
      throw new Error(`${REQUIRE_ENV}=${env}: unknown requirement '${name}'; expected a comma-separated list of ${REQUIREMENTS.join(', ')}`);
    }
  }
  return new Set(names as Requirement[]);
}

/** One skipped block or test, as the reporter reads it. */
export interface NotRunRecord {
  requirement: Requirement;
  reason: string;
  /** The describe or test title that was skipped. */
  title: string;
  testPath: string;
}

function record(requirement: Requirement, reason: string, title: string): void {
  const dir = process.env[NOT_RUN_DIR_ENV];
  if (!dir) return;
  const testPath = (expect.getState().testPath as string | undefined) ?? 'unknown';
  const entry: NotRunRecord = { requirement, reason, title, testPath };
  fs.appendFileSync(path.join(dir, `${process.pid}.jsonl`), `${JSON.stringify(entry)}\n`);
}

function requiredFailure(requirement: Requirement, reason: string): Error {
  return new Error(`${REQUIRE_ENV}=${process.env[REQUIRE_ENV]} requires '${requirement}' here, but it is unavailable: ${reason}`);
}

/**
 * `describe(title, body)` for a block that needs `requirement`, which is unavailable for `reason`: its tests are
 * skipped and reported, or, when `TFJS_DIFFUSERS_REQUIRE` names the requirement, one test fails with the reason.
 */
export function describeNotRun(requirement: Requirement, reason: string, title: string, body: () => void): void {
  if (requiredHere().has(requirement)) {
    describe(title, () => {
      test(`needs '${requirement}'`, () => {
        throw requiredFailure(requirement, reason);
      });
    });
    return;
  }
  record(requirement, reason, title);
  describe.skip(title, body);
}

/** `test(title, fn)` for a test that needs `requirement`, unavailable for `reason` (see {@link describeNotRun}). */
export function testNotRun(requirement: Requirement, reason: string, title: string, fn: jest.ProvidesCallback): void {
  if (requiredHere().has(requirement)) {
    test(title, () => {
      throw requiredFailure(requirement, reason);
    });
    return;
  }
  record(requirement, reason, title);
  test.skip(title, fn);
}

import { spawnSync } from 'child_process';
import * as path from 'path';

// `npm test` output as a user reads it: the spec that loads tfjs' backend packages in many module registries
// (spec/node/backends/set-backend-packages.spec.ts) used to print 354 console.warn blocks with stack traces,
// "Platform node has already been set" and "The kernel '…' for backend '…' is already registered", one per kernel
// of each re-loaded copy. It now shares one copy of tfjs-core and of the backends, as a user's process has.
const ROOT = path.join(__dirname, '..', '..');

test("the backend-package spec prints no tfjs duplicate-registration warnings", () => {
  const { TFJS_DIFFUSERS_REQUIRE: _require, ...env } = process.env; // CI's requirement list is the outer run's
  const result = spawnSync(process.execPath, [require.resolve('jest/bin/jest'), '--ci', 'spec/node/backends/set-backend-packages.spec.ts'], {
    cwd: ROOT,
    encoding: 'utf8',
    env,
    timeout: 120_000,
  });
  const output = `${result.stdout}${result.stderr}`;
  expect(output).toContain('Tests:'); // the spec ran
  expect(output).not.toContain('already registered');
  expect(output).not.toContain('Platform node has already been set');
  expect(output).not.toContain('console.warn');
}, 150_000);

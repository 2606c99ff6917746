// jest globalSetup: runs once, in jest's own process, before any spec file.
// - Builds what the specs that run the built package need (dist/, dist/browser/) when it is missing or stale, so
//   that `npm ci && npm test` works on a fresh clone (scripts/ensure-built.js).
// - Gives spec/helpers/not-run.ts a folder to record the tests it skips for lack of the native addon or a browser;
//   spec/reporters/not-run-reporter.js reads it at the end and prints one line.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { ensureBuilt } = require('../scripts/ensure-built');

/** Spec files that run the built package, and the builds each needs. */
const NEEDS_BUILD = {
  'spec/package.spec.ts': ['node'],
  'spec/package/consumer.spec.ts': ['node', 'browser'],
  'spec/e2e/browser.spec.ts': ['browser'],
  'spec/e2e/browser-download.spec.ts': ['node', 'browser'],
  // The CLI as users run it: the built bin (spec/helpers/cli.ts) and the built entries.
  'spec/node/cli/main.spec.ts': ['node'],
  'spec/node/scale-out/scale-out.spec.ts': ['node'],
  'spec/node/cli/schedulers.spec.ts': ['node'],
  'spec/node/cli/replay.spec.ts': ['node'],
  'spec/node/cli/hostile-cli.spec.ts': ['node'],
  'spec/node/cli/new-user.spec.ts': ['node'],
  'spec/node/cli/webgpu.spec.ts': ['node'],
  'spec/node/hub/concurrent-generate.spec.ts': ['node'],
  'spec/docs/documented-commands.spec.ts': ['node'],
  'spec/loading/one-code-path.spec.ts': ['node'],
};

const REQUIREMENTS = ['native', 'browser', 'webgpu', 'arm64', 'avx512', 'userns', 'bochs'];

module.exports = async function globalSetup(globalConfig) {
  const required = (process.env.TFJS_DIFFUSERS_REQUIRE ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = required.filter((r) => !REQUIREMENTS.includes(r));
  if (unknown.length > 0) {
    throw new Error(`TFJS_DIFFUSERS_REQUIRE=${process.env.TFJS_DIFFUSERS_REQUIRE}: unknown ${unknown.join(', ')}; expected a comma-separated list of ${REQUIREMENTS.join(', ')}`);
  }
  process.env.TFJS_DIFFUSERS_NOT_RUN_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-diffusers-not-run-'));

  // Only the builds that the selected spec files need (a targeted `npx jest spec/x.spec.ts` builds nothing else).
  const root = path.resolve(__dirname, '..');
  const patterns = globalConfig.testPathPattern ? [new RegExp(globalConfig.testPathPattern, 'i')] : [];
  const selected = (file) => patterns.length === 0 || patterns.some((re) => re.test(path.join(root, file)));
  const builds = new Set(Object.entries(NEEDS_BUILD).filter(([file]) => selected(file)).flatMap(([, b]) => b));
  ensureBuilt(['node', 'browser'].filter((b) => builds.has(b)));
};

// A jest reporter: at the end of the run, one line (printed last, by spec/global-teardown.js) saying which tests did not run and why (spec/helpers/not-run.ts
// records them; spec/global-setup.js gives it the folder). Nothing is hidden: skipped tests of other kinds are
// counted too.
'use strict';
const fs = require('fs');
const path = require('path');

/** What each requirement of spec/helpers/not-run.ts stands for, in the line. */
const NEEDS = {
  native: 'the native kernels',
  browser: 'a browser',
  webgpu: 'WebGPU in Node',
  arm64: 'qemu-aarch64 with an arm64 Node',
  avx512: 'a CPU with AVX-512',
  userns: 'a mount namespace (unshare -rm) for a full tmpfs',
  bochs: 'the AVX-512 guest in the Bochs emulator (opt-in)',
};

/** The requirements to name in TFJS_DIFFUSERS_REQUIRE: native,browser,webgpu (what CI requires besides arm64) and any other missing one. */
function requireNames(groups) {
  const names = new Set(['native', 'browser', 'webgpu']);
  for (const g of groups.values()) names.add(g.requirement);
  return [...names].join(',');
}

class NotRunReporter {
  onRunComplete(_contexts, results) {
    const dir = process.env.TFJS_DIFFUSERS_NOT_RUN_DIR;
    const records = [];
    if (dir && fs.existsSync(dir)) {
      for (const file of fs.readdirSync(dir)) {
        for (const line of fs.readFileSync(path.join(dir, file), 'utf8').split('\n')) {
          if (line) records.push(JSON.parse(line));
        }
      }
      fs.rmSync(dir, { recursive: true, force: true });
    }
    // Each skipped test, attributed to the record of its block (or of itself), else counted as "other".
    const groups = new Map();
    const other = [];
    for (const file of results.testResults) {
      const fileRecords = records.filter((r) => r.testPath === file.testFilePath);
      for (const test of file.testResults) {
        if (test.status !== 'pending' && test.status !== 'skipped') continue;
        const rec = fileRecords.find((r) => r.title === test.title || test.ancestorTitles.includes(r.title));
        if (!rec) {
          other.push(test.title);
          continue;
        }
        const key = `${rec.requirement}\u0000${rec.reason}`;
        const group = groups.get(key) ?? { requirement: rec.requirement, reason: rec.reason, tests: 0, files: new Set() };
        group.tests++;
        group.files.add(path.basename(file.testFilePath));
        groups.set(key, group);
      }
    }
    const parts = [...groups.values()].map(
      (g) => `${g.tests} test${g.tests === 1 ? '' : 's'} needing ${NEEDS[g.requirement] ?? g.requirement} ` +
        `in ${[...g.files].sort().join(', ')} (${g.reason})`,
    );
    // Opt-in tests (a title with "(opt-in: VARIABLE=value…)") are counted per variable, so the line says how to run
    // them; other skips (test.skip in a spec) are named by their titles, which say why (e.g. an opt-in data folder).
    const optIn = new Map();
    const rest = [];
    for (const title of other) {
      const variable = /\(opt-in: ([A-Z][A-Z0-9_]*=[^;)\s]+)/.exec(title)?.[1];
      if (variable === undefined) rest.push(title);
      else optIn.set(variable, (optIn.get(variable) ?? 0) + 1);
    }
    for (const [variable, count] of [...optIn].sort()) parts.push(`${count} opt-in test${count === 1 ? '' : 's'} (${variable})`);
    if (rest.length > 0) {
      const named = rest.length <= 3 ? `: ${rest.join('; ')}` : '';
      parts.push(`${rest.length} other skipped test${rest.length === 1 ? '' : 's'}${named}`);
    }
    const line = parts.length === 0
      ? 'tfjs-diffusers: not run: nothing (every test that was selected ran)'
      : `tfjs-diffusers: not run: ${parts.join('; ')}.` +
        (groups.size > 0 ? ` TFJS_DIFFUSERS_REQUIRE=${requireNames(groups)} makes a missing one fail the run.` : '');
    // Printed by spec/global-teardown.js, which jest runs after every reporter, its summary included: so the line
    // is the last of the output, as README says (a reporter's own output comes before the summary reporter's).
    globalThis[NOT_RUN_LINE] = line;
  }
}

/** Where the line waits for spec/global-teardown.js (the reporter and the teardown share jest's main process). */
const NOT_RUN_LINE = Symbol.for('tfjs-diffusers.not-run-line');

module.exports = NotRunReporter;
module.exports.NOT_RUN_LINE = NOT_RUN_LINE;

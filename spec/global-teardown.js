// jest globalTeardown: runs once, in jest's own process, after every reporter (its summary included). Prints the
// "tfjs-diffusers: not run: …" line that spec/reporters/not-run-reporter.js composed, so that it is the last line of
// the output, as README says.
'use strict';
const { NOT_RUN_LINE } = require('./reporters/not-run-reporter');

module.exports = async function globalTeardown() {
  const line = globalThis[NOT_RUN_LINE];
  if (typeof line !== 'string') return;
  delete globalThis[NOT_RUN_LINE];
  process.stderr.write(`\n${line}\n`);
};

import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

// The published face of the package: `require('tfjs-diffusers')` and `import … from 'tfjs-diffusers'` through the
// exports map (Node resolves a package's own name from inside it). Needs `npm run build` first, as .ci/run does.
const ROOT = path.join(__dirname, '..');

function runNode(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8' }).trim();
}

describe('package exports', () => {
  beforeAll(() => {
    if (!fs.existsSync(path.join(ROOT, 'dist', 'index.mjs'))) {
      throw new Error('dist/ is not built: run `npm run build` before these tests');
    }
  });

  test('require() gives the CommonJS build with the public names', () => {
    const out = runNode(['-e', "const m = require('tfjs-diffusers'); console.log([typeof m.Generator, typeof m.DDIMPipeline, typeof m.randnTensor].join(','))"]);
    expect(out).toBe('function,function,function');
  });

  test('import gives the same names as require', () => {
    const script =
      "import * as esm from 'tfjs-diffusers'; import { createRequire } from 'module';" +
      "const cjs = createRequire(process.cwd() + '/').call(null, 'tfjs-diffusers');" +
      "const missing = Object.keys(cjs).filter((k) => k !== '__esModule' && !(k in esm));" +
      "console.log(JSON.stringify({ missing, same: esm.Generator === cjs.Generator }));";
    const out = JSON.parse(runNode(['--input-type=module', '-e', script]));
    expect(out).toEqual({ missing: [], same: true });
  });

  test('the bin entry is executable JavaScript with a shebang', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    const bin = fs.readFileSync(path.join(ROOT, pkg.bin['tfjs-diffusers']), 'utf8');
    expect(bin.startsWith('#!/usr/bin/env node')).toBe(true);
  });
});

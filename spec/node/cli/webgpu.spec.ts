// `tfjs-diffusers generate --backend webgpu` as users run it: the built bin in a child process. With the npm package
// `webgpu` (Dawn) on SwiftShader (test-support/swiftshader.ts: Vulkan loader and ICD through the child's
// environment), the embedded model's seed 0 / 2 steps gives PyTorch's abs-sum within the measured webgpu bound and the
// record and the manifest name the adapter; with the package hidden, the error names the package to install.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { RunRecord } from '../../../lib/node/cli/generate';
import { EXIT, runCli } from '../../helpers/cli';
import { webgpuMissingReason } from '../../helpers/webgpu';
import { describeNotRun } from '../../helpers/not-run';
import { webGpuAbsSumBound } from '../../helpers/tolerances';
import { findSwiftShader, swiftShaderEnv } from '../../../test-support/swiftshader';
import { pipelineCase } from '../../pipelines/pipeline-fixture';

/** diffusers 0.30.3 on PyTorch, the embedded model, seed 0, 2 DDIM steps: 1408.8064 as diffusers prints it. */
const PYTORCH_ABS_SUM = pipelineCase('tiny_s2_eta0_b1_seed0').image_abs_sum;

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-diffusers-webgpu-cli-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('generate --backend webgpu without the npm package webgpu', () => {
  test('fails with one line naming the package to install (exit code 1)', async () => {
    const hide = path.join(__dirname, '..', '..', 'helpers', 'hide-webgpu-package.js');
    const run = await runCli(['generate', '--backend', 'webgpu', '--seed', '0', '--steps', '2', '--json'], {
      cwd: tmp,
      env: { NODE_OPTIONS: `--require ${hide}` },
    });
    expect(run.code).toBe(EXIT.runtime);
    expect(run.stdout).toBe('');
    const errors = run.stderr.split('\n').filter((l) => l.startsWith('tfjs-diffusers: error:'));
    expect(errors).toEqual([
      "tfjs-diffusers: error: setBackend('webgpu'): WebGPU in Node needs the npm package `webgpu` (Dawn's Node bindings), " +
        'which is not installed; install it with `npm install webgpu@0.6.2`.',
    ]);
  });
});

const missing = webgpuMissingReason();
const block = 'generate --backend webgpu on SwiftShader (Dawn)';
const body = () => {
  test('seed 0, 2 steps: abs-sum within the webgpu bound of PyTorch; the record and the manifest name the adapter', async () => {
    const run = await runCli(['generate', '--backend', 'webgpu', '--seed', '0', '--steps', '2', '--json', '--out-dir', 'out'], {
      cwd: tmp,
      env: swiftShaderEnv(findSwiftShader()),
      timeoutMs: 600_000,
    });
    expect(run.stderr).not.toContain('error');
    expect(run.code).toBe(EXIT.ok);
    const record = JSON.parse(run.stdout.trim()) as RunRecord;
    expect(record.backend).toBe('webgpu');
    expect(record.kernelPath).toBe('webgpu:SwiftShader Device (Subzero) (vulkan, SwiftShader driver 5.0.0, software)');
    const deviation = Math.abs(record.absSum - PYTORCH_ABS_SUM);
    console.log(`parity: CLI webgpu abs-sum ${record.absSum.toFixed(4)} vs PyTorch ${PYTORCH_ABS_SUM.toFixed(4)} (|Δ| ${deviation.toExponential(2)}, bound ${webGpuAbsSumBound(PYTORCH_ABS_SUM).toExponential(2)}), ${record.seconds} s`);
    expect(deviation).toBeLessThanOrEqual(webGpuAbsSumBound(PYTORCH_ABS_SUM));
    const manifest = fs.readdirSync(path.join(tmp, 'out')).find((f) => f.startsWith('manifest-'))!;
    const lines = fs.readFileSync(path.join(tmp, 'out', manifest), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.seed, l.backend, l.kernelPath])).toEqual([[0, 'webgpu', record.kernelPath]]);
  }, 660_000);
};
if (missing !== null) describeNotRun('webgpu', missing, block, body);
else describe(block, body);

import { spawnSync } from 'child_process';
import * as path from 'path';

// The "not run" mechanism end to end: jest run in a child process on a spec whose tests need the native kernels,
// with the addon switched off (TFJS_DIFFUSERS_NATIVE=off): the run passes and its last line names the skipped tests
// and the reason; with TFJS_DIFFUSERS_REQUIRE=native it fails; an unknown requirement stops the run at once.
const ROOT = path.join(__dirname, '..', '..');
const SPEC = 'spec/node/backends/native-kernels.spec.ts';

function jest(env: Record<string, string>, spec = SPEC): { status: number | null; output: string; stderr: string } {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  if (!('TFJS_DIFFUSERS_REQUIRE' in env)) delete childEnv.TFJS_DIFFUSERS_REQUIRE; // CI sets it for the outer run
  const result = spawnSync(process.execPath, [require.resolve('jest/bin/jest'), '--ci', spec], {
    cwd: ROOT,
    encoding: 'utf8',
    env: childEnv,
    timeout: 120_000,
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}`, stderr: result.stderr };
}

describe('tests that need what a machine lacks', () => {
  test('are skipped, and one line says which and why', () => {
    const { status, output, stderr } = jest({ TFJS_DIFFUSERS_NATIVE: 'off' });
    expect(status).toBe(0);
    // The last line of the output, after jest's summary (which jest writes to stderr, as the line).
    const stderrLines = stderr.trimEnd().split('\n');
    expect(stderrLines.at(-1)).toMatch(/^tfjs-diffusers: not run: /);
    expect(stderr).toMatch(/^Test Suites: /m);
    expect(stderr.indexOf('Test Suites:')).toBeLessThan(stderr.indexOf('tfjs-diffusers: not run:'));
    const lines = output.split('\n').filter((l) => l.startsWith('tfjs-diffusers: not run:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^tfjs-diffusers: not run: \d+ tests needing the native kernels in native-kernels\.spec\.ts \(native kernels disabled by TFJS_DIFFUSERS_NATIVE=off\)\. TFJS_DIFFUSERS_REQUIRE=native,browser,webgpu makes a missing one fail the run\.$/,
    );
    expect(Number(/not run: (\d+) tests/.exec(lines[0])![1])).toBeGreaterThan(30);
  }, 150_000);

  test('fail the run when TFJS_DIFFUSERS_REQUIRE asks for them', () => {
    const { status, output } = jest({ TFJS_DIFFUSERS_NATIVE: 'off', TFJS_DIFFUSERS_REQUIRE: 'native' });
    expect(status).toBe(1);
    expect(output).toContain("TFJS_DIFFUSERS_REQUIRE=native requires 'native' here, but it is unavailable: native kernels disabled by TFJS_DIFFUSERS_NATIVE=off");
  }, 150_000);

  test('is the last line when nothing was skipped too', () => {
    const { status, stderr } = jest({}, 'spec/backends/backend-table.spec.ts');
    expect(status).toBe(0);
    expect(stderr.trimEnd().split('\n').at(-1)).toBe('tfjs-diffusers: not run: nothing (every test that was selected ran)');
  }, 150_000);

  test('an unknown name in TFJS_DIFFUSERS_REQUIRE stops the run', () => {
    const { status, output } = jest({ TFJS_DIFFUSERS_REQUIRE: 'native,gpu' });
    expect(status).toBe(1);
    expect(output).toContain('TFJS_DIFFUSERS_REQUIRE=native,gpu: unknown gpu; expected a comma-separated list of native, browser, webgpu');
  }, 150_000);
});

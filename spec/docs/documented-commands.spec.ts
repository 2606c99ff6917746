import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CLI_BIN, REPO_ROOT } from '../helpers/cli';
import { fixturePath } from '../helpers/fixtures';
import { processGroupCpuMs } from '../helpers/cpu-time';
import { FakeHub } from '../node/hub/hub-server';

/**
 * Every `tfjs-diffusers` command that README.md and docs/*.md show runs as written, in a fresh process: the lines of
 * shell code blocks and the inline code spans that hold a complete command (arguments given, no `<placeholder>`,
 * `[option]` or `…`).
 * Offline, the Hub id google/ddpm-cifar10-32 is served by a local Hub (HF_ENDPOINT) holding the tiny fixture pipeline,
 * and ./ddpm-cifar10-32 is that pipeline's folder, as the docs tell users to download it.
 *
 * A command that is still producing results after COMMAND_BUDGET_MS (a 16-seed, 50-step run, say) has shown that it
 * works as written: it must have printed at least one result line by then; it is stopped there.
 */
/**
 * docs/scale-out.md is left to spec/docs/scale-out.spec.ts, which checks each of its commands through the CLI's own
 * option checks: they run inside a cluster's pods (JOB_COMPLETION_INDEX, a shared volume mounted at /out).
 */
const CLUSTER_DOCS = new Set(['docs/scale-out.md']);
const DOCS = ['README.md', ...fs.readdirSync(path.join(REPO_ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)].filter(
  (doc) => !CLUSTER_DOCS.has(doc),
);
const COMMAND_BUDGET_MS = 30000;
/**
 * The budget is CPU time of the command's processes (spec/helpers/cpu-time.ts), so a loaded machine (load 16 was
 * measured while other suites ran: a 4-image, 50-step run took 90 s of wall clock for 28 s of CPU) does not fail a
 * command that works; the wall clock only stops a command that hangs without using the CPU.
 */
const COMMAND_WALL_LIMIT_MS = 8 * COMMAND_BUDGET_MS;
/** COMMAND_BUDGET_MS of wall clock on an idle machine, in CPU time: the commands use every core (wasm threads). */
const COMMAND_CPU_BUDGET_MS = COMMAND_BUDGET_MS * os.availableParallelism();
const RESULT_LINE = /^(abs-sum \d|\{"seed"|converted |\d+\.\d+\.\d+$)/m;
/** `verify` (and `merge`, which verifies first) exits 1 with its report on a folder that lacks seeds, as documented. */
const VERIFY_REPORT = /missing/i;

interface DocumentedCommand {
  doc: string;
  line: number;
  command: string;
}

/** The runnable `tfjs-diffusers` commands of one markdown file, in order. */
function documentedCommands(doc: string): DocumentedCommand[] {
  const text = fs.readFileSync(path.join(REPO_ROOT, doc), 'utf8');
  const found: DocumentedCommand[] = [];
  let fence: string | null = null;
  // A command, not a mention: `tfjs-diffusers convert` alone names the command in prose; `demo` needs no argument.
  const runnable = (cmd: string) =>
    /^(npx )?tfjs-diffusers\s+(\S+\s+\S|demo\b|--version\b)/.test(cmd) && !/[<[…]|\.\.\./.test(cmd);
  // A shell line continued with a trailing backslash is one command.
  const lines = text.split('\n');
  for (let i = lines.length - 2; i >= 0; i--) {
    if (/\\\s*$/.test(lines[i])) {
      lines[i] = `${lines[i].replace(/\\\s*$/, ' ')}${lines[i + 1].trim()}`;
      lines[i + 1] = '';
    }
  }
  lines.forEach((raw, i) => {
    const fenceMatch = /^\s*```(\w*)/.exec(raw);
    if (fenceMatch) {
      fence = fence === null ? fenceMatch[1] || 'text' : null;
      return;
    }
    if (fence !== null) {
      if (!['sh', 'bash', 'shell', 'console'].includes(fence)) return;
      const cmd = raw.replace(/^\s*\$\s*/, '').replace(/\s+#.*$/, '').trim();
      if (runnable(cmd)) found.push({ doc, line: i + 1, command: cmd });
      return;
    }
    for (const span of raw.matchAll(/`([^`]+)`/g)) {
      const cmd = span[1].trim();
      if (runnable(cmd)) found.push({ doc, line: i + 1, command: cmd });
    }
  });
  return found;
}

/** A diffusers pipeline folder of the tiny fixture UNet: model_index.json, unet/, scheduler/. */
function pipelineFiles(): Record<string, Uint8Array> {
  const read = (...p: string[]) => new Uint8Array(fs.readFileSync(path.join(...p)));
  return {
    'model_index.json': new TextEncoder().encode(
      JSON.stringify({ _class_name: 'DDPMPipeline', _diffusers_version: '0.30.3', scheduler: ['diffusers', 'DDPMScheduler'], unet: ['diffusers', 'UNet2DModel'] }),
    ),
    'unet/config.json': read(fixturePath('tiny-unet', 'config.json')),
    'unet/diffusion_pytorch_model.safetensors': read(fixturePath('tiny-unet', 'diffusion_pytorch_model.safetensors')),
    'scheduler/scheduler_config.json': read(REPO_ROOT, 'models', 'tiny-random', 'scheduler', 'scheduler_config.json'),
  };
}

function runDocumented(command: string, cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string; stoppedAtBudget: boolean }> {
  const shell = command.replace(/^(npx )?tfjs-diffusers/, `"${process.execPath}" "${CLI_BIN}"`);
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', shell], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    let stoppedAtBudget = false;
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const started = Date.now();
    const timer = setInterval(() => {
      const cpuMs = processGroupCpuMs(child.pid!) ?? (Date.now() - started) * os.availableParallelism();
      if (cpuMs < COMMAND_CPU_BUDGET_MS && Date.now() - started < COMMAND_WALL_LIMIT_MS) return;
      clearInterval(timer);
      stoppedAtBudget = true;
      process.kill(-child.pid!, 'SIGTERM');
    }, 250);
    child.on('close', (code) => {
      clearInterval(timer);
      resolve({ code, out, stoppedAtBudget });
    });
  });
}

describe('the documented tfjs-diffusers commands run as written', () => {
  let hub: FakeHub;
  let root: string;
  beforeAll(async () => {
    hub = new FakeHub();
    const files = pipelineFiles();
    hub.addRepo('google/ddpm-cifar10-32', files, ['unet/diffusion_pytorch_model.safetensors']);
    await hub.start();
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'documented-'));
  });
  afterAll(async () => {
    await hub.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  const all = DOCS.flatMap(documentedCommands);
  test('the docs hold commands to check (README included)', () => {
    expect(all.filter((c) => c.doc === 'README.md').length).toBeGreaterThanOrEqual(4);
  });

  describe.each(DOCS.filter((doc) => documentedCommands(doc).length > 0))('%s', (doc) => {
    let cwd: string;
    let env: NodeJS.ProcessEnv;
    beforeAll(() => {
      // One folder per document, its commands in order (a convert, then a generate from its output), as a reader runs them.
      cwd = fs.mkdtempSync(path.join(root, `${path.basename(doc, '.md')}-`));
      for (const [file, bytes] of Object.entries(pipelineFiles())) {
        fs.mkdirSync(path.dirname(path.join(cwd, 'ddpm-cifar10-32', file)), { recursive: true });
        fs.writeFileSync(path.join(cwd, 'ddpm-cifar10-32', file), bytes);
      }
      env = { ...process.env, HF_ENDPOINT: hub.url, HF_HOME: path.join(root, 'hf-home'), DEBUG: '' };
    });

    test.each(documentedCommands(doc).map((c) => [`line ${c.line}: ${c.command}`, c] as const))('%s', async (_title, { command }) => {
      // A command with --shards runs as pod 0 of a Kubernetes Indexed Job would.
      const run = await runDocumented(command, cwd, /--shards\b/.test(command) ? { ...env, JOB_COMPLETION_INDEX: '0' } : env);
      if (run.stoppedAtBudget) {
        expect(run.out).toMatch(RESULT_LINE);
      } else if (/tfjs-diffusers (verify|merge)\b/.test(command) && run.code === 1) {
        expect(run.out).toMatch(VERIFY_REPORT); // the folder holds only the seeds this test had time for
      } else {
        if (run.code !== 0) throw new Error(`exit ${run.code}:\n${run.out}`);
        expect(run.out).toMatch(RESULT_LINE);
      }
    }, COMMAND_WALL_LIMIT_MS + 30000);
  });
});

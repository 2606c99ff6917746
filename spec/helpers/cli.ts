import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** The built `tfjs-diffusers` bin (package.json's "bin"): what `npx tfjs-diffusers` runs in a user's project. */
export const CLI_BIN = path.join(REPO_ROOT, 'dist', 'node', 'cli', 'main.js');

/** Exit codes of the CLI: 0 success, 1 a runtime error, 2 bad arguments. */
export const EXIT = { ok: 0, runtime: 1, usage: 2 } as const;

/** One finished run of the CLI in a child process. */
export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  cwd: string;
  /** Added to a copy of this process's environment (DEBUG is cleared unless given). */
  env?: Record<string, string | undefined>;
  /** Run it on a pseudo-terminal (util-linux `script`), as a user at a shell: stdout and stderr then arrive merged. */
  tty?: boolean;
  timeoutMs?: number;
}

/**
 * Runs `tfjs-diffusers <args>` as a user does: the built bin, in a fresh Node process, in `cwd`.
 *
 * ```ts
 * const run = await runCli(['generate', '--seed', '0', '--steps', '2'], { cwd: tmp });
 * ```
 */
export function runCli(args: string[], options: CliRunOptions): Promise<CliRun> {
  if (!fs.existsSync(CLI_BIN)) throw new Error(`${CLI_BIN} is missing: \`npm test\` builds it (or run \`npm run build\`)`);
  const env = { ...process.env, DEBUG: '', ...options.env };
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const [file, argv] = options.tty
    ? ['script', ['-qfec', [process.execPath, CLI_BIN, ...args].map(quote).join(' '), '/dev/null']]
    : [process.execPath, [CLI_BIN, ...args]];
  return new Promise((resolve) => {
    execFile(file, argv, { cwd: options.cwd, env, encoding: 'utf8', timeout: options.timeoutMs ?? 120000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const failure = err as (Error & { code?: number | string; signal?: NodeJS.Signals }) | null;
      resolve({
        code: failure === null ? 0 : typeof failure.code === 'number' ? failure.code : null,
        signal: failure?.signal ?? null,
        stdout,
        stderr,
      });
    });
  });
}

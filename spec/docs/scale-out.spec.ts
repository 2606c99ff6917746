import * as fs from 'fs';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';
import { main } from '../../lib/node/cli/main';
import type { CliIO } from '../../lib/node/cli/cli-io';
import { GenerateOptions, RawGenerateOptions, resolveGenerateOptions } from '../../lib/node/cli/arguments';
import { resolveScaleOutOptions } from '../../lib/node/cli/scale-out-options';
import { parseSeedList } from '../../lib/node/cli/arguments';

// docs/scale-out.md's Dockerfile, Kubernetes manifests and Slurm script cannot run here (no cluster, no registry):
// they are validated instead, as the page says ("validated, not run"). Each check below fails on a concrete mistake a
// user would hit: a wrong field name or mode, a shard count that disagrees with the Job, a flag the CLI rejects.
const DOC = fs.readFileSync(path.resolve(__dirname, '..', '..', 'docs', 'scale-out.md'), 'utf8');

function fencedBlocks(language: string): string[] {
  const blocks: string[] = [];
  const fence = new RegExp('^```' + language + '\\n([\\s\\S]*?)^```', 'gm');
  for (let m = fence.exec(DOC); m !== null; m = fence.exec(DOC)) blocks.push(m[1]);
  return blocks;
}

/** Shell words of a command line: whitespace-separated, with '…' and "…" quoting (no expansion). */
function shellWords(line: string): string[] {
  const words: string[] = [];
  const word = /'([^']*)'|"([^"]*)"|(\S+)/g;
  for (let m = word.exec(line); m !== null; m = word.exec(line)) words.push(m[1] ?? m[2] ?? m[3]);
  return words;
}

/** Every `tfjs-diffusers …` command of the sh/bash blocks and the Dockerfile, continuation lines joined. */
function documentedCommands(): string[][] {
  const text = [...fencedBlocks('sh'), ...fencedBlocks('bash'), ...fencedBlocks('dockerfile')].join('\n').replace(/\\\n\s*/g, ' ');
  const commands: string[][] = [];
  for (const line of text.split('\n')) {
    for (const segment of line.split(/&&|\|\||;|'/)) {
      const words = shellWords(segment);
      const at = words.indexOf('tfjs-diffusers');
      if (at !== -1 && words[at + 1] !== undefined && !words[at + 1].startsWith('-')) commands.push(words.slice(at + 1));
    }
  }
  return commands;
}

async function helpFlags(command: string): Promise<Set<string>> {
  let out = '';
  const io: CliIO = { stdout: (t) => void (out += t), stderr: { write: () => true }, env: {}, cwd: process.cwd() };
  expect(await main([command, '--help'], io)).toBe(0);
  return new Set(out.match(/--[a-z][a-z-]*/g));
}

/** `generate`'s argv as commander hands it to the action: camelCase keys, `--no-x` → false, bare flags → true. */
function rawGenerateOptions(argv: string[]): RawGenerateOptions {
  const raw: Record<string, string | boolean> = {};
  const booleans = new Set(['--json', '--force', '--resume', '--no-resume']);
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const key = flag.replace(/^--(no-)?/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    raw[key] = booleans.has(flag) ? !flag.startsWith('--no-') : argv[++i];
  }
  return raw as RawGenerateOptions;
}

function generateAs(argv: string[], env: Record<string, string>): GenerateOptions {
  const raw = rawGenerateOptions(argv);
  return resolveScaleOutOptions(resolveGenerateOptions(raw), raw, env);
}

function yamlDocuments(): Record<string, any>[] {
  return fencedBlocks('yaml').flatMap((block) =>
    parseAllDocuments(block).map((doc) => {
      expect(doc.errors).toEqual([]);
      return doc.toJS() as Record<string, any>;
    }),
  );
}

describe('docs/scale-out.md: validated, not run', () => {
  test('the page says so', () => {
    expect(DOC).toContain('**validated, not run**');
  });

  test('the Dockerfile: Node 20 on Debian, nothing installed but the package (prebuilt native kernels), the CLI as entrypoint', () => {
    const [dockerfile] = fencedBlocks('dockerfile');
    const instructions = dockerfile.replace(/\\\n\s*/g, ' ').split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
    const known = new Set(['FROM', 'RUN', 'WORKDIR', 'COPY', 'ENV', 'ENTRYPOINT', 'CMD', 'ARG', 'USER', 'LABEL']);
    for (const line of instructions) expect(known).toContain(line.split(/\s+/)[0]);
    expect(instructions[0]).toMatch(/^FROM node:20-(bookworm|bullseye|trixie)(-slim)?$/);
    // The native kernels come prebuilt in the package: no oneDNN, no compiler in the image.
    expect(dockerfile).not.toMatch(/libdnnl|\bg\+\+|apt-get install/);
    const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', '..', 'package.json'), 'utf8')) as { name: string; version: string };
    const tarball = `${pkg.name}-${pkg.version}.tgz`; // the name `npm pack` gives
    expect(dockerfile).toContain(`COPY ${tarball} `);
    expect(dockerfile).toMatch(new RegExp(`RUN npm install [^\\n]*/tmp/${tarball.replace(/\./g, '\\.')}`));
    expect(JSON.parse(instructions.find((l) => l.startsWith('ENTRYPOINT'))!.slice('ENTRYPOINT'.length))).toEqual(['tfjs-diffusers']);
  });

  test('the Indexed Job: Indexed mode, completions = --shards, per-index backoff with restartPolicy Never, --out-dir on a RWX volume', () => {
    const docs = yamlDocuments();
    const pvcs = docs.filter((d) => d.kind === 'PersistentVolumeClaim');
    const jobs = docs.filter((d) => d.kind === 'Job');
    for (const job of jobs) expect(job.apiVersion).toBe('batch/v1');
    const indexed = jobs.filter((j) => j.spec.completionMode === 'Indexed');
    expect(indexed).toHaveLength(1);
    const { spec } = indexed[0];
    expect(Number.isInteger(spec.completions) && spec.completions > 0).toBe(true);
    expect(Number.isInteger(spec.parallelism) && spec.parallelism >= 1 && spec.parallelism <= spec.completions).toBe(true);
    expect(Number.isInteger(spec.backoffLimitPerIndex) && spec.backoffLimitPerIndex >= 1).toBe(true);
    expect(spec.template.spec.restartPolicy).toBe('Never');
    const [container] = spec.template.spec.containers;
    expect(container.command).toBeUndefined(); // the image's ENTRYPOINT is tfjs-diffusers; args are its argv
    const argv: string[] = container.args.map(String);
    expect(argv[0]).toBe('generate');
    expect(argv[argv.indexOf('--shards') + 1]).toBe(String(spec.completions));

    // Every index's pod resolves to its own shard of the Job, with resume on; together they cover the seeds once.
    let covered = 0n;
    for (let index = 0; index < spec.completions; index++) {
      const options = generateAs(argv.slice(1), { JOB_COMPLETION_INDEX: String(index) });
      expect(options.shard).toMatchObject({ index, count: spec.completions });
      expect(options.resume).toBe(true);
      covered += options.seeds.count / BigInt(spec.completions) + (BigInt(index) < options.seeds.count % BigInt(spec.completions) ? 1n : 0n);
    }
    const options = generateAs(argv.slice(1), { JOB_COMPLETION_INDEX: '0' });
    expect(covered).toBe(options.seeds.count);
    expect(options.output.kind).toBe('dir');
    const outDir = (options.output as { dir: string }).dir;

    // --out-dir lies in a volume mount whose volume is a claim of ReadWriteMany, shared by every pod.
    const mount = container.volumeMounts.find((m: { mountPath: string }) => outDir.startsWith(`${m.mountPath.replace(/\/$/, '')}/`));
    expect(mount).toBeDefined();
    const volume = spec.template.spec.volumes.find((v: { name: string }) => v.name === mount.name);
    const claim = pvcs.find((c) => c.metadata.name === volume.persistentVolumeClaim.claimName)!;
    expect(claim.spec.accessModes).toContain('ReadWriteMany');

    // The collect Job mounts the same claim and merges the same folder and seeds.
    const collect = jobs.find((j) => j !== indexed[0])!;
    const collectArgs: string[] = collect.spec.template.spec.containers[0].args.map(String);
    expect(collectArgs.slice(0, 2)).toEqual(['merge', outDir]);
    expect(collectArgs[collectArgs.indexOf('--seeds') + 1]).toBe(argv[argv.indexOf('--seeds') + 1]);
    expect(collect.spec.template.spec.volumes[0].persistentVolumeClaim.claimName).toBe(claim.metadata.name);
  });

  test('the Slurm script: an array of one range whose every task resolves to its shard of the same seeds', () => {
    const script = fencedBlocks('bash').find((b) => b.includes('#SBATCH --array'))!;
    expect(script.startsWith('#!/bin/bash\n')).toBe(true);
    expect(script).toContain('#SBATCH --requeue');
    const array = /^#SBATCH --array=(\d+)-(\d+)(?:%\d+)?$/m.exec(script)!;
    const [min, max] = [Number(array[1]), Number(array[2])];
    const generate = documentedCommands().find((c) => c[0] === 'generate' && c.includes('--out-dir') && c.some((w) => w.includes('$HOME')))!;
    for (let id = min; id <= max; id++) {
      const env = {
        SLURM_ARRAY_TASK_ID: String(id),
        SLURM_ARRAY_TASK_MIN: String(min),
        SLURM_ARRAY_TASK_MAX: String(max),
        SLURM_ARRAY_TASK_COUNT: String(max - min + 1),
      };
      expect(generateAs(generate.slice(1), env).shard).toMatchObject({ index: id - min, count: max - min + 1 });
    }
  });

  test("every tfjs-diffusers command on the page uses only its command's flags, with values the CLI accepts", async () => {
    const commands = documentedCommands();
    // The page's commands, sh blocks first (3 in the summary, 3 under "Verify and collect", the dependent Slurm merge),
    // then the Slurm script's and the Dockerfile's: a parser that missed some would check less than the page shows.
    expect(commands.map((c) => c[0])).toEqual(['generate', 'verify', 'merge', 'verify', 'verify', 'merge', 'merge', 'generate', 'generate']);
    const flags = new Map<string, Set<string>>();
    for (const [command, ...args] of commands) {
      if (!flags.has(command)) flags.set(command, await helpFlags(command));
      for (const word of args) if (word.startsWith('--')) expect([command, flags.get(command)!.has(word) ? word : `unknown ${word}`]).toEqual([command, word]);
      if (command === 'generate') {
        const env: Record<string, string> = args.includes('--shards') ? { JOB_COMPLETION_INDEX: '0' } : {};
        expect(() => generateAs(args, env)).not.toThrow();
      } else {
        expect(['verify', 'merge']).toContain(command);
        expect(parseSeedList('--seeds', args[args.indexOf('--seeds') + 1]).count).toBe(50000n);
      }
    }
  });
});

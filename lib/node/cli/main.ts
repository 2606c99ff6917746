#!/usr/bin/env node
import '../register-node-loaders';
import { Command, CommanderError } from 'commander';
import { BACKEND_NAMES } from '../backends/set-backend';
import { resolveBackendOptions, resolveGenerateOptions, RawGenerateOptions, UsageError } from './arguments';
import { OutputFolderError } from '../fs/output-folder';
import { packageVersion } from '../package-version';
import { CliIO, processIO } from './cli-io';
import { runConvertCommand } from './convert';
import { EMBEDDED_MODEL_NOTE } from './embedded-model-note';
import { runGenerate } from './generate';
import { SeedList } from '../scale-out/seed-range';
import { VerifyFailedError } from '../scale-out/verify';
import { kernelsLine } from './kernels-line';
import { resolveScaleOutOptions } from './scale-out-options';
import { addScaleOutCommands, addScaleOutOptions } from './scale-out-commands';
import { addReplayCommand, ReplayMismatchError, ReplayModelUnavailableError } from './replay';
import { assertDemoMayReplace } from './demo-output';
import { safeLine } from './safe-text';

/** Exit codes: 0 success, 1 a runtime error or a folder that fails `verify`, 2 bad arguments (or an output that exists without --force). */
export const EXIT_OK = 0;
export const EXIT_RUNTIME_ERROR = 1;
export const EXIT_USAGE = 2;

/** Where `npm start`'s demo writes its image, relative to the working folder. */
export const DEMO_OUTPUT = 'out/seed0.png';

function buildProgram(io: CliIO): Command {
  const program = new Command('tfjs-diffusers')
    .description(
      "diffusers' DDIMPipeline on TensorFlow.js: the same seed gives the same image as PyTorch, on every tfjs backend.",
    )
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout(text),
      writeErr: (text) => void io.stderr.write(text),
    })
    .version(packageVersion(), '-V, --version', 'print the version of tfjs-diffusers')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', `\n${EMBEDDED_MODEL_NOTE}\n`);

  const generate = program
    .command('generate')
    .description('generate images with a DDIM, DDPM or PNDM pipeline and any scheduler; prints "abs-sum <value>" per seed (np.abs(image).sum())')
    .option('--model <dir|hub-id>', 'a diffusers or converted folder, or a Hub id like google/ddpm-cifar10-32 (default: the embedded random-weight model)')
    .option('--seed <n>', 'seed of a torch.Generator("cpu").manual_seed(n) (default 0)')
    .option('--seeds <list>', 'one run per seed: ranges and lists like 0-15 or 0,3,7-9')
    .option('--steps <n>', 'denoising steps, num_inference_steps (default 50)')
    .option('--eta <x>', "DDIM's eta: 0 deterministic, 1 DDPM-like (default 0)")
    .option('--batch <n>', 'images per run, batch_size; a PNG then holds a grid (default 1)')
    .option('--backend <name>', `tfjs backend: ${BACKEND_NAMES.join(', ')} (default: the fastest installed)`)
    .option('--threads <n>', 'CPU threads: the wasm pool on plain wasm, the native kernels\' pool with them (default: every core)')
    .option('--native <on|off|auto>', 'the native kernels (native/, same bits on every CPU) on wasm: on = required, off = plain wasm, auto = when built (default auto)')
    .option('--out <file.png>', 'write the run\'s image (a grid for a batch) to this PNG')
    .option('--out-dir <dir>', 'write each run\'s PNG to <dir>/seed<N>.png')
    .option('--pipeline <name>', "ddim, ddpm or pndm, as diffusers' DDIMPipeline, DDPMPipeline, PNDMPipeline (default: the model's model_index.json class; ddpm with --scheduler)")
    .option('--scheduler <ClassName>', 'run this scheduler, e.g. DPMSolverMultistepScheduler, made from the model\'s scheduler config (default: the model\'s scheduler)')
    .option(
      '--scheduler-config <key=value>',
      'a scheduler config value, snake_case as in scheduler_config.json, the value parsed as JSON when it parses (repeatable)',
      (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
    )
    .option('--json', 'print one JSON record per run (seed, steps, eta, backend, pipeline, scheduler, absSum, seconds, file) instead of abs-sum')
    .option('--force', 'overwrite existing output files')
    .addHelpText('after', `\nWithout --out or --out-dir no file is written, only the abs-sum (or --json) lines.\n\n${EMBEDDED_MODEL_NOTE}\n`)
    .action(async (raw: RawGenerateOptions) => {
      await runGenerate(resolveScaleOutOptions(resolveGenerateOptions(raw), raw, io.env), io, { keepRecords: false });
    });
  addScaleOutOptions(generate);
  addScaleOutCommands(program, io);
  addReplayCommand(program, io);

  program
    .command('convert')
    .description('convert a diffusers UNet / pipeline folder (safetensors or .bin) to the tfjs format, once')
    .argument('<diffusers_dir>', 'a diffusers pipeline folder (model_index.json, unet/, scheduler/) or a UNet folder')
    .argument('<out_dir>', 'the folder to create')
    .option('--force', 'replace out_dir if it exists')
    .action(async (src: string, out: string, raw: { force?: boolean }) => {
      await runConvertCommand(src, out, { force: Boolean(raw.force) }, io);
    });

  program
    .command('demo')
    .description(`what \`npm start\` runs: the embedded random-weight model, seed 0, 2 steps; writes ${DEMO_OUTPUT}`)
    .option('--backend <name>', `tfjs backend: ${BACKEND_NAMES.join(', ')} (default: the fastest installed)`)
    .option('--threads <n>', 'CPU threads: the wasm pool on plain wasm, the native kernels\' pool with them (default: every core)')
    .option('--native <on|off|auto>', 'the native kernels (native/, same bits on every CPU) on wasm: on = required, off = plain wasm, auto = when built (default auto)')
    .addHelpText('after', `\n${EMBEDDED_MODEL_NOTE}\n`)
    .action(async (raw: { backend?: string; threads?: string; native?: string }) => {
      assertDemoMayReplace(DEMO_OUTPUT, io.cwd);
      const [record] = await runGenerate(
        { seeds: SeedList.single(0n), steps: 2, eta: 0, batch: 1, ...resolveBackendOptions(raw), output: { kind: 'file', file: DEMO_OUTPUT }, json: false, force: true },
        io,
      );
      io.stderr.write(
        `wrote ${record.file} on ${kernelsLine(record.backend)} in ${record.seconds.toFixed(2)} s. The embedded model's weights are random: ` +
          'the image is noise; the number is the point: diffusers on PyTorch gives the same figure for this model and seed ' +
          '(up to the last float32 digit). Real images: tfjs-diffusers generate --model google/ddpm-cifar10-32 --out image.png\n',
      );
    });
  return program;
}

/** An error's message as printed: control characters escaped and the length bounded (safe-text.ts). */
function describeError(err: unknown): string {
  return safeLine(err instanceof Error ? err.message : String(err));
}

/**
 * Runs the command line `argv` (without `node` and the script) and resolves to the exit code; never calls
 * `process.exit`, so tests can call it in-process.
 *
 * ```ts
 * const code = await main(['generate', '--seed', '0', '--steps', '2']);
 * ```
 */
export async function main(argv: string[], io: CliIO = processIO()): Promise<number> {
  const program = buildProgram(io);
  try {
    if (argv.length === 0) {
      program.outputHelp();
      return EXIT_USAGE;
    }
    await program.parseAsync(argv, { from: 'user' });
    return EXIT_OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version end with exit code 0; parse errors were already printed by commander.
      return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    if (err instanceof UsageError || err instanceof OutputFolderError) {
      io.stderr.write(`tfjs-diffusers: ${describeError(err)}\n`);
      return EXIT_USAGE;
    }
    if (err instanceof VerifyFailedError || err instanceof ReplayMismatchError || err instanceof ReplayModelUnavailableError) {
      io.stderr.write(`tfjs-diffusers: ${describeError(err)}\n`);
      return EXIT_RUNTIME_ERROR;
    }
    io.stderr.write(`tfjs-diffusers: error: ${describeError(err)}\n`);
    if (io.env.DEBUG && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`);
    else io.stderr.write('(set DEBUG=1 for the stack trace)\n');
    return EXIT_RUNTIME_ERROR;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`tfjs-diffusers: error: ${describeError(err)}\n`);
      process.exitCode = EXIT_RUNTIME_ERROR;
    },
  );
}

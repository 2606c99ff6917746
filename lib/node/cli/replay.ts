import * as fs from 'fs';
import * as path from 'path';
import type { Command } from 'commander';
import { BACKEND_NAMES } from '../backends/set-backend';
import { backendsByRank } from '../../backends/backend-table';
import { EMBEDDED_MODEL_DIR } from '../embedded-model';
import { FileReadError, readRegularFile } from '../fs/read-file';
import { looksLikePath } from '../hub/model-location';
import { decodePng, encodePng } from '../png';
import { EMBEDDED_MODEL_NAME, ProvenanceError, readProvenance } from '../../pipelines/image-provenance';
import { PngChunkError } from '../../io/png-text-chunk';
import { loadPipeline, pipelineNameOf } from '../../pipelines/pipeline-classes';
import { schedulerFromConfig } from '../../schedulers/registry';
import { Generator } from '../../random/generator';
import { resolveBackendOptions, UsageError } from './arguments';
import type { CliIO } from './cli-io';
import { MEMORY_LIMITS } from '../../config/memory-limits';
import { safeLine } from './safe-text';
import { startBackend } from './generate';
import { kernelPath } from './run-environment';
import { pipelineContentHash } from '../../pipelines/pipeline-content-hash';

/** `replay` found the image not reproduced (or edited): exit code 1, the message says how. */
export class ReplayMismatchError extends Error {
  override name = 'ReplayMismatchError';
}

/**
 * `replay` could not load the model the record names (a browser download's URL that Node cannot reach, a Hub id
 * offline, a folder of another machine): exit code 1; the message names the model and its content hash, which a
 * `--model` must match.
 */
export class ReplayModelUnavailableError extends Error {
  override name = 'ReplayModelUnavailableError';
}

interface ReplayOptions {
  model?: string;
  backend?: string;
  threads?: string;
  native?: string;
}

/**
 * Where the recorded model is on this machine: `--model` if given, the embedded folder, or the name as recorded; an
 * http(s) or `file:` URL (a model a page loaded by URL) as it is.
 */
function modelLocation(recorded: string, override: string | undefined, cwd: string): string {
  const name = override ?? (recorded === EMBEDDED_MODEL_NAME ? EMBEDDED_MODEL_DIR : recorded);
  if (/^(https?|file):\/\//i.test(name)) return name;
  return fs.existsSync(path.resolve(cwd, name)) || looksLikePath(name) ? path.resolve(cwd, name) : name;
}

/**
 * `tfjs-diffusers replay <png>`: reads the provenance chunk `generate` wrote, checks its digests, regenerates the image
 * from it (same model, checked by content hash; same backend unless `--backend`) and says whether the bits are
 * identical, or by how much they differ and why. Exit 0 when identical and unedited, 1 otherwise.
 */
async function runReplay(file: string, raw: ReplayOptions, io: CliIO): Promise<void> {
  const target = path.resolve(io.cwd, file);
  let png: Uint8Array;
  try {
    png = new Uint8Array(readRegularFile(target, { maxBytes: MEMORY_LIMITS.maxOutputPngBytes }));
  } catch (err) {
    if (err instanceof FileReadError && err.problem !== 'unreadable') throw new UsageError(`replay: ${err.message}`);
    throw err;
  }
  let read;
  try {
    read = readProvenance(png);
  } catch (err) {
    if (err instanceof ProvenanceError || err instanceof PngChunkError) throw new UsageError(`replay: ${file}: ${err.message}`);
    throw new UsageError(`replay: ${file}: not a readable PNG (${(err as Error).message})`);
  }
  const { record, problems } = read;
  const seed = BigInt(record.seed);
  // The record is the file's text: printed through safeLine (control characters escaped, length bounded).
  io.stderr.write(
    `${safeLine(
      `replay: seed ${record.seed}, ${record.steps} step${record.steps === 1 ? '' : 's'}, eta ${record.eta}, batch ${record.batch}, ` +
        `model ${record.model} (${record.modelHash.slice(0, 19)}…), recorded on ${record.backend} (${record.kernelPath}, ${record.cpuIsa}) by ${record.library}`,
    )}\n`,
  );
  // The recorded backend unless told otherwise. A page's webgl has no Node counterpart: the default backend then,
  // said on stderr (the verdict says why the bits differ). webgpu runs in Node through Dawn (dawn-webgpu.ts), though
  // never as the default.
  const recordedHere = [...backendsByRank('node'), 'webgpu'].find((b) => b === record.backend);
  if (raw.backend === undefined && recordedHere === undefined) {
    io.stderr.write(`${safeLine(`replay: the recorded backend ${record.backend} does not run in Node: replaying on the default backend (--backend to choose)`)}\n`);
  }
  const backendName = raw.backend ?? recordedHere;
  // The recorded kernel path: plain wasm (a page's, or generate --native off) replays with the native kernels off.
  const native = raw.native ?? (raw.backend === undefined && record.backend === 'wasm' && record.kernelPath === 'wasm' ? 'off' : undefined);
  const backendOptions = resolveBackendOptions({ ...raw, backend: backendName, native });
  const backend = await startBackend(backendOptions);
  // The recorded pipeline class with the recorded scheduler config (generate's --pipeline / --scheduler).
  // Built before the model is loaded: a bad scheduler config is the record's fault, not the model's.
  const scheduler = schedulerFromConfig(record.scheduler);
  let pipeline;
  try {
    pipeline = await loadPipeline(modelLocation(record.model, raw.model, io.cwd), {
      pipeline: pipelineNameOf(record.pipeline) ?? 'ddim',
      scheduler: () => scheduler,
      env: io.env,
      onStatus: (message) => void io.stderr.write(`${safeLine(message)}\n`),
      onWarning: (message) => void io.stderr.write(`warning: ${safeLine(message)}\n`),
    });
  } catch (err) {
    const where = raw.model === undefined ? `as recorded, ${JSON.stringify(record.model)}` : `--model ${JSON.stringify(raw.model)}`;
    throw new ReplayModelUnavailableError(
      `replay: not replayed: the model this image needs (${where}; content hash ${record.modelHash}) cannot be loaded here: ` +
        `${(err as Error).message}; pass --model <a folder, Hub id or URL of the model with that content hash>`,
      { cause: err },
    );
  }
  let regenerated: Uint8Array;
  try {
    const modelHash = await pipelineContentHash(pipeline);
    if (modelHash !== record.modelHash) {
      throw new ReplayMismatchError(`replay: not replayed: the model found (${modelHash.slice(0, 19)}…) is not the recorded one (${record.modelHash.slice(0, 19)}…); pass --model <the model the image was made with>`);
    }
    const { images } = await pipeline.generate({ batchSize: record.batch, generator: new Generator().manualSeed(seed), eta: record.eta, numInferenceSteps: record.steps, outputType: 'array' });
    regenerated = encodePng(images);
  } finally {
    pipeline.dispose();
  }
  const recorded = decodePng(png);
  const again = decodePng(regenerated);
  const nowPath = kernelPath(backend);
  let differing = 0;
  let maxDiff = 0;
  if (recorded.data.length === again.data.length && recorded.width === again.width) {
    for (let i = 0; i < again.data.length; i++) {
      const d = Math.abs(again.data[i] - recorded.data[i]);
      if (d !== 0) differing++;
      if (d > maxDiff) maxDiff = d;
    }
  } else {
    differing = Math.max(recorded.data.length, again.data.length);
    maxDiff = 255;
  }
  for (const problem of problems) io.stderr.write(`replay: ${problem}\n`);
  if (differing === 0) {
    io.stdout(`identical: ${file} is reproduced bit for bit (${backend}, ${nowPath})\n`);
  } else {
    const why =
      nowPath !== record.kernelPath
        ? `another kernel path: recorded ${record.kernelPath}, this run ${nowPath} (the same seed gives last-digit float differences across kernels)`
        : problems.length > 0
          ? 'the file was edited after it was written'
          : `the same kernel path (${nowPath}): the image or its metadata was changed, or the model files differ`;
    io.stdout(`differs: ${differing} of ${again.data.length} bytes, by at most ${maxDiff}/255; why: ${why}\n`);
  }
  if (differing !== 0 || problems.length > 0) {
    throw new ReplayMismatchError(`replay: ${file} ${differing === 0 ? 'regenerates identically but was edited' : 'is not reproduced'}`);
  }
}

/** Adds `replay <png>` to the CLI. */
export function addReplayCommand(program: Command, io: CliIO): void {
  program
    .command('replay')
    .description('regenerate a PNG written by generate from the provenance it carries and say whether the bits are identical')
    .argument('<png>', 'a PNG written by tfjs-diffusers generate')
    .option('--model <dir|hub-id|url>', 'where the recorded model is on this machine (default: as recorded)')
    .option('--backend <name>', `tfjs backend: ${BACKEND_NAMES.join(', ')} (default: the recorded one)`)
    .option('--threads <n>', 'CPU threads (as for generate)')
    .option('--native <on|off|auto>', 'the native kernels on wasm (as for generate; default: as recorded, off for plain wasm)')
    .action(async (file: string, raw: ReplayOptions) => {
      await runReplay(file, raw, io);
    });
}

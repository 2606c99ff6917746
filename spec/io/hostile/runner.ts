// The child side of run-hostile.ts: runs one task on hostile inputs and prints one line
// `HOSTILE-RESULT [outcome, ...]`. Bundled by esbuild, run with a heap limit and a timeout by the tests.
import * as fs from 'fs';
import { readJsonFile } from '../../../lib/node/fs/read-file';
import { readWeightFile } from '../../../lib/node/fs/read-state-dict';
import { readSafetensors } from '../../../lib/io/safetensors';
import { readTorchCheckpoint } from '../../../lib/io/torch-pickle';
import { fuzzSafetensorsHeader } from '../fuzz/safetensors-fuzz';
import { fuzzTorchPickle, fuzzTorchZip } from '../fuzz/torch-fuzz';
import { manyEmptyTensorsHeader } from '../safetensors-bytes';

function outcome(run: () => unknown): unknown {
  const start = performance.now();
  const done = (o: Record<string, unknown>) => ({ ...o, ms: Math.round(performance.now() - start), maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024) });
  try {
    return done({ result: 'ok', summary: run() });
  } catch (err) {
    const e = err as Error;
    return done({ result: 'error', name: e?.constructor?.name ?? typeof err, message: String(e?.message).slice(0, 4000) });
  }
}

const [task, ...args] = process.argv.slice(2);
const read = (file: string) => new Uint8Array(fs.readFileSync(file));
const size = (sd: Map<string, unknown>) => ({ tensors: sd.size });

const tasks: Record<string, () => unknown[]> = {
  safetensors: () => args.map((f) => outcome(() => size(readSafetensors(read(f), f)))),
  torch: () => args.map((f) => outcome(() => size(readTorchCheckpoint(read(f), f)))),
  'weight-file': () => args.map((f) => outcome(() => size(readWeightFile(f)))),
  'json-file': () => args.map((f) => outcome(() => typeof readJsonFile(f))),
  // Written here, not in the test: the file is tens of MB.
  'safetensors-empty-tensors': () => [outcome(() => size(readSafetensors(manyEmptyTensorsHeader(Number(args[0])), `${args[0]}-empty-tensors.safetensors`)))],
  'fuzz-safetensors': () => [outcome(() => fuzzSafetensorsHeader(Number(args[0]), Number(args[1])))],
  'fuzz-pickle': () => [outcome(() => fuzzTorchPickle(Number(args[0]), Number(args[1])))],
  'fuzz-zip': () => [outcome(() => fuzzTorchZip(Number(args[0]), Number(args[1])))],
};

if (!Object.prototype.hasOwnProperty.call(tasks, task)) {
  console.error(`unknown task ${task}`);
  process.exit(2);
}
const outcomes = tasks[task]();
process.stdout.write(`HOSTILE-RESULT ${JSON.stringify(outcomes)}\n`);

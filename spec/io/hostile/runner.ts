// The child side of the hostile-input tests: each task reads hostile inputs with the library's readers. Run by
// run-hostile.ts through spec/helpers/run-isolated.ts (a heap and address-space limit, a timeout, SIGKILL).
import * as fs from 'fs';
import { readJsonFile } from '../../../lib/node/fs/read-file';
import { readWeightFile } from '../../../lib/node/fs/read-state-dict';
import { readSafetensors } from '../../../lib/io/safetensors';
import { readTorchCheckpoint } from '../../../lib/io/torch-pickle';
import { isolatedMain } from '../../helpers/run-isolated';
import { fuzzSafetensorsHeader } from '../fuzz/safetensors-fuzz';
import { fuzzTorchPickle, fuzzTorchZip } from '../fuzz/torch-fuzz';
import { measureScaling } from '../fuzz/time-property';
import { manyEmptyTensorsHeader } from '../../../test-support/safetensors-bytes';

const read = (file: string) => new Uint8Array(fs.readFileSync(file));
const size = (sd: Map<string, unknown>) => ({ tensors: sd.size });

isolatedMain({
  // The same process reading nothing: its peak RSS is what loading the readers costs.
  baseline: () => [() => null],
  safetensors: (args) => args.map((f) => () => size(readSafetensors(read(f), f))),
  torch: (args) => args.map((f) => () => size(readTorchCheckpoint(read(f), f))),
  'weight-file': (args) => args.map((f) => () => size(readWeightFile(f))),
  'json-file': (args) => args.map((f) => () => typeof readJsonFile(f)),
  // Written here, not in the test: the file is tens of MB.
  'safetensors-empty-tensors': (args) => [() => size(readSafetensors(manyEmptyTensorsHeader(Number(args[0])), `${args[0]}-empty-tensors.safetensors`))],
  'fuzz-safetensors': (args) => [() => fuzzSafetensorsHeader(Number(args[0]), Number(args[1]))],
  'fuzz-pickle': (args) => [() => fuzzTorchPickle(Number(args[0]), Number(args[1]))],
  'fuzz-zip': (args) => [() => fuzzTorchZip(Number(args[0]), Number(args[1]))],
  // One reader, one generated input shape (fast-check seed), one scale: the fastest of a few reads.
  scaling: (args) => [() => measureScaling(args[0], Number(args[1]), Number(args[2]))],
});

import { CheckpointError } from './checkpoint-error';
import { StateDict } from './state-dict';

/** PyTorch `torch.save` checkpoints (.bin): the zip + pickle reader lands in the next commit. */
export function readTorchCheckpoint(_bytes: Uint8Array, source: string): StateDict {
  throw new CheckpointError(source, 'PyTorch .bin checkpoints are not readable yet; use the .safetensors file');
}

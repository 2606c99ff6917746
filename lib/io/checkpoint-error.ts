/**
 * A checkpoint file that cannot be read: the message names the file, the tensor (when there is one) and the bad
 * value, e.g. `model.safetensors: tensor "conv_in.weight": dtype "Q8" is not supported (supported: F32, F16, BF16, F64)`.
 */
export class CheckpointError extends Error {
  /** The file (or folder) being read. */
  readonly source: string;
  /** The tensor or entry the problem is about, when there is one. */
  readonly key?: string;

  constructor(source: string, message: string, key?: string) {
    super(key === undefined ? `${source}: ${message}` : `${source}: tensor ${JSON.stringify(key)}: ${message}`);
    this.name = 'CheckpointError';
    this.source = source;
    this.key = key;
  }
}

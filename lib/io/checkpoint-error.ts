import { describeValue } from './describe-value';
import { MAX_DESCRIBED_CHARS } from './reader-limits';

/**
 * A checkpoint file that cannot be read: the message names the file, the tensor (when there is one) and the bad
 * value, e.g. `model.safetensors: tensor "conv_in.weight": dtype "Q8" is not supported (supported: F32, F16, BF16, F64)`.
 * Every failure of the weight readers (`readSafetensors`, `readTorchCheckpoint`, `readWeightFile`,
 * `readStateDict`) is one; `cause` keeps the lower-level error where there was one (an fs error, a pickle error).
 */
export class CheckpointError extends Error {
  /** The file (or folder) being read. */
  readonly source: string;
  /** The tensor or entry the problem is about, when there is one. */
  readonly key?: string;

  constructor(source: string, message: string, key?: string, options?: { cause?: unknown }) {
    super(
      key === undefined ? `${source}: ${message}` : `${source}: tensor ${describeValue(key, { maxChars: MAX_DESCRIBED_CHARS })}: ${message}`,
      options,
    );
    this.name = 'CheckpointError';
    this.source = source;
    this.key = key;
  }
}

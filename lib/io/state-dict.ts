/**
 * A checkpoint's tensors as read from disk, before any mapping to tfjs layers: PyTorch names and
 * PyTorch layouts (conv weights OIHW, linear weights [out, in]), always upcast to float32, row-major.
 */
export interface NamedTensor {
  shape: number[];
  data: Float32Array;
}

/** Tensor name → tensor, in file order. */
export type StateDict = Map<string, NamedTensor>;

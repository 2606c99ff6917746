// STUB: the random helper replaces this file (torch.Generator("cpu") port).
/** A seeded CPU generator reproducing `torch.Generator("cpu")`. */
export class Generator {
  manualSeed(_seed: number | bigint | string): this {
    throw new Error('Generator: not implemented yet');
  }
}

/**
 * The largest PNG file `verify`, `merge` and `generate --resume` read from an output folder: a 64 × 64 grid of
 * 32 × 32 RGB images is about 13 MB uncompressed, so 64 MiB bounds what a hostile or broken folder can make them read.
 */
export const MAX_OUTPUT_PNG_BYTES = 64 * 1024 * 1024;

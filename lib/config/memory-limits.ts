/**
 * The limits that protect memory (and the disk reads that would fill it), in one place: weight files, generated
 * tensors, images per run and per forward, the memory budgets of a run, and the files the CLI reads back (PNG outputs,
 * manifests). Config limits are {@link CONFIG_LIMITS} in `./limits.ts`; the limits of the readers of untrusted bytes
 * are in `lib/io/reader-limits.ts` (lib/io cannot import lib/config). docs/checkpoints.md ("Config limits" and
 * "Memory limits") lists each with its reason; `spec/config/memory-limits.spec.ts` fails when a limit is defined
 * anywhere else.
 */
export const MEMORY_LIMITS = Object.freeze({
  /**
   * Largest weight file read whole into memory on disk (`readRegularFile` of `readStateDict` and the tfjs shards):
   * 4 GiB, ~29 × google/ddpm-cifar10-32's 143 MB and ~4 × the largest published `UNet2DModel` we know of
   * (ldm-celebahq-256, ~1.1 GB of float32). Node lowers it to its Buffer limit where that is smaller
   * (`MAX_WEIGHT_FILE_BYTES` of lib/node/fs/read-file.ts).
   */
  maxWeightFileBytes: 4 * 1024 ** 3,
  /**
   * Bytes a weight file may hold per parameter its config implies: 8, a float64 (the widest dtype the readers
   * accept). See {@link maxWeightFileBytesFor}.
   */
  weightFileBytesPerParameter: 8,
  /** Bytes a weight file may hold beyond its tensors: 16 MiB for the safetensors header, pickle and zip structure. */
  weightFileOverheadBytes: 16 * 1024 * 1024,
  /**
   * Bytes one read of an asynchronous weight-file read asks for (`readRegularFileAsync`): 16 MiB, ~10 ms of disk or
   * page cache, so the event loop turns (and a SIGTERM is acted on) between reads; no extra memory (it reads into
   * the file's one buffer).
   */
  weightFileReadChunkBytes: 16 * 1024 * 1024,
  /**
   * Most elements of one tensor `randn` / `randnTensor` generate (one typed array): 2^32 − 1, V8's own limit on older
   * engines, so a shape is refused with its element count instead of a bare RangeError.
   */
  maxTensorElements: 2 ** 32 - 1,
  /**
   * The most images one CLI run (`--batch`) may hold: 4096 CIFAR-sized images are 50 MB per float32 tensor and a
   * 64 × 64 grid PNG; beyond that a run fails late on memory instead of at once on its arguments.
   */
  maxImagesPerRun: 4096,
  /**
   * The most images per UNet forward whatever the memory (`DEFAULT_MAX_BATCH_PER_FORWARD`): 16; more no longer
   * batches better on any backend.
   */
  maxBatchPerForward: 16,
  /**
   * The activation memory one forward may use when the pipeline sizes its forwards: 1 GiB, a quarter of the wasm
   * backend's 4 GiB heap (the tightest of the backends), leaving room for the weights, the samples and the
   * scheduler's state.
   */
  forwardMemoryBudgetBytes: 1024 ** 3,
  /**
   * The estimate a whole run may reach before it is refused (`DEFAULT_MEMORY_BUDGET_BYTES`): 4 GiB, where the wasm
   * backend's heap stops (a wasm32 memory); the other backends rarely have more free.
   */
  runMemoryBudgetBytes: 4 * 1024 ** 3,
  /**
   * The largest PNG file `verify`, `merge`, `generate --resume` and `replay` read: a 64 × 64 grid of 32 × 32 RGB
   * images is about 13 MB uncompressed, so 64 MiB bounds what a hostile or broken file can make them read.
   */
  maxOutputPngBytes: 64 * 1024 * 1024,
  /**
   * The largest existing file `demo` reads to see whether it wrote it (its provenance chunk): 16 MiB, above the
   * demo's own output (one small PNG of a few KB) by far; a larger file is not ours.
   */
  maxDemoProbeBytes: 16 * 1024 * 1024,
  /**
   * Most pixels `decodePng` decodes by default: 2^26 (an 8192 × 8192 image; 256 MB as pngjs' RGBA). A 64 × 64 grid of
   * 32 × 32 images is 2^22. Checked from the IHDR chunk before anything is inflated: a 1 KB file claiming
   * 30000 × 30000 pixels used to take 10 GB.
   */
  maxDecodedPngPixels: 2 ** 26,
  /**
   * The most seeds one `verify` (or `merge`) covers. Its memory is fixed by the range (10 bytes a seed, 16 more for
   * `merge`), not by the records, so 2^25 seeds need ~340 MB (~870 MB for merge).
   */
  maxVerifySeeds: 2 ** 25,
  /**
 * Longest manifest (JSONL) line read as a record: 64 KiB. A record is under 1 KiB; a longer line is not one, and is
 * not kept whole (a hostile file cannot fill memory).
 */
  maxManifestLineBytes: 64 * 1024,
  /**
   * Longest scheduler config a manifest record embeds as is (characters of its JSON): 4 KiB; a longer one (long
   * `trained_betas`) is recorded as its class and sha256, so records stay well under {@link maxManifestLineBytes}.
   */
  maxManifestSchedulerChars: 4096,
});

/**
 * The largest weight file a UNet of `parameters` parameters can have: {@link MEMORY_LIMITS}'
 * `weightFileBytesPerParameter` per parameter plus `weightFileOverheadBytes`. A file above it cannot fit the config,
 * so it is refused before it is read.
 *
 * ```ts
 * maxWeightFileBytesFor(35_746_307); // 302,747,608 (google/ddpm-cifar10-32: its .bin is 143 MB)
 * ```
 */
export function maxWeightFileBytesFor(parameters: number): number {
  return parameters * MEMORY_LIMITS.weightFileBytesPerParameter + MEMORY_LIMITS.weightFileOverheadBytes;
}

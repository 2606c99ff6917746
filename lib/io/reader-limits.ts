/**
 * The limits the checkpoint readers enforce on untrusted files, in one place (docs/checkpoints.md lists them with
 * their reasons). Each is far above what a real diffusers checkpoint needs and far below what would let a small
 * hostile file take minutes or gigabytes.
 */

/**
 * Most tensors in one checkpoint. The DDPM UNet has 328, Stable Diffusion's UNet about 700, SDXL's about 1,700;
 * 100,000 leaves room for any model while a header of 1.4 M zero-size tensors (83 MB) is refused outright.
 */
export const MAX_TENSOR_COUNT = 100_000;

/** Most dimensions of one tensor (PyTorch kernels stop at 25; a UNet uses at most 4). */
export const MAX_TENSOR_RANK = 64;

/**
 * Largest safetensors header. The reference implementation allows 100 MB; a header takes about 100 bytes a
 * tensor, so 16 MiB holds {@link MAX_TENSOR_COUNT} tensors with room to spare while bounding the JSON parse.
 */
export const SAFETENSORS_MAX_HEADER_BYTES = 16 * 1024 * 1024;

/**
 * JSON bounds for a safetensors header: the format nests 3 deep (header → entry → shape); 8 leaves room for a
 * precise error about a wrong type. Values: about 10 per tensor (entry, dtype, shape dims, offsets).
 */
export const SAFETENSORS_HEADER_JSON_LIMITS = { maxDepth: 8, maxValues: 20 * MAX_TENSOR_COUNT } as const;

/**
 * The largest JSON file a model folder may hold or the Hub client may download (config.json, model_index.json,
 * scheduler_config.json, a converted model.json: the 35.7 M-parameter google/ddpm-cifar10-32's model.json is
 * 0.3 MB): 8 MiB. The one definition: the model sources, the file reader and the Hub session read it from here.
 */
export const MAX_JSON_FILE_BYTES = 8 * 1024 * 1024;

/**
 * How deep a JSON file may nest (`DEFAULT_JSON_LIMITS.maxDepth`, and the model sources' `MAX_JSON_DEPTH`): 64. A
 * diffusers config nests at most 3 levels; deeper is refused by a scan before `JSON.parse` could overflow the stack.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Most values of one JSON file (`DEFAULT_JSON_LIMITS.maxValues`): 1,000,000. A diffusers config holds a few hundred
 * (a 4000-entry `trained_betas` a few thousand); the bound keeps what JSON.parse builds to tens of MB.
 */
export const MAX_JSON_VALUES = 1_000_000;

/** Longest value or key quoted in an error message (the rest is elided with `...`). */
export const MAX_DESCRIBED_CHARS = 120;

/**
 * Longest tensor name, storage key or JSON object key the readers accept. Real names are under 200 characters (SDXL's
 * longest is about 90). The bound is what keeps the readers linear: V8 hashes a string of more than 16,383 characters
 * by its length alone, so a Map or an object keyed by many such strings degenerates into a list and every lookup
 * compares whole strings (issue 22: 1 MB of 60,000-character keys did not finish in 120 s).
 */
export const MAX_NAME_CHARS = 4096;

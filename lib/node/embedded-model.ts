import * as path from 'path';

/**
 * The folder of the model shipped with the package, `models/tiny-random`: the tiny random-weight test UNet (same
 * block layout as google/ddpm-cifar10-32, 565,315 parameters) converted to the tfjs format, with
 * google/ddpm-cifar10-32's scheduler config. Its weights are RANDOM: it shows that a seed reproduces PyTorch's
 * numbers, not pictures. An absolute path, resolved from `lib/node/` and `dist/node/` alike (both two levels below
 * the package root), so it works from any working directory.
 */
export const EMBEDDED_MODEL_DIR = path.resolve(__dirname, '..', '..', 'models', 'tiny-random');

/**
 * The embedded model as `DDIMPipeline.fromPretrained` takes it, in CommonJS and ESM (the browser entry exports a URL
 * of the same name).
 *
 * ```ts
 * import { DDIMPipeline, EMBEDDED_MODEL } from 'tfjs-diffusers';
 * const pipeline = await DDIMPipeline.fromPretrained(EMBEDDED_MODEL);
 * ```
 * @alias EMBEDDED_MODEL_DIR, under the name the browser entry uses too
 */
export const EMBEDDED_MODEL: string = EMBEDDED_MODEL_DIR;

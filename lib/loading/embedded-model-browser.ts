import { bundleRelativeUrl } from './bundle-url';

/**
 * The model shipped with the package (`models/tiny-random`: the tiny random-weight test UNet in the tfjs format with
 * google/ddpm-cifar10-32's scheduler), as a URL for `DDIMPipeline.fromPretrained` in a browser: resolved against the
 * bundle (dist/browser/tfjs-diffusers.esm.js → `../../models/tiny-random/`), so it works wherever the package's
 * files are served as they are installed. Unbundled (another bundler), `models/tiny-random/` relative to the page:
 * serve the package's `models/` folder there. Its weights are random: it shows that a seed reproduces PyTorch's
 * numbers, not pictures.
 *
 * ```js
 * const pipeline = await DDIMPipeline.fromPretrained(EMBEDDED_MODEL);
 * ```
 */
export const EMBEDDED_MODEL: string = bundleRelativeUrl('../../models/tiny-random/') ?? 'models/tiny-random/';

import type { ImagesNHWC } from './image-bytes';

/**
 * An image with NaN or ±Inf values: what a model with non-finite weights, a scheduler with out-of-range betas or an
 * out-of-range eta produces. Such an image would encode as a black PNG and an `abs-sum NaN` line; it is an error
 * instead, before anything is written.
 */
class NonFiniteImageError extends Error {
  override name = 'NonFiniteImageError';
}

/**
 * Throws a {@link NonFiniteImageError} (`what` first, then how many values are NaN and ±Inf) when `images` holds a
 * non-finite value.
 *
 * ```ts
 * assertFiniteImages(images, 'seed 3'); // NonFiniteImageError: seed 3: the image has 3072 NaN and 0 infinite values ...
 * ```
 */
export function assertFiniteImages(images: ImagesNHWC, what: string): void {
  let nan = 0;
  let infinite = 0;
  for (let i = 0; i < images.data.length; i++) {
    const v = images.data[i];
    if (v !== v) nan++;
    else if (v === Infinity || v === -Infinity) infinite++;
  }
  if (nan === 0 && infinite === 0) return;
  throw new NonFiniteImageError(
    `${what}: the image has ${nan} NaN and ${infinite} infinite value(s) of ${images.data.length}: the model's weights or ` +
      'scheduler config hold non-finite or out-of-range values (or the run overflowed); nothing was written for it',
  );
}

import { imageAbsSum } from '../../lib/pipelines/image-abs-sum';
import { loadFixture } from '../helpers/fixtures';

interface PipelineCase {
  id: string;
  image_abs_sum: number;
  images: { shape: [number, number, number, number]; data: number[] };
}

describe('imageAbsSum', () => {
  const { cases } = loadFixture<{ cases: PipelineCase[] }>('pipeline.json');

  // The fixture's image_abs_sum is numpy's float32 np.abs(image).sum() on the same float32 images: summing in
  // numpy's order (pairwise, NCHW memory order) must reproduce it bit for bit.
  test.each(cases.map((c) => [c.id, c] as const))('%s: equals numpy float32 figure exactly', (_id, c) => {
    expect(imageAbsSum({ shape: c.images.shape, data: Float32Array.from(c.images.data) })).toBe(c.image_abs_sum);
  });

  test('counts negative values by magnitude', () => {
    expect(imageAbsSum({ shape: [1, 1, 2, 2], data: [-1, 2, -3, 4] })).toBe(10);
  });

  test('refuses data that does not fit the shape', () => {
    expect(() => imageAbsSum({ shape: [1, 2, 2, 3], data: [1] })).toThrow('imageAbsSum: data holds 1 values but shape [1,2,2,3] needs 12');
  });
});

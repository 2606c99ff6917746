import { decodePng, encodePng, floatToByte, gridLayout } from '../../lib/node/png';

describe('floatToByte (diffusers numpy_to_pil: (x * 255).round().astype(uint8))', () => {
  // Reference computed with numpy 2.4 on float32 inputs: np.array(v, np.float32) * 255 → .round() → uint8.
  // The inputs include products that land exactly on .5 after float32 rounding (2.5, 3.5, 25.5, 178.5, 254.5),
  // where numpy rounds half to even.
  const inputs = [
    0.0, 1.0, 0.5, 0.009803921915590763, 0.013725490309298038, 0.998039186000824, 0.10000000149011612,
    0.20000000298023224, 0.699999988079071, 0.9990000128746033, 9.999999717180685e-10, 0.5118216276168823,
    0.9504637122154236, 0.14415961503982544, 0.9486494660377502, 0.31183144450187683,
  ];
  const numpyBytes = [0, 255, 128, 2, 4, 254, 26, 51, 178, 255, 0, 131, 242, 37, 242, 80];

  test('matches numpy byte for byte, halves to even', () => {
    expect(inputs.map(floatToByte)).toEqual(numpyBytes);
  });

  test('clamps out-of-range values and maps NaN to 0', () => {
    expect([-0.5, 1.5, NaN].map(floatToByte)).toEqual([0, 255, 0]);
  });
});

describe('gridLayout', () => {
  test('is as square as possible', () => {
    expect([1, 2, 3, 4, 5, 16, 17].map(gridLayout)).toEqual([
      { rows: 1, cols: 1 },
      { rows: 1, cols: 2 },
      { rows: 2, cols: 2 },
      { rows: 2, cols: 2 },
      { rows: 2, cols: 3 },
      { rows: 4, cols: 4 },
      { rows: 4, cols: 5 },
    ]);
  });
  test('rejects a non-positive count', () => {
    expect(() => gridLayout(0)).toThrow('count must be a positive integer, got 0');
  });
});

/** A batch whose every value says where it is: sample n, row y, column x, channel c. */
function labelledBatch(batch: number, height: number, width: number, channels: number): Float32Array {
  const data = new Float32Array(batch * height * width * channels);
  for (let n = 0; n < batch; n++)
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++)
        for (let c = 0; c < channels; c++) {
          data[((n * height + y) * width + x) * channels + c] = ((n * 37 + y * 11 + x * 5 + c * 3) % 256) / 255;
        }
  return data;
}

describe('encodePng / decodePng', () => {
  test('one RGB image round-trips to numpy_to_pil bytes', () => {
    const data = labelledBatch(1, 5, 7, 3);
    const decoded = decodePng(encodePng({ shape: [1, 5, 7, 3], data }));
    expect([decoded.width, decoded.height, decoded.channels]).toEqual([7, 5, 3]);
    expect(Array.from(decoded.data)).toEqual(Array.from(data, floatToByte));
  });

  test('a batch of 3 becomes a 2×2 grid, row by row, black where no image is', () => {
    const [b, h, w, c] = [3, 4, 6, 3];
    const data = labelledBatch(b, h, w, c);
    const decoded = decodePng(encodePng({ shape: [b, h, w, c], data }));
    expect([decoded.width, decoded.height]).toEqual([2 * w, 2 * h]);
    const pixel = (gx: number, gy: number) => Array.from(decoded.data.subarray((gy * 2 * w + gx) * 3, (gy * 2 * w + gx) * 3 + 3));
    for (let n = 0; n < 4; n++) {
      const [x0, y0] = [(n % 2) * w, Math.floor(n / 2) * h];
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          const expected =
            n < b ? Array.from(data.subarray(((n * h + y) * w + x) * c, ((n * h + y) * w + x) * c + 3), floatToByte) : [0, 0, 0];
          expect(pixel(x0 + x, y0 + y)).toEqual(expected);
        }
    }
  });

  test('grey and RGBA images keep their channels', () => {
    const grey = labelledBatch(1, 3, 3, 1);
    const g = decodePng(encodePng({ shape: [1, 3, 3, 1], data: grey }));
    expect(g.channels).toBe(1);
    expect(Array.from(g.data)).toEqual(Array.from(grey, floatToByte));
    const rgba = labelledBatch(1, 3, 3, 4);
    const a = decodePng(encodePng({ shape: [1, 3, 3, 4], data: rgba }));
    expect(a.channels).toBe(4);
    expect(Array.from(a.data)).toEqual(Array.from(rgba, floatToByte));
  });

  test('the same images give the same bytes', () => {
    const data = labelledBatch(2, 8, 8, 3);
    expect(Buffer.from(encodePng({ shape: [2, 8, 8, 3], data })).equals(Buffer.from(encodePng({ shape: [2, 8, 8, 3], data })))).toBe(true);
  });

  test('bad shapes are refused with the shape in the message', () => {
    expect(() => encodePng({ shape: [1, 2, 2, 2], data: new Float32Array(8) })).toThrow(
      'encodePng: expected 1, 3 or 4 channels (NHWC), got shape [1,2,2,2] with channels=2',
    );
    expect(() => encodePng({ shape: [1, 2, 2, 3], data: new Float32Array(5) })).toThrow(
      'encodePng: data holds 5 values but shape [1,2,2,3] needs 12',
    );
  });
});

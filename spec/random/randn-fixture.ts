import { FixtureArray, loadFixture } from '../helpers/fixtures';

/** The parts of spec/fixtures/randn.json the random tests read. */
export interface RandnCall {
  shape: number[];
  dtype: 'float32' | 'float64';
}

export interface RandnCase {
  id: string;
  kind: 'randn' | 'randn_sequence';
  seed: string;
  seed_low32: number;
  calls: RandnCall[];
  outputs: FixtureArray[];
}

export interface RandnTensorListCase {
  id: string;
  kind: 'randn_tensor_generator_list';
  seeds: string[];
  shape: number[];
  output: FixtureArray;
  checks: {
    list_equals_concat_of_per_seed_randn: boolean;
    single_batch_elem0_equals_list_elem0: boolean;
    single_batch_equals_list_batch: boolean;
  };
}

export interface RandnTensorSingleCase {
  id: string;
  kind: 'randn_tensor_single_generator';
  seed: string;
  shape: number[];
  output: FixtureArray;
}

export interface DefaultCapabilityCase {
  seed: string;
  shape: number[];
  dtype: 'float32';
  output: FixtureArray;
  bitwise_equal_elements_vs_avx2: number;
  numel: number;
  max_abs_diff_vs_avx2: number;
}

export interface RandnFixture {
  cases: Array<RandnCase | RandnTensorListCase | RandnTensorSingleCase>;
  default_capability_cases: DefaultCapabilityCase[];
}

export const randnFixture = (): RandnFixture => loadFixture<RandnFixture>('randn.json');

export function randnCases(kind: 'randn' | 'randn_sequence'): RandnCase[] {
  return randnFixture().cases.filter((c): c is RandnCase => c.kind === kind);
}

/** Indices where the float32 bit patterns of `actual` and `expected` differ (expected holds float32 values as doubles). */
export function float32BitMismatches(actual: Float32Array, expected: ArrayLike<number>): number[] {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} vs ${expected.length}`);
  const expectedF32 = Float32Array.from(expected);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expectedF32.buffer);
  const bad: number[] = [];
  for (let i = 0; i < a.length; i++) if (a[i] !== e[i]) bad.push(i);
  return bad;
}

/** Maps a double's bits to an integer that is monotonic in the value, so that ULP distance is a subtraction. */
function orderedBits(x: number): bigint {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigInt64(0);
  return bits < 0n ? -(bits & 0x7fffffffffffffffn) : bits;
}

/** Distance in units in the last place between two finite doubles (0 for equal values, +0 and -0 included). */
export function ulpDistance64(a: number, b: number): bigint {
  const d = orderedBits(a) - orderedBits(b);
  return d < 0n ? -d : d;
}

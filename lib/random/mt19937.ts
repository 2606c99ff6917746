/**
 * The 32-bit Mersenne Twister (MT19937) exactly as PyTorch's CPU generator runs it
 * (`aten/src/ATen/core/MT19937RNGEngine.h`): standard `init_genrand` seeding from the low 32 bits
 * of the seed, the standard twist, and the standard tempering.
 */

/** Number of 32-bit words of MT19937 state. */
export const MT19937_STATE_SIZE = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

/** A plain copy of the engine's state: the 624 words and the position of the next word to temper. */
export interface MT19937State {
  state: Uint32Array;
  /** 0..624; 624 means the state is regenerated (twisted) before the next draw. */
  index: number;
}

/**
 * The MT19937 engine. One instance owns its state; `nextUint32()` draws one tempered 32-bit word.
 *
 * ```ts
 * const mt = new MT19937(5489);
 * mt.nextUint32(); // 3499211612, the reference first output for seed 5489
 * ```
 */
export class MT19937 {
  private readonly state = new Uint32Array(MT19937_STATE_SIZE);
  private index = MT19937_STATE_SIZE;

  constructor(seed32 = 5489) {
    this.seed(seed32);
  }

  /** `init_genrand`: seeds from a 32-bit unsigned integer (callers pass the low 32 bits of torch's 64-bit seed). */
  seed(seed32: number): void {
    const st = this.state;
    st[0] = seed32 >>> 0;
    for (let i = 1; i < MT19937_STATE_SIZE; i++) {
      const prev = st[i - 1] ^ (st[i - 1] >>> 30);
      // 1812433253 * prev mod 2^32, split so that no product exceeds 2^53.
      st[i] = (((((prev & 0xffff0000) >>> 16) * 1812433253) << 16) + (prev & 0x0000ffff) * 1812433253 + i) >>> 0;
    }
    this.index = MT19937_STATE_SIZE;
  }

  /** The standard twist: regenerates all 624 words. */
  private twist(): void {
    const st = this.state;
    const n = MT19937_STATE_SIZE;
    let k = 0;
    for (; k < n - M; k++) {
      const y = (st[k] & UPPER_MASK) | (st[k + 1] & LOWER_MASK);
      st[k] = st[k + M] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    for (; k < n - 1; k++) {
      const y = (st[k] & UPPER_MASK) | (st[k + 1] & LOWER_MASK);
      st[k] = st[k + (M - n)] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    const y = (st[n - 1] & UPPER_MASK) | (st[0] & LOWER_MASK);
    st[n - 1] = st[M - 1] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    this.index = 0;
  }

  /** One tempered 32-bit output, as an unsigned number in [0, 2^32). */
  nextUint32(): number {
    if (this.index >= MT19937_STATE_SIZE) this.twist();
    let y = this.state[this.index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /**
   * Writes `count` float uniforms `(u & 0xFFFFFF) · 2^-24` (torch's `uniform_real_distribution<float>`)
   * into `out[start ..]`, one draw each, in order.
   */
  fillUniformFloat(out: Float32Array | Float64Array, start: number, count: number): void {
    const st = this.state;
    let index = this.index;
    const end = start + count;
    for (let i = start; i < end; i++) {
      if (index >= MT19937_STATE_SIZE) {
        this.twist();
        index = 0;
      }
      let y = st[index++];
      y ^= y >>> 11;
      y ^= (y << 7) & 0x9d2c5680;
      y ^= (y << 15) & 0xefc60000;
      y ^= y >>> 18;
      out[i] = (y & 0xffffff) * 5.9604644775390625e-8; // 2^-24
    }
    this.index = index;
  }

  /** torch's `uniform_real_distribution<double>`: two draws `(hi << 32 | lo) & (2^53 - 1)`, times 2^-53. */
  nextUniformDouble(): number {
    const hi = this.nextUint32();
    const lo = this.nextUint32();
    return ((hi & 0x1fffff) * 4294967296 + lo) * 1.1102230246251565e-16; // 2^-53
  }

  /** A copy of the state (the words are copied, not shared). */
  getState(): MT19937State {
    return { state: this.state.slice(), index: this.index };
  }

  /** Restores a state from {@link getState} (copied in). */
  setState(s: MT19937State): void {
    if (s.state.length !== MT19937_STATE_SIZE) {
      throw new Error(`MT19937.setState: state has ${s.state.length} words, expected ${MT19937_STATE_SIZE}`);
    }
    if (!Number.isInteger(s.index) || s.index < 0 || s.index > MT19937_STATE_SIZE) {
      throw new Error(`MT19937.setState: index=${s.index} is not an integer in [0, ${MT19937_STATE_SIZE}]`);
    }
    this.state.set(s.state);
    this.index = s.index;
  }
}

import { MT19937, MT19937_STATE_SIZE } from './mt19937';

/** Seed of a fresh `torch.Generator()` (and of a fresh {@link Generator}). */
export const DEFAULT_SEED = 67280421310721n;

const TWO_64 = 1n << 64n;
/** torch's `manual_seed` range, [−2^63, 2^64 − 1] (negative seeds wrap to unsigned 64 bits). */
export const MIN_SEED = -(1n << 63n);
export const MAX_SEED = TWO_64 - 1n;

/**
 * A JSON-serializable snapshot of a {@link Generator}: `JSON.parse(JSON.stringify(state))` restores
 * the same stream.
 */
export interface GeneratorState {
  /** Format version of this snapshot. */
  version: 1;
  /** The seed as an unsigned 64-bit decimal string (what `initialSeed()` returns). */
  seed: string;
  /** The 624 MT19937 state words, each in [0, 2^32). */
  mt: number[];
  /** Position of the next state word to temper, in [0, 624]. */
  index: number;
  /**
   * The cached second normal of torch's serial Box–Muller (`next_double_normal_sample`), or null.
   * Stored exactly as a double (JSON round-trips doubles exactly).
   */
  nextDoubleNormal: number | null;
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'object' && value !== null) return Array.isArray(value) ? 'an array' : 'an object';
  return String(value);
}

/** Parses and range-checks a seed as `torch.Generator.manual_seed` does; returns it as unsigned 64-bit. */
function normalizeSeed(seed: unknown, where = 'manualSeed'): bigint {
  let big: bigint;
  if (typeof seed === 'bigint') {
    big = seed;
  } else if (typeof seed === 'number') {
    if (!Number.isInteger(seed)) {
      throw new Error(`${where}: seed=${describeValue(seed)} is not an integer`);
    }
    if (!Number.isSafeInteger(seed)) {
      throw new Error(
        `${where}: seed=${seed} is beyond Number.MAX_SAFE_INTEGER, so it may already have been rounded; ` +
          `pass it as a bigint (${BigInt(seed)}n) or a decimal string`,
      );
    }
    big = BigInt(seed);
  } else if (typeof seed === 'string') {
    const text = seed.trim();
    if (!/^[+-]?(\d+|0[xX][0-9a-fA-F]+)$/.test(text)) {
      throw new Error(`${where}: seed=${describeValue(seed)} is not a decimal (or 0x hexadecimal) integer string`);
    }
    const negative = text.startsWith('-');
    const digits = text.replace(/^[+-]/, '');
    big = negative ? -BigInt(digits) : BigInt(digits);
  } else {
    throw new Error(`${where}: seed must be a number, bigint or string, got ${typeof seed} ${describeValue(seed)}`);
  }
  if (big < MIN_SEED || big > MAX_SEED) {
    throw new Error(`${where}: seed=${big} is out of range [-2^63, 2^64-1] = [${MIN_SEED}, ${MAX_SEED}]`);
  }
  return big < 0n ? big + TWO_64 : big;
}

/** 53 non-deterministic bits, like c10's `getNonDeterministicRandom` (crypto when present, else time + Math.random). */
function nonDeterministicSeed(): bigint {
  const words = new Uint32Array(2);
  const cryptoApi = (globalThis as { crypto?: { getRandomValues?: (a: Uint32Array) => Uint32Array } }).crypto;
  if (cryptoApi?.getRandomValues) {
    cryptoApi.getRandomValues(words);
  } else {
    words[0] = (Date.now() ^ (Math.random() * 0x100000000)) >>> 0;
    words[1] = (Math.random() * 0x100000000) >>> 0;
  }
  return ((BigInt(words[0]) << 32n) | BigInt(words[1])) & ((1n << 53n) - 1n);
}

/**
 * A seeded CPU random generator that reproduces `torch.Generator("cpu")`: the same seed gives the same
 * stream of numbers as PyTorch, so {@link randn} and {@link randnTensor} give torch's values bit for bit.
 *
 * ```ts
 * const g = new Generator().manualSeed(0);   // torch.Generator("cpu").manual_seed(0)
 * const noise = randn([1, 3, 32, 32], { generator: g });
 * const saved = g.getState();                // JSON-serializable
 * g.setState(saved);
 * ```
 */
export class Generator {
  private readonly engine = new MT19937();
  private seedValue: bigint = DEFAULT_SEED;
  private nextDoubleNormal: number | null = null;

  /** A generator seeded with torch's default seed 67280421310721, like `torch.Generator()`. */
  constructor() {
    this.manualSeed(DEFAULT_SEED);
  }

  /**
   * Seeds the generator, like `torch.Generator.manual_seed`: any integer in [-2^63, 2^64-1] as a number
   * (a safe integer), a bigint, or a decimal string. Negative seeds are taken mod 2^64; MT19937 uses the
   * low 32 bits, so 2^32+5 and 5 give the same stream. Clears the cached normal. Returns `this`.
   *
   * ```ts
   * const g = new Generator().manualSeed('18446744073709551615'); // same stream as manualSeed(-1)
   * ```
   */
  manualSeed(seed: number | bigint | string): this {
    const unsigned = normalizeSeed(seed, 'Generator.manualSeed');
    this.seedValue = unsigned;
    this.engine.seed(Number(unsigned & 0xffffffffn));
    this.nextDoubleNormal = null;
    return this;
  }

  /** The seed last set (unsigned 64-bit), like `torch.Generator.initial_seed()`. */
  initialSeed(): bigint {
    return this.seedValue;
  }

  /**
   * Seeds from a non-deterministic source (53 bits, as c10 does) and returns that seed,
   * like `torch.Generator.seed()`.
   */
  seed(): bigint {
    const s = nonDeterministicSeed();
    this.manualSeed(s);
    return s;
  }

  /** A JSON-serializable snapshot of the whole state, cached normal included (`torch.Generator.get_state`). */
  getState(): GeneratorState {
    const { state, index } = this.engine.getState();
    return {
      version: 1,
      seed: this.seedValue.toString(),
      mt: Array.from(state),
      index,
      nextDoubleNormal: this.nextDoubleNormal,
    };
  }

  /** Restores a snapshot from {@link getState} (also after a JSON round trip). Returns `this`. */
  setState(state: GeneratorState): this {
    if (typeof state !== 'object' || state === null) {
      throw new Error(`Generator.setState: state must be an object from getState(), got ${describeValue(state)}`);
    }
    if (state.version !== 1) {
      throw new Error(`Generator.setState: state.version=${describeValue(state.version)} is not supported (expected 1)`);
    }
    const seed = normalizeSeed(state.seed, 'Generator.setState: state.seed');
    if (!Array.isArray(state.mt) || state.mt.length !== MT19937_STATE_SIZE) {
      const got = Array.isArray(state.mt) ? `${state.mt.length} entries` : describeValue(state.mt);
      throw new Error(`Generator.setState: state.mt must be an array of ${MT19937_STATE_SIZE} words, got ${got}`);
    }
    const words = new Uint32Array(MT19937_STATE_SIZE);
    for (let i = 0; i < MT19937_STATE_SIZE; i++) {
      const w = state.mt[i];
      if (!Number.isInteger(w) || w < 0 || w > 0xffffffff) {
        throw new Error(`Generator.setState: state.mt[${i}]=${describeValue(w)} is not an integer in [0, 2^32)`);
      }
      words[i] = w;
    }
    if (!Number.isInteger(state.index) || state.index < 0 || state.index > MT19937_STATE_SIZE) {
      throw new Error(
        `Generator.setState: state.index=${describeValue(state.index)} is not an integer in [0, ${MT19937_STATE_SIZE}]`,
      );
    }
    const cached = state.nextDoubleNormal;
    if (cached !== null && (typeof cached !== 'number' || !Number.isFinite(cached))) {
      throw new Error(`Generator.setState: state.nextDoubleNormal=${describeValue(cached)} is not a finite number or null`);
    }
    this.engine.setState({ state: words, index: state.index });
    this.seedValue = seed;
    this.nextDoubleNormal = cached;
    return this;
  }

  /** An independent copy: drawing from one does not move the other. */
  clone(): Generator {
    return new Generator().setState(this.getState());
  }

  /** @internal The MT19937 engine, for the samplers of this package. */
  get mt19937(): MT19937 {
    return this.engine;
  }

  /**
   * @internal torch's `at::normal_distribution<double>` (one value; the serial path of randn):
   * returns the cached normal if there is one, else draws u1 then u2 (double uniforms), returns
   * `r·cos θ` and caches `r·sin θ`, with `r = sqrt(-2 ln(1 - u2))`, `θ = 2π u1`.
   */
  nextNormalDouble(): number {
    const cached = this.nextDoubleNormal;
    if (cached !== null) {
      this.nextDoubleNormal = null;
      return cached;
    }
    const u1 = this.engine.nextUniformDouble();
    const u2 = this.engine.nextUniformDouble();
    const r = Math.sqrt(-2 * Math.log(1 - u2));
    const theta = 2 * Math.PI * u1;
    this.nextDoubleNormal = r * Math.sin(theta);
    return r * Math.cos(theta);
  }
}

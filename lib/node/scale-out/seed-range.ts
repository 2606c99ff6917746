/**
 * Seed lists kept as ranges, never expanded: `--seeds 0-49999` costs one range, and a shard takes its part of a
 * list by arithmetic on positions (see shard.ts) before a single seed is produced.
 */

/** An inclusive run of consecutive seeds, `from` … `to`. */
export interface SeedSpan {
  from: bigint;
  to: bigint;
}

/**
 * An ordered list of seeds made of {@link SeedSpan}s, as `--seeds 0-3,10,7` gives it: positions 0 … count − 1 in
 * the order written. No seed appears twice (the parser refuses overlaps).
 *
 * ```ts
 * const list = new SeedList([{ from: 0n, to: 3n }, { from: 10n, to: 10n }]);
 * list.count;              // 5n
 * [...list.seeds(1n, 4n)]; // [1n, 2n, 3n]
 * ```
 */
export class SeedList {
  readonly spans: readonly SeedSpan[];
  /** How many seeds the list holds. */
  readonly count: bigint;
  /** `starts[i]`: the position of `spans[i].from` in the list. */
  private readonly starts: bigint[];

  constructor(spans: readonly SeedSpan[]) {
    for (const span of spans) {
      if (span.to < span.from) throw new Error(`SeedList: span ${span.from}-${span.to} ends before it starts`);
    }
    this.spans = spans.map((s) => ({ from: s.from, to: s.to }));
    this.starts = [];
    let position = 0n;
    for (const span of this.spans) {
      this.starts.push(position);
      position += span.to - span.from + 1n;
    }
    this.count = position;
  }

  /** The list of one seed. */
  static single(seed: bigint): SeedList {
    return new SeedList([{ from: seed, to: seed }]);
  }

  /**
   * The seeds at positions `start` (inclusive) … `end` (exclusive), lazily, in list order.
   *
   * ```ts
   * [...new SeedList([{ from: 5n, to: 9n }]).seeds(1n, 3n)]; // [6n, 7n]
   * ```
   */
  *seeds(start = 0n, end = this.count): Generator<bigint> {
    if (start < 0n) start = 0n;
    if (end > this.count) end = this.count;
    for (let i = 0; i < this.spans.length && start < end; i++) {
      const spanStart = this.starts[i];
      const span = this.spans[i];
      const spanEnd = spanStart + (span.to - span.from + 1n);
      if (start >= spanEnd) continue;
      const stop = end < spanEnd ? end : spanEnd;
      for (let p = start; p < stop; p++) yield span.from + (p - spanStart);
      start = stop;
    }
  }

  /** The spans covering positions `start` … `end` (exclusive): a sub-list, still unexpanded. */
  slice(start: bigint, end: bigint): SeedList {
    const spans: SeedSpan[] = [];
    for (let i = 0; i < this.spans.length; i++) {
      const spanStart = this.starts[i];
      const span = this.spans[i];
      const spanEnd = spanStart + (span.to - span.from + 1n);
      const from = start > spanStart ? start : spanStart;
      const to = end < spanEnd ? end : spanEnd;
      if (from < to) spans.push({ from: span.from + (from - spanStart), to: span.from + (to - 1n - spanStart) });
    }
    return new SeedList(spans);
  }

  /** Span indices sorted by `from`, built on the first {@link positionOf}. */
  private bySeed: number[] | undefined;

  /**
   * The position of `seed` in the list, or undefined when it is not in it: a binary search over the spans.
   *
   * ```ts
   * new SeedList([{ from: 10n, to: 19n }, { from: 0n, to: 4n }]).positionOf(2n); // 12n
   * ```
   */
  positionOf(seed: bigint): bigint | undefined {
    if (this.bySeed === undefined) {
      this.bySeed = this.spans.map((_, i) => i).sort((a, b) => (this.spans[a].from < this.spans[b].from ? -1 : 1));
    }
    let lo = 0;
    let hi = this.bySeed.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const span = this.spans[this.bySeed[mid]];
      if (seed < span.from) hi = mid - 1;
      else if (seed > span.to) lo = mid + 1;
      else return this.starts[this.bySeed[mid]] + (seed - span.from);
    }
    return undefined;
  }

  /**
   * The two spans that share a seed, or undefined when every seed appears once. Sorting the spans, not the seeds:
   * O(spans · log spans) whatever the count.
   */
  findOverlap(): { first: SeedSpan; second: SeedSpan; seed: bigint } | undefined {
    const sorted = [...this.spans].sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : 0));
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i].from <= sorted[i - 1].to) return { first: sorted[i - 1], second: sorted[i], seed: sorted[i].from };
    }
    return undefined;
  }

  /** The list as `--seeds` writes it: `0-3,10`. */
  toString(): string {
    return formatSpans(this.spans);
  }
}

/** The file name `generate --out-dir` gives a seed's PNG: `seed<N>.png`. */
export function seedFileName(seed: bigint): string {
  return `seed${seed}.png`;
}

/** `[{0,3},{10,10}]` → `0-3,10`. */
function formatSpans(spans: readonly SeedSpan[]): string {
  return spans.map((s) => (s.from === s.to ? `${s.from}` : `${s.from}-${s.to}`)).join(',');
}

/**
 * Sorted seeds → the fewest spans (`[1,2,3,7]` → `1-3,7`): how reports name many seeds in one line.
 * Feeds one seed at a time, so a caller streaming seeds keeps only the spans.
 */
export class SpanCollector {
  readonly spans: SeedSpan[] = [];
  /** Seeds added. */
  count = 0;

  add(seed: bigint): void {
    this.count++;
    const last = this.spans[this.spans.length - 1];
    if (last !== undefined && seed === last.to + 1n) last.to = seed;
    else this.spans.push({ from: seed, to: seed });
  }

  /** At most `maxSpans` spans as text, then `… (N seeds in all)` when there are more. */
  describe(maxSpans = 20): string {
    const shown = formatSpans(this.spans.slice(0, maxSpans));
    return this.spans.length > maxSpans ? `${shown},… (${this.count} seeds in all)` : shown;
  }
}

// Bookkeeping shared by the fuzzers: what each input came to, and the "result or named error" property.
import { CheckpointError } from '../../../lib/io/checkpoint-error';

/** Counts of what the generated inputs came to, by outcome (`ok` or the error's kind). */
export class OutcomeCounter {
  readonly counts: Record<string, number> = Object.create(null);
  runs = 0;

  constructor(
    /** Error kinds (see `kind`) raised by the parser's first check: the inputs that did not get past it. */
    private readonly firstCheckKinds: readonly string[],
    /** Kind of an error message: the first pattern it matches, else 'other'. */
    private readonly kinds: readonly [string, RegExp][],
  ) {}

  record(kind: string): void {
    this.runs++;
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
  }

  kindOf(message: string): string {
    for (const [name, pattern] of this.kinds) if (pattern.test(message)) return name;
    return 'other';
  }

  summary(ms: number, seed: number): FuzzSummary {
    const stoppedAtFirstCheck = this.firstCheckKinds.reduce((n, k) => n + (this.counts[k] ?? 0), 0);
    return { runs: this.runs, pastFirstCheck: this.runs - stoppedAtFirstCheck, ok: this.counts.ok ?? 0, counts: { ...this.counts }, ms: Math.round(ms), seed };
  }
}

export interface FuzzSummary {
  runs: number;
  /** Inputs that got past the parser's first check (so the generator reaches the deeper checks). */
  pastFirstCheck: number;
  /** Inputs read without error. */
  ok: number;
  counts: Record<string, number>;
  ms: number;
  seed: number;
}

/**
 * Runs `read` and checks "a result or a named error, nothing else": a `CheckpointError` whose message starts with
 * `source: `, and `Object.prototype` untouched. Returns the outcome kind; throws (failing the property) otherwise.
 */
export function resultOrNamedError(read: () => unknown, source: string, counter: OutcomeCounter): string {
  let kind = 'ok';
  try {
    read();
  } catch (err) {
    if (!(err instanceof CheckpointError) || !err.message.startsWith(`${source}: `)) {
      throw new Error(`not a named CheckpointError naming the file: ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`, { cause: err });
    }
    if (err.message.length > 2000) throw new Error(`unbounded error message (${err.message.length} characters)`, { cause: err });
    kind = counter.kindOf(err.message);
    if (kind === 'other' && process.env.FUZZ_DEBUG) console.error(err.message);
  } finally {
    if (Object.keys(Object.prototype).length > 0 || ({} as Record<string, unknown>).polluted !== undefined) {
      // eslint-disable-next-line no-unsafe-finally -- a polluted prototype must fail the property even when read() threw
      throw new Error('Object.prototype was polluted');
    }
  }
  counter.record(kind);
  return kind;
}

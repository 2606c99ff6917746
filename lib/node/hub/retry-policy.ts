/**
 * When to ask the Hub again: a 429 (rate limited) or a 5xx that a later answer may cure (500, 502, 503, 504) is
 * retried up to the session's `retries`, after the server's `Retry-After` (seconds or an HTTP date) when it sends one,
 * capped at {@link MAX_RETRY_AFTER_MS} so a hostile or confused server cannot park a run for hours, else after the
 * session's doubling pause (huggingface_hub backs off the same way on 429 and 5xx).
 *
 * ```ts
 * retryDelayMs(503, '2', 0, 1000);   // 2000
 * retryDelayMs(404, null, 0, 1000);  // null: not retried
 * ```
 */

/** The longest pause a Retry-After header can ask for. */
export const MAX_RETRY_AFTER_MS = 60_000;

/** HTTP statuses worth asking again. */
const RETRIED_STATUSES: ReadonlySet<number> = new Set([429, 500, 502, 503, 504]);

/** A Retry-After value in milliseconds from now (delay-seconds or an HTTP-date), or undefined when absent or malformed. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d{1,10}$/.test(text)) return Number(text) * 1000;
  if (text.length > 64) return undefined;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * The pause before retry number `attempt` (0-based) of an answer with `status` and `retryAfter` header, or null when
 * the status is not retried.
 */
export function retryDelayMs(status: number, retryAfter: string | null, attempt: number, baseDelayMs: number): number | null {
  if (!RETRIED_STATUSES.has(status)) return null;
  const asked = parseRetryAfter(retryAfter);
  return Math.min(MAX_RETRY_AFTER_MS, asked ?? baseDelayMs * 2 ** attempt);
}

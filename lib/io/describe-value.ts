/**
 * A short, bounded, JSON-like description of any value for an error message: at most `maxChars` characters, built
 * iteratively, visiting each node once and stopping as soon as the text is long enough. So a value from a hostile
 * file (a pickle whose memo makes `x = [y, y]` forty levels deep, a 10 MB string, a nesting deeper than the call
 * stack) costs O(maxChars) to describe, never its full size.
 *
 * ```ts
 * describeValue({ shape: [16, -1] });         // '{"shape":[16,-1]}'
 * describeValue('x'.repeat(1e7)).length;      // 80
 * ```
 */
export function describeValue(value: unknown, options: DescribeOptions = {}): string {
  const maxChars = options.maxChars ?? 80;
  let out = '';
  // Work list, last first: either a value to write or literal text (separators, closing brackets).
  const work: WorkItem[] = [{ value }];
  while (work.length > 0 && out.length <= maxChars) {
    const item = work.pop()!;
    if (item.text !== undefined) {
      out += item.text;
      continue;
    }
    const v = item.value;
    const special = options.special?.(v);
    if (special !== undefined) {
      out += special;
    } else if (v === undefined) {
      out += 'undefined';
    } else if (v === null || typeof v === 'boolean' || typeof v === 'number') {
      out += v === null ? 'null' : typeof v === 'number' && !Number.isFinite(v) ? String(v) : JSON.stringify(v);
    } else if (typeof v === 'bigint') {
      out += v.toString();
    } else if (typeof v === 'string') {
      out += JSON.stringify(v.length > maxChars ? v.slice(0, maxChars) : v);
    } else if (v instanceof Uint8Array) {
      out += `<${v.length} bytes>`;
    } else if (Array.isArray(v)) {
      pushContainer(work, '[', ']', v.slice(0, maxChars).map((element): WorkItem[] => [{ value: element }]), v.length > maxChars);
    } else if (v instanceof Map) {
      const members: { key: unknown; value: unknown }[] = [];
      for (const [key, member] of v) {
        if (members.length > maxChars) break;
        members.push({ key, value: member });
      }
      pushMembers(work, members, v.size > members.length);
    } else if (typeof v === 'object') {
      const members: { key: unknown; value: unknown }[] = [];
      for (const key in v) {
        if (!Object.prototype.hasOwnProperty.call(v, key)) continue;
        if (members.length > maxChars) break;
        members.push({ key, value: (v as Record<string, unknown>)[key] });
      }
      pushMembers(work, members, false);
    } else {
      out += typeof v;
    }
  }
  return out.length > maxChars ? `${out.slice(0, maxChars - 3)}...` : out;
}

export interface DescribeOptions {
  /** Longest result (default 80); longer descriptions end in `...`. */
  maxChars?: number;
  /** The text for values the caller knows better (e.g. a storage reference); undefined: describe as usual. */
  special?: (value: unknown) => string | undefined;
}

/** A piece of the description still to write: literal text, or a value to describe. */
type WorkItem = { text: string; value?: undefined } | { text?: undefined; value: unknown };

/** Schedules `open part, part, ... close` (each part a few work items) to be written next. */
function pushContainer(work: WorkItem[], open: string, close: string, parts: WorkItem[][], more: boolean): void {
  const sequence: WorkItem[] = [{ text: open }];
  parts.forEach((part, i) => {
    if (i > 0) sequence.push({ text: ',' });
    sequence.push(...part);
  });
  if (more) sequence.push({ text: ',...' });
  sequence.push({ text: close });
  for (let i = sequence.length - 1; i >= 0; i--) work.push(sequence[i]);
}

function pushMembers(work: WorkItem[], members: { key: unknown; value: unknown }[], more: boolean): void {
  const parts = members.map((m): WorkItem[] => [{ value: typeof m.key === 'string' ? m.key : String(m.key) }, { text: ':' }, { value: m.value }]);
  pushContainer(work, '{', '}', parts, more);
}

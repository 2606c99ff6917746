/**
 * Text the CLI prints that may hold a file's contents (a tensor name, a config key, a manifest field inside an
 * error or a warning) is made safe for a terminal: control characters — C0 and C1 (ANSI escape sequences start with
 * ESC or CSI), DEL, and the Unicode line and bidi overrides — are written as `\uXXXX`, so a name cannot move the
 * cursor, recolour the screen or print a line of its own (a fake `ok: every seed verified`); and a line is cut at
 * {@link MAX_PRINTED_LINE_CHARS} characters, so a 10 MB name cannot become a 10 MB message.
 *
 * ```ts
 * safeLine('tensor "\u001b[2K\rok: every seed verified"'); // 'tensor "\\u001b[2K\\u000dok: every seed verified"'
 * ```
 */

/** Longest line printed from an error or a warning; the rest is elided with a count. */
const MAX_PRINTED_LINE_CHARS = 4000;

// eslint-disable-next-line no-control-regex -- this pattern exists to find control characters and escape them
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** `text` with every control character (tab excepted) written as `\uXXXX`. */
function escapeControlCharacters(text: string): string {
  return text.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** `text` escaped ({@link escapeControlCharacters}) and cut to `maxChars`, saying how much was left out. */
export function safeLine(text: string, maxChars = MAX_PRINTED_LINE_CHARS): string {
  const cut = text.length > maxChars ? `${text.slice(0, maxChars)}… (${text.length - maxChars} more characters)` : text;
  return escapeControlCharacters(cut);
}

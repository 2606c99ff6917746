import * as fs from 'fs';
import * as path from 'path';

/**
 * The file every folder that tfjs-diffusers writes whole (a converted model, a converted pipeline) carries, so that
 * `force` can tell its own output from a user's folder: `force` replaces a folder only if it is empty or holds this
 * marker, never anything else.
 */
export const OUTPUT_MARKER = '.tfjs-diffusers-output';

/** A folder that `force` may not replace, or an output that overlaps its source: the message says which and why. */
export class OutputFolderError extends Error {
  override name = 'OutputFolderError';
  constructor(
    message: string,
    readonly folder: string,
  ) {
    super(message);
  }
}

/** The marker's contents: what wrote the folder (informational; only the file's presence counts). */
export function outputMarkerText(writer: string): string {
  return `${JSON.stringify({ written_by: 'tfjs-diffusers', writer })}\n`;
}

/**
 * Throws an {@link OutputFolderError} unless `target` is absent, an empty folder, or a folder tfjs-diffusers wrote
 * (it holds {@link OUTPUT_MARKER}). A file, a symbolic link or any other folder is refused, `force` or not.
 */
export function assertReplaceableOutput(target: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(target);
  } catch {
    return;
  }
  if (!stat.isDirectory()) {
    throw new OutputFolderError(`${target} exists and is not a folder; refusing to replace it`, target);
  }
  const entries = fs.readdirSync(target);
  if (entries.length === 0 || entries.includes(OUTPUT_MARKER)) return;
  throw new OutputFolderError(
    `${target} exists and was not written by tfjs-diffusers (it holds ${entries.length} ${entries.length === 1 ? "entry" : "entries"} and no ${OUTPUT_MARKER} ` +
      'marker); refusing to replace it even with --force: choose a new folder, or remove it yourself',
    target,
  );
}

/** `p` resolved through every symbolic link of its longest existing prefix (the rest appended as is). */
function realPathOf(p: string): string {
  const absolute = path.resolve(p);
  let existing = absolute;
  const rest: string[] = [];
  while (!fs.existsSync(existing)) {
    const parent = path.dirname(existing);
    if (parent === existing) break;
    rest.unshift(path.basename(existing));
    existing = parent;
  }
  return path.join(fs.realpathSync(existing), ...rest);
}

function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Throws an {@link OutputFolderError} when the output folder is the source folder, lies inside it, or contains it
 * (symbolic links resolved): replacing such an output would delete the source, or write into it.
 *
 * ```ts
 * assertOutputOutsideSource('models/my-unet', 'models'); // throws: models contains the source models/my-unet
 * ```
 */
export function assertOutputOutsideSource(source: string, output: string): void {
  const src = realPathOf(source);
  const out = realPathOf(output);
  if (src === out) throw new OutputFolderError(`the output folder ${output} is the source folder ${source}`, output);
  if (isInside(out, src)) throw new OutputFolderError(`the output folder ${output} lies inside the source folder ${source}`, output);
  if (isInside(src, out)) {
    throw new OutputFolderError(`the output folder ${output} contains the source folder ${source}; replacing it would delete the source`, output);
  }
}

import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { decodePng } from '../png';
import { readRegularFileInside, UnsafeFileError } from '../fs/regular-file';
import { MEMORY_LIMITS } from '../../config/memory-limits';
import { forEachManifestLine, ManifestRecord, parseRecord, recordSeed } from './manifest';
import { seedFileName, SeedList, SpanCollector } from './seed-range';
import { parseManifestFileName } from './shard';

/** `verify` failed: the report on stdout says what is missing or wrong. The CLI exits with code 1. */
export class VerifyFailedError extends Error {
  override name = 'VerifyFailedError';
}

/** Detail lines kept per kind of problem; the count of the rest is given. */
const DETAILS_PER_KIND = 20;

/** Settings whose mix across records `verify` reports, with the kernel path (and the CPU ISA where it matters). */
const CONSISTENCY_KEYS = ['steps', 'eta', 'batch', 'shape', 'model', 'modelHash', 'pipeline', 'scheduler', 'library', 'backend', 'kernel'] as const;
const MAX_DISTINCT_VALUES = 8;

/**
 * The kernels that decide the bits: the native kernels (`tfjsd-kernels-N`) and plain wasm give the same bits on every
 * CPU (the ISA does not count); records of the oneDNN-based native kernels of earlier versions (`onednn` in the
 * kernel path) gave other bits on AVX2 and AVX-512, so for them the CPU ISA counts.
 */
function bitsDecidingKernel(record: Pick<ManifestRecord, 'kernelPath' | 'cpuIsa'>): string {
  return record.kernelPath.includes('onednn') ? `${record.kernelPath} on ${record.cpuIsa}` : record.kernelPath;
}

/** Problems of one kind: a count and the first few detail lines. */
class ProblemList {
  count = 0;
  readonly details: string[] = [];
  constructor(readonly kind: string) {}

  add(detail: string): void {
    this.count++;
    if (this.details.length < DETAILS_PER_KIND) this.details.push(detail);
  }

  lines(): string[] {
    const more = this.count - this.details.length;
    return [...this.details, ...(more > 0 ? [`${this.kind}: … and ${more} more`] : [])];
  }
}

/** Where each seed's counted record is: for `merge`, which reads them back in seed order. */
export interface RecordIndex {
  manifests: string[];
  /** Per position: the manifest's index in `manifests`, −1 for none. */
  manifest: Int16Array;
  offset: Float64Array;
  length: Uint32Array;
}

export interface VerifyReport {
  dir: string;
  seeds: SeedList;
  manifests: string[];
  records: number;
  /** Every line of the report, in order: a summary, the problems, the notes, and the verdict. */
  lines: string[];
  problemCount: number;
  index?: RecordIndex;
}

export interface VerifyOptions {
  /** Check each PNG against its record (default true); false checks the records alone. */
  checkFiles?: boolean;
  /** Keep where each seed's record is (for `merge`). */
  keepIndex?: boolean;
}

/** The manifests of `dir` (`manifest-<I>-of-<N>.jsonl`), sorted by N then I. */
function listManifests(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .map((name) => ({ name, parsed: parseManifestFileName(name) }))
    .filter((m): m is { name: string; parsed: { index: number; count: number } } => m.parsed !== undefined)
    .sort((a, b) => a.parsed.count - b.parsed.count || a.parsed.index - b.parsed.index)
    .map((m) => m.name);
}

/** Temporary PNGs (`.seed<N>.png.tmp-<pid>-<time>`, see atomic-write.ts) in `dir`, read entry by entry. */
function countTemporaries(dir: string): number {
  return listTemporaries(dir).pngs;
}

/** The temporary files killed writers left in `dir`: PNGs (`.seed<N>.png.tmp-*`) and merged manifests or npz files. */
function listTemporaries(dir: string): { pngs: number; merged: string[] } {
  const handle = fs.opendirSync(dir);
  let pngs = 0;
  const merged: string[] = [];
  try {
    for (let entry = handle.readSync(); entry !== null; entry = handle.readSync()) {
      if (/^\.seed-?\d+\.png\.tmp-/.test(entry.name)) pngs++;
      else if (/^\.[^/]+\.(jsonl|npz)\.tmp-/.test(entry.name) && merged.length < 10) merged.push(entry.name);
    }
  } finally {
    handle.closeSync();
  }
  return { pngs, merged };
}

function shortHash(hex: string): string {
  return `${hex.slice(0, 12)}…`;
}

/**
 * Checks an output folder against a seed list: every seed recorded exactly once across the shard manifests (repeats
 * of a record inside one manifest must agree; the last counts), every PNG present and matching its record (its
 * decoded pixels' sha256; PNG bytes that differ while the pixels match come from another zlib and are a note), and
 * every record made with the same settings, model, library and bit-deciding kernels. Streams the manifests twice;
 * memory is fixed by the number of seeds (see `MEMORY_LIMITS.maxVerifySeeds`), not by the size of the manifests.
 */
export function verifyOutputs(dir: string, seeds: SeedList, options: VerifyOptions = {}): VerifyReport {
  const checkFiles = options.checkFiles ?? true;
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new VerifyFailedError(`verify: ${dir} is not a folder`);
  if (seeds.count > BigInt(MEMORY_LIMITS.maxVerifySeeds)) {
    throw new VerifyFailedError(`verify: --seeds ${seeds} holds ${seeds.count} seeds; verify at most ${MEMORY_LIMITS.maxVerifySeeds} at once`);
  }
  const count = Number(seeds.count);
  const manifests = listManifests(dir);
  if (manifests.length > 32767) throw new VerifyFailedError(`verify: ${dir} holds ${manifests.length} manifests; at most 32767`);
  const owner = new Int16Array(count).fill(-1);
  const line = new Uint32Array(count);
  const pixelsPrefix = new Uint32Array(count);
  const index: RecordIndex | undefined = options.keepIndex
    ? { manifests, manifest: owner, offset: new Float64Array(count), length: new Uint32Array(count) }
    : undefined;

  const missingRecords = new ProblemList('missing');
  const duplicates = new ProblemList('duplicate');
  const conflicts = new ProblemList('conflict');
  const wrongNames = new ProblemList('file name');
  const missingFiles = new ProblemList('missing file');
  const mismatches = new ProblemList('mismatch');
  const mixed = new ProblemList('settings');
  const badLines = new ProblemList('unreadable line');
  const reencoded = new ProblemList('re-encoded');
  const outside = new SpanCollector();
  let outsideCount = 0;
  let records = 0;
  const distinct = new Map<string, Map<string, number>>(CONSISTENCY_KEYS.map((k) => [k, new Map()]));

  // Pass 1: which record counts for each seed; duplicates, conflicts, settings.
  manifests.forEach((name, m) => {
    const torn = forEachManifestLine(path.join(dir, name), ({ text, lineNumber, offset }) => {
      const record = parseRecord(text);
      if (typeof record === 'string') {
        badLines.add(`${name} line ${lineNumber}: ${record}; ignored (a torn write?)`);
        return;
      }
      records++;
      const seed = recordSeed(record);
      const position = seeds.positionOf(seed);
      if (position === undefined) {
        outsideCount++;
        if (outside.spans.length < DETAILS_PER_KIND) outside.add(seed);
        return;
      }
      for (const key of CONSISTENCY_KEYS) {
        const value = key === 'kernel' ? bitsDecidingKernel(record) : JSON.stringify(record[key]);
        const values = distinct.get(key)!;
        if (values.has(value) || values.size < MAX_DISTINCT_VALUES) values.set(value, (values.get(value) ?? 0) + 1);
      }
      const p = Number(position);
      const prefix = Number.parseInt(record.pixelsSha256.slice(0, 8), 16);
      if (owner[p] === -1 || owner[p] === m) {
        if (owner[p] === m && pixelsPrefix[p] !== prefix) {
          conflicts.add(`seed ${seed}: ${name} lines ${line[p]} and ${lineNumber} record different images`);
        }
        owner[p] = m;
        line[p] = lineNumber;
        pixelsPrefix[p] = prefix;
        if (index) {
          index.offset[p] = offset;
          index.length[p] = Buffer.byteLength(text, 'utf8');
        }
      } else {
        duplicates.add(`seed ${seed}: recorded in ${manifests[owner[p]]} and in ${name} line ${lineNumber}`);
      }
    });
    if (torn > 0) badLines.add(`${name}: a torn last line of ${torn} bytes (a writer killed mid-write); ignored`);
  });

  // Seeds without a record, named as ranges in list order.
  const missing = new SpanCollector();
  let p = 0;
  for (const seed of seeds.seeds()) {
    if (owner[p++] === -1) missing.add(seed);
  }
  if (missing.count > 0) missingRecords.add(`missing: ${missing.count} seed(s) have no record: ${missing.describe()}`);

  for (const key of CONSISTENCY_KEYS) {
    const values = distinct.get(key)!;
    if (values.size > 1) {
      const listed = [...values].map(([value, n]) => `${value} (${n} records)`).join(', ');
      const why = key === 'kernel' ? ' (native kernels give other bits on another CPU ISA: pin one node pool, or run the wasm path)' : '';
      mixed.add(`settings: the records mix ${key} values ${listed}${why}`);
    }
  }

  // Pass 2: each counted record's PNG.
  if (checkFiles) {
    manifests.forEach((name, m) => {
      forEachManifestLine(path.join(dir, name), ({ text, lineNumber }) => {
        const record = parseRecord(text);
        if (typeof record === 'string') return;
        const seed = recordSeed(record);
        const position = seeds.positionOf(seed);
        if (position === undefined || owner[Number(position)] !== m || line[Number(position)] !== lineNumber) return;
        if (record.file !== seedFileName(seed)) {
          wrongNames.add(`seed ${seed}: its record names ${JSON.stringify(record.file)}, not ${seedFileName(seed)}`);
          return;
        }
        let bytes: Buffer;
        try {
          bytes = readRegularFileInside(path.join(dir, record.file), { within: dir, maxBytes: MEMORY_LIMITS.maxOutputPngBytes });
        } catch (err) {
          if (err instanceof UnsafeFileError) {
            mismatches.add(`seed ${seed}: ${err.message}`);
            return;
          }
          missingFiles.add(`seed ${seed}: ${record.file} is missing (recorded in ${name} line ${lineNumber})`);
          return;
        }
        let pixels: Uint8Array;
        try {
          pixels = decodePng(bytes).data;
        } catch (err) {
          mismatches.add(`seed ${seed}: ${record.file} is not a readable PNG (${err instanceof Error ? err.message : err})`);
          return;
        }
        const pixelsSha = createHash('sha256').update(pixels).digest('hex');
        if (pixelsSha !== record.pixelsSha256) {
          mismatches.add(
            `seed ${seed}: ${record.file} does not match its record in ${name} line ${lineNumber} ` +
              `(pixels sha256 ${shortHash(pixelsSha)}, recorded ${shortHash(record.pixelsSha256)})`,
          );
        } else if (createHash('sha256').update(bytes).digest('hex') !== record.pngSha256) {
          reencoded.add(`seed ${seed}: ${record.file}'s PNG bytes differ from its record but its pixels match (another zlib?)`);
        }
      });
    });
  }

  const problems = [missingRecords, duplicates, conflicts, wrongNames, missingFiles, mismatches, mixed];
  const problemCount = problems.reduce((n, list) => n + list.count, 0);
  const lines = [`verify ${dir}: seeds ${seeds} (${count} seed${count === 1 ? '' : 's'}), ${manifests.length} manifest(s), ${records} records`];
  for (const list of problems) lines.push(...list.lines());
  for (const list of [badLines, reencoded]) lines.push(...list.lines().map((l) => `note: ${l}`));
  const temporaries = countTemporaries(dir);
  if (temporaries > 0) {
    lines.push(`note: ${temporaries} temporary file(s) (.seed<N>.png.tmp-*) left by writers killed mid-write; delete them once no generate runs here`);
  }
  const mergeLeftovers = listTemporaries(dir).merged;
  if (mergeLeftovers.length > 0) {
    lines.push(`note: temporary file(s) left by a killed merge: ${mergeLeftovers.join(', ')}; delete them once no merge runs here`);
  }
  if (outsideCount > 0) lines.push(`note: ${outsideCount} record(s) of seeds outside --seeds ignored (${outside.describe()}${outsideCount > outside.count ? ',…' : ''})`);
  lines.push(
    problemCount === 0
      ? `ok: every seed has exactly one record${checkFiles ? ' and its PNG matches it' : ' (files not checked)'}, all made with the same settings`
      : `FAILED: ${problemCount} problem(s)`,
  );
  return { dir, seeds, manifests, records, lines, problemCount, index };
}

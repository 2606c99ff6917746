import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { decodePng } from '../png';
import { openRegularFile } from '../fs/regular-file';
import { MEMORY_LIMITS } from '../../config/memory-limits';

/**
 * One line of a shard's manifest (`manifest-<I>-of-<N>.jsonl` in the output folder): one generated seed.
 *
 * Sharing and crashes: every process appends each record as ONE `write(2)` of one complete line to a file opened
 * with O_APPEND, after the PNG it describes has been renamed into place. Two processes given the same shard (a
 * restarted pod beside a slow one) therefore append whole lines that never interleave (POSIX appends on a local disk
 * or any POSIX shared filesystem), and both write the same image bytes to the same name by rename, so neither
 * corrupts the other. A record for a seed that appears twice in one manifest is a repeat: the last one counts, and
 * `verify` requires repeats to agree. A process killed mid-write can leave a last line without its newline: readers
 * ignore such a torn tail (a seed whose record was lost is then missing, and a resumed run generates it again),
 * and a writer that opens a manifest ending in a torn tail first ends that line, so its own records start on a line
 * of their own. A PNG renamed into place whose record never got written is generated again on resume.
 */
export interface ManifestRecord {
  /** Format version. */
  v: 1;
  /** A number when it is a safe integer, else its decimal string (seeds reach 2^64 − 1). */
  seed: number | string;
  /** The PNG, relative to the output folder: `seed<N>.png`. */
  file: string;
  /** sha256 (hex) of the PNG file's bytes: they depend on the zlib build that compressed them. */
  pngSha256: string;
  /** sha256 (hex) of the decoded 8-bit pixels (row-major HWC): the same on every zlib. */
  pixelsSha256: string;
  /** `np.abs(image).sum()` of the float images (float32). */
  absSum: number;
  steps: number;
  eta: number;
  /** `--batch`: images per seed (a grid PNG when > 1). */
  batch: number;
  /** [batch, height, width, channels] of the images in the PNG. */
  shape: [number, number, number, number];
  backend: string;
  /** See `RunEnvironment.kernelPath`. */
  kernelPath: string;
  cpuIsa: string;
  /** `--model` as given, or `embedded:tiny-random`. */
  model: string;
  /** `sha256:…` over the weights and scheduler config (see lib/pipelines/pipeline-content-hash.ts). */
  modelHash: string;
  /** The pipeline's diffusers class name (`DDIMPipeline`, `DDPMPipeline`, `PNDMPipeline`); absent in older manifests. */
  pipeline?: string;
  /**
   * The scheduler that ran, as its diffusers `scheduler_config.json` (with `_class_name`), or `{ _class_name,
   * _sha256 }` for a config over 4 KiB; absent in older manifests.
   */
  scheduler?: Record<string, unknown>;
  /** `tfjs-diffusers@<version>`. */
  library: string;
  /** `I/N` of the shard that wrote it. */
  shard: string;
  /** Seconds the generation took (a group's time divided by its seeds with `--seeds-per-forward`). */
  seconds: number;
}

/** The settings that make other images (not merely other bits): a resumed run must match them. */
export const IMAGE_SETTINGS_KEYS = ['steps', 'eta', 'batch', 'shape', 'modelHash', 'pipeline', 'scheduler'] as const;

/** The two sha256 sums of a PNG: of its bytes and of its decoded pixels. */
export function pngChecksums(png: Uint8Array): { pngSha256: string; pixelsSha256: string } {
  const pixels = decodePng(png).data;
  return {
    pngSha256: createHash('sha256').update(png).digest('hex'),
    pixelsSha256: createHash('sha256').update(pixels).digest('hex'),
  };
}

/** A seed as a record holds it, back to a bigint. */
export function recordSeed(record: Pick<ManifestRecord, 'seed'>): bigint {
  return BigInt(record.seed);
}

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * A parsed manifest line checked field by field, or the reason it is not a record (naming the field and value).
 */
export function parseRecord(line: string): ManifestRecord | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return `not JSON (${JSON.stringify(line.length > 60 ? `${line.slice(0, 60)}…` : line)})`;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const r = value as Record<string, unknown>;
  const bad = (key: string) => `field ${key} is ${JSON.stringify(r[key]) ?? 'missing'}`;
  if (r.v !== 1) return bad('v');
  if (!(Number.isSafeInteger(r.seed) || (typeof r.seed === 'string' && /^-?\d+$/.test(r.seed)))) return bad('seed');
  for (const key of ['file', 'backend', 'kernelPath', 'cpuIsa', 'model', 'modelHash', 'library', 'shard'] as const) {
    if (typeof r[key] !== 'string') return bad(key);
  }
  for (const key of ['pngSha256', 'pixelsSha256'] as const) {
    if (typeof r[key] !== 'string' || !HEX64.test(r[key] as string)) return bad(key);
  }
  for (const key of ['absSum', 'eta', 'seconds'] as const) {
    if (typeof r[key] !== 'number' || !Number.isFinite(r[key])) return bad(key);
  }
  for (const key of ['steps', 'batch'] as const) {
    if (!Number.isSafeInteger(r[key]) || (r[key] as number) < 1) return bad(key);
  }
  if (r.pipeline !== undefined && typeof r.pipeline !== 'string') return bad('pipeline');
  if (r.scheduler !== undefined && (typeof r.scheduler !== 'object' || r.scheduler === null || Array.isArray(r.scheduler))) return bad('scheduler');
  if (!Array.isArray(r.shape) || r.shape.length !== 4 || !r.shape.every((d) => Number.isSafeInteger(d) && d >= 1)) return bad('shape');
  return value as ManifestRecord;
}

/** What {@link forEachManifestLine} hands over for each complete line. */
export interface ManifestLine {
  /** The line without its newline; for a line over {@link MAX_MANIFEST_LINE_BYTES}, its first KiB only. */
  text: string;
  /** 1-based. */
  lineNumber: number;
  /** Byte offset of the line's first byte. */
  offset: number;
  /** The line was longer than {@link MAX_MANIFEST_LINE_BYTES} (no record is): `text` is cut. */
  truncated: boolean;
}

/** `MEMORY_LIMITS.maxManifestLineBytes` (64 KiB): a longer line is not a record, and is not kept whole. */
export const MAX_MANIFEST_LINE_BYTES = MEMORY_LIMITS.maxManifestLineBytes;
const KEPT_OF_LONG_LINE = 1024;
const READ_CHUNK = 1 << 20;

/**
 * Streams the complete lines of a JSONL file in 1 MiB reads: memory stays flat whatever the file's size or its
 * lines' lengths. Returns the byte length of a torn tail (a last line without its newline, ignored), or 0.
 */
export function forEachManifestLine(file: string, visit: (line: ManifestLine) => void): number {
  const fd = openRegularFile(file, 'r', { within: path.dirname(file) });
  try {
    const buffer = Buffer.alloc(READ_CHUNK);
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let lineOffset = 0;
    let fileOffset = 0;
    let lineNumber = 0;
    const keep = (piece: Buffer) => {
      const room = pendingBytes <= MAX_MANIFEST_LINE_BYTES ? MAX_MANIFEST_LINE_BYTES + 1 - pendingBytes : 0;
      if (room > 0) pending.push(Buffer.from(piece.subarray(0, room)));
      pendingBytes += piece.length;
    };
    for (;;) {
      const read = fs.readSync(fd, buffer, 0, READ_CHUNK, fileOffset);
      if (read === 0) break;
      const chunk = buffer.subarray(0, read);
      let start = 0;
      for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
        keep(chunk.subarray(start, nl));
        const truncated = pendingBytes > MAX_MANIFEST_LINE_BYTES;
        const bytes = Buffer.concat(pending);
        lineNumber++;
        visit({ text: (truncated ? bytes.subarray(0, KEPT_OF_LONG_LINE) : bytes).toString('utf8'), lineNumber, offset: lineOffset, truncated });
        pending = [];
        pendingBytes = 0;
        start = nl + 1;
        lineOffset = fileOffset + start;
      }
      keep(chunk.subarray(start));
      fileOffset += read;
    }
    return pendingBytes;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Appends records to one shard's manifest, one `write(2)` per complete line (see {@link ManifestRecord} for how
 * several writers share the file and how a torn last line is handled).
 */
export class ManifestWriter {
  private constructor(private fd: number | null, readonly file: string) {}

  /** Opens (creating) `file` for appending; ends a torn last line left by a killed writer first. */
  static open(file: string): ManifestWriter {
    const fd = openRegularFile(file, 'a', { within: path.dirname(file) });
    try {
      const size = fs.fstatSync(fd).size;
      if (size > 0) {
        const last = Buffer.alloc(1);
        const reader = fs.openSync(file, 'r');
        try {
          fs.readSync(reader, last, 0, 1, size - 1);
        } finally {
          fs.closeSync(reader);
        }
        if (last[0] !== 10) fs.writeSync(fd, '\n');
      }
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
    return new ManifestWriter(fd, file);
  }

  append(record: ManifestRecord): void {
    if (this.fd === null) throw new Error(`ManifestWriter: ${this.file} is closed`);
    const line = Buffer.from(`${JSON.stringify(record)}\n`, 'utf8');
    const written = fs.writeSync(this.fd, line);
    if (written !== line.length) {
      throw new Error(`${this.file}: wrote ${written} of a record's ${line.length} bytes (disk full?)`);
    }
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}

/**
 * The last valid record per seed of one manifest, for the seeds `wanted` accepts (a resumed shard reads only its own
 * seeds). Invalid lines are skipped: their seeds are generated again.
 */
export function readLatestRecords(file: string, wanted: (seed: bigint) => boolean): Map<string, ManifestRecord> {
  const latest = new Map<string, ManifestRecord>();
  if (!fs.existsSync(file)) return latest;
  forEachManifestLine(file, ({ text }) => {
    const record = parseRecord(text);
    if (typeof record === 'string') return;
    const seed = recordSeed(record);
    if (wanted(seed)) latest.set(seed.toString(), record);
  });
  return latest;
}

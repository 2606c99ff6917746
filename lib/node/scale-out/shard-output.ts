import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { readRegularFileInside, UnsafeFileError } from '../fs/regular-file';
import { MEMORY_LIMITS } from '../../config/memory-limits';
import { writeFileAtomic } from '../fs/atomic-write';
import { UsageError } from '../usage-error';
import {
  forEachManifestLine,
  IMAGE_SETTINGS_KEYS,
  ManifestRecord,
  ManifestWriter,
  parseRecord,
  pngChecksums,
  readLatestRecords,
} from './manifest';
import { seedFileName, SeedList } from './seed-range';
import { manifestFileName, Shard } from './shard';

/** What every record of this run shares (all of {@link ManifestRecord} but the per-seed fields). */
export type RunSettings = Omit<ManifestRecord, 'v' | 'seed' | 'file' | 'pngSha256' | 'pixelsSha256' | 'absSum' | 'seconds'>;

/** The shard `generate` writes as when no shard is set: the whole list is shard 0 of 1. */
const WHOLE_LIST: Pick<Shard, 'index' | 'count'> = { index: 0, count: 1 };

function settingValue(record: Pick<ManifestRecord, (typeof IMAGE_SETTINGS_KEYS)[number]>, key: (typeof IMAGE_SETTINGS_KEYS)[number]): string {
  return JSON.stringify(record[key]);
}

/**
 * `--out-dir` of `generate`: the PNGs (`seed<N>.png`, each written atomically) and this shard's streamed manifest
 * (`manifest-<I>-of-<N>.jsonl`, see manifest.ts), with `--resume`'s skip test.
 */
export class ShardOutput {
  private constructor(
    readonly dir: string,
    private readonly writer: ManifestWriter,
    private readonly settings: RunSettings,
    private readonly done: Map<string, ManifestRecord>,
    private readonly overwrite: boolean,
  ) {}

  /**
   * Opens `dir`'s manifest for `shard`. Refuses (a {@link UsageError} naming the file, line, setting and both values)
   * when the manifest already holds records made with other image settings (steps, eta, batch, shape, model
   * content), unless `force`: one folder is one consistent run. With `resume`, reads the shard's last record per seed.
   */
  static open(
    dir: string,
    options: { shard?: Shard; seeds: SeedList; settings: RunSettings; resume: boolean; force: boolean },
  ): ShardOutput {
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, manifestFileName(options.shard ?? WHOLE_LIST));
    if (!options.force && fs.existsSync(file)) {
      forEachManifestLine(file, ({ text, lineNumber }) => {
        const record = parseRecord(text);
        if (typeof record === 'string') return;
        for (const key of IMAGE_SETTINGS_KEYS) {
          // Records of earlier versions have no pipeline or scheduler field: they ran DDIMPipeline, and their
          // modelHash (which hashes the scheduler config) already tells whether the scheduler is this run's.
          if ((key === 'pipeline' || key === 'scheduler') && record[key] === undefined) continue;
          if (settingValue(record, key) !== settingValue(options.settings, key)) {
            throw new UsageError(
              `--out-dir: ${file} line ${lineNumber} was made with ${key}=${settingValue(record, key)} but this run has ` +
                `${key}=${settingValue(options.settings, key)}; use another --out-dir, or --force to regenerate`,
            );
          }
        }
      });
    }
    const done = options.resume ? readLatestRecords(file, (seed) => options.seeds.positionOf(seed) !== undefined) : new Map();
    return new ShardOutput(dir, ManifestWriter.open(file), options.settings, done, options.resume || options.force);
  }

  /** The manifest this process appends to. */
  get manifestFile(): string {
    return this.writer.file;
  }

  /** Whether `seed` is done: its PNG exists and its bytes match the sha256 of its last record (resume only). */
  isDone(seed: bigint): boolean {
    const record = this.done.get(seed.toString());
    if (record === undefined || record.file !== seedFileName(seed)) return false;
    let bytes: Buffer;
    try {
      bytes = readRegularFileInside(path.join(this.dir, record.file), { within: this.dir, maxBytes: MEMORY_LIMITS.maxOutputPngBytes });
    } catch (err) {
      if (err instanceof UnsafeFileError) throw err; // a FIFO, a /dev/zero link or a link out of --out-dir: say so
      return false;
    }
    return createHash('sha256').update(bytes).digest('hex') === record.pngSha256;
  }

  /** Writes `seed`'s PNG atomically, then appends its record; returns the record. */
  write(seed: bigint, png: Uint8Array, result: Pick<ManifestRecord, 'absSum' | 'seconds'>, seedForJson: number | string): ManifestRecord {
    const file = seedFileName(seed);
    writeFileAtomic(path.join(this.dir, file), png, { force: this.overwrite });
    const record: ManifestRecord = { v: 1, seed: seedForJson, file, ...pngChecksums(png), absSum: result.absSum, ...this.settings, seconds: result.seconds };
    this.writer.append(record);
    return record;
  }

  close(): void {
    this.writer.close();
  }
}

import * as cliProgress from 'cli-progress';

/** What the CLI tells a progress display while a pipeline runs. */
export interface ProgressDisplay {
  /** A new run of `total` steps begins; `label` names it (e.g. `seed 3`). */
  start(total: number, label: string): void;
  /** `step` steps (1-based) of the run are done. */
  update(step: number): void;
  /** The run ended (finished, failed or cancelled). */
  stop(): void;
}

/** The stream the display writes to: stderr, or a stand-in in tests. */
export interface ProgressStream {
  isTTY?: boolean;
  write(chunk: string): boolean;
}

/** A display that shows nothing: for pipes, files and CI logs. */
export const QUIET_PROGRESS: ProgressDisplay = { start() {}, update() {}, stop() {} };

/**
 * A progress bar (steps, it/s, ETA) on `stream` when it is a terminal, and nothing otherwise, so that logs and
 * pipes stay clean. stdout is never touched: it carries the results.
 *
 * ```ts
 * const progress = createProgressDisplay(process.stderr);
 * progress.start(50, 'seed 0');
 * await pipeline.generate({ generator, onStep: ({ step }) => progress.update(step) });
 * progress.stop();
 * ```
 */
export function createProgressDisplay(stream: ProgressStream): ProgressDisplay {
  if (!stream.isTTY) return QUIET_PROGRESS;
  let bar: cliProgress.SingleBar | null = null;
  let startedAt = 0;
  return {
    start(total, label) {
      bar?.stop();
      startedAt = Date.now();
      bar = new cliProgress.SingleBar(
        {
          stream: stream as unknown as NodeJS.WritableStream,
          format: '{label} |{bar}| {value}/{total} steps | {speed} it/s | ETA {eta_formatted}',
          hideCursor: true,
          clearOnComplete: false,
          etaBuffer: 10,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total, 0, { label, speed: '-' });
    },
    update(step) {
      const seconds = (Date.now() - startedAt) / 1000;
      const speed = seconds > 0 ? (step / seconds).toFixed(2) : '-';
      bar?.update(step, { speed });
    },
    stop() {
      bar?.stop();
      bar = null;
    },
  };
}

/** What a Hub download reports (the `onProgress` of `snapshotDownload`). */
export interface DownloadProgress {
  file: string;
  loaded: number;
  total: number | undefined;
  cached: boolean;
}

/**
 * A byte progress bar per downloaded file on `stream` when it is a terminal; nothing otherwise (files already in the
 * cache are not shown). Returns the `onProgress` callback to hand to the download, and `stop` to end the last bar.
 *
 * ```ts
 * const download = createDownloadDisplay(process.stderr);
 * await DDIMPipeline.fromPretrained('google/ddpm-cifar10-32', { onProgress: download.onProgress });
 * download.stop();
 * ```
 */
export function createDownloadDisplay(stream: ProgressStream): { onProgress: (p: DownloadProgress) => void; stop: () => void } {
  if (!stream.isTTY) return { onProgress: () => {}, stop: () => {} };
  let bar: cliProgress.SingleBar | null = null;
  let current = '';
  const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
  const stop = () => {
    bar?.stop();
    bar = null;
    current = '';
  };
  return {
    onProgress(p) {
      if (p.cached) return;
      if (p.file !== current) {
        stop();
        current = p.file;
        bar = new cliProgress.SingleBar(
          { stream: stream as unknown as NodeJS.WritableStream, format: '{file} |{bar}| {loadedMb}/{totalMb} MB | ETA {eta_formatted}', hideCursor: true },
          cliProgress.Presets.shades_classic,
        );
        bar.start(p.total ?? p.loaded, p.loaded, { file: p.file, loadedMb: mb(p.loaded), totalMb: p.total === undefined ? '?' : mb(p.total) });
      }
      bar?.update(p.loaded, { loadedMb: mb(p.loaded) });
    },
    stop,
  };
}

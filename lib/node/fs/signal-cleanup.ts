import * as fs from 'fs';

/**
 * Temporary files and folders a run is writing, removed when the run is stopped by a signal: SIGTERM (what
 * Kubernetes, `timeout` and `kill` send), SIGINT (Ctrl-C), SIGHUP. A `convert` stopped mid-way used to leave its
 * `.tmp-*` folder behind for good. After the removal the signal is raised again with the default action, so the
 * exit status still says which signal ended the process (143 for SIGTERM). Only what this process registered is
 * removed, never anything else.
 *
 * ```ts
 * const unregister = removeOnSignal(tmpDir);
 * try { fill(tmpDir); rename(tmpDir, target); } finally { unregister(); }
 * ```
 */

const SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];
const pending = new Set<string>();

function onSignal(signal: NodeJS.Signals): void {
  for (const p of pending) {
    try {
      fs.rmSync(p, { recursive: true, force: true });
    } catch {
      // best effort: the process is ending
    }
  }
  pending.clear();
  for (const s of SIGNALS) process.removeListener(s, onSignal);
  installed = false;
  process.kill(process.pid, signal);
}

let installed = false;

/**
 * Registers `file` (a file or a folder) for removal on a signal; returns the function that unregisters it. The
 * handlers stay installed once installed: a signal that arrives during synchronous work is dispatched later, and a
 * handler removed meanwhile would swallow it (the process would go on as if never signalled). With nothing pending,
 * the handler only raises the signal again.
 */
export function removeOnSignal(file: string): () => void {
  if (!installed) {
    installed = true;
    for (const s of SIGNALS) process.on(s, onSignal);
  }
  pending.add(file);
  return () => void pending.delete(file);
}

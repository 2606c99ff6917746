import * as fs from 'fs';

/**
 * This process's own peak resident set size, in bytes: Linux's `VmHWM` (/proc/self/status), the high-water mark of
 * the process's memory map, which starts afresh at exec. Not `process.resourceUsage().maxRSS`: Linux carries the
 * forking process's peak into a child's maxRSS across exec, so a child spawned by a 600 MB jest worker reports
 * 600 MB before it allocates anything (measured: maxRSS 604 MB, VmHWM 40 MB). Elsewhere, maxRSS is all there is.
 *
 * ```ts
 * const mb = peakRssBytes() / 2 ** 20;
 * ```
 */
export function peakRssBytes(): number {
  try {
    const match = /^VmHWM:\s+(\d+)\s+kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (match) return Number(match[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}

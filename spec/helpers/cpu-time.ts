import * as fs from 'fs';

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux Node runs on

/**
 * CPU time (user + system, ms) used so far by the processes of process group `pgid`, including their children that
 * have ended (Linux /proc); undefined elsewhere. A budget in CPU time means the same work whatever else the machine
 * runs: a command given 30 s of wall clock on a machine at load 16 gets a fifth of that in CPU, and a check that
 * "it printed a result within its budget" then fails for the machine's sake, not the command's.
 *
 * ```ts
 * const child = spawn('bash', ['-c', cmd], { detached: true }); // its own process group
 * processGroupCpuMs(child.pid!); // 1234
 * ```
 */
export function processGroupCpuMs(pgid: number): number | undefined {
  if (process.platform !== 'linux') return undefined;
  let ticks = 0;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'latin1');
    } catch {
      continue; // ended meanwhile
    }
    // Fields after the command name (which may hold spaces, in parentheses): state ppid pgrp ... utime(14) stime cutime cstime.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) !== pgid) continue;
    ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
  }
  return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
}

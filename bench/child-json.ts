import { spawnSync } from 'child_process';

/**
 * The JSON after `prefix` on a bench child's stdout (the child prints one such line), or an error naming `label` and
 * the child's last stderr line.
 */
export function childJson<T>(label: string, child: ReturnType<typeof spawnSync>, prefix: string): T {
  const line = String(child.stdout ?? '').split('\n').find((l) => l.startsWith(prefix));
  if (child.status !== 0 || line === undefined) throw new Error(`bench: ${label} failed: ${String(child.stderr ?? '').trim().split('\n').pop()}`);
  return JSON.parse(line.slice(prefix.length)) as T;
}

import * as fs from 'fs';
import * as path from 'path';

/**
 * Checks that `folder` exists or can be made and takes a file, by creating and removing a probe file, and removes the
 * folders it had to create (a run that fails later leaves no empty folder behind). Safe when many processes probe the
 * same new folder at once (the shards of one Kubernetes Indexed Job): a folder that another run removed under it is
 * made again, and a created folder that another run is using (not empty) or has already removed is left alone.
 * Throws the file-system error (its `code`: EACCES, EROFS, ENOTDIR, …) when the folder cannot take a file.
 *
 * ```ts
 * assertWritableFolder('/data/run-7/images'); // throws EACCES for a read-only mount, before any work
 * ```
 */
export function assertWritableFolder(folder: string): void {
  const probe = path.join(folder, `.tfjs-diffusers-probe-${process.pid}`);
  // Another run's cleanup can remove the folder (or a parent) between our mkdir and our probe: make it again (a bounded number of
  // times; each retry means another process made progress).
  for (let attempt = 0; ; attempt++) {
    let created: string | undefined;
    try {
      // A recursive mkdir fails with ENOENT too when another run removes a parent it has just made.
      created = fs.mkdirSync(folder, { recursive: true });
      fs.writeFileSync(probe, '', { flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && attempt < 100) continue;
      throw err;
    }
    fs.rmSync(probe);
    if (created !== undefined) removeCreatedFolders(folder, created);
    return;
  }
}

/**
 * Removes the empty folders from `folder` up to `created` (the first one mkdir created), deepest first; stops at the
 * first one another run is using (ENOTEMPTY, EEXIST) or has removed already (ENOENT).
 */
function removeCreatedFolders(folder: string, created: string): void {
  for (let dir = folder; dir.length >= created.length; dir = path.dirname(dir)) {
    try {
      fs.rmdirSync(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOENT') return;
      throw err;
    }
    if (dir === created) break;
  }
}

import { findPipelineLayout, MODEL_INDEX_FILE, ModelLayoutError, pipelineLayoutFiles, UNET_CONFIG_FILE } from '../../loading/pipeline-layout';
import { ModelSource, ModelSourceError, parseJsonObject } from '../../loading/model-source';
import { readModelFile } from '../fs/fs-model-source';
import { HubError, HubRepoFileError } from './errors';

/**
 * Which files of a Hub repository a DDIM pipeline needs: the layout module's own search
 * (lib/loading/pipeline-layout.ts, `findPipelineLayout` then `pipelineLayoutFiles`, the one definition of the weight
 * files, their order, the converted layout and where the scheduler config is) run over the repository, each file it
 * looks at fetched on demand. The Hub client downloads these, then the loader reads the snapshot like any folder
 * and finds the same layout (`spec/node/hub/pipeline-files.spec.ts`).
 */

/** A repository the picker can ask for files: `file` returns the local path, or null for a missing optional file. */
export interface RepoFileSource {
  readonly repoId: string;
  readonly revision: string;
  file(file: string, optional?: boolean): Promise<string | null>;
}

/**
 * A Hub repository as a {@link ModelSource}: `exists` downloads the file when the repository has it (a file the
 * search looks at is one it may choose, and the first weight file found is the one chosen), each file fetched once.
 * Paths in messages are repository paths (`describe` is the identity), so errors can name the repository.
 */
class RepoModelSource implements ModelSource {
  private readonly fetched = new Map<string, Promise<string | null>>();

  constructor(
    private readonly repo: RepoFileSource,
    private readonly maxJsonBytes: number,
  ) {}

  get location(): string {
    return this.repo.repoId;
  }

  describe(file: string): string {
    return file;
  }

  /** The local path of `file`, or null when the repository does not have it (asked once per file). */
  local(file: string): Promise<string | null> {
    let local = this.fetched.get(file);
    if (local === undefined) {
      local = this.repo.file(file, true);
      this.fetched.set(file, local);
    }
    return local;
  }

  async exists(file: string): Promise<boolean> {
    return (await this.local(file)) !== null;
  }

  async readBytes(file: string, options: { maxBytes: number }): Promise<Uint8Array> {
    const local = await this.local(file);
    if (local === null) throw new HubRepoFileError(this.repo.repoId, file, `not found at revision ${this.repo.revision}`);
    try {
      return readModelFile(local, options.maxBytes);
    } catch (err) {
      // The message names the repository file, not its path in the cache.
      if (err instanceof ModelSourceError) throw new HubRepoFileError(this.repo.repoId, file, err.message.slice(`${err.file}: `.length));
      throw err;
    }
  }

  async readJson(file: string): Promise<Record<string, unknown>> {
    return parseJsonObject(await this.readBytes(file, { maxBytes: this.maxJsonBytes }), file);
  }
}

/**
 * Fetches (through `repo`) and returns the files a DDIM pipeline needs, as the layout module finds them: with a
 * `model_index.json`, `unet/` (`config.json` and the preferred weight file, or a converted `model.json` and its
 * shards); without, the UNet at the top or in `unet/`; then the scheduler config at the first of its places the
 * repository has (none: the pipeline's default).
 *
 * @throws {HubRepoFileError} naming the repository file the layout refused (a `model_index.json` that is not an
 *   object or names no UNet2DModel, a `config.json` without weights beside it), or a {@link HubError} when the
 *   repository holds no UNet.
 */
export async function pickPipelineFiles(repo: RepoFileSource, maxJsonBytes: number): Promise<string[]> {
  const source = new RepoModelSource(repo, maxJsonBytes);
  try {
    const files = await pipelineLayoutFiles(source, await findPipelineLayout(source));
    // The search fetched what it looked at; the shards a converted model.json lists are fetched here (all required).
    for (const file of files) if ((await source.local(file)) === null) await repo.file(file);
    return files;
  } catch (err) {
    if (err instanceof ModelLayoutError && err.file === repo.repoId) {
      const what = err.message.slice(`${repo.repoId}: `.length);
      const kind = (await source.exists(MODEL_INDEX_FILE))
        ? `${MODEL_INDEX_FILE} found, but the repository ${what}`
        : `neither ${MODEL_INDEX_FILE} (a pipeline) nor ${UNET_CONFIG_FILE} (a model) found at revision ${repo.revision}; the repository ${what}`;
      throw new HubError(`${repo.repoId}: ${kind}`);
    }
    if (err instanceof ModelSourceError) {
      throw new HubRepoFileError(repo.repoId, err.file, err.message.slice(`${err.file}: `.length));
    }
    throw err;
  }
}

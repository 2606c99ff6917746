import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import fc from 'fast-check';
import { pickPipelineFiles, RepoFileSource } from '../../../lib/node/hub/pipeline-files';
import { findPipelineLayout, PipelineLayout } from '../../../lib/loading/pipeline-layout';
import { FsModelSource } from '../../../lib/node/fs/fs-model-source';
import { HubError } from '../../../lib/node/hub/errors';

/**
 * The Hub's file choice is the disk search's: over random sets of the file names a model folder may hold (every
 * layout, weight format, scheduler place and converted model.json, present or not), the files `pickPipelineFiles`
 * chooses from a repository holding them are exactly what `findPipelineLayout` reads from a folder holding them:
 * - the picker succeeds exactly when the disk search does (and the converted model's shards are all there);
 * - a folder holding only the picked files gives the same layout as the whole folder (nothing missing);
 * - the picker fetched nothing it did not pick (nothing extra downloaded).
 */

const SHARD = 'group1-shard1of1.bin';
const UNET_FILES = ['config.json', 'diffusion_pytorch_model.safetensors', 'diffusion_pytorch_model.bin', 'model.json', SHARD];
const UNIVERSE = [
  'model_index.json',
  ...UNET_FILES,
  ...UNET_FILES.map((f) => `unet/${f}`),
  'scheduler_config.json',
  'scheduler/scheduler_config.json',
  'README.md',
];

/** Contents: a model_index.json naming a UNet2DModel (or, `conditional`, a UNet2DConditionModel); a model.json listing one shard. */
function contents(file: string, conditional: boolean): string {
  if (file === 'model_index.json') return JSON.stringify({ _class_name: 'DDPMPipeline', unet: ['diffusers', conditional ? 'UNet2DConditionModel' : 'UNet2DModel'] });
  if (file.endsWith('model.json')) return JSON.stringify({ weightsManifest: [{ paths: [SHARD], weights: [] }] });
  return '{}';
}

function writeFolder(dir: string, files: readonly string[], source: string | null, conditional: boolean): void {
  for (const file of files) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    if (source === null) fs.writeFileSync(path.join(dir, file), contents(file, conditional));
    else fs.copyFileSync(path.join(source, file), path.join(dir, file));
  }
}

/** A repository backed by a folder, recording the files it handed out. */
function folderRepo(dir: string, handedOut: Set<string>): RepoFileSource {
  return {
    repoId: 'org/property',
    revision: 'main',
    async file(file: string, optional = false) {
      const local = path.join(dir, file);
      if (fs.existsSync(local)) {
        handedOut.add(file);
        return local;
      }
      if (optional) return null;
      throw new HubError(`${file} not found in org/property at revision main`);
    },
  };
}

async function outcome<T>(run: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: Error }> {
  try {
    return { ok: true, value: await run() };
  } catch (error) {
    return { ok: false, error: error as Error };
  }
}

describe('pickPipelineFiles chooses what the disk search reads (lib/loading/pipeline-layout.ts)', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeline-files-'));
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('over random sets of file names', async () => {
    let run = 0;
    let picked = 0;
    await fc.assert(
      fc.asyncProperty(fc.subarray(UNIVERSE), fc.boolean(), async (files, conditional) => {
        const full = path.join(tmp, `full-${run}`);
        const snapshot = path.join(tmp, `snapshot-${run++}`);
        writeFolder(full, files, null, conditional);
        const disk = await outcome(() => findPipelineLayout(new FsModelSource(full)));
        const handedOut = new Set<string>();
        const hub = await outcome(() => pickPipelineFiles(folderRepo(full, handedOut), 8 * 1024 * 1024));
        const shardsMissing = disk.ok && disk.value.unet.format === 'tfjs' && !files.includes(path.posix.join(path.posix.dirname(disk.value.unet.modelJson), SHARD));
        expect(hub.ok).toBe(disk.ok && !shardsMissing);
        if (!hub.ok) {
          expect(hub.error).toBeInstanceOf(HubError);
          return;
        }
        picked++;
        expect(hub.value.every((f) => files.includes(f))).toBe(true);
        expect([...handedOut].sort()).toEqual([...hub.value].sort());
        writeFolder(snapshot, hub.value, full, conditional);
        const again = await findPipelineLayout(new FsModelSource(snapshot));
        expect(again).toEqual((disk as { value: PipelineLayout }).value);
      }),
      { numRuns: 300, seed: 21 },
    );
    // The sets reach the successful layouts too, not only the errors.
    expect(picked).toBeGreaterThan(50);
  });

  test('the layouts by name: pipeline, flat, bare unet/, converted, scheduler places', async () => {
    const cases: Array<[string[], string[]]> = [
      [
        ['model_index.json', 'unet/config.json', 'unet/diffusion_pytorch_model.safetensors', 'unet/diffusion_pytorch_model.bin', 'scheduler/scheduler_config.json', 'scheduler_config.json'],
        ['model_index.json', 'unet/config.json', 'unet/diffusion_pytorch_model.safetensors', 'scheduler/scheduler_config.json'],
      ],
      [['config.json', 'diffusion_pytorch_model.bin', 'scheduler_config.json', 'README.md'], ['config.json', 'diffusion_pytorch_model.bin', 'scheduler_config.json']],
      [['unet/config.json', 'unet/diffusion_pytorch_model.bin'], ['unet/config.json', 'unet/diffusion_pytorch_model.bin']],
      [['model_index.json', 'unet/model.json', `unet/${SHARD}`, 'unet/config.json', 'scheduler/scheduler_config.json'], ['model_index.json', 'unet/model.json', `unet/${SHARD}`, 'scheduler/scheduler_config.json']],
      [['model_index.json', 'unet/config.json', 'unet/diffusion_pytorch_model.bin'], ['model_index.json', 'unet/config.json', 'unet/diffusion_pytorch_model.bin']],
    ];
    for (const [i, [files, expected]] of cases.entries()) {
      const dir = path.join(tmp, `named-${i}`);
      writeFolder(dir, files, null, false);
      expect(await pickPipelineFiles(folderRepo(dir, new Set()), 8 * 1024 * 1024)).toEqual(expected);
    }
  });

  test('errors name the repository and the file', async () => {
    const noWeights = path.join(tmp, 'no-weights');
    writeFolder(noWeights, ['model_index.json', 'unet/config.json'], null, false);
    await expect(pickPipelineFiles(folderRepo(noWeights, new Set()), 8 * 1024 * 1024)).rejects.toThrow(
      'org/property/unet/config.json: no weights beside it: looked for unet/diffusion_pytorch_model.safetensors and unet/diffusion_pytorch_model.bin',
    );
    const conditional = path.join(tmp, 'conditional');
    writeFolder(conditional, ['model_index.json', 'unet/config.json', 'unet/diffusion_pytorch_model.bin'], null, true);
    await expect(pickPipelineFiles(folderRepo(conditional, new Set()), 8 * 1024 * 1024)).rejects.toThrow(
      'org/property/model_index.json: unet is a UNet2DConditionModel; DDIMPipeline runs UNet2DModel pipelines only',
    );
    const indexOnly = path.join(tmp, 'index-only');
    writeFolder(indexOnly, ['model_index.json'], null, false);
    await expect(pickPipelineFiles(folderRepo(indexOnly, new Set()), 8 * 1024 * 1024)).rejects.toThrow('org/property: model_index.json found, but the repository holds no UNet');
  });
});

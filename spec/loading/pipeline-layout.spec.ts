import { MAX_JSON_FILE_BYTES } from '../../lib/io/reader-limits';
import { ModelFileNotFoundError, ModelFileTooLargeError, ModelSource, parseJsonObject } from '../../lib/loading/model-source';
import {
  checkModelIndex,
  findPipelineLayout,
  findUNetLayout,
  ModelLayoutError,
} from '../../lib/loading/pipeline-layout';
import { readSchedulerConfig } from '../../lib/pipelines/load-pipeline-components';
import { DDPM_CIFAR10_SCHEDULER_CONFIG } from '../../lib/schedulers/ddpm-cifar10-32';

/** A model folder in memory: what the layout module sees of any source (it asks only exists / readJson). */
class MemorySource implements ModelSource {
  readonly location = 'mem:/model';
  readonly asked: string[] = [];
  constructor(private readonly files: Record<string, string>) {}
  describe(file: string): string {
    return `${this.location}/${file}`;
  }
  async exists(file: string): Promise<boolean> {
    this.asked.push(file);
    return Object.prototype.hasOwnProperty.call(this.files, file);
  }
  async readBytes(file: string, options: { maxBytes: number }): Promise<Uint8Array> {
    if (!(await this.exists(file))) throw new ModelFileNotFoundError(this.describe(file));
    const bytes = new TextEncoder().encode(this.files[file]);
    if (bytes.length > options.maxBytes) throw new ModelFileTooLargeError(this.describe(file), bytes.length, options.maxBytes);
    return bytes;
  }
  async readJson(file: string): Promise<Record<string, unknown>> {
    return parseJsonObject(await this.readBytes(file, { maxBytes: MAX_JSON_FILE_BYTES }), this.describe(file));
  }
}

const INDEX = JSON.stringify({ _class_name: 'DDPMPipeline', scheduler: ['diffusers', 'DDPMScheduler'], unet: ['diffusers', 'UNet2DModel'] });
const SCHEDULER = JSON.stringify({ _class_name: 'DDPMScheduler', num_train_timesteps: 10 });
const SAFETENSORS = 'diffusion_pytorch_model.safetensors';
const BIN = 'diffusion_pytorch_model.bin';

describe('pipeline layouts (lib/loading/pipeline-layout.ts) over any ModelSource', () => {
  test('a diffusers pipeline folder: model_index.json, unet/ (safetensors preferred to .bin), scheduler/', async () => {
    const source = new MemorySource({
      'model_index.json': INDEX,
      'unet/config.json': '{}',
      [`unet/${BIN}`]: '',
      [`unet/${SAFETENSORS}`]: '',
      'scheduler/scheduler_config.json': SCHEDULER,
      // A stray top-level config.json does not win over the pipeline's unet/.
      'config.json': '{}',
    });
    const layout = await findPipelineLayout(source);
    expect(layout).toEqual({
      unet: { format: 'diffusers', config: 'unet/config.json', weights: `unet/${SAFETENSORS}` },
      schedulerConfigFile: 'scheduler/scheduler_config.json',
      modelIndex: JSON.parse(INDEX),
    });
    expect(await readSchedulerConfig(source, layout)).toEqual(JSON.parse(SCHEDULER));
  });

  test('the flat layout: config.json, weights and scheduler_config.json side by side', async () => {
    const source = new MemorySource({ 'config.json': '{}', [BIN]: '', 'scheduler_config.json': SCHEDULER });
    expect(await findPipelineLayout(source)).toEqual({
      unet: { format: 'diffusers', config: 'config.json', weights: BIN },
      schedulerConfigFile: 'scheduler_config.json',
      modelIndex: null,
    });
  });

  test("a bare UNet folder (diffusers or converted) gets google/ddpm-cifar10-32's scheduler config, as a copy", async () => {
    for (const [files, unet] of [
      [{ 'config.json': '{}', [SAFETENSORS]: '' }, { format: 'diffusers', config: 'config.json', weights: SAFETENSORS }],
      [{ 'model.json': '{}', 'group1-shard1of1.bin': '' }, { format: 'tfjs', modelJson: 'model.json' }],
    ] as const) {
      const source = new MemorySource(files);
      const layout = await findPipelineLayout(source);
      expect(layout).toEqual({ unet, schedulerConfigFile: null, modelIndex: null });
      const config = await readSchedulerConfig(source, layout);
      expect(config).toEqual({ ...DDPM_CIFAR10_SCHEDULER_CONFIG });
      expect(config).not.toBe(DDPM_CIFAR10_SCHEDULER_CONFIG);
    }
  });

  test('a folder converted by `tfjs-diffusers convert`, and a pipeline folder without model_index.json', async () => {
    const converted = new MemorySource({ 'model_index.json': INDEX, 'unet/model.json': '{}', 'scheduler/scheduler_config.json': SCHEDULER });
    expect((await findPipelineLayout(converted)).unet).toEqual({ format: 'tfjs', modelJson: 'unet/model.json' });
    const noIndex = new MemorySource({ 'unet/config.json': '{}', [`unet/${BIN}`]: '' });
    expect((await findUNetLayout(noIndex))).toEqual({ format: 'diffusers', config: 'unet/config.json', weights: `unet/${BIN}` });
  });

  test('what is not a UNet2DModel pipeline is refused, naming the folder or file and the reason', async () => {
    await expect(findPipelineLayout(new MemorySource({}))).rejects.toThrow(
      new ModelLayoutError('mem:/model', `holds no UNet: expected unet/ (a pipeline folder), or config.json + ${SAFETENSORS} / ${BIN} (a UNet folder), or model.json (a converted folder)`),
    );
    await expect(findPipelineLayout(new MemorySource({ 'config.json': '{}' }))).rejects.toThrow(
      new ModelLayoutError('mem:/model/config.json', `no weights beside it: looked for ${SAFETENSORS} and ${BIN}`),
    );
    await expect(findPipelineLayout(new MemorySource({ 'model_index.json': INDEX, 'config.json': '{}', [BIN]: '' }))).rejects.toBeInstanceOf(ModelLayoutError);
    await expect(findPipelineLayout(new MemorySource({ 'model_index.json': '{"vae": ["diffusers", "AutoencoderKL"]}' }))).rejects.toThrow(
      'mem:/model/model_index.json: no "unet" component (components: vae); DDIMPipeline needs a UNet2DModel',
    );
    await expect(findPipelineLayout(new MemorySource({ 'model_index.json': 'null' }))).rejects.toThrow(
      'mem:/model/model_index.json: must hold a JSON object, got null',
    );
  });

  test('checkModelIndex reads own keys only (no prototype names) and names the class it found', () => {
    expect(() => checkModelIndex(JSON.parse('{"__proto__": {"unet": 1}}'), 'model_index.json')).toThrow(/no "unet" component/);
    expect(() => checkModelIndex({ unet: ['diffusers', 'UNet2DConditionModel'] }, 'm.json')).toThrow(
      new ModelLayoutError('m.json', 'unet is a UNet2DConditionModel; DDIMPipeline runs UNet2DModel pipelines only'),
    );
    expect(() => checkModelIndex({ unet: ['diffusers', 'UNet2DModel'] }, 'm.json')).not.toThrow();
  });

  test('a bad scheduler config is a named error naming the file', async () => {
    const source = new MemorySource({ 'model.json': '{}', 'scheduler_config.json': '[1, 2]' });
    const layout = await findPipelineLayout(source);
    await expect(readSchedulerConfig(source, layout)).rejects.toThrow('mem:/model/scheduler_config.json: must hold a JSON object, got an array');
  });
});

// The webgpu backend in Node: tfjs-backend-webgpu on Dawn (the npm package `webgpu`), here on SwiftShader, Chromium's
// CPU implementation of Vulkan (test-support/swiftshader.ts). Small on purpose: the emulated GPU takes tens of seconds
// per forward of the tiny model on a busy machine; speed is bench/'s (bench/run.ts --backend webgpu).
import * as tf from '@tensorflow/tfjs-core';
import {
  listWebGpuAdapters,
  registerDawnWebGpu,
  resolveAdapterChoice,
  WEBGPU_ADAPTER_ENV,
  WEBGPU_DETERMINISM_FLAGS,
  webGpuBackendInfo,
} from '../../../lib/node/backends/dawn-webgpu';
import { defaultBackendName, getBackendName, isBackendAvailable, setBackend } from '../../../lib/node/backends/set-backend';
import { kernelPath } from '../../../lib/node/cli/run-environment';
import { UNet2DModel } from '../../../lib/models/unet/unet-2d-model';
import { DDIMPipeline } from '../../../lib/pipelines/ddim-pipeline';
import { Generator } from '../../../lib/random/generator';
import { randn } from '../../../lib/random/randn';
import { randnTensor } from '../../../lib/random/randn-tensor';
import { fixturePath, maxAbsDiff } from '../../helpers/fixtures';
import { reportParity, webGpuForwardBound, webGpuPipelineBound } from '../../helpers/tolerances';
import { describeOnWebGpu } from '../../helpers/webgpu';
import { nchwValues, nhwcFromFixture, tinyFixture } from '../../models/unet/unet-fixture';
import { generateCase, pipelineCase, pipelineFixture } from '../../pipelines/pipeline-fixture';

const SWIFTSHADER_LABEL = 'SwiftShader Device (Subzero) (vulkan, SwiftShader driver 5.0.0, software)';

describe('the webgpu adapter choice (setBackend option, else TFJS_DIFFUSERS_WEBGPU_ADAPTER)', () => {
  test('an index or a part of a name; the option wins over the variable; a bad option is refused with its value', () => {
    expect(resolveAdapterChoice(undefined, {})).toBeNull();
    expect(resolveAdapterChoice(undefined, { [WEBGPU_ADAPTER_ENV]: ' 1 ' })).toEqual({ choice: 1, by: WEBGPU_ADAPTER_ENV });
    expect(resolveAdapterChoice(undefined, { [WEBGPU_ADAPTER_ENV]: 'RTX' })).toEqual({ choice: 'RTX', by: WEBGPU_ADAPTER_ENV });
    expect(resolveAdapterChoice(0, { [WEBGPU_ADAPTER_ENV]: 'RTX' })).toEqual({ choice: 0, by: 'option' });
    expect(() => resolveAdapterChoice(-1)).toThrow(`setBackend('webgpu', { adapter: -1 }): expected an adapter index (0, 1, …) or a part of its name`);
    expect(() => resolveAdapterChoice(' ')).toThrow(`setBackend('webgpu', { adapter: " " }): expected an adapter index`);
  });
});

describeOnWebGpu('the webgpu backend in Node (Dawn on SwiftShader)', () => {
  test('runs on the adapter it names: SwiftShader, a software Vulkan adapter; the manifest kernelPath says so', async () => {
    const adapters = await listWebGpuAdapters();
    expect(adapters.map((a) => [a.index, a.name, a.backend, a.software])).toEqual([[0, 'SwiftShader Device (Subzero)', 'vulkan', true]]);
    expect(getBackendName()).toBe('webgpu');
    expect(webGpuBackendInfo()).toEqual({ adapter: adapters[0], chosenBy: 'default' });
    expect(kernelPath('webgpu')).toBe(`webgpu:${SWIFTSHADER_LABEL}`);
  });

  test('is never the default backend, though available', () => {
    expect(isBackendAvailable('webgpu')).toBe(true);
    expect(defaultBackendName()).not.toBe('webgpu');
  });

  test('an adapter that does not exist is refused with the list; the same adapter again is accepted', async () => {
    await expect(setBackend('webgpu', { adapter: 3 })).rejects.toThrow(
      `setBackend('webgpu', { adapter: 3 }): there is no adapter 3; Dawn lists 0: ${SWIFTSHADER_LABEL}.`,
    );
    await expect(registerDawnWebGpu(undefined, { [WEBGPU_ADAPTER_ENV]: 'nvidia' })).rejects.toThrow(
      `${WEBGPU_ADAPTER_ENV}=nvidia: no adapter's name contains 'nvidia'; Dawn lists 0: ${SWIFTSHADER_LABEL}.`,
    );
    await expect(setBackend('webgpu', { adapter: 'swiftshader' })).resolves.toBe('webgpu');
    await expect(setBackend('webgpu', { adapter: 0 })).resolves.toBe('webgpu');
  });

  test('computes in float32: no shader-f16 on the device, and 1 + 2^-23 − 1 is 2^-23 on the GPU', async () => {
    const device = (tf.backend() as unknown as { device: { features: Set<string> } }).device;
    expect(device.features.has('shader-f16')).toBe(false);
    for (const [flag, value] of Object.entries(WEBGPU_DETERMINISM_FLAGS)) expect([flag, tf.env().get(flag)]).toEqual([flag, value]);
    // 2048 elements: above WEBGPU_CPU_HANDOFF_SIZE_THRESHOLD (1000), so the ops run in shaders even with CPU_FORWARD on.
    const ones = tf.ones([2048]);
    const y = tf.tidy(() => tf.sub(tf.add(ones, tf.scalar(2 ** -23)), ones));
    expect(new Set(await y.data())).toEqual(new Set([2 ** -23]));
    tf.dispose([ones, y]);
  });

  test('the noise is drawn on the CPU and uploaded: the same bits as torch.randn on the CPU', async () => {
    const shape: [number, number, number, number] = [2, 3, 32, 32];
    const onGpu = randnTensor(shape, { generator: new Generator().manualSeed(42), layout: 'NHWC' });
    expect(tf.getBackend()).toBe('webgpu');
    const expected = randn(shape, { generator: new Generator().manualSeed(42) });
    const nchw = await nchwValues(onGpu);
    expect(Buffer.from(nchw.buffer).equals(Buffer.from(expected.buffer))).toBe(true);
    onGpu.dispose();
  });

  describe('tiny UNet against PyTorch (unet_tiny.json): the extreme timesteps', () => {
    let unet: UNet2DModel;
    beforeAll(async () => {
      unet = await UNet2DModel.fromPretrained(fixturePath('tiny-unet'));
    });
    afterAll(() => unet?.dispose());

    for (const id of ['tiny_seed0_t0', 'tiny_seed0_t999']) {
      test(`forward ${id} within its webgpu bound`, async () => {
        const c = tinyFixture().cases.find((k) => k.id === id)!;
        const sample = nhwcFromFixture(c.sample);
        const out = unet.predict(sample, c.timestep);
        const error = maxAbsDiff(await nchwValues(out), c.output.data);
        tf.dispose([sample, out]);
        reportParity(`tiny forward ${id}`, 'webgpu', error, webGpuForwardBound(id));
        expect(error).toBeLessThanOrEqual(webGpuForwardBound(id));
      }, 300_000);
    }

    test('batch invariance: a sample has the same bits alone and in a batch of 3 (WEBGPU_DETERMINISM_FLAGS)', async () => {
      const x = tf.randomNormal([3, 32, 32, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
      const first = tf.slice(x, 0, 1) as tf.Tensor4D;
      const [together, alone] = [unet.predict(x, 500), unet.predict(first, 500)];
      const inBatch = ((await together.data()) as Float32Array).slice(0, 32 * 32 * 3);
      const single = (await alone.data()) as Float32Array;
      tf.dispose([x, first, together, alone]);
      expect(Buffer.from(inBatch.buffer).equals(Buffer.from(single.buffer))).toBe(true);
    }, 600_000);

    test('pipeline tiny_s2_eta1_b1_seed0 (2 steps, η 1: noise drawn in the steps too): images within the case\'s webgpu bound', async () => {
      const c = pipelineCase('tiny_s2_eta1_b1_seed0');
      const pipeline = new DDIMPipeline({ unet, scheduler: pipelineFixture().scheduler_config });
      const { images } = await generateCase(pipeline, c);
      const error = maxAbsDiff(images.data, c.images.data);
      reportParity(`tiny pipeline ${c.id}`, 'webgpu', error, webGpuPipelineBound(c.id));
      expect(error).toBeLessThanOrEqual(webGpuPipelineBound(c.id));
    }, 600_000);
  });
});

import * as tf from '@tensorflow/tfjs-core';
import { setBackend } from '../../../lib/node/backends/set-backend';
import { readStateDict, readWeightFile } from '../../../lib/node/fs/read-state-dict';
import { StateDict } from '../../../lib/io/state-dict';
import { readUNet2DConfig } from '../../../lib/node/fs/read-unet-2d-config';
import {
  canonicalKey,
  loadStateDictIntoModel,
  matchStateDict,
  modelToStateDict,
  stateDictBindings,
  StateDictMismatchError,
  toTfjsLayout,
  toTorchLayout,
} from '../../../lib/models/unet/state-dict-mapping';
import { buildUNet2DLayersModel } from '../../../lib/models/unet/unet-2d-graph';
import { fixturePath } from '../../helpers/fixtures';
import { tinyFixture } from './unet-fixture';

/** Same keys, shapes and float32 bytes (jest's toEqual walks typed arrays element by element: too slow here). */
function expectSameStateDict(actual: StateDict, expected: StateDict): void {
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [key, t] of expected) {
    const a = actual.get(key)!;
    expect(a.shape).toEqual(t.shape);
    const same = Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).equals(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    if (!same) throw new Error(`${key}: values differ`);
  }
}

describe('UNet2DModel state-dict mapping', () => {
  const fixture = tinyFixture();
  const config = readUNet2DConfig(fixturePath('tiny-unet', 'config.json'));
  let model: ReturnType<typeof buildUNet2DLayersModel>;
  let stateDict: StateDict;

  beforeAll(async () => {
    await setBackend('cpu');
    model = buildUNet2DLayersModel(config);
    stateDict = readStateDict(fixturePath('tiny-unet'));
  });
  afterAll(() => model?.dispose());

  test('the model expects exactly the keys and PyTorch shapes of the diffusers state dict', () => {
    const expected = new Map(fixture.state_dict_keys.map(([k, shape]) => [k, shape]));
    const bindings = stateDictBindings(model);
    expect(new Map(bindings.map((b) => [b.key, b.torchShape]))).toEqual(expected);
  });

  test('old attention names map to the new ones (the 48 keys the old-keys fixture renames)', () => {
    const renamed = fixture.old_key_names_renamed;
    expect(renamed).toHaveLength(48);
    const newKeys = new Set(fixture.state_dict_keys.map(([k]) => k));
    for (const old of renamed) expect(newKeys.has(canonicalKey(old))).toBe(true);
    expect(canonicalKey('mid_block.attentions.0.proj_attn.weight')).toBe('mid_block.attentions.0.to_out.0.weight');
    expect(canonicalKey('up_blocks.1.attentions.2.query.bias')).toBe('up_blocks.1.attentions.2.to_q.bias');
    expect(canonicalKey('mid_block.attentions.0.group_norm.weight')).toBe('mid_block.attentions.0.group_norm.weight');
    expect(canonicalKey('down_blocks.0.resnets.0.conv1.weight')).toBe('down_blocks.0.resnets.0.conv1.weight');
  });

  test('the old-keys checkpoint loads the same weights as the new-keys one', async () => {
    const oldKeys = readStateDict(fixturePath('tiny-unet-oldkeys'));
    expect([...oldKeys.keys()].some((k) => k.endsWith('.proj_attn.weight'))).toBe(true);
    loadStateDictIntoModel(model, oldKeys, 'tiny-unet-oldkeys');
    const fromOld = await modelToStateDict(model);
    loadStateDictIntoModel(model, stateDict, 'tiny-unet');
    const fromNew = await modelToStateDict(model);
    expectSameStateDict(fromOld, fromNew);
  });

  test('the PyTorch .bin checkpoints (both namings) load the same weights as the safetensors ones', async () => {
    loadStateDictIntoModel(model, stateDict, 'tiny-unet');
    const reference = await modelToStateDict(model);
    for (const folder of ['tiny-unet', 'tiny-unet-oldkeys']) {
      const file = fixturePath(folder, 'diffusion_pytorch_model.bin');
      loadStateDictIntoModel(model, readWeightFile(file), file);
      expectSameStateDict(await modelToStateDict(model), reference);
    }
  });

  test('loading then reading back gives the checkpoint bit for bit (transposes are exact inverses)', async () => {
    const loaded = loadStateDictIntoModel(model, stateDict, 'tiny-unet');
    expect(loaded).toBe(fixture.num_parameters);
    expectSameStateDict(await modelToStateDict(model), stateDict);
  });

  test('conv weights go OIHW → HWIO and linear weights [out, in] → [in, out]', () => {
    // conv: element (o=1, i=2, kh=0, kw=1) of a [2, 3, 2, 2] kernel lands at HWIO (0, 1, 2, 1) of [2, 2, 3, 2]
    const oihw = Float32Array.from({ length: 24 }, (_, i) => i);
    const hwio = toTfjsLayout(oihw, [2, 3, 2, 2], 'conv');
    expect(hwio[((0 * 2 + 1) * 3 + 2) * 2 + 1]).toBe(oihw[((1 * 3 + 2) * 2 + 0) * 2 + 1]);
    expect(toTorchLayout(hwio, [2, 2, 3, 2], 'conv')).toEqual(oihw);
    // linear: [out=2, in=3] → [in=3, out=2]
    const linear = Float32Array.from([1, 2, 3, 4, 5, 6]);
    expect(Array.from(toTfjsLayout(linear, [2, 3], 'linear'))).toEqual([1, 4, 2, 5, 3, 6]);
    // and the layout agrees with what tfjs computes: x·Wᵀ in PyTorch = x·W' with W' the transposed copy
    const x = tf.tensor2d([[1, -1, 2]]);
    const y = tf.matMul(x, tf.tensor2d(toTfjsLayout(linear, [2, 3], 'linear'), [3, 2]));
    expect(Array.from(y.dataSync())).toEqual([1 - 2 + 6, 4 - 5 + 12]);
    tf.dispose([x, y]);
  });

  function edited(edit: (sd: StateDict) => void): StateDict {
    const copy: StateDict = new Map(stateDict);
    edit(copy);
    return copy;
  }

  test('a missing key, an extra key and a wrong shape are all listed in one error', () => {
    const bad = edited((sd) => {
      sd.delete('mid_block.attentions.0.to_q.weight');
      sd.delete('conv_out.bias');
      sd.set('class_embedding.weight', { shape: [10, 64], data: new Float32Array(640) });
      sd.set('conv_in.weight', { shape: [16, 3, 1, 1], data: new Float32Array(48) });
    });
    let error: unknown;
    try {
      matchStateDict(stateDictBindings(model), bad, 'bad.safetensors');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(StateDictMismatchError);
    const e = error as StateDictMismatchError;
    expect(e.missing.sort()).toEqual(['conv_out.bias', 'mid_block.attentions.0.to_q.weight']);
    expect(e.unexpected).toEqual(['class_embedding.weight']);
    expect(e.shapeMismatches).toEqual([{ key: 'conv_in.weight', checkpoint: [16, 3, 1, 1], expected: [16, 3, 3, 3] }]);
    expect(e.message).toMatch(/^bad\.safetensors: the weights do not match the UNet2DModel config: 2 missing keys: /);
    expect(e.message).toMatch(/1 unexpected key: class_embedding\.weight/);
    expect(e.message).toMatch(/1 shape mismatch: conv_in\.weight is \[16, 3, 1, 1\] in the checkpoint, the model expects \[16, 3, 3, 3\]/);
  });

  test('nothing is written when the state dict does not match', async () => {
    loadStateDictIntoModel(model, stateDict, 'tiny-unet');
    const before = await modelToStateDict(model);
    const bad = edited((sd) => sd.delete('conv_out.bias'));
    expect(() => loadStateDictIntoModel(model, bad, 'bad')).toThrow(/1 missing key: conv_out\.bias/);
    expectSameStateDict(await modelToStateDict(model), before);
  });

  test('a key under both its old and new attention names is an error', () => {
    const bad = edited((sd) => sd.set('mid_block.attentions.0.query.weight', sd.get('mid_block.attentions.0.to_q.weight')!));
    expect(() => matchStateDict(stateDictBindings(model), bad, 'mixed')).toThrow(
      /1 key present under both the old and the new attention names: mid_block\.attentions\.0\.to_q\.weight/,
    );
  });

  test('a checkpoint for another config names every key that differs', () => {
    const cifarLike = edited((sd) => {
      for (const key of [...sd.keys()]) if (key.startsWith('down_blocks.3.')) sd.delete(key);
    });
    expect(() => matchStateDict(stateDictBindings(model), cifarLike, 'other')).toThrow(/missing keys: down_blocks\.3\.resnets\.0\.norm1\.weight, /);
  });
});

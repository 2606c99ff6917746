import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { setBackend } from '../../../lib/node/backends/set-backend';
import { fileSystemHandler, MODEL_JSON, shardFileNames } from '../../../lib/node/fs/tfjs-fs-handler';
import { OUTPUT_MARKER } from '../../../lib/node/fs/output-folder';

describe('fileSystemHandler (tfjs LayersModel format on fs)', () => {
  let work: string;
  let model: tfl.LayersModel;
  const x = () => tf.tensor2d([[1, 2, 3, 4], [-1, 0.5, 2, 8]]);

  beforeAll(async () => {
    await setBackend('cpu');
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-format-'));
    const input = tfl.input({ shape: [4] });
    const hidden = tfl.layers.dense({ units: 300, activation: 'relu', kernelInitializer: tfl.initializers.randomNormal({ seed: 1 }) }).apply(input);
    const output = tfl.layers.dense({ units: 2, kernelInitializer: tfl.initializers.randomNormal({ seed: 2 }) }).apply(hidden) as tfl.SymbolicTensor;
    model = tfl.model({ inputs: input, outputs: output });
    model.setUserDefinedMetadata({ note: 'kept' });
  });
  afterAll(() => {
    model?.dispose();
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('saves shards of the requested size and loads the same model back', async () => {
    const dir = path.join(work, 'sharded');
    await model.save(fileSystemHandler(dir, { shardBytes: 1024 }));
    const weightBytes = 4 * (4 * 300 + 300 + 300 * 2 + 2);
    const count = Math.ceil(weightBytes / 1024);
    expect(fs.readdirSync(dir).sort()).toEqual([...shardFileNames(count), MODEL_JSON, OUTPUT_MARKER].sort());
    expect(fs.statSync(path.join(dir, `group1-shard1of${count}.bin`)).size).toBe(1024);
    expect(fs.statSync(path.join(dir, `group1-shard${count}of${count}.bin`)).size).toBe(weightBytes - 1024 * (count - 1));
    const json = JSON.parse(fs.readFileSync(path.join(dir, MODEL_JSON), 'utf8'));
    expect(json.format).toBe('layers-model');
    expect(json.userDefinedMetadata).toEqual({ note: 'kept' });
    expect(json.weightsManifest[0].paths).toEqual(shardFileNames(count));

    const loaded = await tfl.loadLayersModel(fileSystemHandler(dir));
    const [a, b] = [model.predict(x()) as tf.Tensor, loaded.predict(x()) as tf.Tensor];
    expect(Array.from(await b.data())).toEqual(Array.from(await a.data()));
    expect(loaded.getUserDefinedMetadata()).toEqual({ note: 'kept' });
    tf.dispose([a, b]);
    loaded.dispose();
  });

  test('never overwrites an existing folder unless forced, never a folder it did not write, and leaves no temporary folder', async () => {
    const dir = path.join(work, 'existing');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'keep.txt'), 'x');
    await expect(model.save(fileSystemHandler(dir))).rejects.toThrow(/existing already exists; pass --force/);
    // A folder of the user's: not even with force.
    await expect(model.save(fileSystemHandler(dir, { force: true }))).rejects.toThrow(/existing exists and was not written by tfjs-diffusers/);
    expect(fs.readdirSync(dir)).toEqual(['keep.txt']);
    // Its own output (the marker) and an empty folder: force replaces them.
    const own = path.join(work, 'own');
    await model.save(fileSystemHandler(own));
    await model.save(fileSystemHandler(own, { force: true }));
    expect(fs.readdirSync(own).sort()).toEqual(['group1-shard1of1.bin', MODEL_JSON, OUTPUT_MARKER].sort());
    fs.rmSync(path.join(dir, 'keep.txt'));
    await model.save(fileSystemHandler(dir, { force: true }));
    expect(fs.readdirSync(work).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  test('bad folders fail with errors that name the file', async () => {
    const dir = path.join(work, 'bad');
    await model.save(fileSystemHandler(dir));
    const jsonPath = path.join(dir, MODEL_JSON);
    const good = fs.readFileSync(jsonPath, 'utf8');

    const escaping = JSON.parse(good);
    escaping.weightsManifest[0].paths = ['../../etc/passwd'];
    fs.writeFileSync(jsonPath, JSON.stringify(escaping));
    await expect(tfl.loadLayersModel(fileSystemHandler(dir))).rejects.toThrow(/weight path "\.\.\/\.\.\/etc\/passwd" must be a plain file name/);

    fs.writeFileSync(jsonPath, good.slice(0, 50));
    await expect(tfl.loadLayersModel(fileSystemHandler(dir))).rejects.toThrow(/model\.json: not valid JSON/);

    fs.writeFileSync(jsonPath, JSON.stringify({ format: 'layers-model' }));
    await expect(tfl.loadLayersModel(fileSystemHandler(dir))).rejects.toThrow(/model\.json: has no modelTopology/);

    fs.rmSync(jsonPath);
    await expect(tfl.loadLayersModel(fileSystemHandler(dir))).rejects.toThrow(/bad: no model\.json \(not a tfjs model folder\)/);
    expect(() => fileSystemHandler(dir, { shardBytes: 3 })).toThrow(/shardBytes=3 must be a positive multiple of 4/);
  });
});

// The model identity of provenance records and manifests: sha256 over the UNet's weights (by name and shape) and the
// scheduler config, the same on a second load of the model in the same process (tfjs-layers renames the variables
// of a model loaded again: `conv_in/kernel_1`), and the hash the definition gives when recomputed with Node's crypto.
import { createHash } from 'crypto';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { setBackend } from '../../lib/node/backends/set-backend';
import { DDIMPipeline } from '../../lib/pipelines/ddim-pipeline';
import { pipelineContentHash } from '../../lib/pipelines/pipeline-content-hash';

const EMBEDDED = path.join(__dirname, '..', '..', 'models', 'tiny-random');

test('the same model loaded twice in one process has one content hash, as defined (Node crypto), and any weight change changes it', async () => {
  await setBackend('cpu');
  const first = await DDIMPipeline.fromPretrained(EMBEDDED);
  const second = await DDIMPipeline.fromPretrained(EMBEDDED);
  try {
    type Weights = { name: string; originalName: string; read(): tf.Tensor }[];
    const weights = (first.unet as unknown as { model: { weights: Weights } }).model.weights;
    const again = (second.unet as unknown as { model: { weights: Weights } }).model.weights;
    // tfjs-layers' unique names differ between the two loads; the layers' own names do not.
    expect(again[0].name).not.toBe(weights[0].name);
    expect(again[0].originalName).toBe(weights[0].originalName);

    const expected = createHash('sha256');
    for (const weight of weights) {
      const value = weight.read();
      expected.update(`${weight.originalName}[${value.shape.join(',')}]:${value.dtype}\n`);
      const data = value.dataSync() as Float32Array;
      expected.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    }
    expected.update(JSON.stringify(first.scheduler.toDiffusersConfig()));
    const hash = await pipelineContentHash(first);
    expect(hash).toBe(`sha256:${expected.digest('hex')}`);
    expect(await pipelineContentHash(second)).toBe(hash);

    const value = again[again.length - 1].read() as tf.Variable;
    value.assign(tf.add(value, 1e-3));
    expect(await pipelineContentHash(second)).not.toBe(hash);
  } finally {
    first.dispose();
    second.dispose();
  }
});

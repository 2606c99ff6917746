import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { setBackend } from '../../../lib/node/backends/set-backend';
import { loadUNetFromUrl } from '../../../lib/models/unet/load-unet';
import { UNet2DModel } from '../../../lib/models/unet/unet-2d-model';
import { ModelFileNotFoundError } from '../../../lib/loading/model-source';
import { ModelLayoutError } from '../../../lib/loading/pipeline-layout';
import { fixturePath, maxAbsDiff } from '../../helpers/fixtures';
import { startStaticServer, type StaticServer } from '../../../test-support/static-server';
import { nchwValues, nhwcFromFixture, tinyFixture } from './unet-fixture';

/** Copies a tfjs model folder with its weights split into `count` shards (as the converter does for big models). */
function reshard(src: string, dst: string, count: number): void {
  const modelJson = JSON.parse(fs.readFileSync(path.join(src, 'model.json'), 'utf8'));
  const group = modelJson.weightsManifest[0];
  const bytes = Buffer.concat(group.paths.map((p: string) => fs.readFileSync(path.join(src, p))));
  const size = Math.ceil(bytes.length / count);
  fs.mkdirSync(dst);
  group.paths = Array.from({ length: count }, (_, i) => `group1-shard${i + 1}of${count}.bin`);
  group.paths.forEach((p: string, i: number) => fs.writeFileSync(path.join(dst, p), bytes.subarray(i * size, (i + 1) * size)));
  fs.writeFileSync(path.join(dst, 'model.json'), JSON.stringify(modelJson));
}

/**
 * A fetch that behaves like a browser on HTTP/1.1: at most `connections` responses in flight per host, a
 * connection freed only once its body has been read.
 */
function connectionLimitedFetch(connections: number): typeof fetch {
  let free = connections;
  const waiting: Array<() => void> = [];
  const acquire = () => (free > 0 ? (free--, Promise.resolve()) : new Promise<void>((resolve) => waiting.push(resolve)));
  const release = () => (waiting.length > 0 ? waiting.shift()!() : free++);
  return async (input, init) => {
    await acquire();
    const response = await fetch(input, init);
    let released = false;
    const releaseOnce = () => {
      if (!released) {
        released = true;
        release();
      }
    };
    // The connection is held until the body has been read to its end (or cancelled), however it is read: as a stream
    // (how the library reads it, to bound decoded sizes) or whole (arrayBuffer, json, text).
    const source = response.body;
    const reader = source?.getReader();
    const body =
      reader === undefined
        ? null
        : new ReadableStream<Uint8Array>({
            async pull(controller) {
              const { done, value } = await reader.read();
              if (done) {
                releaseOnce();
                controller.close();
              } else {
                controller.enqueue(value);
              }
            },
            cancel(reason) {
              releaseOnce();
              return reader.cancel(reason);
            },
          });
    if (body === null) releaseOnce();
    const whole = async (): Promise<ArrayBuffer> => (body === null ? new ArrayBuffer(0) : new Response(body).arrayBuffer());
    Object.defineProperty(response, 'body', { value: body });
    return Object.assign(response, {
      arrayBuffer: whole,
      json: async () => JSON.parse(new TextDecoder().decode(await whole())),
      text: async () => new TextDecoder().decode(await whole()),
    });
  };
}

// loadUNetFromUrl over real HTTP (Node's global fetch against a 127.0.0.1 server), on the tiny fixture UNet saved
// in the tfjs format: the same weights as UNet2DModel.fromPretrained, so the same outputs bit for bit on one backend.
describe('loadUNetFromUrl', () => {
  let tmp: string;
  let server: StaticServer;
  let reference: UNet2DModel;

  beforeAll(async () => {
    await setBackend('cpu');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-diffusers-url-'));
    reference = await UNet2DModel.fromPretrained(fixturePath('tiny-unet'));
    await reference.save(path.join(tmp, 'tiny-unet-tfjs'));
    reshard(path.join(tmp, 'tiny-unet-tfjs'), path.join(tmp, 'tiny-unet-8-shards'), 8);
    fs.mkdirSync(path.join(tmp, 'not-a-unet'));
    fs.writeFileSync(
      path.join(tmp, 'not-a-unet', 'model.json'),
      JSON.stringify({ modelTopology: {}, weightsManifest: [], format: 'layers-model' }),
    );
    server = await startStaticServer({ '/models/': tmp });
  });

  afterAll(async () => {
    reference?.dispose();
    await server?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('loads a saved UNet that predicts exactly what the original predicts, reporting progress', async () => {
    const progress: number[] = [];
    const unet = await loadUNetFromUrl(`${server.origin}/models/tiny-unet-tfjs/model.json`, {
      onProgress: (f) => progress.push(f),
    });
    expect(unet.countParams()).toBe(tinyFixture().num_parameters);
    expect(unet.config).toEqual(reference.config);
    const c = tinyFixture().cases[0];
    const sample = nhwcFromFixture(c.sample);
    const [a, b] = [unet.predict(sample, c.timestep), reference.predict(sample, c.timestep)];
    // Same weights, same graph, same backend: identical to the last bit.
    expect(maxAbsDiff(await nchwValues(a), await nchwValues(b))).toBe(0);
    expect(progress[progress.length - 1]).toBe(1);
    tf.dispose([sample, a, b]);
    unet.dispose();
  });

  it('loads more weight shards than a browser opens connections per host (HTTP/1.1: 6) without deadlocking', async () => {
    // tfjs' http handler awaits every shard's response before reading any body; a browser holds a connection until
    // its body is read. loadUNetFromUrl reads each body as it arrives: without that, this load never finishes.
    const load = loadUNetFromUrl(`${server.origin}/models/tiny-unet-8-shards/model.json`, { fetchFunc: connectionLimitedFetch(6) });
    let timer: NodeJS.Timeout | undefined;
    const deadlock = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('loadUNetFromUrl deadlocked on 8 shards over 6 connections')), 20000);
    });
    const unet = await Promise.race([load, deadlock]).finally(() => clearTimeout(timer));
    expect(unet.countParams()).toBe(tinyFixture().num_parameters);
    unet.dispose();
  });

  it('names the URL when it cannot be fetched', async () => {
    const url = `${server.origin}/models/missing/model.json`;
    await expect(loadUNetFromUrl(url)).rejects.toThrow(new ModelFileNotFoundError(url, 'not found (HTTP 404)'));
  });

  it('refuses a model.json without the diffusers UNet2DModel metadata', async () => {
    const url = `${server.origin}/models/not-a-unet/model.json`;
    await expect(loadUNetFromUrl(url)).rejects.toThrow(`${url}: has no userDefinedMetadata.diffusers with a UNet2DModel config`);
    await expect(loadUNetFromUrl(url)).rejects.toBeInstanceOf(ModelLayoutError);
  });

  it('refuses an empty URL', async () => {
    await expect(loadUNetFromUrl('')).rejects.toThrow('loadUNetFromUrl: modelJsonUrl must be the URL of a model.json, got ""');
  });
});

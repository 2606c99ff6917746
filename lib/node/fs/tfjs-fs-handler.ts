import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { MAX_WEIGHT_FILE_BYTES, readJsonFile, readRegularFile } from './read-file';
import { writeDirAtomic } from './atomic-write';
import { eventLoopYielder } from '../../io/event-loop-yield';
import { MODEL_JSON } from '../../loading/pipeline-layout';
import { manifestEntryBytes } from '../../models/unet/weight-specs';

export { MODEL_JSON };

/** Weight shard size, as tfjs' own converter writes them (4 MiB). */
const DEFAULT_SHARD_BYTES = 4 * 1024 * 1024;

export interface FileSystemHandlerOptions {
  /** Bytes per weight shard file (the last one may be shorter). Default 4 MiB. */
  shardBytes?: number;
  /** Let `save` replace an existing folder. Default false: saving over an existing folder throws. */
  force?: boolean;
}

function totalBytes(data: tf.io.WeightData): number {
  return Array.isArray(data) ? data.reduce((sum, b) => sum + b.byteLength, 0) : data.byteLength;
}

/** Shard file names in the tfjs converter's style: `group1-shard1of3.bin`, … */
export function shardFileNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `group1-shard${i + 1}of${count}.bin`);
}

/**
 * A tfjs `IOHandler` that saves and loads the standard LayersModel format on the local file system, for Node
 * without tfjs-node (which is what provides tfjs' own `file://` handler): a folder with `model.json` (topology,
 * weights manifest, `userDefinedMetadata`) and `group1-shard<i>of<n>.bin` weight shards.
 *
 * `save` writes the whole folder atomically (a temporary sibling folder renamed into place) and refuses to replace an
 * existing folder unless `force`. `load` checks that every shard listed in `model.json` is there with the size the
 * manifest implies.
 *
 * ```ts
 * await model.save(fileSystemHandler('out/unet'));
 * const again = await tf.loadLayersModel(fileSystemHandler('out/unet'));
 * ```
 */
export function fileSystemHandler(dir: string, options: FileSystemHandlerOptions = {}): tf.io.IOHandler {
  const shardBytes = options.shardBytes ?? DEFAULT_SHARD_BYTES;
  if (!Number.isSafeInteger(shardBytes) || shardBytes <= 0 || shardBytes % 4 !== 0) {
    throw new Error(`fileSystemHandler: shardBytes=${shardBytes} must be a positive multiple of 4`);
  }
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      const topology = artifacts.modelTopology;
      if (topology == null || topology instanceof ArrayBuffer) {
        throw new Error(`fileSystemHandler(${dir}): saving a binary (GraphDef) topology is not supported; only LayersModel JSON`);
      }
      const weightData = artifacts.weightData ?? new ArrayBuffer(0);
      const weights = new tf.io.CompositeArrayBuffer(weightData);
      const byteLength = totalBytes(weightData);
      const count = Math.max(1, Math.ceil(byteLength / shardBytes));
      const paths = byteLength === 0 ? [] : shardFileNames(count);
      const modelJSON: tf.io.ModelJSON = {
        modelTopology: topology,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        weightsManifest: [{ paths, weights: artifacts.weightSpecs ?? [] }],
      };
      if (artifacts.trainingConfig != null) modelJSON.trainingConfig = artifacts.trainingConfig;
      if (artifacts.signature != null) modelJSON.signature = artifacts.signature;
      if (artifacts.userDefinedMetadata != null) modelJSON.userDefinedMetadata = artifacts.userDefinedMetadata;
      if (artifacts.modelInitializer != null) modelJSON.modelInitializer = artifacts.modelInitializer;
      await writeDirAtomic(
        dir,
        async (tmp) => {
          // The event loop turns between shards (at most every YIELD_INTERVAL_MS), so a SIGTERM while a multi-GB
          // model is written removes the temporary folder at once instead of after the last shard.
          const pause = eventLoopYielder();
          for (let i = 0; i < paths.length; i++) {
            const end = Math.min(byteLength, (i + 1) * shardBytes);
            fs.writeFileSync(path.join(tmp, paths[i]), new Uint8Array(weights.slice(i * shardBytes, end)));
            await pause();
          }
          fs.writeFileSync(path.join(tmp, MODEL_JSON), JSON.stringify(modelJSON));
        },
        { force: options.force, writer: 'UNet2DModel.save' },
      );
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },

    async load(): Promise<tf.io.ModelArtifacts> {
      const jsonPath = path.join(dir, MODEL_JSON);
      if (!fs.existsSync(jsonPath)) throw new Error(`${dir}: no ${MODEL_JSON} (not a tfjs model folder)`);
      let modelJSON: tf.io.ModelJSON;
      try {
        modelJSON = readJsonFile(jsonPath) as tf.io.ModelJSON;
      } catch (err) {
        throw new Error(`${jsonPath}: not valid JSON: ${(err as Error).message}`, { cause: err });
      }
      if (modelJSON === null || typeof modelJSON !== 'object' || modelJSON.modelTopology == null) {
        throw new Error(`${jsonPath}: has no modelTopology (not a tfjs model.json)`);
      }
      return tf.io.getModelArtifactsForJSON(modelJSON, async (manifest) => readWeights(dir, manifest));
    },
  };
}

/** Reads and concatenates the shards of a weights manifest, checking their sizes against the weight specs. */
function readWeights(dir: string, manifest: tf.io.WeightsManifestConfig): [tf.io.WeightsManifestEntry[], ArrayBuffer] {
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Uint8Array[] = [];
  for (const group of manifest) {
    specs.push(...group.weights);
    for (const name of group.paths) {
      const file = path.join(dir, name);
      if (path.basename(name) !== name) throw new Error(`${path.join(dir, MODEL_JSON)}: weight path ${JSON.stringify(name)} must be a plain file name`);
      if (!fs.existsSync(file)) throw new Error(`${file}: weight shard listed in ${MODEL_JSON} is missing`);
      buffers.push(readRegularFile(file, { maxBytes: MAX_WEIGHT_FILE_BYTES }));
    }
  }
  const total = buffers.reduce((sum, b) => sum + b.length, 0);
  const expected = specs.reduce((sum, s) => sum + manifestEntryBytes(s, path.join(dir, MODEL_JSON)), 0);
  if (total !== expected) {
    throw new Error(`${dir}: the weight shards hold ${total} bytes but ${MODEL_JSON} describes ${expected} (truncated or mismatched files)`);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const b of buffers) {
    out.set(b, offset);
    offset += b.length;
  }
  return [specs, out.buffer];
}

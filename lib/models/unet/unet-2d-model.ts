import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { eventLoopYielder } from '../../io/event-loop-yield';
import { StateDict } from '../../io/state-dict';
import { platformLoader } from '../../loading/platform-loaders';
import { ModelLayoutError } from '../../loading/pipeline-layout';
import { parseUNet2DConfig, UNet2DConfig, unet2DConfigToJSON } from './config';
import { spatialDivisor } from './config-dimensions';
// A circle inside models/unet/ (the loader builds UNet2DModels; fromPretrained calls the loader), used only at call time.
import { loadUNet } from './load-unet';
import { loadStateDictIntoModel } from './state-dict-mapping';
import { buildUNet2DLayersModel, traceLayerNames } from './unet-2d-graph';

/** Where a converted model.json keeps the diffusers config: `userDefinedMetadata[UNET_METADATA_KEY]`. */
export const UNET_METADATA_KEY = 'diffusers';

/** What `userDefinedMetadata.diffusers` holds in a model.json written by {@link UNet2DModel.save}. */
export interface UNet2DMetadata {
  _class_name: 'UNet2DModel';
  /** The diffusers config.json (snake_case). */
  config: Record<string, unknown>;
  /** The name of the folder the weights were converted from (no local path), when known. */
  source?: string;
}

/**
 * The `userDefinedMetadata.diffusers` record of a converted model.json, checked: a `UNet2DModel` with a config object.
 *
 * ```ts
 * readUNet2DMetadata(modelJson.userDefinedMetadata, 'unet/model.json').config; // the diffusers config.json
 * ```
 * @throws {ModelLayoutError} naming `where` when the model.json was not written by tfjs-diffusers.
 */
export function readUNet2DMetadata(userDefinedMetadata: unknown, where: string): UNet2DMetadata {
  const metadata =
    userDefinedMetadata !== null && typeof userDefinedMetadata === 'object' && Object.prototype.hasOwnProperty.call(userDefinedMetadata, UNET_METADATA_KEY)
      ? ((userDefinedMetadata as Record<string, unknown>)[UNET_METADATA_KEY] as Partial<UNet2DMetadata> | null)
      : undefined;
  if (metadata == null || typeof metadata !== 'object' || metadata._class_name !== 'UNet2DModel' || typeof metadata.config !== 'object' || metadata.config === null || Array.isArray(metadata.config)) {
    throw new ModelLayoutError(
      where,
      `has no userDefinedMetadata.${UNET_METADATA_KEY} with a UNet2DModel config (not a model converted by tfjs-diffusers: ` +
        'use `tfjs-diffusers convert` or UNet2DModel.save)',
    );
  }
  return metadata as UNet2DMetadata;
}

export interface UNet2DSaveOptions {
  /** Replace an existing folder. Default false. */
  force?: boolean;
  /** Recorded in the metadata (e.g. the checkpoint folder it was converted from). */
  source?: string;
}

/** A timestep argument: one value for the whole batch, one per sample, or a `[N]` (or scalar) tensor. */
export type TimestepInput = number | number[] | tf.Tensor;

function isTypedConfig(config: UNet2DConfig | Record<string, unknown>): config is UNet2DConfig {
  return 'blockOutChannels' in config;
}

/**
 * diffusers' `UNet2DModel` on TensorFlow.js: a functional `tf.LayersModel` built from a diffusers config, with NHWC
 * tensors at the API and inside. Loads diffusers checkpoints (safetensors or PyTorch `.bin`, either attention key
 * naming) and its own converted tfjs format.
 *
 * ```ts
 * const unet = await UNet2DModel.fromPretrained('ddpm-cifar10-32');      // pipeline folder, model folder or tfjs folder
 * const eps = unet.predict(tf.randomNormal([1, 32, 32, 3]), 999);       // [1, 32, 32, 3]
 * unet.dispose();
 * ```
 */
export class UNet2DModel {
  /** The parsed config (camelCase diffusers keys, defaults filled). */
  readonly config: UNet2DConfig;
  /** The underlying LayersModel: inputs `sample` `[N, H, W, C]` and `timestep` `[N, 1]` (float32), one output. */
  readonly model: tfl.LayersModel;
  private disposed = false;

  private constructor(config: UNet2DConfig, model: tfl.LayersModel) {
    this.config = config;
    this.model = model;
  }

  /**
   * Builds the model for a config (a parsed {@link UNet2DConfig} or a diffusers `config.json` object), with zero
   * weights: load a checkpoint with {@link loadStateDict}.
   *
   * ```ts
   * const unet = UNet2DModel.fromConfig(JSON.parse(fs.readFileSync('unet/config.json', 'utf8')));
   * ```
   */
  static fromConfig(config: UNet2DConfig | Record<string, unknown>): UNet2DModel {
    // A typed config is re-validated through its JSON form, so a hand-made object gets the same checks.
    const parsed = parseUNet2DConfig(isTypedConfig(config) ? unet2DConfigToJSON(config) : config);
    return UNet2DModel.fromParsedConfig(parsed);
  }

  /**
   * Builds the model for a config that `parseUNet2DConfig` returned, without checking it again: the loader's path
   * (models/unet/load-unet.ts parses each config once). Hand-made configs go through {@link fromConfig}.
   *
   * ```ts
   * const unet = UNet2DModel.fromParsedConfig(parseUNet2DConfig(json, 'unet/config.json'));
   * ```
   */
  static fromParsedConfig(config: UNet2DConfig): UNet2DModel {
    return new UNet2DModel(config, buildUNet2DLayersModel(config));
  }

  /**
   * Loads a model from a folder: a diffusers model folder (`config.json` + `diffusion_pytorch_model.safetensors`
   * or `.bin`), a diffusers pipeline folder (its `unet/`), or a folder written by {@link save} / `convert`
   * (`model.json` + weight shards).
   *
   * ```ts
   * const unet = await UNet2DModel.fromPretrained('models/ddpm-cifar10-32-tfjs');
   * ```
   */
  static async fromPretrained(location: string): Promise<UNet2DModel> {
    return loadUNet(location);
  }

  /**
   * Wraps a LayersModel read from a converted model.json (disk, URL or any tfjs IO handler) after checking that its
   * `userDefinedMetadata.diffusers` holds a UNet2DModel config; disposes `model` and throws, naming `where`, if not.
   */
  static fromLayersModel(model: tfl.LayersModel, where: string): UNet2DModel {
    let config: UNet2DConfig;
    try {
      const metadata = readUNet2DMetadata(model.getUserDefinedMetadata(), where);
      config = parseUNet2DConfig(metadata.config, `${where} (userDefinedMetadata.${UNET_METADATA_KEY}.config)`);
    } catch (err) {
      model.dispose();
      throw err;
    }
    return new UNet2DModel(config, model);
  }

  /**
   * Loads a diffusers state dict (PyTorch names and layouts; old `query/key/value/proj_attn` or new
   * `to_q/to_k/to_v/to_out.0` attention names) into the weights. Every missing key, unexpected key and shape
   * mismatch is reported in one error before anything is written. Returns the number of parameters loaded.
   */
  loadStateDict(stateDict: StateDict, source = 'state dict'): number {
    this.assertNotDisposed('loadStateDict');
    return loadStateDictIntoModel(this.model, stateDict, source);
  }

  /** Number of parameters (35,746,307 for google/ddpm-cifar10-32). */
  countParams(): number {
    this.assertNotDisposed('countParams');
    return this.model.countParams();
  }

  /**
   * The noise prediction `unet(sample, t).sample` of diffusers, in NHWC.
   *
   * ```ts
   * const eps = unet.predict(xNHWC, 500);          // one timestep for the batch
   * const eps2 = unet.predict(x2NHWC, [10, 990]);  // one per sample
   * ```
   * @param sampleNHWC `[N, H, W, inChannels]` float32, H and W divisible by 2^(blocks-1).
   * @param timestep a number (broadcast to the batch), N numbers, or a `[N]` / scalar tensor.
   */
  predict(sampleNHWC: tf.Tensor4D, timestep: TimestepInput): tf.Tensor4D {
    this.assertNotDisposed('predict');
    this.checkSample(sampleNHWC, 'predict');
    return tf.tidy(() => {
      const t = this.timestepTensor(timestep, sampleNHWC.shape[0], 'predict');
      return this.model.execute([sampleNHWC, tf.reshape(t, [-1, 1])], this.model.outputs[0].name) as tf.Tensor4D;
    });
  }

  /**
   * Debugging aid: the output of every block for one forward pass, under diffusers' module names (see
   * {@link traceLayerNames}), to find where a port departs from the reference. Dispose the returned tensors.
   */
  trace(sampleNHWC: tf.Tensor4D, timestep: TimestepInput): Map<string, tf.Tensor> {
    this.assertNotDisposed('trace');
    this.checkSample(sampleNHWC, 'trace');
    const names = traceLayerNames(this.config);
    // A point can be the output of the same layer as another (a block without a downsampler ends at its last
    // resnet): run each layer output once, then hand out clones.
    const layers = [...new Set(names.values())];
    const tensorNames = layers.map((layer) => (this.model.getLayer(layer).output as tfl.SymbolicTensor).name);
    const points = [...names.keys()];
    const values = tf.tidy(() => {
      const t = this.timestepTensor(timestep, sampleNHWC.shape[0], 'trace');
      const outputs = this.model.execute([sampleNHWC, tf.reshape(t, [-1, 1])], tensorNames) as tf.Tensor[];
      return points.map((point) => outputs[layers.indexOf(names.get(point)!)].clone());
    });
    return new Map(points.map((point, i) => [point, values[i]]));
  }

  /**
   * Saves the model in the tfjs LayersModel format (`model.json` + weight shards, with the diffusers config in
   * `userDefinedMetadata.diffusers`), atomically; an existing folder is replaced only with `force`.
   * {@link fromPretrained} and `tf.loadLayersModel(fileSystemHandler(dir))` read it back.
   */
  async save(dir: string, options: UNet2DSaveOptions = {}): Promise<tf.io.SaveResult> {
    this.assertNotDisposed('save');
    const metadata: UNet2DMetadata = { _class_name: 'UNet2DModel', config: unet2DConfigToJSON(this.config) };
    if (options.source !== undefined) metadata.source = options.source;
    this.model.setUserDefinedMetadata({ [UNET_METADATA_KEY]: metadata as unknown as Record<string, unknown> });
    const handler = platformLoader('unetSaveHandler')(dir, options);
    if (handler.save === undefined) throw new Error(`UNet2DModel.save(${dir}): the platform's save handler cannot save`);
    return handler.save(await this.layersModelArtifacts());
  }

  /**
   * What `tf.LayersModel.save` hands its IOHandler (the same topology, metadata and weight specs), except that the
   * weights stay one buffer per tensor: tfjs concatenates them all in one synchronous copy (seconds for a multi-GB
   * model, during which a SIGTERM waits, and a second copy of every weight in memory). The event loop turns between
   * tensors (see `eventLoopYielder`); the fs handler cuts the shards from the list.
   */
  private async layersModelArtifacts(): Promise<tf.io.ModelArtifacts> {
    const pause = eventLoopYielder();
    const weightSpecs: tf.io.WeightsManifestEntry[] = [];
    const weightData: ArrayBuffer[] = [];
    for (const weight of this.model.weights) {
      const value = weight.read();
      if (value.dtype !== 'float32') throw new Error(`UNet2DModel.save: weight ${weight.originalName} is ${value.dtype}, expected float32`);
      const data = (await value.data()) as Float32Array;
      weightSpecs.push({ name: weight.originalName, shape: value.shape, dtype: 'float32' });
      const whole = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer;
      weightData.push(whole ? (data.buffer as ArrayBuffer) : data.slice().buffer);
      await pause();
    }
    return {
      modelTopology: this.model.toJSON(null, false) as tf.io.ModelArtifacts['modelTopology'],
      format: 'layers-model',
      generatedBy: `TensorFlow.js tfjs-layers v${tfl.version_layers}`,
      convertedBy: null,
      userDefinedMetadata: this.model.getUserDefinedMetadata(),
      weightSpecs,
      weightData,
    };
  }

  /** Frees the weights. The model cannot be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.model.dispose();
  }

  private assertNotDisposed(method: string): void {
    if (this.disposed) throw new Error(`UNet2DModel.${method}: the model has been disposed`);
  }

  private checkSample(sample: tf.Tensor, method: string): void {
    const where = `UNet2DModel.${method}`;
    const expected = `[N, H, W, ${this.config.inChannels}] (NHWC)`;
    if (!(sample instanceof tf.Tensor)) throw new Error(`${where}: sampleNHWC must be a tf.Tensor ${expected}, got ${typeof sample}`);
    if (sample.rank !== 4) throw new Error(`${where}: sampleNHWC must be ${expected}, got shape [${sample.shape.join(', ')}]`);
    const [n, h, w, c] = sample.shape;
    if (c !== this.config.inChannels) {
      const hint = sample.shape[1] === this.config.inChannels ? '; it looks NCHW: transpose it with tf.transpose(x, [0, 2, 3, 1])' : '';
      throw new Error(`${where}: sampleNHWC must be ${expected}, got shape [${sample.shape.join(', ')}] with ${c} channels${hint}`);
    }
    if (n < 1) throw new Error(`${where}: sampleNHWC has an empty batch (shape [${sample.shape.join(', ')}])`);
    const d = spatialDivisor(this.config);
    if (h % d !== 0 || w % d !== 0 || h === 0 || w === 0) {
      throw new Error(`${where}: height ${h} and width ${w} must be positive multiples of ${d} (2^(number of blocks - 1))`);
    }
    if (sample.dtype !== 'float32') throw new Error(`${where}: sampleNHWC must be float32, got ${sample.dtype}`);
  }

  /** The timesteps as a float32 `[batch]` tensor (a scalar or one value broadcast to the batch). */
  private timestepTensor(timestep: TimestepInput, batch: number, method: string): tf.Tensor1D {
    const where = `UNet2DModel.${method}`;
    let values: tf.Tensor;
    if (typeof timestep === 'number') {
      if (!Number.isFinite(timestep)) throw new Error(`${where}: timestep must be a finite number, got ${timestep}`);
      values = tf.tensor1d([timestep], 'float32');
    } else if (Array.isArray(timestep)) {
      if (!timestep.every((t) => typeof t === 'number' && Number.isFinite(t))) {
        throw new Error(`${where}: timestep must hold finite numbers, got [${timestep.join(', ')}]`);
      }
      values = tf.tensor1d(timestep, 'float32');
    } else if (timestep instanceof tf.Tensor) {
      if (timestep.rank > 1) throw new Error(`${where}: a timestep tensor must be a scalar or [N], got shape [${timestep.shape.join(', ')}]`);
      values = tf.cast(tf.reshape(timestep, [-1]), 'float32');
    } else {
      throw new Error(`${where}: timestep must be a number, number[] or tf.Tensor, got ${typeof timestep}`);
    }
    const count = values.shape[0];
    if (count === batch) return values as tf.Tensor1D;
    if (count === 1) return tf.broadcastTo(values, [batch]) as tf.Tensor1D;
    throw new Error(`${where}: got ${count} timesteps for a batch of ${batch}; pass one value or ${batch}`);
  }
}

import * as tf from '@tensorflow/tfjs-core';
import { FixtureArray, loadFixture } from '../../helpers/fixtures';

/** One forward case of spec/fixtures/unet_tiny.json: `unet(sample, timestep).sample` in PyTorch, NCHW. */
export interface UNetCase {
  id: string;
  input_seed: number;
  timestep: number | number[];
  sample: FixtureArray;
  output: FixtureArray;
}

export interface TraceStats {
  shape: number[];
  sum: number;
  abs_sum: number;
  min: number;
  max: number;
  mean: number;
  first8: number[];
}

export interface UNetTinyFixture {
  config: Record<string, unknown>;
  config_json_written_by_save_pretrained: Record<string, unknown>;
  num_parameters: number;
  state_dict_keys: [string, number[]][];
  old_key_names_renamed: string[];
  cases: UNetCase[];
  debug_trace_seed0_t500: Record<string, TraceStats | FixtureArray> & {
    time_proj_full: FixtureArray;
    time_embedding_full: FixtureArray;
  };
}

export function tinyFixture(): UNetTinyFixture {
  return loadFixture<UNetTinyFixture>('unet_tiny.json');
}

/**
 * spec/fixtures/unet_full.json: the google/ddpm-cifar10-32 architecture with deterministic random weights (rebuilt
 * from `weights_seed` by spec/helpers/recipe-weights.ts), its forward cases and 2- and 3-step pipeline cases.
 */
export interface UNetFullFixture {
  config: Record<string, unknown>;
  weights_seed: number;
  weights_sha256: string;
  num_parameters: number;
  state_dict_keys: [string, number[]][];
  cases: UNetCase[];
  pipeline_cases: {
    id: string;
    generator_seed: number;
    num_inference_steps: number;
    eta: number;
    scheduler_config: Record<string, unknown>;
    image_abs_sum: number;
    images: FixtureArray;
  }[];
}

export function fullFixture(): UNetFullFixture {
  return loadFixture<UNetFullFixture>('unet_full.json');
}

/** A fixture NCHW array as an NHWC tfjs tensor. */
export function nhwcFromFixture(a: FixtureArray): tf.Tensor4D {
  return tf.tidy(() => tf.transpose(tf.tensor4d(a.data, a.shape as [number, number, number, number], 'float32'), [0, 2, 3, 1]));
}

/** An NHWC tensor's values in NCHW order, to compare with a fixture array. */
export async function nchwValues(x: tf.Tensor): Promise<Float32Array> {
  const t = x.rank === 4 ? tf.transpose(x, [0, 3, 1, 2]) : x.clone();
  const data = (await t.data()) as Float32Array;
  t.dispose();
  return data;
}

// Property-based fuzzing of the two config parsers (fast-check), run in a limited child process by
// config-fuzz.spec.ts. The generators are structure-aware: a valid diffusers config first (block lists that agree,
// channels that the groups and head widths divide, tables of the right length), then 0 to 3 mutations — a wrong
// type, a number out of bounds, nested junk, a list of the wrong length, a bad list entry, a prototype key, a key of
// another model class, a removed key — so that most inputs get past the first checks and reach the later ones.
import fc from 'fast-check';
import { ConfigError } from '../../lib/config/config-error';
import { CONFIG_LIMITS } from '../../lib/config/limits';
import { parseUNet2DConfig, UNET_2D_CONFIG_KEYS, unet2DConfigToJSON } from '../../lib/models/unet/config';
import { unet2DParameterCount } from '../../lib/models/unet/weight-specs';
import { DDIMScheduler } from '../../lib/schedulers/ddim';
import { DDPMScheduler } from '../../lib/schedulers/ddpm';

type Json = Record<string, unknown>;

/** Sets an own property, even `__proto__` (as JSON.parse makes it), never the prototype. */
function setOwn(object: Json, key: string, value: unknown): void {
  Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
}

function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { a: value };
  return value;
}

/** Values that are wrong somewhere: wrong types, numbers at and past the bounds, nested junk, odd lists. */
const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.constantFrom(0, -1, 0.5, 1.5, -0, Number.NaN, Infinity, -Infinity, 2 ** 31, 2 ** 53 + 2, 1e12, 1e308, 9, 65, 16_384, 16_385, 65_537, 100_000, 100_001, 1e9),
  fc.integer(),
  fc.double(),
  fc.jsonValue({ maxDepth: 3 }),
  fc.integer({ min: 1, max: 5000 }).map(nested),
  fc.array(fc.oneof(fc.integer({ min: -2, max: 70_000 }), fc.string({ maxLength: 8 }), fc.constant(null)), { maxLength: 12 }),
  fc.integer({ min: 0, max: 12 }).map((n) => new Array(n).fill(32)),
  fc.constantFrom('UNetResDownBlock2D', 'UNetResUpBlock2D', 'CrossAttnDownBlock2D', 'AttnUpBlock2D', 'learned_range', 'sigmoid', 'fourier'),
  fc.constant(new Float32Array(3)),
  fc.constant(JSON.parse('{"__proto__": {"layers_per_block": 100000}}')),
);

const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];

/** Applies 0 to 3 mutations to a valid config, on its keys, inside its lists, or with keys it should not have. */
function mutated(valid: fc.Arbitrary<Json>, keys: readonly string[]): fc.Arbitrary<unknown> {
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('set' as const), key: fc.constantFrom(...keys, ...PROTOTYPE_KEYS, '_class_name', 'cross_attention_dim', 'conv_in_kernel', 'mystery_key'), value: junk }),
    fc.record({ kind: fc.constant('entry' as const), key: fc.constantFrom(...keys), index: fc.nat({ max: 9 }), value: junk }),
    fc.record({ kind: fc.constant('delete' as const), key: fc.constantFrom(...keys) }),
  );
  const mutatedConfig = fc.tuple(valid, fc.array(mutation, { maxLength: 3 })).map(([json, mutations]) => {
    const out: Json = { ...json };
    for (const m of mutations) {
      if (m.kind === 'delete') delete out[m.key];
      else if (m.kind === 'set') setOwn(out, m.key, m.value);
      else if (Array.isArray(out[m.key])) {
        const list = [...(out[m.key] as unknown[])];
        list[m.index] = m.value;
        out[m.key] = list;
      }
    }
    return out;
  });
  // 1 in 20: not an object at all (the first check).
  return fc.oneof({ arbitrary: mutatedConfig, weight: 19 }, { arbitrary: fc.anything(), weight: 1 });
}

const pow2 = (max: number) => fc.integer({ min: 0, max }).map((e) => 2 ** e);

/** A valid UNet2DModel config (small or large; only parsed, never built). */
export const validUNetConfig: fc.Arbitrary<Json> = fc
  .record({
    blocks: fc.integer({ min: 1, max: 6 }),
    groups: pow2(5),
    headDim: fc.option(pow2(4)),
    multipliers: fc.array(fc.integer({ min: 1, max: 48 }), { minLength: 6, maxLength: 6 }),
    attention: fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
    layers: fc.integer({ min: 1, max: 4 }),
    inChannels: fc.integer({ min: 1, max: 8 }),
    outChannels: fc.integer({ min: 1, max: 8 }),
    sampleSize: fc.oneof(fc.constant(null), fc.integer({ min: 1, max: 512 }), fc.tuple(fc.integer({ min: 1, max: 512 }), fc.integer({ min: 1, max: 512 }))),
    prefix: fc.boolean(),
    extra: fc.record(
      {
        center_input_sample: fc.boolean(),
        flip_sin_to_cos: fc.boolean(),
        freq_shift: fc.constantFrom(0, 1),
        mid_block_scale_factor: fc.double({ min: 0.25, max: 2, noNaN: true }),
        downsample_padding: fc.constantFrom(0, 1),
        act_fn: fc.constantFrom('silu', 'swish'),
        norm_eps: fc.constantFrom(1e-5, 1e-6),
        add_attention: fc.boolean(),
        dropout: fc.constantFrom(0, 0.1),
        num_train_timesteps: fc.option(fc.integer({ min: 1, max: 4000 })),
        _class_name: fc.constant('UNet2DModel'),
        _diffusers_version: fc.constantFrom('0.0.4', '0.30.3'),
      },
      { requiredKeys: [] },
    ),
  })
  .map((r) => {
    const base = Math.max(r.groups, r.headDim ?? 1);
    const channels = r.multipliers.slice(0, r.blocks).map((m) => base * m);
    const down = r.attention.slice(0, r.blocks).map((a, i) => `${r.prefix && i === 0 ? 'UNetRes' : ''}${a ? 'AttnDownBlock2D' : 'DownBlock2D'}`);
    const up = r.attention.slice(0, r.blocks).reverse().map((a) => (a ? 'AttnUpBlock2D' : 'UpBlock2D'));
    return {
      ...r.extra,
      sample_size: r.sampleSize,
      in_channels: r.inChannels,
      out_channels: r.outChannels,
      block_out_channels: channels,
      down_block_types: down,
      up_block_types: up,
      layers_per_block: r.layers,
      norm_num_groups: r.groups,
      attention_head_dim: r.headDim,
    };
  });

/** A valid scheduler_config.json of either scheduler, with an occasional trained_betas table of the right length. */
export const validSchedulerConfig: fc.Arbitrary<Json> = fc
  .record(
    {
      _class_name: fc.constantFrom('DDIMScheduler', 'DDPMScheduler', 'PNDMScheduler'),
      num_train_timesteps: fc.integer({ min: 1, max: 1200 }),
      beta_start: fc.double({ min: 1e-5, max: 1e-3, noNaN: true }),
      beta_end: fc.double({ min: 1e-3, max: 0.05, noNaN: true }),
      beta_schedule: fc.constantFrom('linear', 'scaled_linear', 'squaredcos_cap_v2', 'sigmoid'),
      clip_sample: fc.boolean(),
      set_alpha_to_one: fc.boolean(),
      steps_offset: fc.integer({ min: 0, max: 2 }),
      prediction_type: fc.constantFrom('epsilon', 'sample', 'v_prediction'),
      thresholding: fc.boolean(),
      dynamic_thresholding_ratio: fc.double({ min: 0, max: 1, noNaN: true }),
      clip_sample_range: fc.double({ min: 0.1, max: 4, noNaN: true }),
      sample_max_value: fc.double({ min: 0.1, max: 4, noNaN: true }),
      timestep_spacing: fc.constantFrom('leading', 'trailing', 'linspace'),
      rescale_betas_zero_snr: fc.boolean(),
      variance_type: fc.constantFrom('fixed_small', 'fixed_small_log', 'fixed_large', 'fixed_large_log'),
      trained: fc.boolean(),
      skip_prk_steps: fc.boolean(),
    },
    { requiredKeys: ['num_train_timesteps', 'trained'] },
  )
  .map(({ trained, ...json }) => {
    const out: Json = { ...json };
    const steps = json.num_train_timesteps;
    if (trained && steps <= 50) out.trained_betas = Array.from({ length: steps }, (_, i) => 0.0001 + (0.02 * i) / steps);
    return out;
  });

/** How the inputs of one parser ended. */
export interface FuzzCounts {
  inputs: number;
  /** Refused by the first check (not a JSON object). */
  notAnObject: number;
  /** Got past the first check and were refused with a ConfigError by a later one. */
  refusedLater: number;
  /** Parsed (and, for the schedulers, built). */
  accepted: number;
}

function classify(counts: FuzzCounts, run: () => void): true {
  counts.inputs++;
  try {
    run();
    counts.accepted++;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err; // anything but a ConfigError fails the property
    if (err.message.includes('must be a JSON object')) counts.notAnObject++;
    else counts.refusedLater++;
  }
  return true;
}

/**
 * `runs` generated inputs through `parseUNet2DConfig`: each gives a config or a ConfigError, nothing else; an accepted
 * config round-trips through its JSON form and implies no more parameters than the limit.
 */
export function fuzzUNetConfigs(runs: number, seed: number): FuzzCounts {
  const counts: FuzzCounts = { inputs: 0, notAnObject: 0, refusedLater: 0, accepted: 0 };
  fc.assert(
    fc.property(mutated(validUNetConfig, UNET_2D_CONFIG_KEYS), (json) =>
      classify(counts, () => {
        const config = parseUNet2DConfig(json, 'fuzz/config.json', { onWarning: () => {} });
        const again = parseUNet2DConfig(JSON.parse(JSON.stringify(unet2DConfigToJSON(config))), 'round trip', { onWarning: () => {} });
        if (JSON.stringify(again) !== JSON.stringify(config)) throw new Error(`round trip changed the config: ${JSON.stringify(config)}`);
        if (!(unet2DParameterCount(config) <= CONFIG_LIMITS.maxParameters)) throw new Error('accepted a config over the parameter limit');
      }),
    ),
    { numRuns: runs, seed },
  );
  return counts;
}

const SCHEDULER_KEYS = [
  'num_train_timesteps', 'beta_start', 'beta_end', 'beta_schedule', 'trained_betas', 'clip_sample', 'set_alpha_to_one', 'steps_offset',
  'prediction_type', 'thresholding', 'dynamic_thresholding_ratio', 'clip_sample_range', 'sample_max_value', 'timestep_spacing',
  'rescale_betas_zero_snr', 'variance_type',
];

/**
 * `runs` generated inputs through `DDIMScheduler.fromConfig` and `DDPMScheduler.fromConfig` (parse, then the tables
 * are built): each gives a scheduler or a ConfigError, nothing else.
 */
export function fuzzSchedulerConfigs(runs: number, seed: number): { ddim: FuzzCounts; ddpm: FuzzCounts } {
  const counts: FuzzCounts = { inputs: 0, notAnObject: 0, refusedLater: 0, accepted: 0 };
  const ddpmCounts: FuzzCounts = { ...counts };
  fc.assert(
    fc.property(mutated(validSchedulerConfig, SCHEDULER_KEYS), (json) => {
      classify(ddpmCounts, () => DDPMScheduler.fromConfig(json, { onWarning: () => {} }));
      return classify(counts, () => {
        const s = DDIMScheduler.fromConfig(json, { onWarning: () => {} });
        if (s.config.numTrainTimesteps > CONFIG_LIMITS.maxTrainTimesteps) throw new Error('accepted num_train_timesteps over the limit');
      });
    }),
    { numRuns: runs, seed },
  );
  return { ddim: counts, ddpm: ddpmCounts };
}

/**
 * The checks every port of spec/fixtures/schedulers_k.json gets (PNDM and the k-diffusion family): the tables of
 * every option set against diffusers, each trajectory step by step on cpu and wasm, the contract's static side,
 * and `fromConfig` of a DDPM `scheduler_config.json` and of DDIMScheduler's camelCase config.
 */
import * as tf from '@tensorflow/tfjs-core';
import { DDIMScheduler } from '../../lib/schedulers/ddim';
import type { Scheduler, SchedulerClass } from '../../lib/schedulers/scheduler';
import { KARRAS_DIFFUSION_SCHEDULERS } from '../../lib/schedulers/compatibles';
import { describeEachBackend } from '../helpers/backends';
import { replayTrajectory, sameValues, tablesOf, trajectoriesOf } from './k-fixture';
import { schedulerFixture } from './scheduler-fixture';

export interface KSchedulerSpecOptions<S extends Scheduler> {
  /** The class under test. */
  cls: SchedulerClass<S> & { fromConfig(json: unknown, options?: object): S };
  /** diffusers' `order` (2 for Heun and KDPM2). */
  order: number;
  stepTakesGenerator: boolean;
  /** The σ table of an instance (σ schedulers), compared with the fixture's `sigmas`. */
  sigmasOf?: (s: S) => ArrayLike<number>;
  /**
   * The worst |port − diffusers| allowed per trajectory id (measured; absent = bit-exact). A bound is a measured
   * figure, stated where it is declared.
   */
  bounds?: Record<string, number>;
  /** Trajectory ids also replayed with NHWC tensors (the generator's noise drawn in NCHW order). */
  nhwcCases?: string[];
}

export function describeKScheduler<S extends Scheduler>(opts: KSchedulerSpecOptions<S>): void {
  const { cls } = opts;
  const name = cls.className;

  describe(`${name}: the contract's static side`, () => {
    test('className, compatibles (diffusers KarrasDiffusionSchedulers), order, stepTakesGenerator', () => {
      const s = new cls();
      expect(s.className).toBe(name);
      expect(cls.compatibles).toEqual(KARRAS_DIFFUSION_SCHEDULERS);
      expect(s.order).toBe(opts.order);
      expect(s.stepTakesGenerator).toBe(opts.stepTakesGenerator);
      expect(s.numInferenceSteps).toBeNull();
    });
  });

  describe(`${name}: set_timesteps tables against diffusers (exact)`, () => {
    const rows = tablesOf(name);
    test('the fixture has rows', () => expect(rows.length).toBeGreaterThan(0));
    test.each(rows.map((r, i) => [`${JSON.stringify(r.config)} n=${r.num_inference_steps} #${i}`, r]))('%s', (_title, r) => {
      const s = cls.fromConfig(r.config, { onWarning: () => undefined });
      if (r.error !== undefined) {
        expect(() => s.setTimesteps(r.num_inference_steps)).toThrow();
        return;
      }
      s.setTimesteps(r.num_inference_steps);
      expect(sameValues(s.timesteps, r.timesteps)).toBe(true);
      if (opts.sigmasOf) expect(sameValues(opts.sigmasOf(s), r.sigmas)).toBe(true);
      expect(s.initNoiseSigma).toBe(r.init_noise_sigma);
    });
  });

  describeEachBackend(
    `${name}: trajectories against diffusers`,
    () => {
      const cases = trajectoriesOf(name);
      test('the fixture has trajectories', () => expect(cases.length).toBeGreaterThan(0));
      test.each(cases.map((c) => [c.id, c]))('%s', (_id, c) => {
        const s = cls.fromConfig(c.config);
        expect(s.stepTakesGenerator).toBe(c.step_takes_generator);
        const e = replayTrajectory(s, c);
        expect(e.timestepsDiffer).toBe(false);
        const bound = opts.bounds?.[c.id] ?? 0;
        const worst = Math.max(e.modelInput, e.prevSample, e.predOriginalSample);
        if (bound > 0) console.log(`parity: ${name} ${c.id} [${tf.getBackend()}] worst ${worst.toExponential(3)} (${e.mismatches} elements not bit-identical), bound ${bound}`);
        if (bound === 0) expect(e.mismatches).toBe(0);
        else expect(worst).toBeLessThanOrEqual(bound);
        expect(tf.memory().numTensors).toBeLessThan(1000);
      });
      const nhwc = cases.filter((c) => opts.nhwcCases?.includes(c.id));
      if (nhwc.length > 0) {
        test.each(nhwc.map((c) => [c.id, c]))('%s with NHWC tensors (noise drawn in NCHW order)', (_id, c) => {
          const e = replayTrajectory(cls.fromConfig(c.config), c, 'NHWC');
          expect(e.timestepsDiffer).toBe(false);
          const bound = opts.bounds?.[c.id] ?? 0;
          if (bound === 0) expect(e.mismatches).toBe(0);
          else expect(Math.max(e.modelInput, e.prevSample, e.predOriginalSample)).toBeLessThanOrEqual(bound);
        });
      }
    },
    ['cpu', 'wasm'],
  );

  describe(`${name}.fromConfig`, () => {
    test("from google/ddpm-cifar10-32's DDPM scheduler_config.json: keeps the known fields, drops DDPM's silently, warns once for unknown keys", () => {
      const json = { ...schedulerFixture().scheduler_config, not_a_scheduler_key: 1 };
      const warnings: string[] = [];
      const s = cls.fromConfig(json, { onWarning: (m: string) => warnings.push(m), source: 'scheduler/scheduler_config.json' });
      const config = s.config as Record<string, unknown>;
      expect(config.numTrainTimesteps).toBe(1000);
      expect(config.betaStart).toBe(0.0001);
      expect(config.betaEnd).toBe(0.02);
      expect(config.betaSchedule).toBe('linear');
      // As diffusers' extract_init_dict: a compatible scheduler's keys (DDPM's variance_type, clip_sample) are dropped
      // without a warning (diffusers 0.30.3 logs nothing for them); a key no scheduler has gets the one warning.
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('scheduler/scheduler_config.json');
      expect(warnings[0]).toContain(name);
      expect(warnings[0]).toContain('not_a_scheduler_key');
      expect(warnings[0]).not.toContain('variance_type');
      expect(s.toDiffusersConfig()._class_name).toBe(name);
    });

    test("from DDIMScheduler's camelCase config (the from_config(pipe.scheduler.config) idiom)", () => {
      const ddim = new DDIMScheduler({ betaSchedule: 'scaled_linear', betaStart: 0.00085, betaEnd: 0.012, numTrainTimesteps: 500 });
      const warnings: string[] = [];
      const s = cls.fromConfig(ddim.config, { onWarning: (m: string) => warnings.push(m) });
      const config = s.config as Record<string, unknown>;
      expect(config.numTrainTimesteps).toBe(500);
      expect(config.betaSchedule).toBe('scaled_linear');
      expect(config.betaStart).toBe(0.00085);
      expect(warnings.length).toBeLessThanOrEqual(1);
    });

    test('the snake_case JSON round-trips through toDiffusersConfig', () => {
      const s = new cls();
      const again = cls.fromConfig(s.toDiffusersConfig(), { onWarning: () => undefined });
      expect(again.config).toEqual(s.config);
    });

    test('a bad value names the key and the value; a non-scheduler config is refused', () => {
      expect(() => cls.fromConfig({ num_train_timesteps: -3 })).toThrow(/num_train_timesteps=-3/);
      expect(() => cls.fromConfig({ timestep_spacing: 'sideways' })).toThrow(/timestep_spacing="sideways"|timestep_spacing='sideways'|sideways/);
      expect(() => cls.fromConfig({ _class_name: 'UNet2DModel' })).toThrow(/UNet2DModel/);
      expect(() => cls.fromConfig(42)).toThrow();
    });

    test('a camelCase constructor option with a typo throws', () => {
      expect(() => new cls({ numTrainTimestep: 10 } as never)).toThrow(/numTrainTimestep/);
    });
  });

  if (opts.sigmasOf) {
    const sigmasOf = opts.sigmasOf;
    describe(`${name}.addNoise`, () => {
      test("original + noise · σ(t), σ at the timestep's position (the second of a doubled timestep), per batch element", () => {
        const s = new cls();
        s.setTimesteps(6);
        const ts = Array.from(s.timesteps);
        const position = (t: number): number => (ts.indexOf(t) !== ts.lastIndexOf(t) ? ts.indexOf(t) + 1 : ts.indexOf(t));
        const [ta, tb] = [ts[3], ts[0]];
        const x0 = tf.ones([2, 1, 2, 2]);
        const noise = tf.fill([2, 1, 2, 2], 2);
        const out = s.addNoise(x0, noise, [ta, tb]);
        const v = out.dataSync();
        const sigmas = sigmasOf(s);
        expect(v[0]).toBe(Math.fround(1 + Math.fround(2 * sigmas[position(ta)])));
        expect(v[4]).toBe(Math.fround(1 + Math.fround(2 * sigmas[position(tb)])));
        expect(() => s.addNoise(x0, noise, [12345.5])).toThrow(/timestep=12345.5 is not one of scheduler.timesteps/);
        expect(() => s.addNoise(x0, noise, [ta, ta, ta])).toThrow(/3 timesteps for a batch of 2/);
        tf.dispose([x0, noise, out]);
      });
    });
  }

  describe(`${name}: input checks`, () => {
    test('step before setTimesteps, shapes that differ, non-tensors', () => {
      const s = new cls();
      const a = tf.zeros([1, 3, 4, 4]);
      const b = tf.zeros([1, 3, 4, 5]);
      expect(() => s.step(a, 999, a)).toThrow(/setTimesteps|not one of scheduler.timesteps/);
      s.setTimesteps(10);
      const t = s.timesteps[0];
      expect(() => s.step(a, t, b)).toThrow(/shape \[1, 3, 4, 4\].*\[1, 3, 4, 5\]/);
      expect(() => s.step(null as never, t, a)).toThrow(/modelOutput must be a tf.Tensor, got null/);
      expect(() => s.setTimesteps(0)).toThrow(/numInferenceSteps=0/);
      expect(() => s.setTimesteps(2.5)).toThrow(/numInferenceSteps=2.5/);
      tf.dispose([a, b]);
    });
  });
}

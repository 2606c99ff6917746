import * as allSchedulers from '../../lib/schedulers/all-schedulers';
import * as lib from '../../lib/index';
import { KARRAS_DIFFUSION_SCHEDULERS } from '../../lib/schedulers/compatibles';
import {
  hasScheduler,
  schedulerClass,
  schedulerClassNames,
  schedulerFromConfig,
  UnknownSchedulerError,
} from '../../lib/schedulers/registry';
import { DDIMScheduler } from '../../lib/schedulers/ddim';
import { DDPMScheduler } from '../../lib/schedulers/ddpm';
import { ConfigError } from '../../lib/config/config-error';
import { errorOf } from '../helpers/errors';

const names = schedulerClassNames();

describe('the registry, derived from all-schedulers.ts', () => {
  test('every class exported by all-schedulers.ts is registered under its className, and exported by the package root', () => {
    const exported = Object.values(allSchedulers).filter((v) => typeof v === 'function') as { className: string }[];
    expect(exported.length).toBeGreaterThanOrEqual(2);
    expect(names.sort()).toEqual(exported.map((c) => c.className).sort());
    for (const name of names) expect((lib as Record<string, unknown>)[name]).toBe(schedulerClass(name));
    expect(names).toEqual(expect.arrayContaining(['DDIMScheduler', 'DDPMScheduler']));
    expect(schedulerClass('DDIMScheduler')).toBe(DDIMScheduler);
  });

  test('an unknown name is a named error listing the known names', () => {
    const error = errorOf<UnknownSchedulerError>(() => schedulerClass('DDIMSchedular'));
    expect(error).toBeInstanceOf(UnknownSchedulerError);
    expect(error.message).toBe(`schedulerClass: unknown scheduler "DDIMSchedular" (known: ${schedulerClassNames().join(', ')})`);
    expect(hasScheduler('DDIMSchedular')).toBe(false);
  });

  test('schedulerFromConfig picks the class of _class_name; without one it needs a default', () => {
    expect(schedulerFromConfig({ _class_name: 'DDPMScheduler', variance_type: 'fixed_large' })).toBeInstanceOf(DDPMScheduler);
    expect(schedulerFromConfig({ _class_name: 'DDIMScheduler' })).toBeInstanceOf(DDIMScheduler);
    expect(schedulerFromConfig({ beta_end: 0.01 }, { defaultClassName: 'DDIMScheduler' })).toBeInstanceOf(DDIMScheduler);
    expect(() => schedulerFromConfig({ beta_end: 0.01 }, { source: 'x.json' })).toThrow(
      new ConfigError('x.json', '_class_name', 'has no _class_name: which scheduler it configures is unknown'),
    );
    expect(() => schedulerFromConfig({ _class_name: 7 })).toThrow('schedulerFromConfig: _class_name=7 must be a string');
    expect(() => schedulerFromConfig({ _class_name: 'FooScheduler' }, { source: 'sched.json' })).toThrow(
      'sched.json: unknown scheduler "FooScheduler" (known: ',
    );
    expect(() => schedulerFromConfig([1])).toThrow('the scheduler config must be a JSON object');
  });
});

describe.each(names)('%s keeps the scheduler contract', (name) => {
  const Cls = schedulerClass(name);

  test('static and instance className agree; compatibles as diffusers 0.30.3 (KarrasDiffusionSchedulers)', () => {
    const s = Cls.fromConfig({});
    expect(Cls.className).toBe(name);
    expect(s.className).toBe(name);
    expect(s.toDiffusersConfig()._class_name).toBe(name);
    expect(Cls.compatibles).toContain(name);
    // diffusers: every scheduler of this library is one of the Karras list, and lists it whole.
    expect([...Cls.compatibles]).toEqual([...KARRAS_DIFFUSION_SCHEDULERS]);
    expect(s.order).toBeGreaterThanOrEqual(1);
    expect(typeof s.stepTakesGenerator).toBe('boolean');
    expect(typeof s.initNoiseSigma).toBe('number');
    expect(Object.isFrozen(s.config)).toBe(true);
  });

  test('toDiffusersConfig round-trips through fromConfig and schedulerFromConfig', () => {
    const s = Cls.fromConfig({ num_train_timesteps: 100 });
    expect(Cls.fromConfig(s.toDiffusersConfig()).config).toEqual(s.config);
    expect(schedulerFromConfig(s.toDiffusersConfig()).config).toEqual(s.config);
  });

  test.each(names)('fromConfig(%s config): snake_case JSON and the camelCase `config` give the same scheduler, without a warning', (other) => {
    const source = schedulerClass(other).fromConfig({ num_train_timesteps: 100, beta_end: 0.01 });
    if (other === 'DEISMultistepScheduler' && /^DPMSolver(Multi|Single)stepScheduler$/.test(Cls.className)) {
      // DEIS's algorithm_type="deis" with DPM-Solver's final_sigmas_type="zero": diffusers' __init__ raises for such a
      // scheduler_config.json (it rewrites "deis" to "dpmsolver++" after the check); its from_config of a *default*
      // DEIS object only passes because `_use_default_values` drops every default key, which this library does not track.
      expect(() => Cls.fromConfig(source.toDiffusersConfig())).toThrow(/final_sigmas_type="zero" is not supported with algorithm_type='deis'/);
      expect(() => Cls.fromConfig(source.config)).toThrow(/final_sigmas_type="zero" is not supported with algorithm_type='deis'/);
      expect(Cls.fromConfig({ ...source.toDiffusersConfig(), final_sigmas_type: 'sigma_min' }).config).toMatchObject({ algorithmType: 'dpmsolver++' });
      return;
    }
    const warnings: string[] = [];
    const fromJson = Cls.fromConfig(source.toDiffusersConfig(), { onWarning: (m) => warnings.push(m) });
    const fromCamel = Cls.fromConfig(source.config, { onWarning: (m) => warnings.push(m) });
    expect(warnings).toEqual([]);
    expect(fromCamel.config).toEqual(fromJson.config);
    expect(fromJson.toDiffusersConfig()).toMatchObject({ num_train_timesteps: 100, beta_end: 0.01 });
  });

  test('keys no scheduler knows get one warning naming them', () => {
    const warnings: string[] = [];
    Cls.fromConfig({ _class_name: 'DDPMScheduler', not_a_scheduler_key: 1, another_one: 2 }, { onWarning: (m) => warnings.push(m) });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('not_a_scheduler_key, another_one');
  });
});

import {
  DDIM_SCHEDULER_DEFAULTS,
  DDPM_SCHEDULER_DEFAULTS,
  parseSchedulerConfig,
  resolveDDIMConfig,
} from '../../lib/schedulers/config';
import { DDIMScheduler } from '../../lib/schedulers/ddim';
import { DDPMScheduler } from '../../lib/schedulers/ddpm';
import { schedulerFixture } from './scheduler-fixture';

const fixture = schedulerFixture();

/** diffusers' resolved config restricted to the keys of one scheduler (drops `_` metadata and the other's keys). */
function resolvedKeys(resolved: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, resolved[k]]));
}

describe('scheduler configs', () => {
  test('DDIMScheduler.fromConfig(cifar10 DDPM config) resolves to what diffusers resolved', () => {
    const ours = DDIMScheduler.fromConfig(fixture.scheduler_config).toDiffusersConfig();
    const keys = Object.keys(ours).filter((k) => k !== '_class_name');
    expect(keys.sort()).toEqual(Object.keys(fixture.ddim_config_resolved).filter((k) => !k.startsWith('_') && k !== 'variance_type').sort());
    expect(resolvedKeys(ours, keys)).toEqual(resolvedKeys(fixture.ddim_config_resolved, keys));
    expect(ours._class_name).toBe('DDIMScheduler');
  });

  test('DDPMScheduler.fromConfig(cifar10 DDPM config) resolves to what diffusers resolved', () => {
    const ours = DDPMScheduler.fromConfig(fixture.scheduler_config).toDiffusersConfig();
    const keys = Object.keys(ours).filter((k) => k !== '_class_name');
    expect(keys.sort()).toEqual(Object.keys(fixture.ddpm_config_resolved).filter((k) => !k.startsWith('_')).sort());
    expect(resolvedKeys(ours, keys)).toEqual(resolvedKeys(fixture.ddpm_config_resolved, keys));
  });

  test('defaults are diffusers 0.30.3 defaults', () => {
    expect(new DDIMScheduler().config).toEqual(DDIM_SCHEDULER_DEFAULTS);
    expect(new DDPMScheduler().config).toEqual(DDPM_SCHEDULER_DEFAULTS);
    expect(DDIM_SCHEDULER_DEFAULTS).toMatchObject({ clipSample: true, setAlphaToOne: true, timestepSpacing: 'leading' });
    expect(DDPM_SCHEDULER_DEFAULTS.varianceType).toBe('fixed_small');
    expect(Object.isFrozen(new DDIMScheduler().config)).toBe(true);
  });

  test('camelCase constructor options and snake_case JSON give the same scheduler', () => {
    const a = new DDIMScheduler({ timestepSpacing: 'trailing', clipSampleRange: 2, predictionType: 'v_prediction' });
    const b = DDIMScheduler.fromConfig({ timestep_spacing: 'trailing', clip_sample_range: 2, prediction_type: 'v_prediction' });
    expect(a.config).toEqual(b.config);
  });
});

describe('fromConfig warnings', () => {
  test('the cifar10 DDPM config loads into DDIM without a warning (variance_type is a compatible key)', () => {
    const warnings: string[] = [];
    DDIMScheduler.fromConfig({ ...fixture.scheduler_config, _diffusers_version: '0.30.3' }, { onWarning: (m) => warnings.push(m) });
    expect(warnings).toEqual([]);
    const parsed = parseSchedulerConfig('DDIMScheduler', fixture.scheduler_config);
    expect(parsed.unusedCompatibleKeys).toEqual(['variance_type']);
    expect(parsed.className).toBe('DDPMScheduler');
  });

  test('unknown keys are ignored and listed in one warning', () => {
    const warnings: string[] = [];
    const s = DDIMScheduler.fromConfig(
      { _class_name: 'PNDMScheduler', skip_prk_steps: true, betaStart: 0.5, beta_start: 0.001 },
      { onWarning: (m) => warnings.push(m) },
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('skip_prk_steps, betaStart');
    expect(warnings[0]).toContain('PNDMScheduler');
    expect(s.config.betaStart).toBe(0.001);
  });

  test('the default sink is console.warn, and it stays quiet when there is nothing to warn', () => {
    const spy = jest.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      DDPMScheduler.fromConfig(fixture.scheduler_config);
      expect(spy).not.toHaveBeenCalled();
      DDPMScheduler.fromConfig({ ...fixture.scheduler_config, use_karras_sigmas: false });
      expect(spy).toHaveBeenCalledTimes(1);
      expect(spy.mock.calls[0][0]).toContain('use_karras_sigmas');
    } finally {
      spy.mockRestore();
    }
  });
});

describe('config errors name the field and the value', () => {
  test.each<[string, Record<string, unknown>, string]>([
    ['unknown beta schedule', { beta_schedule: 'cosine' }, "beta_schedule='cosine' is not one of 'linear', 'scaled_linear', 'squaredcos_cap_v2'"],
    ['sigmoid is DDPM-only', { beta_schedule: 'sigmoid' }, "beta_schedule='sigmoid'"],
    ['prediction type', { prediction_type: 'eps' }, "prediction_type='eps' is not one of 'epsilon', 'sample', 'v_prediction'"],
    ['timestep spacing', { timestep_spacing: 'uniform' }, "timestep_spacing='uniform'"],
    ['num_train_timesteps', { num_train_timesteps: 0 }, 'num_train_timesteps=0 must be a positive integer'],
    ['steps_offset', { steps_offset: -1 }, 'steps_offset=-1 must be an integer >= 0'],
    ['steps_offset type', { steps_offset: '1' }, "steps_offset='1' must be an integer >= 0"],
    ['clip_sample type', { clip_sample: 'yes' }, "clip_sample='yes' must be true or false"],
    ['clip_sample_range', { clip_sample_range: 0 }, 'clip_sample_range=0 must be a finite number > 0'],
    ['ratio', { dynamic_thresholding_ratio: 1.5 }, 'dynamic_thresholding_ratio=1.5 must be a number in [0, 1]'],
    ['beta_start', { beta_start: Number.NaN }, 'beta_start=NaN must be a finite number'],
    ['null value', { clip_sample: null }, 'clip_sample=null'],
    ['trained_betas values', { num_train_timesteps: 2, trained_betas: [0.1, 'x'] }, "trained_betas[1]='x' must be a finite number"],
    ['trained_betas length', { trained_betas: [0.1, 0.2] }, 'trained_betas has 2 values but num_train_timesteps=1000'],
    ['not a scheduler', { _class_name: 'UNet2DModel' }, "_class_name='UNet2DModel' is not a diffusers scheduler config"],
  ])('DDIM: %s', (_name, json, message) => {
    expect(() => DDIMScheduler.fromConfig(json, { onWarning: () => {} })).toThrow(message);
  });

  test('DDPM: learned variances are not supported, unknown ones are unknown', () => {
    expect(() => DDPMScheduler.fromConfig({ variance_type: 'learned_range' })).toThrow(
      "DDPMScheduler config: variance_type='learned_range' is not supported",
    );
    expect(() => DDPMScheduler.fromConfig({ variance_type: 'learned' })).toThrow("variance_type='learned' is not supported");
    expect(() => DDPMScheduler.fromConfig({ variance_type: 'fixed' })).toThrow(
      "variance_type='fixed' is not one of 'fixed_small', 'fixed_small_log', 'fixed_large', 'fixed_large_log'",
    );
  });

  test('constructor options are checked with their camelCase names; a typo throws', () => {
    expect(() => new DDIMScheduler({ betaSchedule: 'cosine' as never })).toThrow("DDIMScheduler config: betaSchedule='cosine'");
    expect(() => new DDIMScheduler({ beta_schedule: 'linear' } as never)).toThrow('beta_schedule (did you mean betaSchedule?');
    expect(() => new DDPMScheduler({ setAlphaToOne: true } as never)).toThrow('unknown option setAlphaToOne');
    expect(() => resolveDDIMConfig(null as never)).toThrow('DDIMScheduler: config must be an object, got null');
    expect(() => DDIMScheduler.fromConfig('{"beta_start": 0.1}')).toThrow(
      "DDIMScheduler.fromConfig: the scheduler config must be an object, got '{\"beta_start\": 0.1}'",
    );
  });
});

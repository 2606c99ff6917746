/**
 * The scheduler config diffusers ships with google/ddpm-cifar10-32 (`scheduler/scheduler_config.json`): linear betas
 * 1e-4 … 0.02 over 1000 steps, clip_sample. Used for a bare UNet folder, which has no scheduler of its own.
 */
export const DDPM_CIFAR10_SCHEDULER_CONFIG: Readonly<Record<string, unknown>> = Object.freeze({
  _class_name: 'DDPMScheduler',
  beta_end: 0.02,
  beta_schedule: 'linear',
  beta_start: 0.0001,
  clip_sample: true,
  num_train_timesteps: 1000,
  trained_betas: null,
  variance_type: 'fixed_large',
});

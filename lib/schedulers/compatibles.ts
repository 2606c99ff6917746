/**
 * diffusers 0.30.3's `KarrasDiffusionSchedulers` (schedulers/scheduling_utils.py), in its order: the `_compatibles`
 * of DDIM, DDPM and most other schedulers (each lists itself too). Names this library has no class for
 * (`DPMSolverSDEScheduler`, `EDMEulerScheduler`) stay in the list, as diffusers keeps names its install lacks.
 *
 * ```ts
 * DDPMScheduler.compatibles.includes('DPMSolverMultistepScheduler');  // true
 * ```
 */
export const KARRAS_DIFFUSION_SCHEDULERS: readonly string[] = Object.freeze([
  'DDIMScheduler',
  'DDPMScheduler',
  'PNDMScheduler',
  'LMSDiscreteScheduler',
  'EulerDiscreteScheduler',
  'HeunDiscreteScheduler',
  'EulerAncestralDiscreteScheduler',
  'DPMSolverMultistepScheduler',
  'DPMSolverSinglestepScheduler',
  'KDPM2DiscreteScheduler',
  'KDPM2AncestralDiscreteScheduler',
  'DEISMultistepScheduler',
  'UniPCMultistepScheduler',
  'DPMSolverSDEScheduler',
  'EDMEulerScheduler',
]);

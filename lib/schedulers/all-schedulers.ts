// Every scheduler of the library, one line each: the registry (keyed by diffusers' `_class_name`) and the package
// root's exports are derived from this list. A new scheduler is its own file plus one line here.
export { DDIMScheduler } from './ddim';
export { DDPMScheduler } from './ddpm';
export { DPMSolverMultistepScheduler } from './dpm-solver-multistep';
export { PNDMScheduler } from './pndm';
export { EulerDiscreteScheduler } from './euler-discrete';
export { EulerAncestralDiscreteScheduler } from './euler-ancestral-discrete';
export { HeunDiscreteScheduler } from './heun-discrete';
export { LMSDiscreteScheduler } from './lms-discrete';
export { KDPM2DiscreteScheduler } from './kdpm2-discrete';
export { KDPM2AncestralDiscreteScheduler } from './kdpm2-ancestral-discrete';
export { UniPCMultistepScheduler } from './unipc-multistep';
export { DPMSolverSinglestepScheduler } from './dpm-solver-singlestep';
export { DEISMultistepScheduler } from './deis-multistep';

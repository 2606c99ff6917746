import { DDIMScheduler } from '../../lib/schedulers/ddim';
import { DDPMScheduler } from '../../lib/schedulers/ddpm';
import {
  allTimestepsDescending,
  alphasFromBetas,
  betasForAlphaBar,
  betasForSchedule,
  cumprodFloat32,
  linspaceFloat32,
  rescaleZeroTerminalSnr,
  roundHalfToEven,
  spacedTimesteps,
} from '../../lib/schedulers/schedule';
import { schedulerFixture } from './scheduler-fixture';

const fixture = schedulerFixture();

/** Indices where two arrays differ (exact comparison: the tables must be bit-identical to torch's). */
function mismatches(actual: ArrayLike<number>, expected: ArrayLike<number>): number[] {
  expect(actual.length).toBe(expected.length);
  const out: number[] = [];
  for (let i = 0; i < expected.length; i++) if (!Object.is(actual[i], expected[i])) out.push(i);
  return out;
}

describe('scheduler tables against diffusers (exact)', () => {
  test('betas of the cifar10 config (torch.linspace float32)', () => {
    expect(mismatches(DDIMScheduler.fromConfig(fixture.scheduler_config).betas, fixture.betas.data)).toEqual([]);
    expect(mismatches(DDPMScheduler.fromConfig(fixture.scheduler_config).betas, fixture.betas.data)).toEqual([]);
  });

  test('alphas_cumprod (torch.cumprod float32)', () => {
    expect(mismatches(DDIMScheduler.fromConfig(fixture.scheduler_config).alphasCumprod, fixture.alphas_cumprod.data)).toEqual([]);
    expect(mismatches(DDPMScheduler.fromConfig(fixture.scheduler_config).alphasCumprod, fixture.alphas_cumprod.data)).toEqual([]);
  });

  test('a float32 running product would not match torch: the accumulator is double', () => {
    let product = 1;
    const float32Running = alphasFromBetas(fixture.betas.data).map((a) => (product = Math.fround(product * a)));
    expect(mismatches(float32Running, fixture.alphas_cumprod.data).length).toBeGreaterThan(0);
    expect(mismatches(cumprodFloat32(alphasFromBetas(fixture.betas.data)), fixture.alphas_cumprod.data)).toEqual([]);
  });

  test('final_alpha_cumprod with set_alpha_to_one true and false', () => {
    expect(DDIMScheduler.fromConfig(fixture.scheduler_config).finalAlphaCumprod).toBe(fixture.final_alpha_cumprod);
    const s = DDIMScheduler.fromConfig({ ...fixture.scheduler_config, set_alpha_to_one: false });
    expect(s.finalAlphaCumprod).toBe(fixture.final_alpha_cumprod_set_alpha_to_one_false);
  });

  test.each(fixture.timesteps_table.map((r) => [`${r.timestep_spacing} offset ${r.steps_offset} n=${r.num_inference_steps}`, r]))(
    'DDIM timesteps %s',
    (_name, row) => {
      const s = DDIMScheduler.fromConfig({
        ...fixture.scheduler_config,
        timestep_spacing: row.timestep_spacing,
        steps_offset: row.steps_offset,
      });
      s.setTimesteps(row.num_inference_steps);
      expect(s.timesteps).toBeInstanceOf(Int32Array);
      expect(Array.from(s.timesteps)).toEqual(row.timesteps);
    },
  );

  test.each(fixture.timesteps_table_ddpm.map((r) => [`${r.timestep_spacing} n=${r.num_inference_steps}`, r]))(
    'DDPM timesteps %s',
    (_name, row) => {
      const s = DDPMScheduler.fromConfig({ ...fixture.scheduler_config, timestep_spacing: row.timestep_spacing, steps_offset: row.steps_offset });
      s.setTimesteps(row.num_inference_steps);
      expect(Array.from(s.timesteps)).toEqual(row.timesteps);
    },
  );

  test('before setTimesteps the timesteps are T-1 … 0, as in diffusers', () => {
    expect(Array.from(new DDIMScheduler({ numTrainTimesteps: 5 }).timesteps)).toEqual([4, 3, 2, 1, 0]);
    expect(Array.from(new DDPMScheduler({ numTrainTimesteps: 5 }).timesteps)).toEqual([4, 3, 2, 1, 0]);
    expect(Array.from(allTimestepsDescending(3))).toEqual([2, 1, 0]);
  });
});

describe('linspaceFloat32', () => {
  test('one step is [start]; endpoints are the float32 endpoints', () => {
    expect(Array.from(linspaceFloat32(0.25, 7, 1))).toEqual([0.25]);
    const l = linspaceFloat32(0.0001, 0.02, 1000);
    expect(l[0]).toBe(Math.fround(0.0001));
    expect(l[999]).toBe(Math.fround(0.02));
  });

  test('the block-of-8 fused-multiply-add kernel is what matches torch (a plain float32 formula does not)', () => {
    const start = Math.fround(0.0001);
    const end = Math.fround(0.02);
    const step = Math.fround((end - start) / 999);
    const plain = Array.from({ length: 1000 }, (_, i) =>
      i < 500 ? Math.fround(start + Math.fround(step * i)) : Math.fround(end - Math.fround(step * (999 - i))),
    );
    expect(mismatches(plain, fixture.betas.data).length).toBeGreaterThan(0);
    expect(mismatches(linspaceFloat32(0.0001, 0.02, 1000), fixture.betas.data)).toEqual([]);
  });

  test('values are within one float32 ulp of the exact linspace', () => {
    const l = linspaceFloat32(-6, 6, 1001);
    for (let i = 0; i < l.length; i++) expect(Math.abs(l[i] - (-6 + (12 * i) / 1000))).toBeLessThanOrEqual(2 ** -20);
  });
});

describe('beta schedules', () => {
  const base = { numTrainTimesteps: 1000, betaStart: 0.00085, betaEnd: 0.012, trainedBetas: null, rescaleBetasZeroSnr: false };

  test("'scaled_linear' is the square of a linspace between the square roots (float64 definition)", () => {
    // Bit for bit against torch: spec/schedulers/schedules.spec.ts (alphas_cumprod of scheduler_schedules.json).
    // Here the definition: β_i = (√0.00085 + (√0.012 − √0.00085) · i / 999)², written in float64. float32 rounds the
    // root (linspace: ≤ 1 ulp, i.e. 2^-23 relative) and the square (2^-24): ≤ 2.5 · 2^-23 relative; bound 2^-21.
    const betas = betasForSchedule({ ...base, betaSchedule: 'scaled_linear' });
    const [r0, r1] = [Math.sqrt(0.00085), Math.sqrt(0.012)];
    let worst = 0;
    betas.forEach((b, i) => (worst = Math.max(worst, Math.abs(b / (r0 + ((r1 - r0) * i) / 999) ** 2 - 1))));
    expect(worst).toBeLessThan(2 ** -21);
    expect(worst).toBeGreaterThan(0); // float32, not a float64 table
  });

  test("'squaredcos_cap_v2': the cumulative product follows alpha_bar(t) = cos²((t + 0.008) / 1.008 · π/2)", () => {
    const T = 1000;
    const betas = betasForAlphaBar(T);
    expect(betas).toEqual(betasForSchedule({ ...base, betaSchedule: 'squaredcos_cap_v2' }));
    const alphaBar = (t: number) => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
    let product = 1;
    for (let i = 0; i < T - 1; i++) {
      product *= 1 - betas[i];
      // float32 betas: each factor carries ≤ 6e-8 relative error; the product drifts at most ~1e-5 relative.
      expect(Math.abs(product / (alphaBar((i + 1) / T) / alphaBar(0)) - 1)).toBeLessThan(1e-5);
    }
    expect(betas[T - 1]).toBe(Math.fround(0.999)); // capped at max_beta
    expect(Math.max(...betasForAlphaBar(T, 0.5))).toBe(0.5);
  });

  test("betasForAlphaBar 'exp' has the constant beta 1 − exp(−12 / T)", () => {
    const betas = betasForAlphaBar(100, 0.999, 'exp');
    betas.forEach((b) => expect(b).toBeCloseTo(1 - Math.exp(-12 / 100), 7));
    expect(() => betasForAlphaBar(100, 0.999, 'square' as never)).toThrow("alphaTransformType='square'");
    expect(() => betasForAlphaBar(0)).toThrow('numDiffusionTimesteps=0');
  });

  test('trainedBetas replace the schedule (as float32)', () => {
    const trained = [0.1, 0.2, 0.3];
    const s = new DDIMScheduler({ numTrainTimesteps: 3, trainedBetas: trained, betaSchedule: 'squaredcos_cap_v2' });
    expect(Array.from(s.betas)).toEqual(trained.map(Math.fround));
  });

  test("DDPM's 'sigmoid' schedule rises from beta_start to beta_end", () => {
    const betas = new DDPMScheduler({ betaSchedule: 'sigmoid', betaStart: 0.0001, betaEnd: 0.02 }).betas;
    for (let i = 1; i < betas.length; i++) expect(betas[i]).toBeGreaterThanOrEqual(betas[i - 1]);
    // sigmoid(±6) = 0.0025 / 0.9975 of the way
    expect(betas[0]).toBeCloseTo(0.0001 + 0.0199 / (1 + Math.exp(6)), 8);
    expect(betas[999]).toBeCloseTo(0.0001 + 0.0199 / (1 + Math.exp(-6)), 8);
  });
});

describe('rescaleZeroTerminalSnr', () => {
  const betas = linspaceFloat32(0.00085, 0.012, 1000);
  const rescaled = rescaleZeroTerminalSnr(betas);
  const before = cumprodFloat32(alphasFromBetas(betas));
  const after = cumprodFloat32(alphasFromBetas(rescaled));

  test('the last timestep has zero signal (ᾱ = 0, β = 1), the first keeps its ᾱ', () => {
    expect(rescaled[999]).toBe(1);
    expect(after[999]).toBe(0);
    // √ᾱ₀ is mapped onto itself: only float32 rounding moves it.
    expect(Math.abs(after[0] - before[0])).toBeLessThan(1e-6);
  });

  test('√ᾱ is shifted and scaled linearly: (√ᾱ − √ᾱ_T) · √ᾱ₀ / (√ᾱ₀ − √ᾱ_T)', () => {
    const s0 = Math.sqrt(before[0]);
    const sT = Math.sqrt(before[999]);
    for (const i of [1, 100, 500, 900, 998]) {
      const expected = ((Math.sqrt(before[i]) - sT) * s0) / (s0 - sT);
      // float32 tables: the cumulative product of rescaled alphas drifts ~1e-6 from the rescaled √ᾱ.
      expect(Math.abs(Math.sqrt(after[i]) - expected)).toBeLessThan(2e-6);
    }
  });

  test('DDIM and DDPM apply it with rescaleBetasZeroSnr', () => {
    const config = { betaStart: 0.00085, betaEnd: 0.012, betaSchedule: 'linear' as const, rescaleBetasZeroSnr: true };
    expect(new DDIMScheduler(config).betas).toEqual(rescaled);
    expect(new DDPMScheduler(config).betas).toEqual(rescaled);
    expect(() => rescaleZeroTerminalSnr([0.1])).toThrow('at least 2 betas');
  });
});

describe('timestep spacing (NumPy semantics)', () => {
  test('np.round rounds halves to even', () => {
    expect([0.5, 1.5, 2.5, 3.5, 498.5, 499.5, 2.4999, 2.5001].map(roundHalfToEven)).toEqual([0, 2, 2, 4, 498, 500, 2, 3]);
  });

  test("'linspace' uses round-half-to-even: n = 3 over 0 … 998 puts 499 in the middle", () => {
    // np.linspace(0, 998, 3) = [0, 499, 998]; over 0 … 999 the middle is 499.5, which NumPy rounds to 500.
    expect(Array.from(spacedTimesteps(999, 3, 'linspace', 0))).toEqual([998, 499, 0]);
    expect(Array.from(spacedTimesteps(1000, 3, 'linspace', 0))).toEqual([999, 500, 0]);
    expect(Array.from(spacedTimesteps(1000, 5, 'linspace', 0))).toEqual([999, 749, 500, 250, 0]);
  });

  test("'trailing' keeps NumPy's arange length quirk: n = 61 gives 62 timesteps ending at -1", () => {
    // np.round(np.arange(1000, 0, -1000 / 61)) - 1 has 62 elements: ceil(1000 / (1000 / 61)) = 62 in double.
    const t = spacedTimesteps(1000, 61, 'trailing', 0);
    expect(t.length).toBe(62);
    expect(Array.from(t.slice(0, 3))).toEqual([999, 983, 966]);
    expect(Array.from(t.slice(-3))).toEqual([32, 15, -1]);
    expect(spacedTimesteps(1000, 60, 'trailing', 0).length).toBe(60);
  });

  test("stepsOffset moves 'leading' only, as in diffusers", () => {
    expect(Array.from(spacedTimesteps(1000, 4, 'leading', 3))).toEqual([753, 503, 253, 3]);
    expect(spacedTimesteps(1000, 4, 'trailing', 3)).toEqual(spacedTimesteps(1000, 4, 'trailing', 0));
    expect(spacedTimesteps(1000, 4, 'linspace', 3)).toEqual(spacedTimesteps(1000, 4, 'linspace', 0));
    expect(() => spacedTimesteps(1000, 4, 'uniform' as never, 0)).toThrow("timestepSpacing='uniform'");
  });
});

import { LMSDiscreteScheduler } from '../../lib/schedulers/lms-discrete';
import { lmsCoefficient, lmsCoefficientExact } from '../../lib/schedulers/lms-coefficients';
import { kFixture } from './k-fixture';

describe("LMS coefficients against scipy.integrate.quad (diffusers' get_lms_coefficient)", () => {
  const rows = kFixture().lms_coefficients;
  test('the fixture has rows', () => expect(rows.length).toBeGreaterThan(50));

  test("every coefficient equals quad's bit for bit (QUADPACK dqk21 with the float32 integrand)", () => {
    let mismatches = 0;
    let worstExact = 0;
    for (const r of rows) {
      const s = LMSDiscreteScheduler.fromConfig(r.config, { onWarning: () => undefined });
      s.setTimesteps(r.num_inference_steps);
      r.coefficients.forEach((want, c) => {
        const got = lmsCoefficient(s.sigmas, r.order, r.t, c);
        if (got !== want) mismatches++;
        const exact = lmsCoefficientExact(s.sigmas, r.order, r.t, c);
        worstExact = Math.max(worstExact, Math.abs(exact - want) / Math.max(Math.abs(want), 1e-30));
      });
    }
    console.log(`parity: LMS quad coefficients ${rows.length} rows, ${mismatches} not bit-identical; closed form vs quad worst relative ${worstExact.toExponential(3)}`);
    expect(mismatches).toBe(0);
    // The closed form integrates the exact polynomial; quad integrates its float32 evaluation. Measured worst
    // relative difference 1.34e-7 (about one float32 ulp); bound 1e-6.
    expect(worstExact).toBeLessThan(1e-6);
  });

  test('bad arguments name them', () => {
    expect(() => lmsCoefficient([3, 2, 1, 0], 3, 1, 0)).toThrow(/order=3, t=1/);
  });
});

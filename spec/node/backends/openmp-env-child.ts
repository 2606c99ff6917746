// The child side of the OpenMP-environment test in native-kernels.spec.ts (run by spec/helpers/run-isolated.ts): the
// addon sets libgomp's variables before its first load, so only a fresh process can show what it set.
import { loadNativeAddon } from '../../../lib/node/backends/native/addon';
import { isolatedMain } from '../../helpers/run-isolated';

isolatedMain({
  'openmp-env': () => [
    () => {
      const loaded = loadNativeAddon().addon !== null;
      return { loaded, GOMP_SPINCOUNT: process.env.GOMP_SPINCOUNT ?? null, OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? null };
    },
  ],
});

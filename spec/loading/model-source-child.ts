// The child side of model-source.spec.ts's hostile-file test (run by spec/helpers/run-isolated.ts with a heap limit
// and a timeout): a reader that blocked on a FIFO or read /dev/zero without end is killed, not jest.
import { FsModelSource, readModelFile } from '../../lib/node/fs/fs-model-source';
import { isolatedMain } from '../helpers/run-isolated';

isolatedMain({
  'read-json': ([dir, ...files]) => files.map((file) => () => new FsModelSource(dir).readJson(file)),
  'read-model-file': (files) => files.map((file) => () => readModelFile(file, 1024)),
});

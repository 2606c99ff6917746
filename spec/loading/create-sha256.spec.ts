import { createHash } from 'crypto';
import * as fc from 'fast-check';
import { createSha256, nobleSha256Hasher } from '../../lib/loading/platform-loaders';

// Content hashes and provenance digests must be the same bits in Node (OpenSSL, registered by the Node entry that
// jest's setupFiles load) and in a page (@noble/hashes): both against Node's crypto, over random chunkings.
test('createSha256 (Node: OpenSSL) and @noble/hashes give the same digest for the same bytes in any chunking', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 4096 }), { maxLength: 8 }), (chunks) => {
      const expected = createHash('sha256').update(Buffer.concat(chunks)).digest('hex');
      const platform = createSha256();
      const noble = nobleSha256Hasher();
      for (const chunk of chunks) {
        platform.update(chunk);
        noble.update(chunk);
      }
      expect([platform.hex(), noble.hex()]).toEqual([expected, expected]);
    }),
    { seed: 20261206, numRuns: 200 },
  );
});

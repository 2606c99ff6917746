// A gzip-encoded config.json over HTTP (issue 22): a server on 127.0.0.1 answers with `Content-Encoding: gzip` and a
// small Content-Length whose body inflates to 64 MiB. The 8 MiB JSON cap must apply to the decoded bytes (fetch
// decodes gzip as it streams): a ModelFileTooLargeError after reading at most the cap and one chunk, not 64 MiB of
// JSON and a misleading UTF-8 error.
import * as http from 'http';
import type { AddressInfo } from 'net';
import { gzipSync } from 'zlib';
import { HttpModelSource } from '../../lib/loading/http-model-source';
import { ModelFileTooLargeError } from '../../lib/loading/model-source';
import { MAX_JSON_FILE_BYTES as MAX_JSON_BYTES } from '../../lib/io/reader-limits';

const INFLATED_BYTES = 64 * 1024 * 1024;

test('a gzip body that inflates past the JSON cap: ModelFileTooLargeError on the decoded bytes, memory stays small', async () => {
  // `{"a":"    …    "}`: valid JSON, so only the size check can refuse it.
  const json = Buffer.alloc(INFLATED_BYTES, 0x20);
  json.write('{"a":"', 0);
  json.write('"}', INFLATED_BYTES - 2);
  const gzipped = gzipSync(json, { level: 9 });
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': gzipped.length });
    res.end(gzipped);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const before = process.memoryUsage().rss;
    const error = await new HttpModelSource(`${origin}/unet/`).readJson('config.json').catch((e) => e);
    const grownMb = (process.memoryUsage().rss - before) / 2 ** 20;
    expect(error).toBeInstanceOf(ModelFileTooLargeError);
    expect((error as Error).message).toContain(`more than the ${MAX_JSON_BYTES} this file may have`);
    expect((error as ModelFileTooLargeError).size).toBeLessThan(MAX_JSON_BYTES + 1024 * 1024);
    expect(gzipped.length).toBeLessThan(MAX_JSON_BYTES); // the wire size alone would have passed the cap
    // Measured about 10-30 MB of growth (the 8 MiB read plus fetch's buffers); 64 MiB would be read whole before.
    expect(grownMb).toBeLessThan(128);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

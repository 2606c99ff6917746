// Writes the full-size recipe weights of spec/fixtures/unet_full.json for the golden-hash children, in a plain Node
// process (jest's module sandbox makes the 35.7 M draws ~30× slower): `[name, shape][]` as keys.json, the float32
// values back to back as weights.f32, after checking them against the fixture's weights_sha256.
//   node golden-weights-child.js <unet_full.json> <out dir>
import * as fs from 'fs';
import * as path from 'path';
import { recipeStateDict } from '../helpers/recipe-weights';
import { stateDictSha256 } from '../io/state-dict-hash';
import type { UNetFullFixture } from '../models/unet/unet-fixture';

const [fixtureFile, outDir] = process.argv.slice(2);
const fixture = JSON.parse(fs.readFileSync(fixtureFile, 'utf8')) as UNetFullFixture;
const weights = recipeStateDict(fixture.state_dict_keys, fixture.weights_seed);
const sha = stateDictSha256(weights);
if (sha !== fixture.weights_sha256) {
  process.stderr.write(`golden-weights-child: the recipe weights hash to ${sha}, the fixture says ${fixture.weights_sha256}\n`);
  process.exit(1);
}
fs.mkdirSync(outDir, { recursive: true });
const keys: [string, number[]][] = [];
const tmp = path.join(outDir, `weights.f32.tmp-${process.pid}`);
const fd = fs.openSync(tmp, 'w');
for (const [name, { shape, data }] of weights) {
  keys.push([name, shape]);
  fs.writeSync(fd, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
}
fs.closeSync(fd);
fs.writeFileSync(path.join(outDir, 'keys.json'), JSON.stringify(keys));
fs.renameSync(tmp, path.join(outDir, 'weights.f32'));

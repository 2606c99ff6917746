// dist/browser/node-reference.json: the figures the demo page (examples/web/) compares its abs-sum against. Written by
// `npm run build:browser` from the golden fixture spec/fixtures/pipeline.json: diffusers' DDIMPipeline on PyTorch
// (CPU, float32) with the embedded model models/tiny-random, np.abs(images).sum() for each seed, steps, eta and
// batch it holds; Node's cpu and wasm backends print the same figure to 2 float32 ulps (spec/node/cli/main.spec.ts).
// `npm run bench:backends` rewrites the file with the figures Node's backends measured.
'use strict';
const fs = require('fs');
const path = require('path');

const ROOT = path.join(__dirname, '..');
const FIXTURE = path.join(ROOT, 'spec', 'fixtures', 'pipeline.json');

/** The page's entries ({ model, backend, seed, steps, eta, batch, perImageGenerators, absSum }) from the fixture. */
function nodeReferenceFromFixture(fixtureFile = FIXTURE) {
  const fixture = JSON.parse(fs.readFileSync(fixtureFile, 'utf8'));
  const entries = [];
  for (const c of fixture.cases) {
    const seeds = c.generator_seeds ?? [c.generator_seed];
    // The page seeds a list of generators seed, seed + 1, …: only consecutive lists match what it runs.
    if (seeds.some((s, i) => s !== seeds[0] + i)) continue;
    entries.push({
      model: 'models/tiny-random',
      backend: 'pytorch fixture',
      seed: seeds[0],
      steps: c.num_inference_steps,
      eta: c.eta,
      batch: c.batch_size,
      perImageGenerators: c.generator_seeds !== undefined,
      absSum: c.image_abs_sum,
    });
  }
  return { generatedBy: 'scripts/build-browser.js from spec/fixtures/pipeline.json', entries };
}

/** Writes `file` (dist/browser/node-reference.json); returns the number of entries. */
function writeNodeReference(file) {
  const reference = nodeReferenceFromFixture();
  fs.writeFileSync(file, `${JSON.stringify(reference, null, 1)}\n`);
  return reference.entries.length;
}

module.exports = { writeNodeReference };

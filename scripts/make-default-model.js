#!/usr/bin/env node
// Rebuilds the embedded default model, models/tiny-random, from the golden fixtures:
//   npx tsc -p tsconfig.build.json && node scripts/make-default-model.js
// The UNet is spec/fixtures/tiny-unet (random weights, google/ddpm-cifar10-32's block layout); the scheduler config
// is the one spec/fixtures/pipeline.json's cases were made with (google/ddpm-cifar10-32's). The output is
// deterministic: the same fixtures give the same files.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.resolve(__dirname, '..');
const { setBackend } = require(path.join(root, 'dist/backends/set-backend'));
const { convertPipelineFolder } = require(path.join(root, 'dist/pipelines/convert-pipeline'));

const FIXTURE_UNET = 'spec/fixtures/tiny-unet';
const FIXTURE_PIPELINE = 'spec/fixtures/pipeline.json';
const OUT = path.join(root, 'models', 'tiny-random');

async function main() {
  await setBackend('cpu');
  const { scheduler_config: schedulerConfig } = JSON.parse(fs.readFileSync(path.join(root, FIXTURE_PIPELINE), 'utf8'));
  // A diffusers pipeline folder in a temporary place: model_index.json, unet/, scheduler/.
  const src = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-diffusers-default-model-'));
  try {
    fs.mkdirSync(path.join(src, 'unet'));
    fs.mkdirSync(path.join(src, 'scheduler'));
    for (const file of ['config.json', 'diffusion_pytorch_model.safetensors']) {
      fs.copyFileSync(path.join(root, FIXTURE_UNET, file), path.join(src, 'unet', file));
    }
    fs.writeFileSync(path.join(src, 'scheduler', 'scheduler_config.json'), JSON.stringify(schedulerConfig, null, 2) + '\n');
    const modelIndex = { _class_name: 'DDIMPipeline', scheduler: ['diffusers', schedulerConfig._class_name], unet: ['diffusers', 'UNet2DModel'] };
    fs.writeFileSync(path.join(src, 'model_index.json'), JSON.stringify(modelIndex, null, 2) + '\n');

    const summary = await convertPipelineFolder(src, OUT, { force: true });

    // Record the repository paths it came from instead of the temporary folder's absolute path.
    const indexFile = path.join(OUT, 'model_index.json');
    const index = JSON.parse(fs.readFileSync(indexFile, 'utf8'));
    index._tfjs_diffusers.converted_from = `${FIXTURE_UNET} + ${FIXTURE_PIPELINE} (scheduler_config)`;
    fs.writeFileSync(indexFile, JSON.stringify(index, null, 2) + '\n');
    const modelJsonFile = path.join(OUT, 'unet', 'model.json');
    const modelJson = JSON.parse(fs.readFileSync(modelJsonFile, 'utf8'));
    if (modelJson.userDefinedMetadata && modelJson.userDefinedMetadata.diffusers) {
      modelJson.userDefinedMetadata.diffusers.source = FIXTURE_UNET;
    }
    fs.writeFileSync(modelJsonFile, JSON.stringify(modelJson));
    console.log(`models/tiny-random: ${summary.parameters} parameters, ${summary.files.length} files, ${summary.bytes} bytes`);
  } finally {
    fs.rmSync(src, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});

// The demo page of tfjs-diffusers: DDIMPipeline on a chosen tfjs backend, drawn on canvases.
// Served from the repository root (scripts/build-browser.js writes the bundle to dist/browser/):
//   /examples/web/index.html, /dist/browser/tfjs-diffusers.esm.js, /models/tiny-random/
// `window.demo.run(settings)` runs the same code as the Generate button, for scripts and the end-to-end test.
// "Download PNG" saves the images with their provenance chunk: `npx tfjs-diffusers replay <png>` regenerates them in Node.
import * as lib from '../../dist/browser/tfjs-diffusers.esm.js';

const { tf, DDIMPipeline, Generator, loadPipelineFromUrl, setBackend, imageAbsSum, floatToByte, runProvenance, provenancePng, pipelineContentHash, EMBEDDED_MODEL_NAME } = lib;

const EMBEDDED_MODEL_URL = new URL('../../models/tiny-random/', import.meta.url).href;
const NODE_REFERENCE_URL = new URL('../../dist/browser/node-reference.json', import.meta.url).href;

const $ = (id) => document.getElementById(id);

/** The loaded pipeline, for one model URL on one backend (weights live on the backend that loaded them). */
let loaded = null; // { url, backend, pipeline, tap, hashed, modelHash }
/** The AbortController of the run in progress. */
let running = null;
/** Entries of dist/browser/node-reference.json (written by build:browser from the PyTorch fixture, or by bench:backends), once fetched (empty when absent). */
let nodeReference = null;
/** The settings a pasted Node abs-sum belongs to: a run with other settings clears it. */
let pastedForKey = null;

const settingsKey = (s) => JSON.stringify([s.modelUrl, s.seed, s.steps, s.eta, s.batch, s.perImageGenerators]);

/**
 * Wraps a UNet so that the sample of its first call in a run (the pipeline's initial noise, as the active backend
 * holds it) can be read back: the proof that every backend starts from the same numbers.
 */
function tapFirstSample(unet) {
  const tap = {
    config: unet.config,
    capture: false,
    firstSampleNHWC: null,
    predict(sampleNHWC, timestep) {
      if (tap.capture) {
        tap.capture = false;
        tap.firstSampleNHWC = { shape: sampleNHWC.shape, data: sampleNHWC.dataSync().slice() };
      }
      return unet.predict(sampleNHWC, timestep);
    },
    dispose: () => unet.dispose(),
  };
  return tap;
}

function setStatus(state, text) {
  $('status').dataset.state = state;
  $('status').textContent = text;
}

function showError(err) {
  $('error').textContent = err ? (err instanceof Error ? err.message : String(err)) : '';
}

/**
 * Clears the images and readouts of the previous run: a run that fails must not leave the last one's image and
 * numbers on screen as if they were its own. A pasted Node abs-sum stays (it belongs to settings, not to a run).
 */
function clearResults() {
  $('images').replaceChildren();
  clearDownload('');
  for (const id of ['out-backend', 'out-abs-sum', 'out-time', 'out-node-diff']) $(id).textContent = '–';
  delete $('out-abs-sum').dataset.value;
  if ($('node-source').textContent !== '(pasted)') {
    $('node-abs-sum').value = '';
    $('node-source').textContent = '';
  }
  window.demo.lastResult = null;
}

function readSettings() {
  const useUrl = $('model-choice').value === 'url';
  const modelUrl = useUrl ? $('model-url').value.trim() : EMBEDDED_MODEL_URL;
  if (useUrl && modelUrl === '') throw new Error('Model URL: enter the URL of a converted pipeline folder or model.json.');
  const seed = $('seed').value.trim();
  if (!/^\d+$/.test(seed)) throw new Error(`Seed: a non-negative integer, got "${seed}".`);
  const steps = Number($('steps').value);
  const eta = Number($('eta').value);
  const batch = Number($('batch').value);
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`Steps: a positive integer, got "${$('steps').value}".`);
  if (!Number.isFinite(eta) || eta < 0) throw new Error(`η: a number >= 0, got "${$('eta').value}".`);
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`Batch: a positive integer, got "${$('batch').value}".`);
  return {
    modelUrl: new URL(modelUrl, location.href).href,
    backend: $('backend').value,
    seed,
    steps,
    eta,
    batch,
    perImageGenerators: $('per-image-generators').checked,
  };
}

function writeSettings(s) {
  // The model only when asked for: the Generate button (run() with no settings) keeps the form's choice.
  if (s.modelUrl !== undefined) {
    const embedded = new URL(s.modelUrl, location.href).href === EMBEDDED_MODEL_URL;
    $('model-choice').value = embedded ? 'embedded' : 'url';
    $('model-url').disabled = embedded;
    if (!embedded) $('model-url').value = s.modelUrl;
  }
  if (s.backend !== undefined) $('backend').value = s.backend;
  if (s.seed !== undefined) $('seed').value = String(s.seed);
  if (s.steps !== undefined) $('steps').value = String(s.steps);
  if (s.eta !== undefined) $('eta').value = String(s.eta);
  if (s.batch !== undefined) $('batch').value = String(s.batch);
  if (s.perImageGenerators !== undefined) $('per-image-generators').checked = s.perImageGenerators;
}

/** The pipeline for these settings, loading it (and starting the backend) when the model or backend changed. */
async function pipelineFor(settings) {
  if (loaded && loaded.url === settings.modelUrl && loaded.backend === settings.backend && tf.getBackend() === settings.backend) {
    return loaded;
  }
  if (loaded) {
    loaded.pipeline.dispose();
    loaded = null;
  }
  setStatus('loading', `Starting the ${settings.backend} backend…`);
  await setBackend(settings.backend);
  setStatus('loading', `Loading ${settings.modelUrl}…`);
  const fromUrl = await loadPipelineFromUrl(settings.modelUrl, {
    onProgress: (fraction) => {
      $('progress').value = fraction;
    },
  });
  const tap = tapFirstSample(fromUrl.unet);
  const pipeline = new DDIMPipeline({ unet: tap, scheduler: fromUrl.scheduler });
  // The model's content hash reads the UNet itself (the tap wraps it) and the scheduler the pipeline runs.
  const hashed = { unet: fromUrl.unet, scheduler: pipeline.scheduler };
  loaded = { url: settings.modelUrl, backend: settings.backend, pipeline, tap, hashed, modelHash: null };
  return loaded;
}

/** The object URL of the PNG the download link offers (revoked when replaced). */
let downloadUrl = null;

/** Disables the download link, saying why (empty: nothing generated yet). */
function clearDownload(why) {
  if (downloadUrl !== null) URL.revokeObjectURL(downloadUrl);
  downloadUrl = null;
  const link = $('download');
  link.setAttribute('aria-disabled', 'true');
  link.href = '#';
  link.removeAttribute('download');
  $('download-note').textContent = why;
}

/**
 * Offers the run's images as one PNG (a grid for a batch) stamped with its provenance: the record
 * `tfjs-diffusers generate` writes, so `tfjs-diffusers replay <png>` can regenerate it. One generator per image
 * (seed, seed+1, …) is not a run `generate` makes: no download for a batch made that way.
 */
async function offerDownload(settings, images) {
  if (settings.perImageGenerators && settings.batch > 1) {
    clearDownload('(no download with one generator per image: its provenance has one seed; untick it to download)');
    return null;
  }
  loaded.modelHash ??= await pipelineContentHash(loaded.hashed);
  const fields = await runProvenance(
    { pipelineName: loaded.pipeline.pipelineName, unet: loaded.hashed.unet, scheduler: loaded.pipeline.scheduler },
    {
      seed: settings.seed,
      steps: settings.steps,
      eta: settings.eta,
      batch: settings.batch,
      model: settings.modelUrl === EMBEDDED_MODEL_URL ? EMBEDDED_MODEL_NAME : settings.modelUrl,
      backend: tf.getBackend(),
      modelHash: loaded.modelHash,
    },
  );
  const png = provenancePng(images, fields);
  clearDownload('');
  downloadUrl = URL.createObjectURL(new Blob([png], { type: 'image/png' }));
  const link = $('download');
  link.href = downloadUrl;
  link.download = `tfjs-diffusers-seed${settings.seed}-${fields.backend}.png`;
  link.setAttribute('aria-disabled', 'false');
  $('download-note').textContent = `(${png.length} bytes; ${fields.backend}, kernel path ${fields.kernelPath}; model ${fields.modelHash.slice(0, 19)}…)`;
  return fields;
}

/** One RGB canvas per image: the bytes diffusers' numpy_to_pil would write, `round(x * 255)` (half to even). */
function drawImages(images) {
  const [batch, height, width] = images.shape;
  const container = $('images');
  container.replaceChildren();
  for (let n = 0; n < batch; n++) {
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    canvas.title = `image ${n}`;
    const ctx = canvas.getContext('2d');
    const pixels = ctx.createImageData(width, height);
    const offset = n * height * width * 3;
    for (let p = 0; p < height * width; p++) {
      for (let c = 0; c < 3; c++) pixels.data[p * 4 + c] = floatToByte(images.data[offset + p * 3 + c]);
      pixels.data[p * 4 + 3] = 255;
    }
    ctx.putImageData(pixels, 0, 0);
    container.appendChild(canvas);
  }
}

async function loadNodeReference() {
  if (nodeReference !== null) return nodeReference;
  try {
    const response = await fetch(NODE_REFERENCE_URL);
    nodeReference = response.ok ? (await response.json()).entries ?? [] : [];
  } catch {
    nodeReference = [];
  }
  return nodeReference;
}

/** The Node abs-sum recorded for these settings, preferring the cpu backend. */
async function nodeAbsSumFor(settings) {
  const model = settings.modelUrl === EMBEDDED_MODEL_URL ? 'models/tiny-random' : settings.modelUrl;
  const matches = (await loadNodeReference()).filter(
    (e) =>
      e.model === model && String(e.seed) === settings.seed && e.steps === settings.steps && e.eta === settings.eta &&
      e.batch === settings.batch && Boolean(e.perImageGenerators) === settings.perImageGenerators,
  );
  return matches.find((e) => e.backend === 'node cpu') ?? matches[0] ?? null;
}

function updateNodeComparison() {
  const browserSum = Number($('out-abs-sum').dataset.value);
  const nodeSum = Number($('node-abs-sum').value);
  $('out-node-diff').textContent =
    Number.isFinite(browserSum) && $('node-abs-sum').value.trim() !== '' && Number.isFinite(nodeSum)
      ? `${Math.abs(browserSum - nodeSum).toExponential(3)} (relative ${(Math.abs(browserSum - nodeSum) / Math.abs(nodeSum)).toExponential(2)})`
      : '–';
}

/**
 * Generates images with the given settings (missing ones are read from the form), showing progress, images and
 * readouts. Resolves to the images (NHWC floats), the abs-sum, timings and the initial noise as the backend held it.
 */
async function run(partialSettings = {}) {
  if (running) throw new Error('A generation is already running.');
  writeSettings(partialSettings);
  showError(null);
  clearResults();
  $('run').disabled = true;
  $('cancel').disabled = false;
  $('progress').value = 0;
  running = new AbortController();
  try {
    const settings = readSettings();
    const { pipeline, tap } = await pipelineFor(settings);
    const seed = BigInt(settings.seed);
    const generator = settings.perImageGenerators
      ? Array.from({ length: settings.batch }, (_, i) => new Generator().manualSeed(seed + BigInt(i)))
      : new Generator().manualSeed(seed);
    const stepMs = [];
    let last = 0;
    setStatus('running', `Step 0 of ${settings.steps} on ${settings.backend}…`);
    tap.capture = true;
    const started = performance.now();
    const { images } = await pipeline.generate({
      batchSize: settings.batch,
      generator,
      numInferenceSteps: settings.steps,
      eta: settings.eta,
      outputType: 'array',
      signal: running.signal,
      onStep: ({ step, numSteps, elapsedMs }) => {
        stepMs.push(elapsedMs - last);
        last = elapsedMs;
        $('progress').value = step / numSteps;
        setStatus('running', `Step ${step} of ${numSteps} on ${settings.backend} (${(elapsedMs / 1000).toFixed(1)} s)…`);
      },
    });
    const totalMs = performance.now() - started;
    const absSum = imageAbsSum(images);
    drawImages(images);
    const provenance = await offerDownload(settings, images);
    $('out-backend').textContent = `${tf.getBackend()}${tf.getBackend() === 'webgl' ? ' (float32 textures)' : ''}`;
    $('out-abs-sum').textContent = absSum.toFixed(4);
    $('out-abs-sum').dataset.value = String(absSum);
    // Total wall time to the images read back: webgl and webgpu queue their work, so per-step callbacks would only
    // time the queueing. A backend's first run includes shader compilation and the weights' upload.
    $('out-time').textContent = `${(totalMs / 1000).toFixed(2)} s, ${(totalMs / settings.steps).toFixed(0)} ms per step`;
    const reference = await nodeAbsSumFor(settings);
    if (reference) {
      $('node-abs-sum').value = String(reference.absSum);
      $('node-source').textContent = `(${reference.backend}, node-reference.json)`;
    } else if (pastedForKey !== settingsKey(settings)) {
      $('node-abs-sum').value = '';
      $('node-source').textContent = '(no Node reference for these settings: paste one)';
    }
    updateNodeComparison();
    setStatus('done', `Done: ${settings.batch} image(s), ${settings.steps} steps on ${settings.backend} in ${(totalMs / 1000).toFixed(2)} s.`);
    window.demo.lastResult = {
      settings,
      backend: tf.getBackend(),
      absSum,
      images: { shape: images.shape, data: Array.from(images.data) },
      initialNoiseNHWC: tap.firstSampleNHWC && { shape: tap.firstSampleNHWC.shape, data: Array.from(tap.firstSampleNHWC.data) },
      stepMs,
      totalMs,
      provenance,
    };
    return window.demo.lastResult;
  } catch (err) {
    clearResults(); // what the failed run may have drawn before it failed
    showError(err);
    setStatus('error', 'Failed.');
    throw err;
  } finally {
    running = null;
    $('run').disabled = false;
    $('cancel').disabled = true;
  }
}

function describeBackends() {
  const notes = [];
  if (!('gpu' in navigator)) {
    $('backend').querySelector('option[value=webgpu]').disabled = true;
    notes.push('webgpu: this browser has no navigator.gpu (WebGPU needs https or localhost and a browser that ships it).');
  }
  notes.push('webgl runs with float32 textures only (WEBGL_FORCE_F16_TEXTURES off); a GPU without them is refused.');
  $('backend-note').textContent = notes.join(' ');
}

$('model-choice').addEventListener('change', () => {
  $('model-url').disabled = $('model-choice').value !== 'url';
});
$('settings').addEventListener('submit', (event) => {
  event.preventDefault();
  run().catch(() => {
    // Shown in #error by run().
  });
});
$('cancel').addEventListener('click', () => running?.abort());
$('node-abs-sum').addEventListener('input', () => {
  $('node-source').textContent = '(pasted)';
  try {
    pastedForKey = settingsKey(readSettings());
  } catch {
    pastedForKey = null;
  }
  updateNodeComparison();
});

describeBackends();
window.tfjsDiffusers = lib;
window.demo = { run, readSettings, EMBEDDED_MODEL_URL, lastResult: null };

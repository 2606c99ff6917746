/** What the CLI help says about the embedded model and the real one. */
export const EMBEDDED_MODEL_NOTE = [
  'Default model: the small model embedded in models/tiny-random. Its weights are RANDOM: it shows that a seed',
  "reproduces PyTorch's numbers (the same noise bit for bit, the same images within float32 rounding); it does",
  'not draw pictures. For real CIFAR-10 images use the real model:',
  '  tfjs-diffusers generate --model google/ddpm-cifar10-32 --seed 0 --out image.png   (downloads ~143 MB once)',
  'or, offline, download the folder https://huggingface.co/google/ddpm-cifar10-32 yourself, then',
  '  tfjs-diffusers convert ./ddpm-cifar10-32 ./ddpm-cifar10-32-tfjs',
  '  tfjs-diffusers generate --model ./ddpm-cifar10-32-tfjs --seed 0 --out image.png',
].join('\n');

// Times the checkpoint readers on a full-size (google/ddpm-cifar10-32-sized, ~36 M parameters) checkpoint.
// Usage: node build/bench/read-checkpoint.js [weights file ...]
// Without arguments it builds one in memory: the tiny-unet fixture's tensors tiled 64 times under new names, written
// as safetensors (F32 and F16) and as a torch.save zip.
import * as fs from 'fs';
import * as path from 'path';
import { readSafetensors } from '../lib/io/safetensors';
import { StateDict } from '../lib/io/state-dict';
import { readTorchCheckpoint } from '../lib/io/torch-pickle';
import { encodeSafetensors } from '../test-support/safetensors-bytes';
import { stateDictPickle, torchZip, TensorSpec } from '../test-support/torch-zip-bytes';

const COPIES = 64;

function tiledTiny(): StateDict {
  const file = path.join(__dirname, '..', '..', 'spec', 'fixtures', 'tiny-unet', 'diffusion_pytorch_model.safetensors');
  const tiny = readSafetensors(fs.readFileSync(file), file);
  const out: StateDict = new Map();
  for (let c = 0; c < COPIES; c++) for (const [name, t] of tiny) out.set(`copy${c}.${name}`, t);
  return out;
}

function toF16Bytes(data: Float32Array): Uint8Array {
  // Truncating conversion, good enough for timing (values are small and normal).
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  const out = new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const b = bits[i];
    const exponent = ((b >>> 23) & 0xff) - 127 + 15;
    out[i] = exponent <= 0 ? (b >>> 16) & 0x8000 : ((b >>> 16) & 0x8000) | (Math.min(exponent, 30) << 10) | ((b >>> 13) & 0x3ff);
  }
  return new Uint8Array(out.buffer);
}

function time(label: string, bytes: Uint8Array, read: (b: Uint8Array) => StateDict): void {
  read(bytes); // warm-up
  const runs = 3;
  const start = process.hrtime.bigint();
  let params = 0;
  for (let i = 0; i < runs; i++) {
    params = 0;
    for (const t of read(bytes).values()) params += t.data.length;
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6 / runs;
  console.log(`| ${label.padEnd(34)} | ${(bytes.length / 2 ** 20).toFixed(1).padStart(8)} | ${params.toString().padStart(10)} | ${ms.toFixed(0).padStart(7)} | ${(bytes.length / 2 ** 20 / (ms / 1000)).toFixed(0).padStart(6)} |`);
}

function main(): void {
  console.log('| file                               |      MiB |     params | ms/read |  MiB/s |');
  console.log('|---|---:|---:|---:|---:|');
  const files = process.argv.slice(2);
  if (files.length > 0) {
    for (const file of files) {
      const read = file.endsWith('.safetensors') ? readSafetensors : readTorchCheckpoint;
      time(path.basename(file), fs.readFileSync(file), (b) => read(b, file));
    }
    return;
  }
  const sd = tiledTiny();
  const entries = [...sd];
  const raw = (t: Float32Array): Uint8Array => new Uint8Array(t.buffer, t.byteOffset, t.byteLength);
  time('safetensors F32', encodeSafetensors(entries.map(([name, t]) => ({ name, dtype: 'F32', shape: t.shape, bytes: raw(t.data) }))), (b) => readSafetensors(b, 'f32'));
  time('safetensors F16', encodeSafetensors(entries.map(([name, t]) => ({ name, dtype: 'F16', shape: t.shape, bytes: toF16Bytes(t.data) }))), (b) => readSafetensors(b, 'f16'));
  const specs: Record<string, TensorSpec> = {};
  const storages: Record<string, Uint8Array> = {};
  entries.forEach(([name, t], i) => {
    specs[name] = { key: String(i), numel: t.data.length, size: t.shape };
    storages[String(i)] = raw(t.data);
  });
  time('torch.save zip (.bin) F32', torchZip(stateDictPickle(specs), storages), (b) => readTorchCheckpoint(b, 'bin'));
}

main();

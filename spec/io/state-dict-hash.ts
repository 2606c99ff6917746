import { createHash } from 'crypto';
import { StateDict } from '../../lib/io/state-dict';

/**
 * The weight hash of spec/fixtures/unet_tiny.json (`weights_sha256`) and weights_checks.jsonl, recomputed:
 * sha256 over, for each key in sorted order, its UTF-8 name then its float32 little-endian bytes.
 * (Established against the fixture files; `rename` maps names first, e.g. old attention names to new.)
 */
export function stateDictSha256(stateDict: StateDict, rename: (name: string) => string = (n) => n): string {
  const hash = createHash('sha256');
  const entries = [...stateDict].map(([name, t]) => [rename(name), t] as const);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [name, t] of entries) {
    hash.update(Buffer.from(name, 'utf8'));
    hash.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return hash.digest('hex');
}

/** diffusers < 0.14 attention names → current names (the rename the fixtures README describes). */
export function newAttentionName(name: string): string {
  return name
    .replace(/\.query\.(weight|bias)$/, '.to_q.$1')
    .replace(/\.key\.(weight|bias)$/, '.to_k.$1')
    .replace(/\.value\.(weight|bias)$/, '.to_v.$1')
    .replace(/\.proj_attn\.(weight|bias)$/, '.to_out.0.$1');
}

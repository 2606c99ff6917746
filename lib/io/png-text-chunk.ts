/**
 * PNG `iTXt` chunks (international text, UTF-8; PNG 1.2 §11.3.4.5): written into an encoded PNG before its `IEND`,
 * and read back with every length checked against the bytes present. Pure (no Node APIs): the CLI and the browser
 * demo use it to embed an image's provenance (lib/pipelines/image-provenance.ts); `encodePngChunk` also serves the
 * page's PNG encoder (lib/pipelines/image-png.ts).
 *
 * ```ts
 * const tagged = insertITxtChunk(pngBytes, 'tfjs-diffusers', JSON.stringify({ seed: 3 }));
 * readITxtChunks(tagged).get('tfjs-diffusers'); // '{"seed":3}'
 * ```
 */

export const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

let crcTable: Uint32Array | undefined;

/** CRC-32 (ISO 3309, the PNG chunk checksum) of `bytes`. */
function crc32(bytes: Uint8Array, crc = 0): number {
  if (crcTable === undefined) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** An error in a PNG's chunk structure (truncated, bad CRC) or a chunk argument; the message says which. */
export class PngChunkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PngChunkError';
  }
}

interface Chunk {
  type: string;
  /** Offset of the chunk's length field. */
  start: number;
  data: Uint8Array;
}

/** The chunks of `png`, each CRC-checked; stops at IEND. Linear in the file; throws PngChunkError when malformed. */
function pngChunks(png: Uint8Array): Chunk[] {
  if (png.length < 8 || PNG_SIGNATURE.some((b, i) => png[i] !== b)) throw new PngChunkError('not a PNG file (no PNG signature)');
  const view = new DataView(png.buffer, png.byteOffset, png.length);
  const chunks: Chunk[] = [];
  let at = 8;
  for (;;) {
    if (at + 12 > png.length) throw new PngChunkError(`truncated PNG: a chunk header at byte ${at} runs past the end of the file`);
    const length = view.getUint32(at);
    if (length > png.length - at - 12) throw new PngChunkError(`truncated PNG: a chunk of ${length} bytes at byte ${at} runs past the end of the file`);
    const typeBytes = png.subarray(at + 4, at + 8);
    const type = String.fromCharCode(...typeBytes);
    const data = png.subarray(at + 8, at + 8 + length);
    if (crc32(png.subarray(at + 4, at + 8 + length)) !== view.getUint32(at + 8 + length)) {
      throw new PngChunkError(`PNG chunk ${JSON.stringify(type.replace(/[^\x20-\x7e]/g, '?'))} at byte ${at} fails its CRC check (the file was changed or corrupted)`);
    }
    chunks.push({ type, start: at, data });
    at += 12 + length;
    if (type === 'IEND') return chunks;
  }
}

const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** `iTXt` keywords: 1 to 79 printable Latin-1 characters (PNG's rule). */
function checkKeyword(keyword: string): void {
  if (!/^[\x20-\x7e\xa1-\xff]{1,79}$/.test(keyword)) throw new PngChunkError(`iTXt keyword ${JSON.stringify(keyword)} must be 1 to 79 printable Latin-1 characters`);
}

/** One PNG chunk: length, `type` (4 Latin-1 letters), `data`, and the CRC over type and data. */
export function encodePngChunk(type: string, data: Uint8Array): Uint8Array {
  if (!/^[A-Za-z]{4}$/.test(type)) throw new PngChunkError(`PNG chunk type ${JSON.stringify(type)} must be 4 ASCII letters`);
  const chunk = new Uint8Array(12 + data.length);
  const view = new DataView(chunk.buffer);
  view.setUint32(0, data.length);
  chunk.set(latin1(type), 4);
  chunk.set(data, 8);
  view.setUint32(8 + data.length, crc32(chunk.subarray(4, 8 + data.length)));
  return chunk;
}

/** `png` with an uncompressed `iTXt` chunk (`keyword`, UTF-8 `text`) inserted before its IEND. */
export function insertITxtChunk(png: Uint8Array, keyword: string, text: string): Uint8Array {
  checkKeyword(keyword);
  const chunks = pngChunks(png);
  const iend = chunks[chunks.length - 1];
  const utf8 = new TextEncoder().encode(text);
  // keyword \0, compression flag 0, method 0, empty language tag \0, empty translated keyword \0, text.
  const data = new Uint8Array(keyword.length + 5 + utf8.length);
  data.set(latin1(keyword), 0);
  data.set(utf8, keyword.length + 5);
  const chunk = encodePngChunk('iTXt', data);
  const out = new Uint8Array(png.length + chunk.length);
  out.set(png.subarray(0, iend.start), 0);
  out.set(chunk, iend.start);
  out.set(png.subarray(iend.start), iend.start + chunk.length);
  return out;
}

/** The uncompressed `iTXt` chunks of `png`, keyword → text (the first of each keyword). */
export function readITxtChunks(png: Uint8Array): Map<string, string> {
  const texts = new Map<string, string>();
  for (const { type, data } of pngChunks(png)) {
    if (type !== 'iTXt') continue;
    const end = data.indexOf(0);
    if (end < 1 || end + 2 >= data.length || data[end + 1] !== 0) continue; // malformed or compressed: not ours
    const keyword = String.fromCharCode(...data.subarray(0, end));
    const language = data.indexOf(0, end + 3);
    const translated = language < 0 ? -1 : data.indexOf(0, language + 1);
    if (translated < 0 || texts.has(keyword)) continue;
    try {
      texts.set(keyword, new TextDecoder('utf-8', { fatal: true }).decode(data.subarray(translated + 1)));
    } catch {
      // not UTF-8: not a chunk we wrote
    }
  }
  return texts;
}

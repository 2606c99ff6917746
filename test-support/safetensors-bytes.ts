// Test helpers that build safetensors files in memory (the bad inputs are made from the good fixtures, so no
// binary files are committed for them).

/** Splits a safetensors file into its header object and its data region. */
export function splitSafetensors(bytes: Uint8Array): { header: Record<string, any>; data: Uint8Array } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getBigUint64(0, true));
  return {
    header: JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8')),
    data: bytes.subarray(8 + n),
  };
}

/** Builds a safetensors file from a header object and a data region. */
export function joinSafetensors(header: Record<string, unknown>, data: Uint8Array): Uint8Array {
  return safetensorsFromHeaderText(JSON.stringify(header), data);
}

/** Builds a safetensors file from the header's text as is (for headers JSON.stringify cannot write: too deep, too big). */
export function safetensorsFromHeaderText(text: string, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const json = Buffer.from(text, 'utf8');
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** Re-encodes `bytes` with its header changed by `edit` (the data region kept). */
export function editSafetensorsHeader(bytes: Uint8Array, edit: (header: Record<string, any>) => void): Uint8Array {
  const { header, data } = splitSafetensors(bytes);
  edit(header);
  return joinSafetensors(header, data);
}

/** A safetensors file of raw tensors: each entry's bytes laid out one after the other. */
export function encodeSafetensors(tensors: { name: string; dtype: string; shape: number[]; bytes: Uint8Array }[]): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.length] };
    offset += t.bytes.length;
  }
  const data = new Uint8Array(offset);
  offset = 0;
  for (const t of tensors) {
    data.set(t.bytes, offset);
    offset += t.bytes.length;
  }
  return joinSafetensors(header, data);
}

/**
 * A safetensors file of `count` zero-size F32 tensors (`{"t0":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},...}`)
 * and no data: about 60 bytes a tensor, so 1.4 M of them make the 83 MB header of issue 10.
 */
export function manyEmptyTensorsHeader(count: number): Uint8Array {
  const parts: string[] = [];
  for (let i = 0; i < count; i++) parts.push(`"t${i}":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}`);
  return safetensorsFromHeaderText(`{${parts.join(',')}}`);
}

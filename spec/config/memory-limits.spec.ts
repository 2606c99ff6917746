import * as fs from 'fs';
import * as path from 'path';
import { constants as bufferConstants } from 'buffer';
import { MEMORY_LIMITS, maxWeightFileBytesFor } from '../../lib/config/memory-limits';
import { DEFAULT_MAX_BATCH_PER_FORWARD, DEFAULT_MEMORY_BUDGET_BYTES, FORWARD_MEMORY_BUDGET_BYTES, MAX_WEIGHT_FILE_BYTES } from '../../lib/index';

/**
 * Each memory or size limit is defined once (docs/architecture.md, "Where things go"): in lib/config/memory-limits.ts
 * (MEMORY_LIMITS), lib/config/limits.ts (CONFIG_LIMITS) or lib/io/reader-limits.ts (the readers'), never again as a
 * literal elsewhere in lib/. The scan below finds, outside those modules,
 * - a SCREAMING_CASE constant whose name says it is a cap (MAX, LIMIT, BYTES, BUDGET, ELEMENTS, PIXELS, SEEDS) and
 *   whose value is a bare number expression (`const MAX_BATCH = 4096`), unless {@link NOT_MEMORY_LIMITS} says why
 *   that one is not a memory limit;
 * - an object property named as a cap (`maxValues: 1_000_000`) whose value is a bare number expression, unless
 *   {@link NOT_MEMORY_LIMITS} says why;
 * - a byte size written out (`16 * 1024 * 1024`, `4 * 1024 ** 3`, `64 * 1024`) or a large power of two
 *   (`2 ** 26`) anywhere in code (a unit alone, `1024 ** 3`, and a division, `bytes / (1024 * 1024)` for a
 *   message, are not limits).
 */
const LIB = path.resolve(__dirname, '..', '..', 'lib');
const LIMIT_MODULES = ['config/memory-limits.ts', 'config/limits.ts', 'io/reader-limits.ts'];

/** Constants the name rule matches that are not memory limits, by file and name, each with the reason. */
const NOT_MEMORY_LIMITS: Readonly<Record<string, string>> = {
  'node/cli/arguments.ts MAX_THREADS': 'a thread count (the CPU), not memory',
  'node/cli/arguments.ts MAX_SCHEDULER_CONFIG_PAIRS': 'a usage bound on a CLI flag, a few bytes each',
  'node/backends/wasm-threads.ts MAX_WASM_THREADS': "the wasm backend's thread pool size",
  'node/cli/safe-text.ts MAX_PRINTED_LINE_CHARS': 'how much of a message is printed (display)',
  'config/config-error.ts MAX_SHOWN_STRING': 'how much of a value an error shows (display)',
  'config/config-error.ts MAX_SHOWN_ITEMS': 'how many items an error shows (display)',
  'config/config-schema.ts MAX_LISTED_UNKNOWN_KEYS': 'how many keys a warning lists (display)',
  'node/scale-out/verify.ts MAX_DISTINCT_VALUES': 'how many values a report lists (display)',
  'node/hub/cache.ts MAX_REVISION_CHARS': 'a file-name length (255-byte names), not memory',
  'node/hub/retry-policy.ts MAX_RETRY_AFTER_MS': 'a time, not a size',
  'node/scale-out/npz.ts MAX_NPY_BYTES': 'the .npz format without ZIP64 (4 GiB), a format fact',
  'node/fs/tfjs-fs-handler.ts DEFAULT_SHARD_BYTES': "the shard size tfjs' converter writes (4 MiB), an output format",
  'io/torch-pickle.ts MIN_CENTRAL_RECORD_BYTES': 'the ZIP format (46-byte central records), a format fact',
  'io/torch-pickle.ts MAX_TENSOR_TO_STORAGE_RATIO': 'a ratio of the pickle checks, not a size',
  'node/hub/session.ts maxRedirects': 'a count of HTTP redirects, not a size',
};

const NAME_RULE = /(MAX|LIMIT|BYTES|BUDGET|ELEMENTS|PIXELS|SEEDS)/;
const NUMBER_EXPRESSION = /^(?:0x[0-9a-fA-F]+|[\d_.]+|\*\*|[-*+/()\s])+$/;
/** A multiple of a KiB, MiB or GiB (`64 * 1024`, `16 * 1024 * 1024`, `4 * 1024 ** 3`, `1024 * 1024 * 1024`), or 2^16 and up. */
const BYTE_SIZE = /\b\d[\d_]*\s*\*\s*1024\b(?:\s*(?:\*\*\s*\d+|\*\s*1024\b))*|\b1024\s*\*\s*1024\s*\*\s*1024\b|\b2\s*\*\*\s*(?:1[6-9]|[2-5]\d)\b/g;

/** Source without comments (block and line), so doc comments may cite values freely. */
function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/[^\n]*/g, '$1');
}

/** The definitions of memory or size limits in `source` (file `file`, lib-relative) that belong in a limits module. */
export function strayLimits(file: string, source: string): string[] {
  if (LIMIT_MODULES.includes(file)) return [];
  const code = stripComments(source);
  const found: string[] = [];
  for (const m of code.matchAll(/\bconst\s+([A-Z][A-Z0-9_]*)\s*(?::[^=]+)?=\s*([^;]+);/g)) {
    const [, name, value] = m;
    if (NAME_RULE.test(name) && NUMBER_EXPRESSION.test(value.trim()) && !(`${file} ${name}` in NOT_MEMORY_LIMITS)) {
      found.push(`${file}: const ${name} = ${value.trim()}`);
    }
  }
  for (const m of code.matchAll(/\b(max[A-Z]\w*)\s*:\s*([^,}\n]+)/g)) {
    const [, name, value] = m;
    if (NUMBER_EXPRESSION.test(value.trim()) && !(`${file} ${name}` in NOT_MEMORY_LIMITS)) found.push(`${file}: ${name}: ${value.trim()}`);
  }
  for (const m of code.matchAll(BYTE_SIZE)) {
    const before = code.slice(0, m.index).replace(/[\s(]+$/, '');
    if (before.endsWith('/')) continue; // a unit for a message: bytes / (4 * 1024)
    const end = code.indexOf('\n', m.index);
    const line = code.slice(code.lastIndexOf('\n', m.index) + 1, end === -1 ? undefined : end).trim();
    const constant = /\bconst\s+([A-Z][A-Z0-9_]*)\s*=/.exec(line);
    if (constant && `${file} ${constant[1]}` in NOT_MEMORY_LIMITS) continue;
    found.push(`${file}: ${m[0]} in "${line.slice(0, 120)}"`);
  }
  return found;
}

function libSources(): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(LIB, rel), { withFileTypes: true })) {
      const child = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) walk(child);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) files.set(child, fs.readFileSync(path.join(LIB, child), 'utf8'));
    }
  };
  walk('');
  return files;
}

describe('memory limits are defined once (lib/config/memory-limits.ts)', () => {
  test('no file of lib/ defines a memory or size limit outside the limits modules', () => {
    const stray = [...libSources()].flatMap(([file, source]) => strayLimits(file, source));
    expect(stray).toEqual([]);
  });

  test('every exception still exists (a stale entry would hide a new limit under an old name)', () => {
    const sources = libSources();
    const stale = Object.keys(NOT_MEMORY_LIMITS).filter((key) => {
      const [file, name] = key.split(' ');
      return !new RegExp(`\\b(const\\s+${name}\\b|${name}\\s*:)`).test(sources.get(file) ?? '');
    });
    expect(stale).toEqual([]);
  });

  test('the scan finds a limit defined again, by name or by value', () => {
    expect(strayLimits('node/cli/arguments.ts', 'const MAX_BATCH = 4096;')).toEqual(['node/cli/arguments.ts: const MAX_BATCH = 4096']);
    expect(strayLimits('random/randn.ts', 'const MAX_ELEMENTS = 2 ** 32 - 1;')).toHaveLength(2);
    expect(strayLimits('models/unet/load-unet.ts', 'return parameters * 8 + 16 * 1024 * 1024;')).toEqual([
      'models/unet/load-unet.ts: 16 * 1024 * 1024 in "return parameters * 8 + 16 * 1024 * 1024;"',
    ]);
    expect(strayLimits('node/cli/demo-output.ts', 'if (size <= 64 * 1024) x();')).toHaveLength(1);
    expect(strayLimits('io/bounded-json.ts', 'const LIMITS = { maxDepth: 64, maxValues: 1_000_000, maxKeyChars: MAX_NAME_CHARS };')).toEqual([
      'io/bounded-json.ts: maxDepth: 64',
      'io/bounded-json.ts: maxValues: 1_000_000',
    ]);
    // Units in messages, comments and the limits modules themselves are not limits.
    expect(strayLimits('pipelines/memory-estimate.ts', 'const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(bytes < 1024 ** 3 ? 2 : 1)} GiB`;')).toEqual([]);
    expect(strayLimits('node/cli/convert.ts', 'const mib = (bytes / (4 * 1024 * 1024)).toFixed(1);')).toEqual([]);
    expect(strayLimits('node/png.ts', '/** 2 ** 26 pixels, 64 * 1024 * 1024 bytes */\n// const MAX_X = 4096;\nconst a = 1;')).toEqual([]);
    expect(strayLimits('config/memory-limits.ts', 'const MAX_BATCH = 4096;')).toEqual([]);
  });

  test('every limit has a doc comment saying why it is what it is', () => {
    const source = fs.readFileSync(path.join(LIB, 'config', 'memory-limits.ts'), 'utf8');
    const undocumented = Object.keys(MEMORY_LIMITS).filter((key) => !new RegExp(`\\*/\\n\\s*${key}:`).test(source));
    expect(undocumented).toEqual([]);
    expect(Object.isFrozen(MEMORY_LIMITS)).toBe(true);
  });

  test('the public constants are the limits (same numbers as before the move)', () => {
    expect(MAX_WEIGHT_FILE_BYTES).toBe(Math.min(MEMORY_LIMITS.maxWeightFileBytes, bufferConstants.MAX_LENGTH));
    expect(DEFAULT_MAX_BATCH_PER_FORWARD).toBe(MEMORY_LIMITS.maxBatchPerForward);
    expect(FORWARD_MEMORY_BUDGET_BYTES).toBe(MEMORY_LIMITS.forwardMemoryBudgetBytes);
    expect(DEFAULT_MEMORY_BUDGET_BYTES).toBe(MEMORY_LIMITS.runMemoryBudgetBytes);
    // google/ddpm-cifar10-32 (35,746,307 parameters): float64 tensors plus 16 MiB.
    expect(maxWeightFileBytesFor(35_746_307)).toBe(35_746_307 * 8 + 16 * 1024 * 1024);
  });
});

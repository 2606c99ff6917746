/**
 * A restricted Python unpickler: it rebuilds plain data (None, bools, ints, floats, strings, bytes, tuples, lists,
 * dicts) and nothing else on its own. A pickle names Python callables with GLOBAL / STACK_GLOBAL; each must be in
 * the caller's allowlist, and "calling" one (REDUCE) runs the caller's JavaScript stand-in for it, never Python and
 * never anything the file chooses. Opcodes that create arbitrary objects (INST, OBJ, NEWOBJ, NEWOBJ_EX, EXT*) or
 * that the supported writers never emit are refused with an error naming the opcode and its byte position.
 *
 * Why hand-written: the npm pickle readers we found are either unmaintained or are general unpicklers meant for
 * trusted data (they build arbitrary objects and leave "what may this file call" to the user). A PyTorch checkpoint
 * downloaded from the internet is untrusted input, and what `torch.save` writes is a small, fixed subset of
 * pickle protocol 2, so a reader of a few hundred lines that knows only that subset is both the safer and the
 * smaller option.
 *
 * Resource bounds: every length read from the file is checked against the bytes left before anything is
 * allocated, the machine runs one step per byte at most (so it ends), and the memo and stack only hold what the
 * opcodes pushed. It is iterative (no recursion on the nesting of the data), and it never walks a value it built:
 * memo references can make a DAG exponentially larger than the file, so whoever walks the result (an error message,
 * a hook) must do so within a bound of its own (see `describeValue`).
 */

import { MAX_NAME_CHARS } from './reader-limits';

/** A Python global (module + qualified name) that the allowlist admitted; inert until a stand-in is called. */
export class PyGlobal {
  constructor(readonly module: string, readonly name: string) {}
  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

/** A Python dict (or OrderedDict): insertion-ordered, keys compared by value for strings and numbers. */
export class PyDict extends Map<unknown, unknown> {}

/** A Python tuple (a frozen array, to tell it apart from a list). */
export type PyTuple = readonly unknown[];

/** What the caller decides for the objects a pickle may not build by itself. */
export interface PickleHooks {
  /** Returns the global for `module.name`, or throws: the allowlist. */
  findGlobal(module: string, name: string): unknown;
  /** REDUCE: `callable(*args)` for an allowlisted callable, or throws. */
  call(callable: unknown, args: PyTuple): unknown;
  /** BINPERSID: the object a persistent id stands for (PyTorch: a storage), or throws. */
  persistentLoad(pid: unknown): unknown;
  /** BUILD: `obj.__setstate__(state)`; returns the updated object or throws. */
  build(obj: unknown, state: unknown): unknown;
}

/** An error in the pickle stream: the message says which opcode, at which byte, and why. */
export class PickleError extends Error {
  constructor(message: string, readonly position: number) {
    super(`${message} (pickle byte ${position})`);
    this.name = 'PickleError';
  }
}

/** Pickle opcodes this reader knows, by byte; the names are Python's (`pickletools`). Maps, not objects: no lookup
 * can reach `Object.prototype`. */
const OPCODE_NAMES: ReadonlyMap<number, string> = new Map([
  [0x80, 'PROTO'], [0x95, 'FRAME'], [0x2e, 'STOP'], [0x28, 'MARK'], [0x30, 'POP'], [0x31, 'POP_MARK'], [0x32, 'DUP'],
  [0x7d, 'EMPTY_DICT'], [0x5d, 'EMPTY_LIST'], [0x29, 'EMPTY_TUPLE'], [0x74, 'TUPLE'], [0x85, 'TUPLE1'],
  [0x86, 'TUPLE2'], [0x87, 'TUPLE3'], [0x6c, 'LIST'], [0x64, 'DICT'], [0x61, 'APPEND'], [0x65, 'APPENDS'],
  [0x73, 'SETITEM'], [0x75, 'SETITEMS'], [0x71, 'BINPUT'], [0x72, 'LONG_BINPUT'], [0x94, 'MEMOIZE'],
  [0x68, 'BINGET'], [0x6a, 'LONG_BINGET'], [0x4a, 'BININT'], [0x4b, 'BININT1'], [0x4d, 'BININT2'], [0x8a, 'LONG1'],
  [0x47, 'BINFLOAT'], [0x4e, 'NONE'], [0x88, 'NEWTRUE'], [0x89, 'NEWFALSE'], [0x58, 'BINUNICODE'],
  [0x8c, 'SHORT_BINUNICODE'], [0x8d, 'BINUNICODE8'], [0x43, 'SHORT_BINBYTES'], [0x42, 'BINBYTES'], [0x63, 'GLOBAL'],
  [0x93, 'STACK_GLOBAL'], [0x52, 'REDUCE'], [0x62, 'BUILD'], [0x51, 'BINPERSID'],
]);

/** Opcodes that exist in Python's pickle but that this reader refuses (with their names, for the error). */
const REFUSED_OPCODE_NAMES: ReadonlyMap<number, string> = new Map([
  [0x69, 'INST'], [0x6f, 'OBJ'], [0x81, 'NEWOBJ'], [0x92, 'NEWOBJ_EX'], [0x82, 'EXT1'], [0x83, 'EXT2'],
  [0x84, 'EXT4'], [0x50, 'PERSID'], [0x70, 'PUT'], [0x67, 'GET'], [0x49, 'INT'], [0x4c, 'LONG'], [0x46, 'FLOAT'],
  [0x53, 'STRING'], [0x54, 'BINSTRING'], [0x55, 'SHORT_BINSTRING'], [0x56, 'UNICODE'], [0x8b, 'LONG4'],
  [0x8e, 'BINBYTES8'], [0x96, 'BYTEARRAY8'], [0x97, 'NEXT_BUFFER'], [0x98, 'READONLY_BUFFER'], [0x8f, 'EMPTY_SET'],
  [0x90, 'ADDITEMS'], [0x91, 'FROZENSET'],
]);

/** The name of opcode byte `op` as Python spells it, or its hex value. */
function opcodeName(op: number): string {
  return OPCODE_NAMES.get(op) ?? REFUSED_OPCODE_NAMES.get(op) ?? `0x${op.toString(16).padStart(2, '0')}`;
}

/**
 * Runs the pickle in `bytes` and returns the object it builds. Everything outside plain data goes through
 * `hooks`, which decide what is allowed.
 *
 * ```ts
 * const value = unpickle(bytes, { findGlobal: (m, n) => { throw new Error(`${m}.${n} not allowed`); }, ... });
 * ```
 */
export function unpickle(bytes: Uint8Array, hooks: PickleHooks): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  let pos = 0;
  let opStart = 0;

  const fail = (message: string): never => {
    throw new PickleError(message, opStart);
  };
  const need = (n: number, what: string): void => {
    if (n < 0 || pos + n > bytes.length) {
      fail(`${what} needs ${n} bytes but only ${bytes.length - pos} are left: truncated pickle`);
    }
  };
  const u8 = (): number => {
    need(1, 'a 1-byte argument');
    return bytes[pos++];
  };
  const u16 = (): number => {
    need(2, 'a 2-byte argument');
    pos += 2;
    return view.getUint16(pos - 2, true);
  };
  const u32 = (): number => {
    need(4, 'a 4-byte argument');
    pos += 4;
    return view.getUint32(pos - 4, true);
  };
  const take = (n: number, what: string): Uint8Array => {
    need(n, what);
    pos += n;
    return bytes.subarray(pos - n, pos);
  };
  const text = (n: number, what: string): string => {
    const raw = take(n, what);
    try {
      return utf8.decode(raw);
    } catch {
      return fail(`${what} is not valid UTF-8`);
    }
  };
  const line = (what: string): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail(`${what}: no end of line: truncated pickle`);
    const s = text(end - pos, what);
    pos = end + 1;
    return s;
  };
  const pop = (): unknown => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1])) {
      fail(`${opcodeName(bytes[opStart])} on an empty stack`);
    }
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1])) fail(`${opcodeName(bytes[opStart])} on an empty stack`);
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const mark = marks.pop();
    if (mark === undefined) return fail(`${opcodeName(bytes[opStart])} without a MARK`);
    return stack.splice(mark);
  };
  const memoGet = (index: number): unknown => {
    if (!memo.has(index)) fail(`memo entry ${index} read before it was written`);
    return memo.get(index);
  };
  const asDict = (target: unknown): PyDict =>
    target instanceof PyDict ? target : fail(`${opcodeName(bytes[opStart])} on a ${typeName(target)}, not a dict`);
  const asList = (target: unknown): unknown[] =>
    Array.isArray(target) && !Object.isFrozen(target)
      ? target
      : fail(`${opcodeName(bytes[opStart])} on a ${typeName(target)}, not a list`);
  const tuple = (items: unknown[]): PyTuple => Object.freeze(items);
  const hook = <T>(run: () => T): T => {
    try {
      return run();
    } catch (err) {
      if (err instanceof PickleError) throw err;
      return fail((err as Error).message);
    }
  };

  for (;;) {
    opStart = pos;
    if (pos >= bytes.length) fail('the pickle ends without STOP: truncated pickle');
    const op = bytes[pos++];
    switch (op) {
      case 0x80: {
        const protocol = u8();
        if (protocol < 2 || protocol > 5) fail(`pickle protocol ${protocol} is not supported (2 to 5 are)`);
        break;
      }
      case 0x95: // FRAME: an 8-byte length; frames only group opcodes, so skip the length.
        take(8, 'FRAME length');
        break;
      case 0x2e: // STOP
        if (stack.length !== 1 || marks.length !== 0) fail(`STOP with ${stack.length} objects on the stack (expected 1)`);
        return stack[0];
      case 0x28:
        marks.push(stack.length);
        break;
      case 0x30:
        pop();
        break;
      case 0x31:
        popMark();
        break;
      case 0x32:
        stack.push(top());
        break;
      case 0x7d:
        stack.push(new PyDict());
        break;
      case 0x5d:
        stack.push([]);
        break;
      case 0x29:
        stack.push(tuple([]));
        break;
      case 0x74:
        stack.push(tuple(popMark()));
        break;
      case 0x85:
      case 0x86:
      case 0x87: {
        const n = op - 0x84;
        const items: unknown[] = [];
        for (let i = 0; i < n; i++) items.unshift(pop());
        stack.push(tuple(items));
        break;
      }
      case 0x6c:
        stack.push(popMark());
        break;
      case 0x64: {
        const items = popMark();
        const dict = new PyDict();
        setItems(dict, items, fail);
        stack.push(dict);
        break;
      }
      case 0x61: {
        const value = pop();
        asList(top()).push(value);
        break;
      }
      case 0x65: {
        const items = popMark();
        const list = asList(top());
        for (const item of items) list.push(item); // not push(...items): a huge batch would overflow the call stack
        break;
      }
      case 0x73: {
        const value = pop();
        const key = pop();
        setItems(asDict(top()), [key, value], fail);
        break;
      }
      case 0x75: {
        const items = popMark();
        setItems(asDict(top()), items, fail);
        break;
      }
      case 0x71:
        memo.set(u8(), top());
        break;
      case 0x72:
        memo.set(u32(), top());
        break;
      case 0x94:
        memo.set(memo.size, top());
        break;
      case 0x68:
        stack.push(memoGet(u8()));
        break;
      case 0x6a:
        stack.push(memoGet(u32()));
        break;
      case 0x4a:
        need(4, 'BININT');
        stack.push(view.getInt32(pos, true));
        pos += 4;
        break;
      case 0x4b:
        stack.push(u8());
        break;
      case 0x4d:
        stack.push(u16());
        break;
      case 0x8a: {
        const n = u8();
        const raw = take(n, 'LONG1');
        let value = 0n;
        for (let i = n - 1; i >= 0; i--) value = (value << 8n) | BigInt(raw[i]);
        if (n > 0 && raw[n - 1] & 0x80) value -= 1n << BigInt(8 * n);
        stack.push(value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value);
        break;
      }
      case 0x47:
        need(8, 'BINFLOAT');
        stack.push(view.getFloat64(pos, false)); // big-endian, as pickle writes it
        pos += 8;
        break;
      case 0x4e:
        stack.push(null);
        break;
      case 0x88:
        stack.push(true);
        break;
      case 0x89:
        stack.push(false);
        break;
      case 0x58:
        stack.push(text(u32(), 'BINUNICODE string'));
        break;
      case 0x8c:
        stack.push(text(u8(), 'SHORT_BINUNICODE string'));
        break;
      case 0x8d: {
        need(8, 'BINUNICODE8 length');
        const n = view.getBigUint64(pos, true);
        pos += 8;
        if (n > BigInt(bytes.length - pos)) fail(`BINUNICODE8 length ${n} runs past the end of the pickle`);
        stack.push(text(Number(n), 'BINUNICODE8 string'));
        break;
      }
      case 0x43:
        stack.push(take(u8(), 'SHORT_BINBYTES').slice());
        break;
      case 0x42:
        stack.push(take(u32(), 'BINBYTES').slice());
        break;
      case 0x63: {
        const module = line('GLOBAL module');
        const name = line('GLOBAL name');
        stack.push(hook(() => hooks.findGlobal(module, name)));
        break;
      }
      case 0x93: {
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        stack.push(hook(() => hooks.findGlobal(module as string, name as string)));
        break;
      }
      case 0x52: {
        const args = pop();
        const callable = pop();
        if (!Array.isArray(args) || !Object.isFrozen(args)) fail(`REDUCE arguments must be a tuple, got a ${typeName(args)}`);
        stack.push(hook(() => hooks.call(callable, args as PyTuple)));
        break;
      }
      case 0x62: {
        const state = pop();
        const obj = pop();
        stack.push(hook(() => hooks.build(obj, state)));
        break;
      }
      case 0x51: {
        const pid = pop();
        stack.push(hook(() => hooks.persistentLoad(pid)));
        break;
      }
      default:
        fail(
          REFUSED_OPCODE_NAMES.has(op)
            ? `opcode ${REFUSED_OPCODE_NAMES.get(op)} is not allowed: this reader only accepts what torch.save writes`
            : `unknown opcode 0x${op.toString(16).padStart(2, '0')}: not a pickle, or a corrupted one`,
        );
    }
  }
}

function setItems(dict: PyDict, items: unknown[], fail: (message: string) => never): void {
  if (items.length % 2 !== 0) fail(`SETITEMS with an odd number (${items.length}) of keys and values`);
  for (let i = 0; i < items.length; i += 2) {
    const key = items[i];
    if (key !== null && typeof key === 'object') fail(`dict key of type ${typeName(key)} is not supported`);
    // Long string keys would make the dict quadratic (V8 hashes strings over 16,383 characters by length alone).
    if (typeof key === 'string' && key.length > MAX_NAME_CHARS) fail(`dict key of ${key.length} characters, more than the limit of ${MAX_NAME_CHARS}`);
    dict.set(key, items[i + 1]);
  }
}

/** A short Python-ish type name for error messages. */
export function typeName(value: unknown): string {
  if (value === null) return 'None';
  if (value instanceof PyDict) return 'dict';
  if (value instanceof PyGlobal) return value.qualifiedName;
  if (Array.isArray(value)) return Object.isFrozen(value) ? 'tuple' : 'list';
  if (value instanceof Uint8Array) return 'bytes';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  if (typeof value === 'bigint') return 'int';
  if (typeof value === 'string') return 'str';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'object' && value !== null) return value.constructor.name;
  return typeof value;
}

import { PickleError, PickleHooks, PyDict, unpickle } from '../../lib/io/pickle-machine';

/** Hooks that allow nothing: plain data only. */
const NOTHING_ALLOWED: PickleHooks = {
  findGlobal: (module, name) => {
    throw new Error(`global ${module}.${name} refused`);
  },
  call: () => {
    throw new Error('call refused');
  },
  persistentLoad: () => {
    throw new Error('persistent id refused');
  },
  build: () => {
    throw new Error('build refused');
  },
};

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));

// Made by CPython 3.11: pickle.dumps({'a': [1, -1, 255, 65535, -2**31, 2**31, 2**63, -2**70, None, True, False],
// 'b': (1.5, -0.0, 'é€'), 'c': {'n': {}}, 'e': ()}, protocol=2) ...
const PROTOCOL_2 =
  '80027d71002858010000006171015d7102284b014affffffff4bff4dffff4a000000808a0500000080008a090000000000000080008a09' +
  '0000000000000000c04e8889655801000000627103473ff80000000000004780000000000000005805000000c3a9e282ac710487710558' +
  '010000006371067d710758010000006e71087d710973580100000065710a29752e';
// ... and with 'd': b'xy' added, protocol=4 (FRAME, MEMOIZE, SHORT_BINUNICODE, SHORT_BINBYTES) ...
const PROTOCOL_4 =
  '80049579000000000000007d94288c0161945d94284b014affffffff4bff4dffff4a000000808a0500000080008a0900000000000000800' +
  '08a090000000000000000c04e8889658c016294473ff80000000000004780000000000000008c05c3a9e282ac9487948c0163947d948c01' +
  '6e947d94738c01649443027879948c01659429752e';
// ... and the same with protocol=2, where bytes become a call to _codecs.encode.
const PROTOCOL_2_WITH_BYTES =
  '80027d71002858010000006171015d7102284b014affffffff4bff4dffff4a000000808a0500000080008a090000000000000080008a09' +
  '0000000000000000c04e8889655801000000627103473ff80000000000004780000000000000005805000000c3a9e282ac710487710558' +
  '010000006371067d710758010000006e71087d710973580100000064710a635f636f646563730a656e636f64650a710b58020000007879' +
  '710c58060000006c6174696e31710d86710e52710f580100000065711029752e';

const EXPECTED_A = [1, -1, 255, 65535, -(2 ** 31), 2 ** 31, 2n ** 63n, -(2n ** 70n), null, true, false];

describe('unpickle: plain data from CPython pickles', () => {
  test('protocol 2', () => {
    const value = unpickle(hex(PROTOCOL_2), NOTHING_ALLOWED) as PyDict;
    expect(value).toBeInstanceOf(PyDict);
    expect([...value.keys()]).toEqual(['a', 'b', 'c', 'e']);
    expect(value.get('a')).toEqual(EXPECTED_A);
    const b = value.get('b') as unknown[];
    expect(Object.isFrozen(b)).toBe(true); // a tuple
    expect(b[0]).toBe(1.5);
    expect(Object.is(b[1], -0)).toBe(true);
    expect(b[2]).toBe('é€');
    expect(value.get('c')).toEqual(new PyDict([['n', new PyDict()]]));
    expect(value.get('e')).toEqual([]);
  });

  test('protocol 4 (frames, memoize, short strings and bytes)', () => {
    const value = unpickle(hex(PROTOCOL_4), NOTHING_ALLOWED) as PyDict;
    expect(value.get('a')).toEqual(EXPECTED_A);
    expect(value.get('d')).toEqual(new Uint8Array([0x78, 0x79]));
  });

  test('any global is up to the hooks: protocol 2 bytes need _codecs.encode, refused here', () => {
    expect(() => unpickle(hex(PROTOCOL_2_WITH_BYTES), NOTHING_ALLOWED)).toThrow(/^global _codecs.encode refused \(pickle byte \d+\)$/);
  });
});

describe('unpickle: malformed streams fail with the opcode and position', () => {
  const run = (bytes: number[]): unknown => unpickle(new Uint8Array(bytes), NOTHING_ALLOWED);

  test.each([
    [[0x80, 0x02], 'the pickle ends without STOP: truncated pickle (pickle byte 2)'],
    [[0x80, 0x06, 0x2e], 'pickle protocol 6 is not supported (2 to 5 are) (pickle byte 0)'],
    [[0x80, 0x02, 0x68, 0x05, 0x2e], 'memo entry 5 read before it was written (pickle byte 2)'],
    [[0x80, 0x02, 0x4e, 0x4e, 0x2e], 'STOP with 2 objects on the stack (expected 1) (pickle byte 4)'],
    [[0x80, 0x02, 0x30], 'POP on an empty stack (pickle byte 2)'],
    [[0x80, 0x02, 0x74], 'TUPLE without a MARK (pickle byte 2)'],
    [[0x80, 0x02, 0x28, 0x85], 'TUPLE1 on an empty stack (pickle byte 3)'],
    [[0x80, 0x02, 0x4e, 0x4e, 0x73], 'SETITEM on an empty stack (pickle byte 4)'],
    [[0x80, 0x02, 0x5d, 0x4e, 0x4e, 0x73], 'SETITEM on a list, not a dict (pickle byte 5)'],
    [[0x80, 0x02, 0x7d, 0x28, 0x4e, 0x75], 'SETITEMS with an odd number (1) of keys and values (pickle byte 5)'],
    [[0x80, 0x02, 0x58, 0xff, 0xff, 0xff, 0x7f], 'BINUNICODE string needs 2147483647 bytes but only 0 are left: truncated pickle (pickle byte 2)'],
    [[0x80, 0x02, 0x8c, 0x02, 0xc3, 0x28, 0x2e], 'SHORT_BINUNICODE string is not valid UTF-8 (pickle byte 2)'],
    [[0x80, 0x02, 0x4e, 0x29, 0x52, 0x2e], 'call refused (pickle byte 4)'],
    [[0x80, 0x02, 0x4e, 0x4e, 0x52, 0x2e], 'REDUCE arguments must be a tuple, got a None (pickle byte 4)'],
    [[0x80, 0x02, 0x4e, 0x51, 0x2e], 'persistent id refused (pickle byte 3)'],
    [[0x80, 0x02, 0x63, 0x6f, 0x73], 'GLOBAL module: no end of line: truncated pickle (pickle byte 2)'],
    [[0x80, 0x02, 0x81], 'opcode NEWOBJ is not allowed: this reader only accepts what torch.save writes (pickle byte 2)'],
    [[0x80, 0x02, 0x56], 'opcode UNICODE is not allowed: this reader only accepts what torch.save writes (pickle byte 2)'],
    [[0x80, 0x02, 0x00], 'unknown opcode 0x00: not a pickle, or a corrupted one (pickle byte 2)'],
  ])('%j → %s', (bytes, message) => {
    let error: unknown;
    try {
      run(bytes);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(PickleError);
    expect((error as Error).message).toBe(message);
  });
});

import { MT19937 } from '../../lib/random/mt19937';

describe('MT19937', () => {
  test('matches the reference mt19937: seed 5489 gives 3499211612 first and 4123659995 as the 10000th output', () => {
    // Both values are fixed by the C++ standard ([rand.predef]) and Matsumoto & Nishimura's reference code.
    const mt = new MT19937(5489);
    expect(mt.nextUint32()).toBe(3499211612);
    let last = 0;
    for (let i = 2; i <= 10000; i++) last = mt.nextUint32();
    expect(last).toBe(4123659995);
  });

  test('bulk float uniforms are the 24 low bits of the same draws, times 2^-24', () => {
    const a = new MT19937(42);
    const b = new MT19937(42);
    const bulk = new Float32Array(1000); // crosses a twist (624 words)
    a.fillUniformFloat(bulk, 0, 1000);
    for (let i = 0; i < 1000; i++) expect(bulk[i]).toBe((b.nextUint32() & 0xffffff) / 2 ** 24);
  });

  test('double uniforms take two draws: the 21 low bits of the first and all 32 of the second', () => {
    const a = new MT19937(7);
    const b = new MT19937(7);
    for (let i = 0; i < 400; i++) {
      const hi = BigInt(b.nextUint32());
      const lo = BigInt(b.nextUint32());
      const bits = ((hi << 32n) | lo) & ((1n << 53n) - 1n);
      expect(a.nextUniformDouble()).toBe(Number(bits) / 2 ** 53);
    }
  });

  test('getState copies the state; setState restores the stream and rejects bad states', () => {
    const mt = new MT19937(1);
    for (let i = 0; i < 700; i++) mt.nextUint32();
    const saved = mt.getState();
    const next = [mt.nextUint32(), mt.nextUint32()];
    expect(saved.index).toBe(700 - 624);
    mt.setState(saved);
    expect([mt.nextUint32(), mt.nextUint32()]).toEqual(next);
    expect(() => mt.setState({ state: new Uint32Array(10), index: 0 })).toThrow(/10 words, expected 624/);
    expect(() => mt.setState({ state: new Uint32Array(624), index: 625 })).toThrow(/index=625/);
  });
});

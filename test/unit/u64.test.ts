import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { u64Less, u64Store, u64Sub, u64ToString } from '../../src/sampling/u64.js';

const split = (v: bigint): [number, number] => [Number(v & 0xffffffffn), Number(v >> 32n)];

describe('u64 on u32 halves', () => {
  it('round-trips every value through decimal text exactly, including above 2^53', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (v) => {
        const out = new Uint32Array(2);
        expect(u64Store(v > BigInt(Number.MAX_SAFE_INTEGER) ? v.toString() : Number(v), out, 0)).toBe(true);
        expect(u64ToString(out[0]!, out[1]!)).toBe(v.toString());
      }),
    );
  });

  it('subtracts exactly when the difference is below 2^53, whatever the magnitude', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 63n) }), fc.bigInt({ min: 0n, max: (1n << 52n) }), (a, d) => {
        const [lo0, hi0] = split(a);
        const [lo1, hi1] = split(a + d);
        expect(u64Sub(lo1, hi1, lo0, hi0)).toBe(Number(d));
        expect(u64Less(lo1, hi1, lo0, hi0)).toBe(false);
        if (d > 0n) expect(u64Less(lo0, hi0, lo1, hi1)).toBe(true);
      }),
    );
  });

  it.each([[-1], [1.5], ['-1'], ['01'], ['18446744073709551616'], ['1e3'], [null], [Number.MAX_SAFE_INTEGER + 1]])('refuses %j', (v) => {
    expect(u64Store(v, new Uint32Array(2), 0)).toBe(false);
  });
});

// Exact unsigned 64-bit counter arithmetic on little-endian u32 halves.
//
// Counters are u64 in the kernel. BigUint64Array element reads allocate a
// BigInt each, and a float64 loses exactness above 2^53 (a 100 GbE byte
// counter passes that in about eight days), so samples carry each value as a
// (lo, hi) pair of u32 and only *differences* are turned into numbers.

const TWO_32 = 4294967296;
const MAX_SAFE_HI = 0x1fffff; // hi <= this keeps hi * 2^32 + lo below 2^53

/** True when (lo1, hi1) < (lo0, hi0) as unsigned 64-bit integers. */
export function u64Less(lo1: number, hi1: number, lo0: number, hi0: number): boolean {
  return hi1 < hi0 || (hi1 === hi0 && lo1 < lo0);
}

/**
 * (lo1, hi1) - (lo0, hi0) as a number. Exact when the difference is below
 * 2^53, which any plausible per-tick increase is. Callers check u64Less first:
 * a negative result here means the counter went backwards.
 */
export function u64Sub(lo1: number, hi1: number, lo0: number, hi0: number): number {
  return (hi1 - hi0) * TWO_32 + (lo1 - lo0);
}

/** The value as a number; exact below 2^53, nearest double above. */
export function u64ToNumber(lo: number, hi: number): number {
  return hi * TWO_32 + lo;
}

/** Decimal text of the exact value. Allocates only above 2^53. */
export function u64ToString(lo: number, hi: number): string {
  if (hi <= MAX_SAFE_HI) return String(hi * TWO_32 + lo);
  return ((BigInt(hi) << 32n) | BigInt(lo)).toString();
}

/** Whether the value fits a JSON number exactly (below 2^53). */
export function u64IsSafe(hi: number): boolean {
  return hi <= MAX_SAFE_HI;
}

const U64_MAX = (1n << 64n) - 1n;

/**
 * Stores a non-negative integer (a safe-integer number or a decimal string)
 * into out[at], out[at + 1] as (lo, hi). Returns false when the value is not a
 * non-negative integer or does not fit in 64 bits.
 */
export function u64Store(value: unknown, out: Uint32Array, at: number): boolean {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) return false;
    out[at] = value % TWO_32;
    out[at + 1] = Math.floor(value / TWO_32);
    return true;
  }
  if (typeof value === 'string') {
    if (!/^(0|[1-9][0-9]{0,19})$/.test(value)) return false;
    const big = BigInt(value);
    if (big > U64_MAX) return false;
    out[at] = Number(big & 0xffffffffn);
    out[at + 1] = Number(big >> 32n);
    return true;
  }
  return false;
}

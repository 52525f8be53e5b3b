/**
 * The one seeded random generator: xoshiro128** over four uint32 words, seeded through splitmix32. Its state is
 * four numbers, so a checkpoint can store it and a resumed run draws the same numbers.
 */

/** Serializable generator state: four uint32 words, not all zero. */
export type RngState = [number, number, number, number];

function splitmix32(x: number): [number, number] {
  x = (x + 0x9e3779b9) >>> 0;
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return [x, (z ^ (z >>> 16)) >>> 0];
}

/** A generator state from a seed: any safe integer (both 32-bit halves are used). */
export function seedRng(seed: number): RngState {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seedRng: seed must be a safe integer, got ${seed}`);
  let x = (seed >>> 0) ^ Math.imul(Math.floor(seed / 4294967296) >>> 0, 0x27d4eb2d);
  const s: number[] = [];
  for (let k = 0; k < 4; k++) {
    const [next, out] = splitmix32(x);
    x = next;
    s.push(out);
  }
  if ((s[0] | s[1] | s[2] | s[3]) === 0) s[0] = 1;
  return s as RngState;
}

/** Next uint32 from the state (advanced in place). */
export function nextUint32(s: RngState): number {
  const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
  const t = (s[1] << 9) >>> 0;
  s[2] = (s[2] ^ s[0]) >>> 0;
  s[3] = (s[3] ^ s[1]) >>> 0;
  s[1] = (s[1] ^ s[2]) >>> 0;
  s[0] = (s[0] ^ s[3]) >>> 0;
  s[2] = (s[2] ^ t) >>> 0;
  s[3] = rotl(s[3], 11);
  return result;
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** Uniform double in [0, 1) with 53 random bits. */
export function nextDouble(s: RngState): number {
  const hi = nextUint32(s) >>> 5;
  const lo = nextUint32(s) >>> 6;
  return (hi * 67108864 + lo) / 9007199254740992;
}

/** Uniform integer in [0, n) without modulo bias. */
export function nextInt(s: RngState, n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > 4294967296) throw new RangeError(`nextInt: n must be an integer in 1..2^32, got ${n}`);
  const limit = 4294967296 - (4294967296 % n);
  for (;;) {
    const r = nextUint32(s);
    if (r < limit) return r % n;
  }
}

/** Fisher–Yates shuffle of `a` in place. */
export function shuffle(s: RngState, a: Uint32Array | Int32Array | number[]): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = nextInt(s, i + 1);
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}

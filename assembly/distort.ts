// AssemblyScript: the elastic field of src/data/distort.ts (its draws and its two Gaussian passes,
// src/data/distort-elastic.ts) in WebAssembly SIMD, float64: the draws four at a time; the Gaussian two columns per
// vector, eight columns per loop where it can (eight independent sums: with four, workerd's V8 ran the passes a
// quarter slower). Each loop does the JavaScript reference's operations in its order (IEEE float64 +, ×, uint32
// arithmetic), so the results are the same bits (test/data/distort-wasm.test.ts). The bilinear sampling stays in
// JavaScript: scalar here, it ran no faster. Built to build/distort.wasm by scripts/build-wasm.mjs; instantiated by
// src/data/distort-wasm.ts. Pointers are byte offsets into the imported memory; f64 buffers are 8-byte aligned.

const GAMMA: i32 = <i32>0x9e3779b9;
const TWO_M31: f64 = 1.0 / 2147483648.0;

@inline function fmix4(h: v128): v128 {
  h = i32x4.mul(v128.xor(h, i32x4.shr_u(h, 16)), i32x4.splat(<i32>0x85ebca6b));
  h = i32x4.mul(v128.xor(h, i32x4.shr_u(h, 13)), i32x4.splat(<i32>0xc2b2ae35));
  return v128.xor(h, i32x4.shr_u(h, 16));
}

@inline function fmix(h: i32): i32 {
  h = (h ^ (h >>> 16)) * <i32>0x85ebca6b;
  h = (h ^ (h >>> 13)) * <i32>0xc2b2ae35;
  return h ^ (h >>> 16);
}

@inline function unit2(z: v128): v128 {
  return f64x2.sub(f64x2.mul(f64x2.add(f64x2.convert_low_i32x4_u(z), f64x2.splat(0.5)), f64x2.splat(TWO_M31)), f64x2.splat(1.0));
}

/** dst[q] = draw first + q of the example keyed (k0, k1), uniform in (−1, 1), for q < n. */
function fillUniform(dst: usize, n: i32, k0: i32, k1: i32, first: i32): void {
  let h = i32x4.add(i32x4.splat(k0 + first * GAMMA), i32x4(0, GAMMA, 2 * GAMMA, 3 * GAMMA));
  const step = i32x4.splat(4 * GAMMA), key = i32x4.splat(k1);
  let q = 0;
  for (; q + 4 <= n; q += 4) {
    const z = fmix4(v128.xor(fmix4(h), key));
    const at = dst + (<usize>q << 3);
    v128.store(at, unit2(z));
    v128.store(at, unit2(i32x4.shuffle(z, z, 2, 3, 0, 1)), 16);
    h = i32x4.add(h, step);
  }
  for (; q < n; q++) {
    const z = fmix(fmix(k0 + (first + q) * GAMMA) ^ k1);
    store<f64>(dst + (<usize>q << 3), (<f64>(<u32>z) + 0.5) * TWO_M31 - 1.0);
  }
}

/** The 8 lanes of a, b, c, d, one column (`col` bytes) apart from `p`: 8 outputs of a transposed pass. */
@inline function storeColumns(p: usize, col: usize, a: v128, b: v128, c: v128, d: v128): void {
  store<f64>(p, f64x2.extract_lane(a, 0));
  store<f64>(p + col, f64x2.extract_lane(a, 1));
  store<f64>(p + 2 * col, f64x2.extract_lane(b, 0));
  store<f64>(p + 3 * col, f64x2.extract_lane(b, 1));
  store<f64>(p + 4 * col, f64x2.extract_lane(c, 0));
  store<f64>(p + 5 * col, f64x2.extract_lane(c, 1));
  store<f64>(p + 6 * col, f64x2.extract_lane(d, 0));
  store<f64>(p + 7 * col, f64x2.extract_lane(d, 1));
}

/**
 * One pass of the Gaussian (taps w[0..2R]) down the columns of two n × m fields, written transposed (m × n), as
 * src/data/distort.ts's smoothDownTransposed: each output the sum from the lowest row up, from 0.
 */
function smoothDownTransposed(ax: usize, ay: usize, bx: usize, by: usize, w: usize, R: i32, n: i32, m: i32): void {
  const m2 = m & ~1;
  const row = <usize>m << 3, col = <usize>n << 3;
  for (let i = 0; i < n; i++) {
    const lo = max(0, i - R), hi = min(n - 1, i + R);
    const wt = w + (<usize>(R - i) << 3);
    let c = 0;
    for (; c + 8 <= m2; c += 8) {
      let x0 = f64x2.splat(0), x1 = f64x2.splat(0), x2 = f64x2.splat(0), x3 = f64x2.splat(0);
      let y0 = f64x2.splat(0), y1 = f64x2.splat(0), y2 = f64x2.splat(0), y3 = f64x2.splat(0);
      let at = (<usize>lo * m + c) << 3;
      for (let k = lo; k <= hi; k++, at += row) {
        const wk = f64x2.splat(load<f64>(wt + (<usize>k << 3)));
        const pa = ax + at, pb = ay + at;
        x0 = f64x2.add(x0, f64x2.mul(wk, v128.load(pa)));
        x1 = f64x2.add(x1, f64x2.mul(wk, v128.load(pa, 16)));
        x2 = f64x2.add(x2, f64x2.mul(wk, v128.load(pa, 32)));
        x3 = f64x2.add(x3, f64x2.mul(wk, v128.load(pa, 48)));
        y0 = f64x2.add(y0, f64x2.mul(wk, v128.load(pb)));
        y1 = f64x2.add(y1, f64x2.mul(wk, v128.load(pb, 16)));
        y2 = f64x2.add(y2, f64x2.mul(wk, v128.load(pb, 32)));
        y3 = f64x2.add(y3, f64x2.mul(wk, v128.load(pb, 48)));
      }
      const o = (<usize>c * n + i) << 3;
      storeColumns(bx + o, col, x0, x1, x2, x3);
      storeColumns(by + o, col, y0, y1, y2, y3);
    }
    for (; c + 4 <= m2; c += 4) {
      let x0 = f64x2.splat(0), x1 = f64x2.splat(0), y0 = f64x2.splat(0), y1 = f64x2.splat(0);
      let at = (<usize>lo * m + c) << 3;
      for (let k = lo; k <= hi; k++, at += row) {
        const wk = f64x2.splat(load<f64>(wt + (<usize>k << 3)));
        x0 = f64x2.add(x0, f64x2.mul(wk, v128.load(ax + at)));
        x1 = f64x2.add(x1, f64x2.mul(wk, v128.load(ax + at, 16)));
        y0 = f64x2.add(y0, f64x2.mul(wk, v128.load(ay + at)));
        y1 = f64x2.add(y1, f64x2.mul(wk, v128.load(ay + at, 16)));
      }
      const o = (<usize>c * n + i) << 3;
      store<f64>(bx + o, f64x2.extract_lane(x0, 0));
      store<f64>(bx + o + col, f64x2.extract_lane(x0, 1));
      store<f64>(bx + o + 2 * col, f64x2.extract_lane(x1, 0));
      store<f64>(bx + o + 3 * col, f64x2.extract_lane(x1, 1));
      store<f64>(by + o, f64x2.extract_lane(y0, 0));
      store<f64>(by + o + col, f64x2.extract_lane(y0, 1));
      store<f64>(by + o + 2 * col, f64x2.extract_lane(y1, 0));
      store<f64>(by + o + 3 * col, f64x2.extract_lane(y1, 1));
    }
    for (; c < m2; c += 2) {
      let x = f64x2.splat(0), y = f64x2.splat(0);
      let at = (<usize>lo * m + c) << 3;
      for (let k = lo; k <= hi; k++, at += row) {
        const wk = f64x2.splat(load<f64>(wt + (<usize>k << 3)));
        x = f64x2.add(x, f64x2.mul(wk, v128.load(ax + at)));
        y = f64x2.add(y, f64x2.mul(wk, v128.load(ay + at)));
      }
      const o = (<usize>c * n + i) << 3;
      store<f64>(bx + o, f64x2.extract_lane(x, 0));
      store<f64>(bx + o + col, f64x2.extract_lane(x, 1));
      store<f64>(by + o, f64x2.extract_lane(y, 0));
      store<f64>(by + o + col, f64x2.extract_lane(y, 1));
    }
    if (m2 < m) {
      let x: f64 = 0, y: f64 = 0;
      let at = (<usize>lo * m + m2) << 3;
      for (let k = lo; k <= hi; k++, at += row) {
        const wk = load<f64>(wt + (<usize>k << 3));
        x += wk * load<f64>(ax + at);
        y += wk * load<f64>(ay + at);
      }
      const o = (<usize>m2 * n + i) << 3;
      store<f64>(bx + o, x);
      store<f64>(by + o, y);
    }
  }
}

/**
 * The elastic field of the example keyed (k0, k1) of rows × cols images: ex, ey ← draws 6.. and 6 + rows·cols..,
 * then down the columns with taps w into hx, hy (transposed), then down those columns with taps wAlpha (α·w) into
 * gx, gy (the image's orientation again). Every buffer holds rows·cols f64 but w and wAlpha, 2R + 1.
 */
export function elasticField(ex: usize, ey: usize, hx: usize, hy: usize, gx: usize, gy: usize, w: usize, wAlpha: usize, R: i32, rows: i32, cols: i32, k0: i32, k1: i32): void {
  const n = rows * cols;
  fillUniform(ex, n, k0, k1, 6);
  fillUniform(ey, n, k0, k1, 6 + n);
  smoothDownTransposed(ex, ey, hx, hy, w, R, rows, cols);
  smoothDownTransposed(hx, hy, gx, gy, wAlpha, R, cols, rows);
}

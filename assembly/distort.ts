// AssemblyScript: the three loops of an elastic distortion (src/data/distort.ts) in WebAssembly SIMD, float64: the
// draws four at a time, the Gaussian two columns per vector, the sampling scalar. Each does the JavaScript
// reference's operations in its order (IEEE float64 +, ×, ÷ and floor, uint32 arithmetic), so the results are the
// same bits. Pointers are byte offsets into the imported memory; f64 buffers are 8-byte aligned.

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
export function fillUniform(dst: usize, n: i32, k0: i32, k1: i32, first: i32): void {
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

/**
 * One pass of the Gaussian (taps w[0..2R]) down the columns of two n × m fields, written transposed (m × n), as
 * src/data/distort.ts's smoothDownTransposed: each output the sum from the lowest row up, from 0.
 */
export function smoothDownTransposed(ax: usize, ay: usize, bx: usize, by: usize, w: usize, R: i32, n: i32, m: i32): void {
  const m2 = m & ~1;
  const row = <usize>m << 3, col = <usize>n << 3;
  for (let i = 0; i < n; i++) {
    const lo = max(0, i - R), hi = min(n - 1, i + R);
    const wt = w + (<usize>(R - i) << 3);
    let c = 0;
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

@inline function px(p: usize, i: i32): f64 {
  return <f64>load<u8>(p + <usize>i);
}

/**
 * out[q] (float32) = the bilinear sample, divided by 255, of the rows × cols uint8 image at `pixels` at the source
 * position of output pixel q: A⁻¹ = [m00 m01; m10 m11] applied to (c − cx − tx, r − cy − ty), plus (gx[q], gy[q]).
 */
export function sample(pixels: usize, rows: i32, cols: i32, m00: f64, m01: f64, m10: f64, m11: f64, tx: f64, ty: f64, gx: usize, gy: usize, out: usize): void {
  const cx = <f64>(cols - 1) / 2, cy = <f64>(rows - 1) / 2;
  let q = 0;
  for (let r = 0; r < rows; r++) {
    const y = <f64>r - cy - ty;
    const bx = cx + m01 * y, by = cy + m11 * y;
    for (let c = 0; c < cols; c++, q++) {
      const x = <f64>c - cx - tx;
      const xs = bx + m00 * x + load<f64>(gx + (<usize>q << 3)), ys = by + m10 * x + load<f64>(gy + (<usize>q << 3));
      const fr0 = floor(ys), fc0 = floor(xs);
      let v: f64 = 0;
      if (fr0 >= -1 && fr0 < <f64>rows && fc0 >= -1 && fc0 < <f64>cols) {
        const r0 = <i32>fr0, c0 = <i32>fc0, fr = ys - fr0, fc = xs - fc0;
        const i = r0 * cols + c0;
        if (r0 >= 0 && r0 < rows - 1 && c0 >= 0 && c0 < cols - 1) {
          const p00 = px(pixels, i), p10 = px(pixels, i + cols);
          const upper = p00 + fc * (px(pixels, i + 1) - p00);
          v = upper + fr * (p10 + fc * (px(pixels, i + cols + 1) - p10) - upper);
        } else {
          const top = r0 >= 0, bottom = r0 + 1 < rows, left = c0 >= 0, right = c0 + 1 < cols;
          const p00 = top && left ? px(pixels, i) : 0;
          const p01 = top && right ? px(pixels, i + 1) : 0;
          const p10 = bottom && left ? px(pixels, i + cols) : 0;
          const p11 = bottom && right ? px(pixels, i + cols + 1) : 0;
          const upper = p00 + fc * (p01 - p00);
          v = upper + fr * (p10 + fc * (p11 - p10) - upper);
        }
      }
      store<f32>(out + (<usize>q << 2), <f32>(v / 255));
    }
  }
}

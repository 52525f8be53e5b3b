// AssemblyScript: float32 WebAssembly SIMD kernels (prototype v1).
// Pointers are byte offsets into the imported memory.

@inline function axpyRow(dst: usize, src: usize, x: f32, O: i32): void {
  const xs = f32x4.splat(x);
  let j = 0;
  for (; j + 16 <= O; j += 16) {
    const d = dst + (<usize>j << 2), s = src + (<usize>j << 2);
    v128.store(d, f32x4.add(v128.load(d), f32x4.mul(v128.load(s), xs)));
    v128.store(d, f32x4.add(v128.load(d, 16), f32x4.mul(v128.load(s, 16), xs)), 16);
    v128.store(d, f32x4.add(v128.load(d, 32), f32x4.mul(v128.load(s, 32), xs)), 32);
    v128.store(d, f32x4.add(v128.load(d, 48), f32x4.mul(v128.load(s, 48), xs)), 48);
  }
  for (; j + 4 <= O; j += 4) {
    const d = dst + (<usize>j << 2), s = src + (<usize>j << 2);
    v128.store(d, f32x4.add(v128.load(d), f32x4.mul(v128.load(s), xs)));
  }
  for (; j < O; j++) {
    const d = dst + (<usize>j << 2), s = src + (<usize>j << 2);
    store<f32>(d, load<f32>(d) + load<f32>(s) * x);
  }
}

/** One row, the sparse way: the bias, then Θ's column i times x for each non-zero input x = inp[i], in i order. */
@inline function fwdSparseRow(o: usize, a: usize, W: usize, I: i32, O: i32, rowOut: usize): void {
  memory.copy(o, W, rowOut);
  for (let i = 0; i < I; i++) {
    const x = load<f32>(a + (<usize>i << 2));
    if (x == 0) continue;
    axpyRow(o, W + <usize>(i + 1) * rowOut, x, O);
  }
}

export function linearForward(out: usize, inp: usize, W: usize, n: i32, I: i32, O: i32): void {
  const rowOut = <usize>O << 2, rowIn = <usize>I << 2;
  const O8 = O & ~7;
  let r = 0;
  for (; r + 4 <= n; r += 4) {
    const o = out + <usize>r * rowOut, a = inp + <usize>r * rowIn;
    if (nonZeros(a, 4 * I) * 2 < 4 * I) {
      // Mostly zeros (pixels): each row skips its own zero inputs.
      for (let q = 0; q < 4; q++) fwdSparseRow(o + <usize>q * rowOut, a + <usize>q * rowIn, W, I, O, rowOut);
      continue;
    }
    for (let j = 0; j < O8; j += 8) fwdBlock4(o, a, W, I, O, j, rowIn, rowOut);
    if (O8 < O) for (let q = 0; q < 4; q++) fwdTail(o + <usize>q * rowOut, a + <usize>q * rowIn, W, I, O, O8);
  }
  for (; r < n; r++) fwdSparseRow(out + <usize>r * rowOut, inp + <usize>r * rowIn, W, I, O, rowOut);
}

/** How many of the `count` floats from `a` are not zero (without branches: which inputs are zero is data). */
@inline function nonZeros(a: usize, count: i32): i32 {
  let acc = i32x4.splat(0);
  let t = 0;
  // f32x4.ne gives −1 in each lane that is not zero.
  for (; t + 4 <= count; t += 4) acc = i32x4.sub(acc, f32x4.ne(v128.load(a + (<usize>t << 2)), f32x4.splat(0)));
  let nz = i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 1) + i32x4.extract_lane(acc, 2) + i32x4.extract_lane(acc, 3);
  for (; t < count; t++) nz += <i32>(load<f32>(a + (<usize>t << 2)) != 0);
  return nz;
}

export function weightGradient(grad: usize, delta: usize, inp: usize, n: i32, I: i32, O: i32): void {
  const rowD = <usize>O << 2, rowIn = <usize>I << 2;
  let r = 0;
  for (; r + 4 <= n; r += 4) {
    const d = delta + <usize>r * rowD, a = inp + <usize>r * rowIn;
    if (nonZeros(a, 4 * I) * 2 < 4 * I) {
      for (let q = 0; q < 4; q++) gradSparseRow(grad, d + <usize>q * rowD, a + <usize>q * rowIn, I, O);
      continue;
    }
    // Four dense rows: each row of the gradient is loaded and stored once for the four (adding in row order).
    axpy4(grad, d, rowD, f32x4.splat(1), f32x4.splat(1), f32x4.splat(1), f32x4.splat(1), O);
    for (let i = 0; i < I; i++) {
      const x = a + (<usize>i << 2);
      axpy4(grad + <usize>(i + 1) * rowD, d, rowD, v128.load32_splat(x), v128.load32_splat(x + rowIn), v128.load32_splat(x + 2 * rowIn), v128.load32_splat(x + 3 * rowIn), O);
    }
  }
  for (; r < n; r++) gradSparseRow(grad, delta + <usize>r * rowD, inp + <usize>r * rowIn, I, O);
}

/** One row's contribution to the gradient, skipping its zero inputs: the bias row, then Θ's column i times x = inp[i]. */
function gradSparseRow(grad: usize, d: usize, a: usize, I: i32, O: i32): void {
  const rowD = <usize>O << 2;
  axpyRow(grad, d, 1, O);
  for (let i = 0; i < I; i++) {
    const x = load<f32>(a + (<usize>i << 2));
    if (x == 0) continue;
    axpyRow(grad + <usize>(i + 1) * rowD, d, x, O);
  }
}

/** dst += s0·d0 then += s1·d1, += s2·d2, += s3·d3 (rows d0..d3 `stride` bytes apart), O floats, in that order. */
@inline function axpy4(dst: usize, d: usize, stride: usize, s0: v128, s1: v128, s2: v128, s3: v128, O: i32): void {
  let j = 0;
  for (; j + 4 <= O; j += 4) {
    const g = dst + (<usize>j << 2), e = d + (<usize>j << 2);
    let acc = v128.load(g);
    acc = f32x4.add(acc, f32x4.mul(v128.load(e), s0));
    acc = f32x4.add(acc, f32x4.mul(v128.load(e + stride), s1));
    acc = f32x4.add(acc, f32x4.mul(v128.load(e + 2 * stride), s2));
    acc = f32x4.add(acc, f32x4.mul(v128.load(e + 3 * stride), s3));
    v128.store(g, acc);
  }
  for (; j < O; j++) {
    const g = dst + (<usize>j << 2), e = d + (<usize>j << 2);
    let acc = load<f32>(g);
    acc += load<f32>(e) * f32x4.extract_lane(s0, 0);
    acc += load<f32>(e + stride) * f32x4.extract_lane(s1, 0);
    acc += load<f32>(e + 2 * stride) * f32x4.extract_lane(s2, 0);
    acc += load<f32>(e + 3 * stride) * f32x4.extract_lane(s3, 0);
    store<f32>(g, acc);
  }
}

export function inputGradient(dInp: usize, delta: usize, inp: usize, W: usize, n: i32, I: i32, O: i32): void {
  const rowD = <usize>O << 2, rowIn = <usize>I << 2;
  for (let r = 0; r < n; r++) {
    const d = delta + <usize>r * rowD;
    const a = inp + <usize>r * rowIn;
    const g = dInp + <usize>r * rowIn;
    for (let i = 0; i < I; i++) {
      const col = W + <usize>(i + 1) * rowD;
      let acc = f32x4.splat(0);
      let j = 0;
      for (; j + 4 <= O; j += 4) acc = f32x4.add(acc, f32x4.mul(v128.load(col + (<usize>j << 2)), v128.load(d + (<usize>j << 2))));
      let s = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
      for (; j < O; j++) s += load<f32>(col + (<usize>j << 2)) * load<f32>(d + (<usize>j << 2));
      const x = load<f32>(a + (<usize>i << 2));
      store<f32>(g + (<usize>i << 2), s * (x * (1 - x)));
    }
  }
}

/**
 * Four dense rows, outputs j..j+8: eight accumulators (two vectors a row) stay in registers across the whole input
 * loop, and each column of Θ is loaded once for the four rows. An input zero in all four rows is skipped.
 */
@inline function fwdBlock4(out: usize, inp: usize, W: usize, I: i32, O: i32, j: i32, rowIn: usize, rowOut: usize): void {
  const bias = W + (<usize>j << 2);
  let a00 = v128.load(bias), a01 = v128.load(bias, 16);
  let a10 = a00, a11 = a01, a20 = a00, a21 = a01, a30 = a00, a31 = a01;
  const stride = <usize>O << 2;
  let col = bias + stride;
  let x = inp;
  for (let i = 0; i < I; i++, col += stride, x += 4) {
    const w0 = v128.load(col), w1 = v128.load(col, 16);
    let s = v128.load32_splat(x);
    a00 = f32x4.add(a00, f32x4.mul(w0, s)); a01 = f32x4.add(a01, f32x4.mul(w1, s));
    s = v128.load32_splat(x + rowIn);
    a10 = f32x4.add(a10, f32x4.mul(w0, s)); a11 = f32x4.add(a11, f32x4.mul(w1, s));
    s = v128.load32_splat(x + 2 * rowIn);
    a20 = f32x4.add(a20, f32x4.mul(w0, s)); a21 = f32x4.add(a21, f32x4.mul(w1, s));
    s = v128.load32_splat(x + 3 * rowIn);
    a30 = f32x4.add(a30, f32x4.mul(w0, s)); a31 = f32x4.add(a31, f32x4.mul(w1, s));
  }
  const o = out + (<usize>j << 2);
  v128.store(o, a00); v128.store(o, a01, 16);
  v128.store(o + rowOut, a10); v128.store(o + rowOut, a11, 16);
  v128.store(o + 2 * rowOut, a20); v128.store(o + 2 * rowOut, a21, 16);
  v128.store(o + 3 * rowOut, a30); v128.store(o + 3 * rowOut, a31, 16);
}

/** One row, outputs from j to O (fewer than 8), one at a time. */
function fwdTail(out: usize, inp: usize, W: usize, I: i32, O: i32, j0: i32): void {
  const stride = <usize>O << 2;
  for (let j = j0; j < O; j++) {
    let acc = load<f32>(W + (<usize>j << 2));
    let col = W + stride + (<usize>j << 2);
    for (let i = 0; i < I; i++, col += stride) {
      const x = load<f32>(inp + (<usize>i << 2));
      if (x != 0) acc += load<f32>(col) * x;
    }
    store<f32>(out + (<usize>j << 2), acc);
  }
}

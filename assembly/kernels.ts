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

export function linearForward(out: usize, inp: usize, W: usize, n: i32, I: i32, O: i32): void {
  const rowOut = <usize>O << 2, rowIn = <usize>I << 2;
  for (let r = 0; r < n; r++) {
    const o = out + <usize>r * rowOut;
    const a = inp + <usize>r * rowIn;
    memory.copy(o, W, rowOut);
    for (let i = 0; i < I; i++) {
      const x = load<f32>(a + (<usize>i << 2));
      if (x == 0) continue;
      axpyRow(o, W + <usize>(i + 1) * rowOut, x, O);
    }
  }
}

export function weightGradient(grad: usize, delta: usize, inp: usize, n: i32, I: i32, O: i32): void {
  const rowD = <usize>O << 2, rowIn = <usize>I << 2;
  for (let r = 0; r < n; r++) {
    const d = delta + <usize>r * rowD;
    const a = inp + <usize>r * rowIn;
    axpyRow(grad, d, 1, O);
    for (let i = 0; i < I; i++) {
      const x = load<f32>(a + (<usize>i << 2));
      if (x == 0) continue;
      axpyRow(grad + <usize>(i + 1) * rowD, d, x, O);
    }
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

// AssemblyScript: the WebAssembly SIMD multiply+add peak, for `npm run bench` (bench/worker.ts runs it inside workerd).
// 12 independent chains x ← x·m + c of f32x4 (with m = 0.5, c = 1, x tends to 2: no overflow, no subnormals); each
// step of a chain is one f32x4.mul and one f32x4.add, 8 flops. Fewer chains leave the mul→add latency exposed and
// more spill x64's 16 SIMD registers (in Node here, 8 / 12 / 16 chains: 39 / 64 / 35 GFLOP/s). m and c are
// arguments, not constants: workerd's V8 (2026-04-26) runs this loop at 16 GFLOP/s when they are v128 constants
// (it rematerializes them in the loop), and at 63 when they come in registers.

/** `steps` steps of the 12 chains: 96 flops a step. Returns the lanes' sum, so that nothing is optimized away. */
export function peak12(steps: i32, mm: f32, cc: f32): f32 {
  const m = f32x4.splat(mm), c = f32x4.splat(cc);
  let x0 = f32x4.splat(<f32>0.1), x1 = f32x4.splat(<f32>0.2), x2 = f32x4.splat(<f32>0.3), x3 = f32x4.splat(<f32>0.4);
  let x4 = f32x4.splat(<f32>0.5), x5 = f32x4.splat(<f32>0.6), x6 = f32x4.splat(<f32>0.7), x7 = f32x4.splat(<f32>0.8);
  let x8 = f32x4.splat(<f32>0.9), x9 = f32x4.splat(<f32>1.0), x10 = f32x4.splat(<f32>1.1), x11 = f32x4.splat(<f32>1.2);
  for (let s = 0; s < steps; s++) {
    x0 = f32x4.add(f32x4.mul(x0, m), c); x1 = f32x4.add(f32x4.mul(x1, m), c);
    x2 = f32x4.add(f32x4.mul(x2, m), c); x3 = f32x4.add(f32x4.mul(x3, m), c);
    x4 = f32x4.add(f32x4.mul(x4, m), c); x5 = f32x4.add(f32x4.mul(x5, m), c);
    x6 = f32x4.add(f32x4.mul(x6, m), c); x7 = f32x4.add(f32x4.mul(x7, m), c);
    x8 = f32x4.add(f32x4.mul(x8, m), c); x9 = f32x4.add(f32x4.mul(x9, m), c);
    x10 = f32x4.add(f32x4.mul(x10, m), c); x11 = f32x4.add(f32x4.mul(x11, m), c);
  }
  const t = f32x4.add(f32x4.add(f32x4.add(f32x4.add(x0, x1), f32x4.add(x2, x3)), f32x4.add(f32x4.add(x4, x5), f32x4.add(x6, x7))),
    f32x4.add(f32x4.add(x8, x9), f32x4.add(x10, x11)));
  return f32x4.extract_lane(t, 0) + f32x4.extract_lane(t, 1) + f32x4.extract_lane(t, 2) + f32x4.extract_lane(t, 3);
}

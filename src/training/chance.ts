/**
 * Whether a difference between two models measured on the same examples is larger than chance: McNemar's exact test.
 *
 * Of the examples exactly one of the two models gets right, `gained` favour the second and `lost` the first. If the
 * two were equally good, each of those n = gained + lost examples would fall either way with probability ½, so the
 * chance of seeing at least `gained` of them favour the second is the binomial tail P(X ≥ gained), X ~ Bin(n, ½).
 * Examples both get right or both get wrong say nothing about which is better, and are not counted.
 */

/** ln(k!) for k = 0..n, by summing logarithms (exact to float64 rounding for the few thousand a refresh counts). */
function logFactorials(n: number): Float64Array {
  const out = new Float64Array(n + 1);
  for (let k = 1; k <= n; k++) out[k] = out[k - 1] + Math.log(k);
  return out;
}

/**
 * P(X ≥ k) for X ~ Bin(n, ½): the one-sided p-value of McNemar's exact test that `k` of `n` discordant examples
 * favour one model. 1 when k ≤ 0; summed from the smaller tail so that tiny p-values keep their digits.
 */
export function binomialTail(k: number, n: number): number {
  if (!Number.isInteger(k) || !Number.isInteger(n) || n < 0 || k > n) throw new RangeError(`binomialTail: need integers k ≤ n, n ≥ 0; got k = ${k}, n = ${n}`);
  if (k <= 0) return 1;
  const lf = logFactorials(n);
  const pmf = (i: number) => Math.exp(lf[n] - lf[i] - lf[n - i] - n * Math.LN2);
  let tail = 0;
  if (2 * k > n) {
    for (let i = k; i <= n; i++) tail += pmf(i);
    return Math.min(1, tail);
  }
  for (let i = 0; i < k; i++) tail += pmf(i);
  return Math.max(0, 1 - tail);
}

/** The one-sided p-value that the second model is better than the first, from its gains and losses on shared examples. */
export const pBetter = (gained: number, lost: number): number => binomialTail(gained, gained + lost);

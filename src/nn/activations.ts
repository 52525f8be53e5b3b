/** Sigmoid units and the stable pieces of the two losses. */

/** g(z) = 1 / (1 + e^−z). */
export function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

/** g′(z) = g(z)(1 − g(z)), as the course's sigmoidGradient. */
export function sigmoidGradient(z: number): number {
  const g = 1 / (1 + Math.exp(-z));
  return g * (1 - g);
}

/**
 * softplus(x) = log(1 + e^x) without overflow. With h = g(z): −log h = softplus(−z) and −log(1 − h) = softplus(z),
 * so the course's J is evaluated from z and never takes log(0) when a unit saturates.
 */
export function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

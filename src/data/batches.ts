/**
 * The seeded order in which a run visits its training examples.
 *
 * Each epoch permutes the shards, then shuffles the examples inside consecutive groups of GROUP_SHARDS shards.
 * A contiguous stretch of the order therefore touches only a few shards, so a step reads a few MB from R2 rather
 * than the whole dataset, while every batch still mixes examples from several shards and every example is seen
 * once per epoch. The order is a pure function of (seed, epoch, count, shardSize): a resumed or retried step sees
 * exactly the batches it saw the first time.
 */
import { seedRng, shuffle } from "../nn/random";

/** Shards shuffled together: 4 MNIST shards are 4 000 examples, 3.1 MB. */
export const GROUP_SHARDS = 4;

/** The visiting order of examples 0..count−1 in `epoch` (0-based) of a run with `seed`. */
export function epochOrder(seed: number, epoch: number, count: number, shardSize: number): Uint32Array {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`epochOrder: count must be a positive integer, got ${count}`);
  if (!Number.isInteger(shardSize) || shardSize < 1) throw new RangeError(`epochOrder: shardSize must be a positive integer, got ${shardSize}`);
  // A distinct stream per (seed, epoch): seeds are uint32 and epochs below 2^16, so seed·2^16 + epoch is unique.
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RangeError(`epochOrder: seed must be a uint32, got ${seed}`);
  if (!Number.isInteger(epoch) || epoch < 0 || epoch >= 65536) throw new RangeError(`epochOrder: epoch must be in 0..65535, got ${epoch}`);
  const rng = seedRng(seed * 65536 + epoch);
  const shards = Math.ceil(count / shardSize);
  const shardOrder = Array.from({ length: shards }, (_, s) => s);
  shuffle(rng, shardOrder);
  const order = new Uint32Array(count);
  let at = 0;
  for (let g = 0; g < shards; g += GROUP_SHARDS) {
    const start = at;
    for (const s of shardOrder.slice(g, g + GROUP_SHARDS)) {
      const end = Math.min(count, (s + 1) * shardSize);
      for (let i = s * shardSize; i < end; i++) order[at++] = i;
    }
    shuffle(rng, order.subarray(start, at));
  }
  return order;
}

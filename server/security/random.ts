import { randomBytes, randomInt } from 'node:crypto';

/**
 * Source of cryptographic randomness. Code generators take one so tests can make output
 * predictable; production always uses {@link systemRandom}.
 */
export interface RandomSource {
  /** `n` uniformly random bytes. */
  bytes(n: number): Buffer;
  /** A uniformly random integer in `[0, maxExclusive)`, without modulo bias. */
  int(maxExclusive: number): number;
}

/** Node's CSPRNG (`crypto.randomBytes` / `crypto.randomInt`, which rejects biased draws). */
export const systemRandom: RandomSource = Object.freeze({
  bytes: (n: number): Buffer => randomBytes(n),
  int: (maxExclusive: number): number => randomInt(maxExclusive),
});

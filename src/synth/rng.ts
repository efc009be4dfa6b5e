/**
 * A small seeded PRNG (mulberry32) so synthetic sets are the same on every machine.
 * Not for anything but test data.
 */
export class Rng {
  private state: number;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`Rng: seed must be an integer, got ${seed}`);
    // fold the seed's high bits in so seeds beyond 2^32 still differ
    this.state = (seed ^ Math.floor(seed / 0x100000000)) >>> 0;
  }

  /** Uniform in [0, 1), 32 bits. */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box-Muller; one value per call, the pair's twin is dropped for simplicity). */
  normal(): number {
    const u = 1 - this.next(); // (0, 1]
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}

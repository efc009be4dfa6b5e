import { Rng } from "../../src/synth/rng.ts";

/** A seeded uniform [0, 1) source (the project's mulberry32), so failures reproduce. */
export function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

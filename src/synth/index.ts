export { Rng } from "./rng.ts";
export {
  generateFragmentSet,
  drawCable,
  pointsForCable,
  FAFB_FRAGMENTS,
  type SynthNeuron,
  type FragmentShape,
} from "./fragments.ts";
export { randomWalk, randomWalkSwc, generateSwcSet, type Walk, type WalkOptions, type SwcSetOptions } from "./swc.ts";

/**
 * The shapes every layer shares. Points are stored flat, xyz interleaved:
 * point i is (a[3i], a[3i+1], a[3i+2]). No per-point objects anywhere.
 */

/** Coordinates or vectors, xyz interleaved. Float32 only where a cache chose it. */
export type Vec3Array = Float64Array | Float32Array;

/** NBLAST-ready points of one neuron: positions, unit tangents and alpha. */
export interface Dotprops {
  /** 3n positions, microns. */
  readonly points: Vec3Array;
  /** 3n unit tangent vectors; the sign of each is arbitrary. */
  readonly vect: Vec3Array;
  /** n values in [0, 1]: (l1 - l2) / (l1 + l2 + l3) of the neighbourhood. */
  readonly alpha: Vec3Array;
}

/** A neuron skeleton as a tree (or forest) of nodes. */
export interface Skeleton {
  /** n node ids as given in the source (any integers, not 1..n). */
  readonly ids: Float64Array;
  /** n parent indices into these arrays (not ids); -1 for a root. */
  readonly parent: Int32Array;
  /** 3n positions. */
  readonly xyz: Float64Array;
}

/** How skeletons become dotprops; kept with every cache and run so they cannot mix. */
export interface DotpropsParams {
  /** Multiplies coordinates first (0.001 turns nm into um). */
  readonly scale: number;
  /** Keep only the N largest branch points, as nat::simplify_neuron(n); undefined keeps all. */
  readonly simplify: number | undefined;
  /** Resampling step in microns (R's resample); undefined or 0 keeps the points as they are. */
  readonly resample: number | undefined;
  /** Neighbours for tangents, the point itself counted. */
  readonly k: number;
}

export const DEFAULT_DOTPROPS_PARAMS: DotpropsParams = { scale: 1, simplify: undefined, resample: 1, k: 5 };

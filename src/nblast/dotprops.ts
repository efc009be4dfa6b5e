/**
 * Tangent vectors and alpha from points, as nat's dotprops(): for each point its k
 * nearest neighbours (the point itself counted) as nabor::knn(points, k = k) returns
 * them (NaborTree: the same neighbours where several are equidistant), the scatter
 * matrix of the neighbourhood about its mean, tangent = principal eigenvector as LAPACK's
 * dsyevr gives it (R's eigen), alpha = (l1 - l2) / (l1 + l2 + l3).
 */
import { lapackEigen3 } from "./lapack-eigen.ts";
import { ldAdd, ldDivInt, ldHi, ldLo, ldSum3 } from "./long-double.ts";
import { NaborTree } from "./nabor-tree.ts";
import type { Dotprops, Vec3Array } from "./types.ts";

/**
 * Dotprops of a point cloud (3n xyz). With fewer than k points every point uses
 * all of them (R stops with an error there instead).
 *
 * Degenerate neighbourhoods follow R: collinear points give alpha = 1; a
 * neighbourhood of k coincident points has a zero scatter matrix, for which R's
 * LAPACK call returns the vector (0, 0, 1) and alpha = 0/0 = NaN (scoring with
 * alpha then drops such a point, as R does).
 */
export function computeDotprops(points: Vec3Array, k = 5): Dotprops {
  if (!(Number.isInteger(k) && k >= 1)) throw new RangeError(`computeDotprops: k must be a positive integer, got ${k}`);
  if (points.length % 3 !== 0) throw new RangeError(`computeDotprops: coordinate array length ${points.length} is not a multiple of 3`);
  const n = points.length / 3;
  const kk = Math.min(k, n);
  if (n === 0) return { points: Float64Array.from(points), vect: new Float64Array(0), alpha: new Float64Array(0) };
  const tree = new NaborTree(points);
  const nnIdx = new Int32Array(kk);
  const nnDist2 = new Float64Array(kk);
  const eig = new Float64Array(12);
  const pts = Float64Array.from(points);
  const vect = new Float64Array(3 * n);
  const alpha = new Float64Array(n);

  for (let i = 0; i < n; i++) {
    tree.knn(pts[3 * i], pts[3 * i + 1], pts[3 * i + 2], kk, nnIdx, nnDist2);
    // R: cpt = pt - rowMeans(pt), rowMeans summing in long double. Its mean can differ
    // from a double one by an ulp, which decides whether a symmetric neighbourhood's
    // scatter matrix is exactly diagonal (and so which axis LAPACK makes the tangent).
    const mx = rowMean(pts, nnIdx, kk, 0);
    const my = rowMean(pts, nnIdx, kk, 1);
    const mz = rowMean(pts, nnIdx, kk, 2);
    let cxx = 0, cxy = 0, cxz = 0, cyy = 0, cyz = 0, czz = 0;
    for (let j = 0; j < kk; j++) {
      const p = 3 * nnIdx[j];
      const x = pts[p] - mx, y = pts[p + 1] - my, z = pts[p + 2] - mz;
      cxx += x * x;
      cxy += x * y;
      cxz += x * z;
      cyy += y * y;
      cyz += y * z;
      czz += z * z;
    }
    if (cxy === 0 && cxz === 0 && cyz === 0) {
      diagonalEigen(cxx, cyy, czz, vect, alpha, i);
      continue;
    }
    // LAPACK's dsyevr, as R's eigen(); alpha as nat: (values[1] - values[2]) / sum(values),
    // R's sum() adding in long double.
    lapackEigen3(cxx, cxy, cxz, cyy, cyz, czz, eig);
    alpha[i] = (eig[0] - eig[1]) / ldSum3(eig[0], eig[1], eig[2]);
    vect[3 * i] = eig[3];
    vect[3 * i + 1] = eig[4];
    vect[3 * i + 2] = eig[5];
  }
  return { points: pts, vect, alpha };
}

/**
 * R's eigen(symmetric = TRUE) of a diagonal scatter matrix (common on voxel grids: a
 * point with its neighbours along the axes), where equal eigenvalues leave the principal
 * vector to LAPACK's choice. dsyevr sees a tridiagonal matrix split into three 1 x 1 blocks:
 * eigenvalues d1, d2, d3 with unit vectors e1, e2, e3, then dstemr's selection sort into
 * ascending order (a later entry moves forward only when strictly smaller: the first of the
 * smallest is taken), and R reverses both. The principal vector is the one sorted last.
 * A zero matrix gives (0, 0, 1) and alpha = 0/0 = NaN, as in R.
 */
function diagonalEigen(d1: number, d2: number, d3: number, vect: Float64Array, alpha: Float64Array, i: number): void {
  const w = [d1, d2, d3];
  const axis = [0, 1, 2];
  for (let j = 0; j < 2; j++) {
    let at = -1;
    let min = w[j];
    for (let jj = j + 1; jj < 3; jj++) {
      if (w[jj] < min) {
        at = jj;
        min = w[jj];
      }
    }
    if (at >= 0) {
      w[at] = w[j];
      w[j] = min;
      const t = axis[at];
      axis[at] = axis[j];
      axis[j] = t;
    }
  }
  vect[3 * i] = 0;
  vect[3 * i + 1] = 0;
  vect[3 * i + 2] = 0;
  vect[3 * i + axis[2]] = 1;
  alpha[i] = (w[2] - w[1]) / ldSum3(w[2], w[1], w[0]);
}

/** R's rowMeans of one coordinate of the neighbourhood: a long double sum, divided by k. */
function rowMean(pts: Float64Array, idx: Int32Array, k: number, axis: number): number {
  let hi = 0;
  let lo = 0;
  for (let j = 0; j < k; j++) {
    ldAdd(hi, lo, pts[3 * idx[j] + axis]);
    hi = ldHi();
    lo = ldLo();
  }
  return ldDivInt(hi, lo, k);
}

/**
 * Eigen-decomposition of a symmetric 3x3 matrix by cyclic Jacobi rotations.
 * Jacobi is slower than the closed form but accurate to a few ulps of the
 * matrix norm even for nearly degenerate or rank-deficient matrices, which the
 * closed (trigonometric) form is not; dotprops must match LAPACK to 1e-9.
 */

const MAX_SWEEPS = 50;
const rot = new Float64Array(3);

/**
 * Writes to `out` (length >= 12): out[0..2] the eigenvalues in decreasing order,
 * then the matching unit eigenvectors: out[3..5] for out[0], out[6..8] for out[1],
 * out[9..11] for out[2]. Input is the upper triangle a00 a01 a02 a11 a12 a22.
 */
export function symmetricEigen3(
  a00: number,
  a01: number,
  a02: number,
  a11: number,
  a12: number,
  a22: number,
  out: Float64Array,
): void {
  // Working matrix (symmetric, kept in locals) and accumulated rotations V (columns = eigenvectors).
  let d0 = a00, d1 = a11, d2 = a22;
  let e01 = a01, e02 = a02, e12 = a12;
  let v00 = 1, v01 = 0, v02 = 0;
  let v10 = 0, v11 = 1, v12 = 0;
  let v20 = 0, v21 = 0, v22 = 1;

  for (let sweep = 0; sweep < MAX_SWEEPS; sweep++) {
    if (e01 === 0 && e02 === 0 && e12 === 0) break;
    const late = sweep >= 4;
    // Rotation (0,1)
    if (e01 !== 0) {
      const g = 100 * Math.abs(e01);
      if (late && Math.abs(d0) + g === Math.abs(d0) && Math.abs(d1) + g === Math.abs(d1)) e01 = 0;
      else {
        rotation(d0, d1, e01);
        const c = rot[0], s = rot[1], t = rot[2];
        const tau = s / (1 + c);
        const h = t * e01;
        d0 -= h;
        d1 += h;
        e01 = 0;
        // Off-diagonal entries in row/column 2: (0,2) and (1,2).
        const g2 = e02, h2 = e12;
        e02 = g2 - s * (h2 + g2 * tau);
        e12 = h2 + s * (g2 - h2 * tau);
        let g3 = v00, h3 = v01;
        v00 = g3 - s * (h3 + g3 * tau);
        v01 = h3 + s * (g3 - h3 * tau);
        g3 = v10; h3 = v11;
        v10 = g3 - s * (h3 + g3 * tau);
        v11 = h3 + s * (g3 - h3 * tau);
        g3 = v20; h3 = v21;
        v20 = g3 - s * (h3 + g3 * tau);
        v21 = h3 + s * (g3 - h3 * tau);
      }
    }
    // Rotation (0,2)
    if (e02 !== 0) {
      const g = 100 * Math.abs(e02);
      if (late && Math.abs(d0) + g === Math.abs(d0) && Math.abs(d2) + g === Math.abs(d2)) e02 = 0;
      else {
        rotation(d0, d2, e02);
        const c = rot[0], s = rot[1], t = rot[2];
        const tau = s / (1 + c);
        const h = t * e02;
        d0 -= h;
        d2 += h;
        e02 = 0;
        // Off-diagonal entries in row/column 1: (0,1) and (1,2) = (2,1).
        const g2 = e01, h2 = e12;
        e01 = g2 - s * (h2 + g2 * tau);
        e12 = h2 + s * (g2 - h2 * tau);
        let g3 = v00, h3 = v02;
        v00 = g3 - s * (h3 + g3 * tau);
        v02 = h3 + s * (g3 - h3 * tau);
        g3 = v10; h3 = v12;
        v10 = g3 - s * (h3 + g3 * tau);
        v12 = h3 + s * (g3 - h3 * tau);
        g3 = v20; h3 = v22;
        v20 = g3 - s * (h3 + g3 * tau);
        v22 = h3 + s * (g3 - h3 * tau);
      }
    }
    // Rotation (1,2)
    if (e12 !== 0) {
      const g = 100 * Math.abs(e12);
      if (late && Math.abs(d1) + g === Math.abs(d1) && Math.abs(d2) + g === Math.abs(d2)) e12 = 0;
      else {
        rotation(d1, d2, e12);
        const c = rot[0], s = rot[1], t = rot[2];
        const tau = s / (1 + c);
        const h = t * e12;
        d1 -= h;
        d2 += h;
        e12 = 0;
        // Off-diagonal entries in row/column 0: (1,0) = e01 and (2,0) = e02.
        const g2 = e01, h2 = e02;
        e01 = g2 - s * (h2 + g2 * tau);
        e02 = h2 + s * (g2 - h2 * tau);
        let g3 = v01, h3 = v02;
        v01 = g3 - s * (h3 + g3 * tau);
        v02 = h3 + s * (g3 - h3 * tau);
        g3 = v11; h3 = v12;
        v11 = g3 - s * (h3 + g3 * tau);
        v12 = h3 + s * (g3 - h3 * tau);
        g3 = v21; h3 = v22;
        v21 = g3 - s * (h3 + g3 * tau);
        v22 = h3 + s * (g3 - h3 * tau);
      }
    }
  }

  out[0] = d0;
  out[1] = d1;
  out[2] = d2;
  out[3] = v00; out[4] = v10; out[5] = v20;
  out[6] = v01; out[7] = v11; out[8] = v21;
  out[9] = v02; out[10] = v12; out[11] = v22;
  // Three compare-and-swaps put the largest value first.
  if (out[0] < out[1]) swapPair(out, 0, 1);
  if (out[1] < out[2]) swapPair(out, 1, 2);
  if (out[0] < out[1]) swapPair(out, 0, 1);
}

function swapPair(out: Float64Array, i: number, j: number): void {
  let t = out[i];
  out[i] = out[j];
  out[j] = t;
  for (let r = 0; r < 3; r++) {
    t = out[3 + 3 * i + r];
    out[3 + 3 * i + r] = out[3 + 3 * j + r];
    out[3 + 3 * j + r] = t;
  }
}

/** Jacobi rotation zeroing the (p,q) entry: writes cos, sin, tan to rot[0..2]. */
function rotation(app: number, aqq: number, apq: number): void {
  const theta = (aqq - app) / (2 * apq);
  let t: number;
  // For huge theta, theta^2 would overflow; t ~ 1 / (2 theta) there.
  if (Math.abs(theta) > 1e150) t = 1 / (2 * theta);
  else t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
  const c = 1 / Math.sqrt(t * t + 1);
  rot[0] = c;
  rot[1] = t * c;
  rot[2] = t;
}

/**
 * Neurons in Hilbert-curve order of their box centres: neurons close in the order are
 * close in space, so a run of them makes a compact group (spatial.ts tiles the pairs of
 * such groups). 3-D, 10 bits an axis: J. Skilling's transposed-axes encoding
 * ("Programming the Hilbert curve", AIP Conf. Proc. 707, 2004), integers only.
 */

/** Bits per axis: a 1024^3 grid over the set's extent (a fly brain: cells under 1 um). */
export const HILBERT_BITS = 10;

/** Hilbert index (0 .. 2^(3 bits) - 1) of the grid cell (x, y, z), each in 0 .. 2^bits - 1. */
export function hilbert3(x: number, y: number, z: number, bits = HILBERT_BITS): number {
  let a = x, b = y, c = z;
  const m = 1 << (bits - 1);
  // inverse undo of the excess work
  for (let q = m; q > 1; q >>= 1) {
    const p = q - 1;
    if (a & q) a ^= p;
    if (b & q) a ^= p;
    else {
      const t = (a ^ b) & p;
      a ^= t;
      b ^= t;
    }
    if (c & q) a ^= p;
    else {
      const t = (a ^ c) & p;
      a ^= t;
      c ^= t;
    }
  }
  // Gray encode
  b ^= a;
  c ^= b;
  let t = 0;
  for (let q = m; q > 1; q >>= 1) if (c & q) t ^= q - 1;
  a ^= t;
  b ^= t;
  c ^= t;
  // the transposed bits, most significant first: a, b, c of each level
  let h = 0;
  for (let i = bits - 1; i >= 0; i--) h = h * 8 + ((a >> i) & 1) * 4 + ((b >> i) & 1) * 2 + ((c >> i) & 1);
  return h;
}

/**
 * Positions 0..n-1 of `boxes` (6 per neuron: min x, y, z, max x, y, z) in Hilbert order of
 * their centres on a grid over the centres' extent; ties keep position order (positions are
 * in id order, so the result depends only on the boxes and ids).
 */
export function hilbertOrder(boxes: ArrayLike<number>, n: number): Int32Array {
  const cx = new Float64Array(n), cy = new Float64Array(n), cz = new Float64Array(n);
  let x0 = Infinity, y0 = Infinity, z0 = Infinity, x1 = -Infinity, y1 = -Infinity, z1 = -Infinity;
  for (let i = 0; i < n; i++) {
    const x = (boxes[6 * i] + boxes[6 * i + 3]) / 2;
    const y = (boxes[6 * i + 1] + boxes[6 * i + 4]) / 2;
    const z = (boxes[6 * i + 2] + boxes[6 * i + 5]) / 2;
    cx[i] = x, cy[i] = y, cz[i] = z;
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
    if (z < z0) z0 = z;
    if (z > z1) z1 = z;
  }
  const top = (1 << HILBERT_BITS) - 1;
  const cell = (v: number, lo: number, hi: number): number => (hi > lo ? Math.min(top, Math.floor(((v - lo) / (hi - lo)) * (top + 1))) : 0);
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) keys[i] = hilbert3(cell(cx[i], x0, x1), cell(cy[i], y0, y1), cell(cz[i], z0, z1));
  const order = Int32Array.from({ length: n }, (_, i) => i);
  return order.sort((i, j) => keys[i] - keys[j] || i - j);
}

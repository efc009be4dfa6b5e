/**
 * nat's resample(neuron, stepsize), as dotprops(neuron, resample = s) runs it:
 * each unbranched segment (root, branch point or tip to the next) keeps its two end
 * points and gets new points at arc lengths s, 2s, ... strictly below its length,
 * interpolated linearly along the segment; its original interior points are
 * dropped. A segment no longer than s is kept as it is, interior points included.
 *
 * Reproduced to the last bit of R on x86-64 (nat's resample_segment, R's seq,
 * approx, and rowSums/cumsum/sum in long double), including the point order:
 * trees largest first, then each tree's root, then segment by segment in nat's
 * depth-first order, each segment's new points followed by its distal end.
 */
import { ldAdd, ldHi, ldLo, ldSum3 } from "./long-double.ts";
import { segments, topology } from "./segments.ts";
import type { Skeleton } from "./types.ts";

/** The resampled points, xyz interleaved. */
export function resamplePoints(sk: Skeleton, step: number): Float64Array {
  if (!(Number.isFinite(step) && step > 0)) throw new RangeError(`resample step must be a positive number, got ${step}`);
  const { xyz } = sk;
  const seg = segments(sk, topology(sk));
  const cum = new Float64Array(longestSegment(seg.start) + 1);
  const out = new PointBuffer(sk.parent.length + 16);

  for (let s = 0; s + 1 < seg.start.length; s++) {
    const a = seg.start[s], b = seg.start[s + 1];
    const head = seg.nodes[a];
    if (seg.firstOfTree[s] === 1) out.push(xyz[3 * head], xyz[3 * head + 1], xyz[3 * head + 2]);
    if (b - a < 2) continue;

    // cumlength = c(0, cumsum(sqrt(rowSums(diff(d)^2)))); the segment length is its last value.
    let hi = 0, lo = 0;
    cum[0] = 0;
    for (let k = a + 1; k < b; k++) {
      const p = 3 * seg.nodes[k - 1], q = 3 * seg.nodes[k];
      const dx = xyz[q] - xyz[p], dy = xyz[q + 1] - xyz[p + 1], dz = xyz[q + 2] - xyz[p + 2];
      ldAdd(hi, lo, Math.sqrt(ldSum3(dx * dx, dy * dy, dz * dz)));
      hi = ldHi();
      lo = ldLo();
      cum[k - a] = hi;
    }
    const m = b - a;
    const length = cum[m - 1];

    if (length <= step) {
      for (let k = a + 1; k < b; k++) {
        const v = 3 * seg.nodes[k];
        out.push(xyz[v], xyz[v + 1], xyz[v + 2]);
      }
      continue;
    }

    // seq(step, length, by = step), then drop the last value if it is the length itself.
    const count = Math.trunc((length - step) / step + 1e-10);
    for (let i = 0; i <= count; i++) {
      const t = Math.min(step + i * step, length);
      if (i === count && t === length) break;
      interpolate(t, cum, m, seg.nodes, a, xyz, out);
    }
    const tail = 3 * seg.nodes[b - 1];
    out.push(xyz[tail], xyz[tail + 1], xyz[tail + 2]);
  }
  return out.result();
}

/** R's approx(cumlength, coord, t) for x, y and z: bisection, then linear interpolation. */
function interpolate(t: number, cum: Float64Array, m: number, nodes: Int32Array, a: number, xyz: Float64Array, out: PointBuffer): void {
  let i = 0, j = m - 1;
  while (i < j - 1) {
    const ij = (i + j) >> 1;
    if (t < cum[ij]) j = ij;
    else i = ij;
  }
  const pi = 3 * nodes[a + i], pj = 3 * nodes[a + j];
  if (t === cum[j]) out.push(xyz[pj], xyz[pj + 1], xyz[pj + 2]);
  else if (t === cum[i]) out.push(xyz[pi], xyz[pi + 1], xyz[pi + 2]);
  else {
    const f = (t - cum[i]) / (cum[j] - cum[i]);
    out.push(
      xyz[pi] + (xyz[pj] - xyz[pi]) * f,
      xyz[pi + 1] + (xyz[pj + 1] - xyz[pi + 1]) * f,
      xyz[pi + 2] + (xyz[pj + 2] - xyz[pi + 2]) * f,
    );
  }
}

function longestSegment(start: Int32Array): number {
  let longest = 0;
  for (let s = 0; s + 1 < start.length; s++) longest = Math.max(longest, start[s + 1] - start[s]);
  return longest;
}

/** xyz triples appended to a doubling Float64Array. */
class PointBuffer {
  private buf: Float64Array;
  private len = 0;

  constructor(points: number) {
    this.buf = new Float64Array(3 * Math.max(points, 1));
  }

  push(x: number, y: number, z: number): void {
    if (this.len + 3 > this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.len++] = x;
    this.buf[this.len++] = y;
    this.buf[this.len++] = z;
  }

  result(): Float64Array {
    return this.buf.slice(0, this.len);
  }
}

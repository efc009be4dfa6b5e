/**
 * The k-d tree of R's nabor::knn (libnabo's KDTreeUnbalancedPtInLeavesImplicitBoundsStackOpt,
 * the tree nat uses for dotprops and nat.nblast for scoring), rebuilt operation for operation
 * so that among equidistant points it returns the very ones libnabo returns.
 *
 * Where several points are at exactly the same distance, libnabo keeps the one its
 * depth-first search meets first: a candidate enters the result only when strictly nearer
 * than the current k-th (`dist < heap.headValue()`), and a subtree is entered only when the
 * squared distance to its cell is strictly below that bound. Which point is met first
 * depends on the tree's shape, the order of points inside each bucket, the order children
 * are visited in, and the rounding of the incremental cell distance. All of it is copied:
 *
 * - Build (buildNodes): bucket size 8. The cell of the root is the points' bounding box,
 *   except that its maximum starts from DBL_MIN, not -DBL_MAX (NearestNeighbourSearch's
 *   constructor): an axis whose points are all negative gets a maximum of 2.2e-308. A node
 *   cuts its cell's widest axis (first of equal widths; axis 0 when all are 0) at the
 *   middle of the cell, clamped to its points' range; two Hoare-style passes partition the
 *   index array into < cut, == cut, > cut, and the split index is chosen from those counts.
 *   Children's cells are the parent's cut at the cut value. Points keep, in each bucket,
 *   the order the partitions left them in.
 * - Search (recurseKnn, eps 0, no radius): at a node, the child on the query's side is
 *   searched first (right when query - cut > 0, so a query on the cut goes left first); the
 *   other is searched when rd + (new_off^2 - old_off^2), rounded as C++ evaluates
 *   `rd += - old_off*old_off + new_off*new_off`, is strictly below the k-th distance. A
 *   point's squared distance is ((0 + dx^2) + dy^2) + dz^2.
 * - Result heap: k < 30 (nabor's "auto" search type) is IndexHeapBruteForceVector, a sorted
 *   array where a newcomer goes after entries of equal distance; k >= 30 is IndexHeapSTL,
 *   libstdc++'s push_heap / pop_heap / sort_heap on (distance) with a sentinel at +inf, whose
 *   order among equal distances is reproduced by running the same sift steps.
 *
 * Memory: typed arrays only (node records, cut values, bucket coordinates and indices); the
 * search recurses (depth is O(log n) for real neurons, at most n for adversarial input) and
 * allocates nothing.
 */
import type { Vec3Array } from "./types.ts";

/** libnabo's default bucket size (Parameters "bucketSize", 8). */
const BUCKET_SIZE = 8;
/** nabor's "auto": the linear (sorted vector) heap below this k, the STL binary heap from it. */
const STL_HEAP_FROM_K = 30;
/** numeric_limits<double>::min(), where libnabo's maxBound starts. */
const DBL_MIN = 2.2250738585072014e-308;
/** numeric_limits<double>::max(), where its minBound starts. */
const DBL_MAX = Number.MAX_VALUE;
const LEAF = 3;

export class NaborTree {
  /** Number of points. */
  readonly n: number;
  /** Per node: its cut axis (0, 1, 2), or 3 for a bucket. */
  private readonly dims: Uint8Array;
  /** Per node: for a split, the index of its right child (the left one is the next node); for a bucket, its size. */
  private readonly childOrSize: Int32Array;
  /** Per node: for a split, the cut value; for a bucket, its first entry (an exact small integer). */
  private readonly cutOrStart: Float64Array;
  /** Bucket entries in tree order: coordinates, and the original index of each point. */
  private readonly coords: Float64Array;
  private readonly index: Int32Array;

  // State of the current query, shared by the recursive search.
  private qx = 0;
  private qy = 0;
  private qz = 0;
  private readonly off = new Float64Array(3);
  private heapIdx: Int32Array = new Int32Array(1);
  private heapDist: Float64Array = new Float64Array(1);
  private heapSize = 0;
  private k = 1;
  private stl = false;
  /** The k-th (largest kept) distance: what a candidate must be strictly below. */
  private head = Infinity;

  /** Squared distance of the last `nearest` answer. */
  lastDist2 = Infinity;

  constructor(points: Vec3Array) {
    if (points.length % 3 !== 0) throw new RangeError(`NaborTree: coordinate array length ${points.length} is not a multiple of 3`);
    const n = points.length / 3;
    if (n === 0) throw new RangeError("NaborTree: no points (libnabo refuses an empty cloud)");
    this.n = n;
    for (let i = 0; i < points.length; i++) {
      if (!Number.isFinite(points[i])) throw new RangeError(`NaborTree: point ${Math.floor(i / 3)} has a non-finite coordinate`);
    }
    // A tree of buckets of at most 8 has fewer than n nodes (each split leaves both sides
    // non-empty), plus one for a single bucket.
    const maxNodes = Math.max(1, 2 * n);
    const dims = new Uint8Array(maxNodes);
    const childOrSize = new Int32Array(maxNodes);
    const cutOrStart = new Float64Array(maxNodes);
    const coords = new Float64Array(3 * n);
    const index = new Int32Array(n);
    const build = new Builder(points, dims, childOrSize, cutOrStart, coords, index);
    if (n <= BUCKET_SIZE) build.singleBucket();
    else build.root();
    this.dims = dims.subarray(0, build.nodes);
    this.childOrSize = childOrSize.subarray(0, build.nodes);
    this.cutOrStart = cutOrStart.subarray(0, build.nodes);
    this.coords = coords;
    this.index = index;
  }

  /** Number of nodes (splits and buckets). */
  get nodeCount(): number {
    return this.dims.length;
  }

  /**
   * Original index of the point nabor::knn(data, query, k = 1) returns for (x, y, z); its
   * squared distance is left in `lastDist2`.
   */
  nearest(x: number, y: number, z: number): number {
    this.start(x, y, z, 1);
    this.recurse(0, 0);
    this.lastDist2 = this.heapDist[0];
    return this.heapIdx[0];
  }

  /**
   * The k neighbours nabor::knn returns (in its order: nearest first, equal distances in
   * the order the search met them, as nabor's sorted result), as original indices in
   * outIdx and squared distances in outDist2. k must be at most n, as libnabo requires.
   */
  knn(x: number, y: number, z: number, k: number, outIdx: Int32Array, outDist2: Float64Array): void {
    if (!(Number.isInteger(k) && k >= 1 && k <= this.n)) {
      throw new RangeError(`NaborTree.knn: k = ${k} for ${this.n} points (libnabo needs 1 <= k <= points)`);
    }
    if (outIdx.length < k || outDist2.length < k) throw new RangeError(`NaborTree.knn: output arrays shorter than k = ${k}`);
    this.start(x, y, z, k);
    this.recurse(0, 0);
    if (this.stl) this.stlSortHeap();
    for (let i = 0; i < k; i++) {
      outIdx[i] = this.heapIdx[i];
      outDist2[i] = this.heapDist[i];
    }
  }

  private start(x: number, y: number, z: number, k: number): void {
    this.qx = x;
    this.qy = y;
    this.qz = z;
    this.off[0] = 0;
    this.off[1] = 0;
    this.off[2] = 0;
    this.k = k;
    this.stl = k >= STL_HEAP_FROM_K;
    if (this.heapIdx.length < k) {
      this.heapIdx = new Int32Array(k);
      this.heapDist = new Float64Array(k);
    }
    if (this.stl) {
      // IndexHeapSTL::reset: one sentinel entry (index 0, +inf).
      this.heapIdx[0] = 0;
      this.heapDist[0] = Infinity;
      this.heapSize = 1;
    } else {
      // IndexHeapBruteForceVector::reset: k entries at +inf (indices are not reset: they
      // start at 0 and a query always fills all k, since k <= n and every entry starts at +inf).
      this.heapDist.fill(Infinity, 0, k);
      this.heapIdx.fill(0, 0, k);
      this.heapSize = k;
    }
    this.head = Infinity;
  }

  /** recurseKnn<allowSelfMatch = true> with maxError2 = 1 and maxRadius2 = +inf. */
  private recurse(node: number, rd: number): void {
    const cd = this.dims[node];
    if (cd === LEAF) {
      const size = this.childOrSize[node];
      const first = this.cutOrStart[node];
      const coords = this.coords;
      const qx = this.qx, qy = this.qy, qz = this.qz;
      for (let e = first, end = first + size; e < end; e++) {
        const j = 3 * e;
        const dx = qx - coords[j];
        const dy = qy - coords[j + 1];
        const dz = qz - coords[j + 2];
        const dist = dx * dx + dy * dy + dz * dz;
        // `dist <= maxRadius2` (inf) is false only for NaN, which `<` rejects as well.
        if (dist < this.head) this.replaceHead(this.index[e], dist);
      }
      return;
    }
    const right = this.childOrSize[node];
    const off = this.off;
    const oldOff = off[cd];
    const q = cd === 0 ? this.qx : cd === 1 ? this.qy : this.qz;
    const newOff = q - this.cutOrStart[node];
    const near = newOff > 0 ? right : node + 1;
    const far = newOff > 0 ? node + 1 : right;
    this.recurse(near, rd);
    rd += -(oldOff * oldOff) + newOff * newOff;
    if (rd < this.head) {
      off[cd] = newOff;
      this.recurse(far, rd);
      off[cd] = oldOff;
    }
  }

  private replaceHead(index: number, value: number): void {
    if (this.stl) {
      this.stlReplaceHead(index, value);
      return;
    }
    // IndexHeapBruteForceVector::replaceHead: shift larger entries up from the end, insert.
    const di = this.heapIdx;
    const dv = this.heapDist;
    let i = this.k - 1;
    for (; i > 0; i--) {
      if (dv[i - 1] > value) {
        dv[i] = dv[i - 1];
        di[i] = di[i - 1];
      } else break;
    }
    dv[i] = value;
    di[i] = index;
    this.head = dv[this.k - 1];
  }

  // libstdc++'s heap algorithms on entries ordered by distance (Entry::operator<), so that
  // equal distances end where they end in nabor's IndexHeapSTL.

  private stlReplaceHead(index: number, value: number): void {
    if (this.heapSize === this.k) {
      // pop_heap(begin, end) then data.back() = Entry(index, value).
      this.stlPopHeap(this.heapSize);
      this.heapIdx[this.heapSize - 1] = index;
      this.heapDist[this.heapSize - 1] = value;
    } else {
      this.heapIdx[this.heapSize] = index;
      this.heapDist[this.heapSize] = value;
      this.heapSize++;
    }
    // push_heap(begin, end).
    const last = this.heapSize - 1;
    this.stlPushHeap(last, 0, this.heapIdx[last], this.heapDist[last]);
    this.head = this.heapDist[0];
  }

  /** std::__push_heap(first, holeIndex, topIndex, value). */
  private stlPushHeap(hole: number, top: number, idx: number, val: number): void {
    const di = this.heapIdx;
    const dv = this.heapDist;
    let parent = (hole - 1) >> 1;
    while (hole > top && dv[parent] < val) {
      di[hole] = di[parent];
      dv[hole] = dv[parent];
      hole = parent;
      parent = (hole - 1) >> 1;
    }
    di[hole] = idx;
    dv[hole] = val;
  }

  /** std::pop_heap on the first `len` entries: the largest moves to len - 1. */
  private stlPopHeap(len: number): void {
    if (len <= 1) return;
    const di = this.heapIdx;
    const dv = this.heapDist;
    const last = len - 1;
    // __pop_heap(first, last, result = last): value = *result; *result = *first; __adjust_heap(first, 0, last - first, value).
    const idx = di[last];
    const val = dv[last];
    di[last] = di[0];
    dv[last] = dv[0];
    this.stlAdjustHeap(0, last, idx, val);
  }

  /** std::__adjust_heap(first, holeIndex, len, value). */
  private stlAdjustHeap(hole: number, len: number, idx: number, val: number): void {
    const di = this.heapIdx;
    const dv = this.heapDist;
    const top = hole;
    let second = hole;
    while (second < ((len - 1) >> 1)) {
      second = 2 * (second + 1);
      if (dv[second] < dv[second - 1]) second--;
      di[hole] = di[second];
      dv[hole] = dv[second];
      hole = second;
    }
    if ((len & 1) === 0 && second === (len - 2) >> 1) {
      second = 2 * (second + 1);
      di[hole] = di[second - 1];
      dv[hole] = dv[second - 1];
      hole = second - 1;
    }
    this.stlPushHeap(hole, top, idx, val);
  }

  /** std::sort_heap (nabor's SORT_RESULTS for IndexHeapSTL). */
  private stlSortHeap(): void {
    for (let len = this.heapSize; len > 1; len--) this.stlPopHeap(len);
  }
}

/** buildNodes and the constructor of KDTreeUnbalancedPtInLeavesImplicitBoundsStackOpt. */
class Builder {
  nodes = 0;
  private buckets = 0;
  /** buildPoints: the point indices, permuted in place by the partitions. */
  private readonly order: Int32Array;

  private readonly points: Vec3Array;
  private readonly dims: Uint8Array;
  private readonly childOrSize: Int32Array;
  private readonly cutOrStart: Float64Array;
  private readonly coords: Float64Array;
  private readonly index: Int32Array;

  constructor(points: Vec3Array, dims: Uint8Array, childOrSize: Int32Array, cutOrStart: Float64Array, coords: Float64Array, index: Int32Array) {
    this.points = points;
    this.dims = dims;
    this.childOrSize = childOrSize;
    this.cutOrStart = cutOrStart;
    this.coords = coords;
    this.index = index;
    const n = points.length / 3;
    this.order = new Int32Array(n);
    for (let i = 0; i < n; i++) this.order[i] = i;
  }

  /** cloud.cols() <= bucketSize: one bucket of every point in index order. */
  singleBucket(): void {
    this.bucket(0, this.order.length);
  }

  root(): void {
    const p = this.points;
    const min = [DBL_MAX, DBL_MAX, DBL_MAX];
    const max = [DBL_MIN, DBL_MIN, DBL_MIN];
    for (let i = 0; i < p.length; i += 3) {
      for (let d = 0; d < 3; d++) {
        const v = p[i + d];
        // Eigen's cwise min/max, i.e. std::min(a, b) / std::max(a, b): same values as Math.min/max here.
        if (v < min[d]) min[d] = v;
        if (v > max[d]) max[d] = v;
      }
    }
    this.build(0, this.order.length, min[0], min[1], min[2], max[0], max[1], max[2]);
  }

  private bucket(first: number, last: number): number {
    const pos = this.nodes++;
    const start = this.buckets;
    const p = this.points;
    for (let i = first; i < last; i++) {
      const idx = this.order[i];
      const e = this.buckets++;
      this.index[e] = idx;
      this.coords[3 * e] = p[3 * idx];
      this.coords[3 * e + 1] = p[3 * idx + 1];
      this.coords[3 * e + 2] = p[3 * idx + 2];
    }
    this.dims[pos] = LEAF;
    this.childOrSize[pos] = last - first;
    this.cutOrStart[pos] = start;
    return pos;
  }

  private build(first: number, last: number, min0: number, min1: number, min2: number, max0: number, max1: number, max2: number): number {
    const count = last - first;
    if (count <= BUCKET_SIZE) return this.bucket(first, last);
    const pos = this.nodes++;

    // argMax(maxValues - minValues): strictly larger wins, starting from 0 at axis 0.
    const w0 = max0 - min0, w1 = max1 - min1, w2 = max2 - min2;
    let cd = 0;
    let widest = 0;
    if (w0 > widest) {
      widest = w0;
      cd = 0;
    }
    if (w1 > widest) {
      widest = w1;
      cd = 1;
    }
    if (w2 > widest) cd = 2;
    const cellMin = cd === 0 ? min0 : cd === 1 ? min1 : min2;
    const cellMax = cd === 0 ? max0 : cd === 1 ? max1 : max2;
    const ideal = (cellMax + cellMin) / 2;

    const p = this.points;
    const order = this.order;
    let lo = DBL_MAX;
    let hi = -DBL_MAX;
    for (let i = first; i < last; i++) {
      const v = p[3 * order[i] + cd];
      // getBounds: min(val, minVal) and max(val, maxVal) as std::min / std::max pick them.
      lo = lo < v ? lo : v;
      hi = v < hi ? hi : v;
    }
    const cut = ideal < lo ? lo : ideal > hi ? hi : ideal;

    const at = (i: number): number => p[3 * order[first + i] + cd];
    const swap = (a: number, b: number): void => {
      const t = order[first + a];
      order[first + a] = order[first + b];
      order[first + b] = t;
    };
    // points[0..br1-1] < cut <= points[br1..count-1]
    let l = 0;
    let r = count - 1;
    for (;;) {
      while (l < count && at(l) < cut) ++l;
      while (r >= 0 && at(r) >= cut) --r;
      if (l > r) break;
      swap(l, r);
      ++l;
      --r;
    }
    const br1 = l;
    // points[br1..br2-1] == cut < points[br2..count-1]
    r = count - 1;
    for (;;) {
      while (l < count && at(l) <= cut) ++l;
      while (r >= br1 && at(r) > cut) --r;
      if (l > r) break;
      swap(l, r);
      ++l;
      --r;
    }
    const br2 = l;
    const half = Math.trunc(count / 2);
    let leftCount: number;
    if (ideal < lo) leftCount = 1;
    else if (ideal > hi) leftCount = count - 1;
    else if (br1 > half) leftCount = br1;
    else if (br2 < half) leftCount = br2;
    else leftCount = half;

    this.dims[pos] = cd;
    this.cutOrStart[pos] = cut;
    const mid = first + leftCount;
    this.build(first, mid, min0, min1, min2, cd === 0 ? cut : max0, cd === 1 ? cut : max1, cd === 2 ? cut : max2);
    this.childOrSize[pos] = this.build(mid, last, cd === 0 ? cut : min0, cd === 1 ? cut : min1, cd === 2 ? cut : min2, max0, max1, max2);
    return pos;
  }
}

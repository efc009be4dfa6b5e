/**
 * A static 3-D k-d tree for exact nearest-neighbour queries, in the style of
 * mourner's kdbush: built once over flat xyz, stored as typed arrays in tree
 * order (no node objects), queries allocate nothing.
 *
 * Layout: each node owns a contiguous range of slots (points reordered), split
 * at the median of the widest axis down to leaves of at most `leafSize` points,
 * and keeps the tight bounding box of its points. Neurons are thin filaments:
 * tight boxes prune far better than the half-spaces of a classic k-d tree.
 *
 * Ties: `nearestSlot` returns a nearest point and says, in `lastTie`, whether
 * another point lies within a relative 2^-36 of the best squared distance (an exact
 * tie, or one so near that rounding in R's own search could decide it). Callers that
 * must match R resolve those few queries with NaborTree, which repeats libnabo's
 * search; everything else is answered here, faster. `knn` breaks ties by lowest index.
 *
 * Memory: like kdbush, the whole tree is one block of bytes (a 16-byte header, then
 * coords and boxes as Float64, then ids, starts, ends and children as Int32;
 * KdTree.byteLength(n) bytes). It can be built into a caller's buffer, e.g. a
 * slice of a SharedArrayBuffer, and opened elsewhere with KdTree.from without a copy:
 * the arrays are read-only once built, and each KdTree object keeps its own query state.
 */
import type { Vec3Array } from "./types.ts";

/**
 * Two squared distances within this factor count as a tie. libnabo's pruning sums the
 * squared offsets to a cell with at most a few dozen roundings (far below 2^-36 relative),
 * so outside this window its search provably finds the same unique nearest point.
 */
export const TIE_WINDOW = 1 + 2 ** -36;

// Deep enough for any tree that fits in memory: one pending far child per level.
const MAX_DEPTH = 64;
// Stacks of pending far children (node, squared box distance), for knn and nearestSlot:
// queries never nest, so one pair per thread (module) is enough.
const stackNode = new Int32Array(MAX_DEPTH);
const stackRd = new Float64Array(MAX_DEPTH);
const searchNode = new Int32Array(MAX_DEPTH);
const searchDist = new Float64Array(MAX_DEPTH);

/** "KDT2": marks a tree written into a buffer (and the layout's version). */
const MAGIC = 0x3254444b;
/** Header: magic, n, leafSize, nodeCount (Int32 each); 16 bytes keep what follows 8-aligned. */
const HEADER_BYTES = 16;
/** Stands for "adopt the tree already in `into`" in the constructor; no caller can pass this very array. */
const ADOPT: Float64Array = new Float64Array(0);

export class KdTree {
  /** Number of points. */
  readonly n: number;
  /** Most points in a leaf. */
  readonly leafSize: number;
  /** The buffer holding the tree (its own ArrayBuffer, or the one it was built into or adopted from). */
  readonly buffer: ArrayBufferLike;
  /** Where the tree starts in `buffer`; it takes KdTree.byteLength(n, leafSize) bytes. */
  readonly byteOffset: number;
  /** 3n coordinates in tree (slot) order. */
  readonly coords: Float64Array;
  /** Slot -> original point index. */
  readonly ids: Int32Array;
  /** Number of nodes; node 0 is the root. */
  readonly nodeCount: number;
  /** Per node: the tight bounding box of its points, minX minY minZ maxX maxY maxZ. */
  readonly boxes: Float64Array;
  /** Per node: its first slot. */
  readonly starts: Int32Array;
  /** Per node: one past its last slot. */
  readonly ends: Int32Array;
  /** Per node: index of its first child (the second is the next one), 0 for a leaf. */
  readonly children: Int32Array;
  /** Squared distance of the last `nearest`/`nearestSlot` answer (Infinity for an empty tree). */
  lastDist2 = Infinity;
  /**
   * Whether the last `nearest`/`nearestSlot` query found another point within a factor
   * TIE_WINDOW of the best squared distance: then which point R takes is libnabo's choice.
   */
  lastTie = false;
  /** Slot of the last answer: its distance to the next query bounds that query's search. */
  private lastSlot = 0;

  /**
   * Builds the tree over `points` (xyz, any length multiple of 3), in its own ArrayBuffer,
   * or, given `into`, written into `into` at `byteOffset` (a multiple of 8), which must
   * hold KdTree.byteLength(n, leafSize) bytes there: for instance a slice of a
   * SharedArrayBuffer that other threads then open with KdTree.from.
   */
  constructor(points: Vec3Array, leafSize = 8, into?: ArrayBufferLike, byteOffset = 0) {
    const adopt = points === ADOPT;
    let n: number;
    if (adopt) {
      if (into === undefined) throw new RangeError("KdTree.from: no buffer");
      checkOffset(into, byteOffset, HEADER_BYTES);
      const h = new Int32Array(into, byteOffset, 4);
      if (h[0] !== MAGIC) throw new RangeError(`KdTree.from: no k-d tree at byte offset ${byteOffset}`);
      n = h[1];
      leafSize = h[2];
      if (!(n >= 0 && leafSize >= 1 && h[3] === KdTree.nodeCount(n, leafSize))) {
        throw new RangeError(`KdTree.from: corrupt k-d tree header at byte offset ${byteOffset}`);
      }
    } else {
      if (points.length % 3 !== 0) throw new RangeError(`KdTree: coordinate array length ${points.length} is not a multiple of 3`);
      if (!(leafSize >= 1 && Number.isInteger(leafSize))) throw new RangeError(`KdTree: leafSize must be a positive integer, got ${leafSize}`);
      n = points.length / 3;
    }
    const nodes = KdTree.nodeCount(n, leafSize);
    const bytes = KdTree.byteLength(n, leafSize);
    const buffer = into ?? new ArrayBuffer(bytes);
    checkOffset(buffer, byteOffset, bytes);
    this.n = n;
    this.leafSize = leafSize;
    this.buffer = buffer;
    this.byteOffset = byteOffset;
    this.nodeCount = nodes;
    // Layout after the header: the Float64 arrays, then the Int32 ones.
    let at = byteOffset + HEADER_BYTES;
    this.coords = new Float64Array(buffer, at, 3 * n);
    at += 24 * n;
    this.boxes = new Float64Array(buffer, at, 6 * nodes);
    at += 48 * nodes;
    this.ids = new Int32Array(buffer, at, n);
    at += 4 * n;
    this.starts = new Int32Array(buffer, at, nodes);
    at += 4 * nodes;
    this.ends = new Int32Array(buffer, at, nodes);
    at += 4 * nodes;
    this.children = new Int32Array(buffer, at, nodes);
    if (!adopt) this.build(points);
  }

  /**
   * A tree built earlier into `buffer` at `byteOffset` (by `new KdTree(points, leafSize,
   * buffer, byteOffset)`, maybe on another thread), opened without copying or rebuilding.
   * Each call makes a new object with its own query state over the same arrays, so threads
   * can share one tree in a SharedArrayBuffer, each querying through its own KdTree.
   */
  static from(buffer: ArrayBufferLike, byteOffset = 0): KdTree {
    return new KdTree(ADOPT, 8, buffer, byteOffset);
  }

  /** Nodes of a tree of n points: median splits make it depend on n and leafSize only. */
  static nodeCount(n: number, leafSize = 8): number {
    // Each depth holds nodes of two sizes only, s and s + 1 (a range of m splits into
    // floor(m / 2) and ceil(m / 2)): count them level by level.
    let s = n;
    let small = 1;
    let large = 0;
    let total = 0;
    while (small + large > 0) {
      total += small + large;
      const h = s >> 1;
      let nextSmall = 0;
      let nextLarge = 0;
      if (s > leafSize) {
        if (s % 2 === 0) nextSmall += 2 * small;
        else {
          nextSmall += small;
          nextLarge += small;
        }
      }
      if (s + 1 > leafSize) {
        if (s % 2 === 1) nextLarge += 2 * large;
        else {
          nextSmall += large;
          nextLarge += large;
        }
      }
      s = h;
      small = nextSmall;
      large = nextLarge;
    }
    return total;
  }

  /** Bytes a tree of n points takes in a buffer (a multiple of 8, so trees can follow one another). */
  static byteLength(n: number, leafSize = 8): number {
    const nodes = KdTree.nodeCount(n, leafSize);
    const bytes = HEADER_BYTES + 8 * (3 * n + 6 * nodes) + 4 * (n + 3 * nodes);
    return bytes + (-bytes & 7);
  }

  /** Fills the (possibly reused, not zeroed) arrays from `points`, header last. */
  private build(points: Vec3Array): void {
    const n = this.n;
    const coords = this.coords;
    coords.set(points);
    for (let i = 0; i < coords.length; i++) {
      if (!Number.isFinite(coords[i])) throw new RangeError(`KdTree: point ${Math.floor(i / 3)} has a non-finite coordinate`);
    }
    const ids = this.ids;
    for (let i = 0; i < n; i++) ids[i] = i;
    const b = new Builder(this);
    if (n > 0) b.build(0, 0, n);
    else {
      this.boxes.fill(0, 0, 6);
      this.starts[0] = 0;
      this.ends[0] = 0;
      this.children[0] = 0;
    }
    if (b.count !== this.nodeCount) throw new Error(`KdTree: built ${b.count} nodes, expected ${this.nodeCount}`);
    const h = new Int32Array(this.buffer, this.byteOffset, 4);
    h[1] = n;
    h[2] = this.leafSize;
    h[3] = this.nodeCount;
    h[0] = MAGIC;
  }

  /**
   * Original index of a point nearest to (x, y, z); its squared distance is left in
   * `lastDist2`, and `lastTie` says whether another point is (nearly) as near. -1 if empty.
   */
  nearest(x: number, y: number, z: number): number {
    const slot = this.nearestSlot(x, y, z);
    return slot < 0 ? -1 : this.ids[slot];
  }

  /**
   * As `nearest` but returns the slot (index into tree-ordered arrays such as `coords`).
   *
   * The search is a depth-first descent from the root, nearer child first, with an
   * explicit stack (no recursion), pruning every box beyond the reach. The reach starts
   * at the exact squared distance to the previous answer's point (times TIE_WINDOW):
   * consecutive query points along a neurite are close, so that point is usually near
   * and most boxes are pruned at once. It is an upper bound of the best distance, so
   * every point that could tie is still met: where the search starts never changes the
   * distance found, nor `lastTie`; among tied points the one returned is whichever was
   * met first. The reach then shrinks to best * TIE_WINDOW as nearer points are found.
   */
  nearestSlot(qx: number, qy: number, qz: number): number {
    const n = this.n;
    if (n === 0) {
      this.lastDist2 = Infinity;
      this.lastTie = false;
      return -1;
    }
    const coords = this.coords;
    const boxes = this.boxes;
    const children = this.children;
    const starts = this.starts;
    const ends = this.ends;
    const stackN = searchNode;
    const stackD = searchDist;
    const j0 = 3 * this.lastSlot;
    const ex = qx - coords[j0], ey = qy - coords[j0 + 1], ez = qz - coords[j0 + 2];
    // Every point within best * TIE_WINDOW of the query is within this reach: best <= this distance.
    let reach = (ex * ex + ey * ey + ez * ez) * TIE_WINDOW;
    let best = Infinity;
    let bestSlot = -1;
    let tie = false;
    let sp = 0;
    let node = 0;
    for (;;) {
      const child = children[node];
      if (child === 0) {
        // A point within the reach is either a new best (a tie then remains only if the old
        // best is within the new reach: every other point met so far was at least as far as
        // the old best) or a tie with the current one.
        const end = ends[node];
        for (let i = starts[node]; i < end; i++) {
          const j = 3 * i;
          const dx = qx - coords[j];
          const dy = qy - coords[j + 1];
          const dz = qz - coords[j + 2];
          const d2 = dx * dx + dy * dy + dz * dz;
          if (d2 <= reach) {
            if (d2 < best) {
              const r = d2 * TIE_WINDOW;
              tie = best <= r;
              best = d2;
              reach = r;
              bestSlot = i;
            } else tie = true;
          }
        }
      } else {
        const ra = boxDist2(boxes, 6 * child, qx, qy, qz);
        const rb = boxDist2(boxes, 6 * child + 6, qx, qy, qz);
        // <= rather than <: a box at exactly the reach may hold a tie.
        if (ra <= rb) {
          if (ra <= reach) {
            if (rb <= reach) {
              stackN[sp] = child + 1;
              stackD[sp++] = rb;
            }
            node = child;
            continue;
          }
        } else if (rb <= reach) {
          if (ra <= reach) {
            stackN[sp] = child;
            stackD[sp++] = ra;
          }
          node = child + 1;
          continue;
        }
      }
      node = -1;
      while (sp > 0) {
        sp--;
        if (stackD[sp] <= reach) {
          node = stackN[sp];
          break;
        }
      }
      if (node < 0) break;
    }
    this.lastSlot = bestSlot;
    this.lastDist2 = best;
    this.lastTie = tie;
    return bestSlot;
  }

  /**
   * The k nearest points to (x, y, z), nearest first (ties: lowest original index
   * first), written as original indices to outIdx and squared distances to outDist2.
   * Returns how many were written: min(k, n).
   */
  knn(qx: number, qy: number, qz: number, k: number, outIdx: Int32Array, outDist2: Float64Array): number {
    if (k > this.n) k = this.n;
    if (k <= 0) return 0;
    if (outIdx.length < k || outDist2.length < k) throw new RangeError(`KdTree.knn: output arrays shorter than k = ${k}`);
    const coords = this.coords;
    const ids = this.ids;
    const boxes = this.boxes;
    const starts = this.starts;
    const ends = this.ends;
    const children = this.children;
    const last = k - 1;

    let count = 0;
    let bound = Infinity;
    let node = 0;
    let sp = 0;
    for (;;) {
      const child = children[node];
      if (child === 0) {
        const end = ends[node];
        for (let i = starts[node]; i < end; i++) {
          const j = 3 * i;
          const dx = qx - coords[j];
          const dy = qy - coords[j + 1];
          const dz = qz - coords[j + 2];
          const d2 = dx * dx + dy * dy + dz * dz;
          if (d2 > bound) continue;
          const id = ids[i];
          if (count === k && d2 === bound && id > outIdx[last]) continue;
          // Insertion sort by (d2, id); k is small.
          let p = count < k ? count++ : last;
          while (p > 0 && (outDist2[p - 1] > d2 || (outDist2[p - 1] === d2 && outIdx[p - 1] > id))) {
            outDist2[p] = outDist2[p - 1];
            outIdx[p] = outIdx[p - 1];
            p--;
          }
          outDist2[p] = d2;
          outIdx[p] = id;
          if (count === k) bound = outDist2[last];
        }
      } else {
        const ra = boxDist2(boxes, 6 * child, qx, qy, qz);
        const rb = boxDist2(boxes, 6 * child + 6, qx, qy, qz);
        const near = ra <= rb ? child : child + 1;
        const far = ra <= rb ? child + 1 : child;
        const rNear = ra <= rb ? ra : rb;
        const rFar = ra <= rb ? rb : ra;
        if (rFar <= bound) {
          stackNode[sp] = far;
          stackRd[sp++] = rFar;
        }
        if (rNear <= bound) {
          node = near;
          continue;
        }
      }
      node = -1;
      while (sp > 0) {
        sp--;
        if (stackRd[sp] <= bound) {
          node = stackNode[sp];
          break;
        }
      }
      if (node < 0) break;
    }
    return k;
  }
}

/**
 * Squared distance from (qx, qy, qz) to the box at boxes[o..o+5]. Each axis term
 * is q - (box face), the same subtraction a point's distance makes with q first,
 * summed in the same x, y, z order: rounding is monotone, so the bound can never
 * exceed the computed distance of a point inside the box.
 */
function boxDist2(boxes: Float64Array, o: number, qx: number, qy: number, qz: number): number {
  // Branch-free: (a + |a|) is 2 max(a, 0) exactly, and at most one side of an axis is positive;
  // the factors of 2 and 1/4 are exact, so this equals the plain formula bit for bit.
  const ax = boxes[o] - qx, bx = qx - boxes[o + 3];
  const ay = boxes[o + 1] - qy, by = qy - boxes[o + 4];
  const az = boxes[o + 2] - qz, bz = qz - boxes[o + 5];
  const dx = ax + Math.abs(ax) + (bx + Math.abs(bx));
  const dy = ay + Math.abs(ay) + (by + Math.abs(by));
  const dz = az + Math.abs(az) + (bz + Math.abs(bz));
  return (dx * dx + dy * dy + dz * dz) * 0.25;
}

/** Builds the nodes depth first: median split of each range on the widest axis of its box. */
class Builder {
  readonly coords: Float64Array;
  readonly ids: Int32Array;
  readonly leafSize: number;
  readonly boxes: Float64Array;
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  readonly children: Int32Array;
  count = 1;

  constructor(t: KdTree) {
    this.coords = t.coords;
    this.ids = t.ids;
    this.leafSize = t.leafSize;
    this.boxes = t.boxes;
    this.starts = t.starts;
    this.ends = t.ends;
    this.children = t.children;
  }

  build(node: number, start: number, end: number): void {
    const coords = this.coords;
    let min0 = Infinity, min1 = Infinity, min2 = Infinity;
    let max0 = -Infinity, max1 = -Infinity, max2 = -Infinity;
    for (let i = start; i < end; i++) {
      const x = coords[3 * i], y = coords[3 * i + 1], z = coords[3 * i + 2];
      if (x < min0) min0 = x;
      if (x > max0) max0 = x;
      if (y < min1) min1 = y;
      if (y > max1) max1 = y;
      if (z < min2) min2 = z;
      if (z > max2) max2 = z;
    }
    const o = 6 * node;
    this.boxes[o] = min0;
    this.boxes[o + 1] = min1;
    this.boxes[o + 2] = min2;
    this.boxes[o + 3] = max0;
    this.boxes[o + 4] = max1;
    this.boxes[o + 5] = max2;
    this.starts[node] = start;
    this.ends[node] = end;
    if (end - start <= this.leafSize) {
      this.children[node] = 0;
      return;
    }
    const s0 = max0 - min0, s1 = max1 - min1, s2 = max2 - min2;
    const axis = s0 >= s1 && s0 >= s2 ? 0 : s1 >= s2 ? 1 : 2;
    const mid = (start + end) >> 1;
    select(coords, this.ids, mid, start, end - 1, axis);
    const child = this.count;
    this.count += 2;
    this.children[node] = child;
    this.build(child, start, mid);
    this.build(child + 1, mid, end);
  }
}

/**
 * Floyd-Rivest selection: afterwards slot k holds the value that belongs there in
 * sorted order on `axis`, with everything left of it <= and right of it >=.
 */
function select(coords: Float64Array, ids: Int32Array, k: number, left: number, right: number, axis: number): void {
  while (right > left) {
    if (right - left > 600) {
      const n = right - left + 1;
      const m = k - left + 1;
      const z = Math.log(n);
      const s = 0.5 * Math.exp((2 * z) / 3);
      const sd = 0.5 * Math.sqrt((z * s * (n - s)) / n) * (m - n / 2 < 0 ? -1 : 1);
      const newLeft = Math.max(left, Math.floor(k - (m * s) / n + sd));
      const newRight = Math.min(right, Math.floor(k + ((n - m) * s) / n + sd));
      select(coords, ids, k, newLeft, newRight, axis);
    }
    const t = coords[3 * k + axis];
    let i = left;
    let j = right;
    swap(coords, ids, left, k);
    if (coords[3 * right + axis] > t) swap(coords, ids, left, right);
    while (i < j) {
      swap(coords, ids, i, j);
      i++;
      j--;
      while (coords[3 * i + axis] < t) i++;
      while (coords[3 * j + axis] > t) j--;
    }
    if (coords[3 * left + axis] === t) swap(coords, ids, left, j);
    else {
      j++;
      swap(coords, ids, j, right);
    }
    if (j <= k) left = j + 1;
    if (k <= j) right = j - 1;
  }
}

function swap(coords: Float64Array, ids: Int32Array, i: number, j: number): void {
  const id = ids[i];
  ids[i] = ids[j];
  ids[j] = id;
  const a = 3 * i;
  const b = 3 * j;
  let t = coords[a];
  coords[a] = coords[b];
  coords[b] = t;
  t = coords[a + 1];
  coords[a + 1] = coords[b + 1];
  coords[b + 1] = t;
  t = coords[a + 2];
  coords[a + 2] = coords[b + 2];
  coords[b + 2] = t;
}

/** Float64 views need 8-aligned offsets; a tree must fit its buffer. */
function checkOffset(buffer: ArrayBufferLike, byteOffset: number, bytes: number): void {
  if (!(Number.isSafeInteger(byteOffset) && byteOffset >= 0 && byteOffset % 8 === 0)) {
    throw new RangeError(`KdTree: byte offset ${byteOffset} is not a non-negative multiple of 8`);
  }
  if (byteOffset + bytes > buffer.byteLength) {
    throw new RangeError(`KdTree: ${bytes} bytes at byte offset ${byteOffset} overrun a buffer of ${buffer.byteLength} bytes`);
  }
}

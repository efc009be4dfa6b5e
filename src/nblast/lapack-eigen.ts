/**
 * R's eigen(m, symmetric = TRUE) of a 3 x 3 scatter matrix, bit for bit: R calls LAPACK's
 * dsyevr (jobz "V", range "A", uplo "L", abstol 0; R's La_rs) and reverses the order of
 * values and vectors. A hand-written solver agrees only to about 1e-15, and on tie-rich
 * grid skeletons that last bit decides which score-matrix column a |dot| falls in (|dot|
 * lands exactly on breaks such as 0.5), so the tangents must be LAPACK's own.
 *
 * The LAPACK here is `emlapack` (npm): netlib's CLAPACK compiled to asm.js, so plain IEEE
 * double arithmetic in Fortran's order of operations. Against R 4.2.2 on Debian 12
 * (reference LAPACK 3.11) it gives identical tangent bits at all 72,855 points of the R
 * fixtures (test/nblast/r-reference.test.ts, docs/fidelity.md).
 *
 * The module is loaded on first use (about half a second of parsing), and every call
 * reuses the same few bytes of its heap: nothing is allocated per call.
 */
import { createRequire } from "node:module";

interface EmscriptenModule {
  HEAPF64: Float64Array;
  HEAP32: Int32Array;
  HEAPU8: Uint8Array;
  _malloc(bytes: number): number;
  _dsyevr_(...args: number[]): void;
}

// dsyevr's arguments, each at its own address on the module's heap (Fortran passes by reference).
interface Call {
  readonly m: EmscriptenModule;
  readonly args: number[];
  /** Byte addresses of the matrix A (column major, 9 doubles), W (3) and Z (9). */
  readonly a: number;
  readonly w: number;
  readonly z: number;
  readonly info: number;
}

const LWORK = 26 * 3; // dsyevr's optimal workspace for n = 3 (26 n doubles, 10 n ints)
const LIWORK = 10 * 3;
let call: Call | undefined;

function load(): Call {
  const before = new Set(process.listeners("uncaughtException"));
  const m = createRequire(import.meta.url)("emlapack/asmjs.js") as EmscriptenModule;
  // Emscripten's Node glue adds an uncaughtException listener that only rethrows; the
  // process's own error handling stays as it was.
  for (const l of process.listeners("uncaughtException")) if (!before.has(l)) process.removeListener("uncaughtException", l);
  const int = (v: number): number => {
    const p = m._malloc(4);
    m.HEAP32[p >> 2] = v;
    return p;
  };
  const chr = (c: string): number => {
    const p = m._malloc(1);
    m.HEAPU8[p] = c.charCodeAt(0);
    return p;
  };
  const dbl = (n: number): number => {
    const p = m._malloc(8 * n);
    m.HEAPF64.fill(0, p >> 3, (p >> 3) + n);
    return p;
  };
  const a = dbl(9), w = dbl(3), z = dbl(9), info = int(0);
  // dsyevr(JOBZ, RANGE, UPLO, N, A, LDA, VL, VU, IL, IU, ABSTOL, M, W, Z, LDZ, ISUPPZ, WORK, LWORK, IWORK, LIWORK, INFO)
  const args = [chr("V"), chr("A"), chr("L"), int(3), a, int(3), dbl(1), dbl(1), int(0), int(0), dbl(1), int(0), w, z, int(3), m._malloc(4 * 6), dbl(LWORK), int(LWORK), m._malloc(4 * LIWORK), int(LIWORK), info];
  return { m, args, a, w, z, info };
}

/**
 * Eigen decomposition of the symmetric matrix [[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]]
 * as R returns it: out[0..2] the values in decreasing order, out[3..5] the vector of the
 * largest (R's vectors[, 1]).
 */
export function lapackEigen3(xx: number, xy: number, xz: number, yy: number, yz: number, zz: number, out: Float64Array): void {
  const c = (call ??= load());
  const h = c.m.HEAPF64;
  const a = c.a >> 3;
  // Column major; dsyevr reads the lower triangle only (uplo "L") and overwrites A.
  h[a] = xx;
  h[a + 1] = xy;
  h[a + 2] = xz;
  h[a + 3] = xy;
  h[a + 4] = yy;
  h[a + 5] = yz;
  h[a + 6] = xz;
  h[a + 7] = yz;
  h[a + 8] = zz;
  c.m._dsyevr_(...c.args);
  const info = c.m.HEAP32[c.info >> 2];
  if (info !== 0) throw new Error(`LAPACK dsyevr failed (info ${info}) on a scatter matrix`);
  const w = c.w >> 3;
  const z = c.z >> 3;
  // Ascending from LAPACK; R reverses: values[1] is the largest, vectors[, 1] its column.
  out[0] = h[w + 2];
  out[1] = h[w + 1];
  out[2] = h[w];
  out[3] = h[z + 6];
  out[4] = h[z + 7];
  out[5] = h[z + 8];
}

/** The binary COPY encoder, the id adapter and bin regions, without a database. */
import { describe, expect, it } from "vitest";
import { CATMAID_RULE, COPY_HEADER, CopyEncoder, KEEP_EVERY_ROW, ROW_BYTES } from "../../src/db/copy-binary.ts";
import { shardIdsAsInt64 } from "../../src/db/ids.ts";
import { binRegion, firstRowOutside, regionSql } from "../../src/db/region.ts";
import { binWork, forEachPair } from "../../src/plan/work.ts";
import { rng } from "../helpers/rng.ts";
import { syntheticManifest } from "./fixtures.ts";

/** What one row must be, written the slow obvious way. */
function referenceRow(q: bigint, t: bigint, score: number, sim: number): Uint8Array {
  const b = new Uint8Array(ROW_BYTES);
  const dv = new DataView(b.buffer);
  dv.setInt16(0, 4);
  dv.setInt32(2, 8);
  dv.setBigInt64(6, q);
  dv.setInt32(14, 8);
  dv.setBigInt64(18, t);
  dv.setInt32(26, 4);
  dv.setFloat32(30, score);
  dv.setInt32(34, 4);
  dv.setInt32(38, sim);
  return b;
}

describe("binary COPY encoder", () => {
  it("writes each row as the COPY binary format defines it, ids beyond 2^53 and negative ids exact", () => {
    const ids = [1n, 2n ** 53n + 1n, 2n ** 63n - 1n, -(2n ** 63n), -5n, 4294967296n, 4294967295n];
    const q = BigInt64Array.from(ids);
    const t = BigInt64Array.from([...ids].reverse());
    const s = Float32Array.from([0.5, -0, 1e-30, 3.4e38, -1.25, 0.1, 2 ** -149]);
    const enc = new CopyEncoder(2147483647);
    const out = enc.encode({ queryId: q, targetId: t, score: s, length: q.length }, 0, q.length);
    expect(out.length).toBe(ids.length * ROW_BYTES);
    for (let i = 0; i < ids.length; i++) {
      expect(Array.from(out.subarray(i * ROW_BYTES, (i + 1) * ROW_BYTES))).toEqual(Array.from(referenceRow(q[i], t[i], s[i], 2147483647)));
    }
    expect(enc.counts).toEqual({ rows: ids.length, droppedSelf: 0, droppedLow: 0 });
    expect(new TextDecoder("latin1").decode(COPY_HEADER.subarray(0, 6))).toBe("PGCOPY");
  });

  it("applies CATMAID's rule while encoding: only scores above 0.01, no self pairs, and counts what it dropped", () => {
    const q = BigInt64Array.from([1n, 1n, 1n, 2n, 2n, 3n]);
    const t = BigInt64Array.from([1n, 2n, 3n, 1n, 3n, 1n]);
    const s = Float32Array.from([0.9, 0.01, 0.0100001, -0.3, 0.5, 0.010000001]);
    const enc = new CopyEncoder(7, CATMAID_RULE);
    const out = enc.encode({ queryId: q, targetId: t, score: s, length: 6 }, 0, 6);
    // kept: (1,3) 0.0100001, (2,3) 0.5, and (3,1): Math.fround(0.010000001) is above the double 0.01
    expect(Math.fround(0.010000001) > 0.01).toBe(true);
    // the float32 nearest 0.01 lies below it, so a stored "0.01" is dropped: the rule compares the stored float32
    expect(Math.fround(0.01) > 0.01).toBe(false);
    expect(enc.counts.droppedSelf).toBe(1);
    expect(enc.counts.droppedLow).toBe(2);
    expect(out.length).toBe(3 * ROW_BYTES);
    const kept = [0, 1, 2].map((i) => new DataView(out.buffer, out.byteOffset + i * ROW_BYTES).getBigInt64(6) * 10n + new DataView(out.buffer, out.byteOffset + i * ROW_BYTES).getBigInt64(18));
    expect(kept).toEqual([13n, 23n, 31n]);
  });

  it("splits into chunks of at most chunkRows rows and keeps counting across calls", () => {
    const n = 1000;
    const r = rng(3);
    const q = BigInt64Array.from({ length: n }, (_, i) => BigInt(i));
    const t = BigInt64Array.from({ length: n }, () => BigInt(Math.floor(r() * 50)));
    const s = Float32Array.from({ length: n }, () => r());
    const whole = new CopyEncoder(1, KEEP_EVERY_ROW).encode({ queryId: q, targetId: t, score: s, length: n }, 0, n);
    const enc = new CopyEncoder(1, KEEP_EVERY_ROW, 64);
    const chunks = [...enc.chunks({ queryId: q, targetId: t, score: s, length: n })];
    expect(chunks.length).toBe(Math.ceil(n / 64));
    expect(Math.max(...chunks.map((c) => c.length))).toBe(64 * ROW_BYTES);
    expect(Buffer.concat(chunks).equals(Buffer.from(whole))).toBe(true);
    expect(enc.counts.rows).toBe(n);
  });
});

describe("the id adapter", () => {
  it("turns today's Float64Array ids into the same int64 values, negatives and 2^53 - 1 included", () => {
    const r = rng(11);
    const xs = [0, 1, -1, 2 ** 32, 2 ** 32 - 1, -(2 ** 32), 2 ** 53 - 1, -(2 ** 53 - 1), ...Array.from({ length: 1000 }, () => Math.floor((r() - 0.5) * 2 ** 54))];
    const out = shardIdsAsInt64(Float64Array.from(xs));
    expect(Array.from(out)).toEqual(xs.map((x) => BigInt(x)));
    const already = BigInt64Array.from([2n ** 60n]);
    expect(shardIdsAsInt64(already)).toBe(already);
  });
});

describe("bin regions", () => {
  const plans = [
    syntheticManifest({ neurons: 37, bins: 9, normalization: "mean" }), // upper layout
    syntheticManifest({ neurons: 23, bins: 7, normalization: "mean", keepSelf: true }), // upper, diagonal
    syntheticManifest({ neurons: 19, bins: 11, normalization: "normalized" }), // rows layout, self pairs skipped
    syntheticManifest({ neurons: 90, bins: 5, normalization: "mean", spatial: true }), // space order, upper: id-set arms
    syntheticManifest({ neurons: 70, bins: 4, normalization: "normalized", spatial: true }), // space order, rows
  ];
  it.each(plans.map((m, i) => [i, m] as const))("every row a bin emits is in its own region and in no other bin's (plan %i)", (_, m) => {
    const nBins = m.work.bins.length;
    const regions = Array.from({ length: nBins }, (_, b) => binRegion(m, b));
    for (let b = 0; b < nBins; b++) {
      const q: bigint[] = [];
      const t: bigint[] = [];
      const w = binWork(m, b);
      forEachPair(w, (a, c) => {
        q.push(BigInt(a)), t.push(BigInt(c));
        if (w.layout === "upper" && a !== c) q.push(BigInt(c)), t.push(BigInt(a));
      });
      const cols = { queryId: BigInt64Array.from(q), targetId: BigInt64Array.from(t), score: new Float32Array(q.length), length: q.length };
      expect(firstRowOutside(cols, regions[b])).toBe(-1);
      // As a shard holds them: sorted by query, then target (each query's arms found once).
      const order = Array.from({ length: q.length }, (_, i) => i).sort((x, y) => (q[x] < q[y] ? -1 : q[x] > q[y] ? 1 : t[x] < t[y] ? -1 : t[x] > t[y] ? 1 : 0));
      const sorted = { queryId: BigInt64Array.from(order, (i) => q[i]), targetId: BigInt64Array.from(order, (i) => t[i]), score: new Float32Array(q.length), length: q.length };
      expect(firstRowOutside(sorted, regions[b])).toBe(-1);
      // A foreign row in the middle of a query's rows is found where it is.
      if (b + 1 < nBins && sorted.length > 2) {
        const w2 = binWork(m, b + 1);
        let foreign: [bigint, bigint] | undefined;
        forEachPair(w2, (a, c) => {
          foreign ??= [BigInt(a), BigInt(c)];
        });
        if (foreign !== undefined) {
          const at = sorted.length >> 1;
          const qa = BigInt64Array.from(sorted.queryId), ta = BigInt64Array.from(sorted.targetId);
          qa[at] = foreign[0];
          ta[at] = foreign[1];
          expect(firstRowOutside({ ...sorted, queryId: qa, targetId: ta }, regions[b])).toBe(at);
        }
      }
      for (let other = 0; other < nBins; other++) {
        if (other === b) continue;
        for (let i = 0; i < cols.length; i++) {
          expect(firstRowOutside(cols, regions[other], i, i + 1), `bin ${b} row ${i} in bin ${other}'s region`).toBe(i);
        }
      }
    }
  });

  it("turns a region into SQL with bigint parameters", () => {
    const m = plans[0];
    const { sql, params } = regionSql(binRegion(m, 0), 2);
    expect(sql).toMatch(/^\(\(query_object_id BETWEEN \$2::bigint AND \$3::bigint AND target_object_id BETWEEN \$4::bigint AND \$5::bigint AND query_object_id < target_object_id\)/);
    expect(params.every((p) => /^-?\d+$/.test(p))).toBe(true);
  });
});

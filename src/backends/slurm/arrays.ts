/**
 * How bins map to array tasks. An array covers a window of bins starting at `offset`;
 * its index i runs bins offset + i*perTask ... offset + i*perTask + perTask - 1 (those
 * below the run's bin count). Indices stay below MaxArraySize, so a run with more tasks
 * than that is cut into several arrays; a resume lists only the indices that hold a
 * missing bin (`--array=3,17,42`).
 */

export interface ArrayLayout {
  /** First bin of the window. */
  readonly offset: number;
  readonly perTask: number;
  /** Array indices, ascending. */
  readonly indices: readonly number[];
}

export interface LayoutLimits {
  /** Indices run from 0 to maxArraySize - 1. */
  readonly maxArraySize: number;
  /** Tasks the user may have in the queue at once (MaxSubmitJobs, else MaxJobCount). */
  readonly maxTasks: number;
}

/**
 * Arrays that run every bin of `bins` (ascending, distinct), `perTask` bins per index
 * (undefined: 1, or the smallest count that keeps the tasks within maxTasks).
 */
export function layOutArrays(bins: readonly number[], perTask: number | undefined, limits: LayoutLimits): { arrays: ArrayLayout[]; perTask: number; raised: boolean } {
  let b = perTask ?? 1;
  let raised = false;
  for (;;) {
    const arrays = layOut(bins, b, limits.maxArraySize);
    const tasks = arrays.reduce((n, a) => n + a.indices.length, 0);
    if (tasks <= limits.maxTasks || b >= bins.length) return { arrays, perTask: b, raised };
    b = Math.max(b + 1, Math.ceil((b * tasks) / limits.maxTasks));
    raised = true;
  }
}

function layOut(bins: readonly number[], perTask: number, maxArraySize: number): ArrayLayout[] {
  const window = maxArraySize * perTask;
  const arrays: ArrayLayout[] = [];
  let current: { offset: number; indices: number[] } | undefined;
  for (const bin of bins) {
    const offset = Math.floor(bin / window) * window;
    if (current === undefined || current.offset !== offset) {
      current = { offset, indices: [] };
      arrays.push(current as ArrayLayout & { indices: number[] });
    }
    const index = Math.floor((bin - offset) / perTask);
    if (current.indices[current.indices.length - 1] !== index) current.indices.push(index);
  }
  return arrays.map((a) => ({ offset: a.offset, perTask, indices: a.indices }));
}

/** The bins index `index` of `a` runs, in a run of `binCount` bins. */
export function binsOfTask(a: { readonly offset: number; readonly perTask: number }, index: number, binCount: number): number[] {
  const first = a.offset + index * a.perTask;
  const out: number[] = [];
  for (let k = first; k < Math.min(first + a.perTask, binCount); k++) out.push(k);
  return out;
}

/** "0-9,12,15-17": sorted distinct integers as Slurm's array syntax (and ours for bin lists). */
export function formatRanges(values: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < values.length; ) {
    let j = i;
    while (j + 1 < values.length && values[j + 1] === values[j] + 1) j++;
    parts.push(i === j ? String(values[i]) : `${values[i]}-${values[j]}`);
    i = j + 1;
  }
  return parts.join(",");
}

/** The inverse of formatRanges. */
export function parseRanges(text: string): number[] {
  const out: number[] = [];
  for (const part of text.split(",")) {
    if (part === "") continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (m === null) throw new Error(`not a range list: ${text}`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    for (let k = lo; k <= hi; k++) out.push(k);
  }
  return out;
}

/**
 * Shared by the benchmark tables: timing, and aligned table rows. A ratio against OpenSSL is measured with
 * measurePair: many short rounds, the two sides interleaved, the fastest round of each kept. On a shared
 * machine that ratio is far steadier than one long round or a median (issue 10: 2.03-2.08x run to run
 * instead of 1.8-2.9x).
 */

export interface Timing {
  usPerOp: number;
  ops: number;
}

export const ROUNDS = 5;

/** Median µs/op over ROUNDS rounds of about roundMs each, after a warm-up. */
export function measure(fn: () => unknown, roundMs: number): Timing {
  const warmEnd = performance.now() + Math.min(300, roundMs);
  while (performance.now() < warmEnd) fn();
  const samples: number[] = [];
  let ops = 0;
  for (let r = 0; r < ROUNDS; r++) {
    let n = 0;
    const t0 = performance.now();
    let t1 = t0;
    do {
      for (let i = 0; i < 16; i++) fn();
      n += 16;
      t1 = performance.now();
    } while (t1 - t0 < roundMs);
    samples.push(((t1 - t0) * 1000) / n);
    ops += n;
  }
  samples.sort((a, b) => a - b);
  return { usPerOp: samples[ROUNDS >> 1], ops };
}

/** A table row: the first cell left-aligned, the others right-aligned. */
export function row(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
}

/** Rounds of measureInterleaved (and measurePair). */
export const PAIR_ROUNDS = 40;

/**
 * The fastest round of each function (µs/op): PAIR_ROUNDS rounds, the functions interleaved within each
 * round, each function's round about totalMs / (functions x rounds) long, calls timed in batches of 8.
 */
export function measureInterleaved(fns: ReadonlyArray<() => unknown>, totalMs: number): Timing[] {
  const roundMs = Math.max(2, totalMs / (fns.length * PAIR_ROUNDS));
  for (const fn of fns) {
    const warmEnd = performance.now() + Math.min(200, 4 * roundMs);
    while (performance.now() < warmEnd) fn();
  }
  const best = fns.map(() => Infinity);
  const ops = fns.map(() => 0);
  for (let r = 0; r < PAIR_ROUNDS; r++) {
    fns.forEach((fn, k) => {
      let n = 0;
      const t0 = performance.now();
      let t1 = t0;
      do {
        for (let i = 0; i < 8; i++) fn();
        n += 8;
        t1 = performance.now();
      } while (t1 - t0 < roundMs);
      best[k] = Math.min(best[k], ((t1 - t0) * 1000) / n);
      ops[k] += n;
    });
  }
  return best.map((usPerOp, k) => ({ usPerOp, ops: ops[k] }));
}

/** measureInterleaved of two functions (ours and OpenSSL's): the pair a ratio is taken from. */
export function measurePair(a: () => unknown, b: () => unknown, totalMs: number): [Timing, Timing] {
  const [ta, tb] = measureInterleaved([a, b], totalMs);
  return [ta, tb];
}

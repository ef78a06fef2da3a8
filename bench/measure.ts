/** Shared by the benchmark tables: median timing over a few rounds, and aligned table rows. */

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

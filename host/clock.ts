// The time source every VM of one gateway reads and schedules on (Envoy's dispatcher TimeSource): the
// wall clock of proxy_get_current_time_nanoseconds and WASI clock_time_get, tick timers and
// proxy_http_call timeouts. Two modes:
//   real (default): the system clocks and setTimeout; advanceClock() only shifts the wall clock.
//   manual (ServeOptions.manualClock): virtual time that moves only when the test advances it; timers
//     are kept in a queue and fired in time order by advance(), which lets real I/O settle after each
//     firing (an in-flight call-out gets a short real-time window to answer before time moves on).
// Also tracks host work that runs later on the event loop (call-outs, posted VM callbacks), which is
// what settle() waits for. Stream-level timers (route and idle timeouts) stay on real time (stream.ts).

/** Wall-clock nanoseconds since the Unix epoch, from the system clock. */
export function wallClockNanos(): bigint {
  const ms = performance.timeOrigin + performance.now();
  return BigInt(Math.floor(ms)) * 1_000_000n + BigInt(Math.floor((ms % 1) * 1e6));
}

const msToNs = (ms: number): bigint => BigInt(Math.round(ms * 1e6));

/** Default real-time window an in-flight call-out gets in settle() / after each firing in advance(). */
export const DEFAULT_SETTLE_WINDOW_MS = 50;

export interface TimerHandle {
  cancel(): void;
}

interface VirtualTimer {
  dueNs: bigint;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * One piece of host work that will finish on the event loop. settle() waits for it while it is
 * younger than the settle window, and always once it is `finishing` (its result is known and its
 * callback is queued), so a callback always runs before virtual time moves on.
 */
export class PendingWork {
  finishing = false;
  done = false;
  readonly startedAt = performance.now();

  constructor(private readonly owner: HostClock) {}

  /** The result is known; the callback runs on a later turn of the event loop. */
  finishingNow(): void {
    this.finishing = true;
  }

  /** The work and its callback are over (idempotent). */
  complete(): void {
    if (this.done) return;
    this.done = true;
    this.owner.workCompleted(this);
  }
}

export interface HostClockOptions {
  manual?: boolean;
  /** Real milliseconds each in-flight call-out is waited for by settle(); default 50. */
  settleWindowMs?: number;
}

export class HostClock {
  readonly manual: boolean;
  readonly settleWindowMs: number;

  /** Real mode: advanceClock's shift of the wall clock. */
  private offsetNs = 0n;
  /** Manual mode: the wall clock and monotonic clock when the gateway started, plus virtual elapsed time. */
  private readonly startWallNs = wallClockNanos();
  private readonly startMonotonicNs = process.hrtime.bigint();
  private elapsedNs = 0n;
  private timers: VirtualTimer[] = [];
  private nextSeq = 0;
  private readonly pending = new Set<PendingWork>();
  private wake: (() => void) | null = null;
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(opts: HostClockOptions = {}) {
    this.manual = opts.manual ?? false;
    this.settleWindowMs = opts.settleWindowMs ?? DEFAULT_SETTLE_WINDOW_MS;
  }

  /** The wall clock the VMs read (proxy_get_current_time_nanoseconds, WASI realtime). */
  nowNs(): bigint {
    if (this.manual) return this.startWallNs + this.elapsedNs;
    return wallClockNanos() + this.offsetNs;
  }

  /** WASI monotonic clock: moves with the wall clock's shifts (advanceClock) and virtual time. */
  monotonicNs(): bigint {
    if (this.manual) return this.startMonotonicNs + this.elapsedNs;
    return process.hrtime.bigint() + this.offsetNs;
  }

  /**
   * Runs `fn` after `ms` milliseconds of this clock's time. Real mode: setTimeout (unref'd when
   * `unref`, so it does not keep the process alive). Manual mode: when advance() reaches it.
   */
  setTimer(ms: number, fn: () => void, opts: { unref?: boolean } = {}): TimerHandle {
    if (!this.manual) {
      const t = setTimeout(fn, ms);
      if (opts.unref) t.unref();
      return { cancel: () => clearTimeout(t) };
    }
    const timer: VirtualTimer = { dueNs: this.elapsedNs + msToNs(Math.max(0, ms)), seq: this.nextSeq++, fn, cancelled: false };
    if (!this.closed) this.timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  /**
   * Gateway.advanceClock: moves the wall and monotonic clocks forward by `ms` at once. Real mode: an
   * offset on the system clocks (timers are not affected). Manual mode: virtual time moves, nothing fires now; timers
   * that became due fire, in due order, at the next advance() or settle().
   */
  shift(ms: number): void {
    if (this.manual) this.elapsedNs += msToNs(ms);
    else this.offsetNs += msToNs(ms);
  }

  /** Registers host work that finishes later on the event loop (see PendingWork). */
  track(): PendingWork {
    const w = new PendingWork(this);
    if (!this.closed) this.pending.add(w);
    else w.done = true;
    return w;
  }

  /** Called by PendingWork.complete(). */
  workCompleted(w: PendingWork): void {
    this.pending.delete(w);
    this.poke();
  }

  private poke(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  /**
   * Manual mode: moves virtual time to now + ms, firing due timers in time order (ties in the order
   * they were set); after each firing, waits as settle() does. Calls are serialized.
   */
  advance(ms: number): Promise<void> {
    if (!this.manual) return Promise.reject(new Error("advance() needs a manual clock"));
    if (!Number.isFinite(ms) || ms < 0) {
      return Promise.reject(new RangeError(`advance(ms): ms must be a finite number >= 0, got ${String(ms)}`));
    }
    return this.serialized(async () => {
      const target = this.elapsedNs + msToNs(ms);
      await this.settleNow();
      for (;;) {
        if (this.closed) return;
        const next = this.nextTimer();
        if (!next || next.dueNs > target) break;
        if (next.dueNs > this.elapsedNs) this.elapsedNs = next.dueNs;
        this.fire(next);
        await this.settleNow();
      }
      if (target > this.elapsedNs) this.elapsedNs = target;
    });
  }

  /**
   * Waits, without moving time, until queued host callbacks have run and every in-flight call-out
   * has completed or had its real-time window; in manual mode, overdue timers (after advanceClock)
   * fire first.
   */
  settle(): Promise<void> {
    return this.serialized(() => this.settleNow());
  }

  private serialized(fn: () => Promise<void>): Promise<void> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async settleNow(): Promise<void> {
    for (;;) {
      await nextTurn();
      if (this.closed) return;
      if (this.manual) {
        const overdue = this.nextTimer();
        if (overdue && overdue.dueNs <= this.elapsedNs) {
          this.fire(overdue);
          continue;
        }
      }
      const now = performance.now();
      let deadline = Infinity;
      for (const w of this.pending) {
        if (w.finishing) {
          deadline = now;
          break;
        }
        const end = w.startedAt + this.settleWindowMs;
        if (end > now) deadline = Math.min(deadline, end);
      }
      if (deadline === Infinity) return;
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.wake = null;
          resolve();
        }, Math.max(0, deadline - now));
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  private nextTimer(): VirtualTimer | undefined {
    this.timers = this.timers.filter((t) => !t.cancelled);
    let best: VirtualTimer | undefined;
    for (const t of this.timers) {
      if (!best || t.dueNs < best.dueNs || (t.dueNs === best.dueNs && t.seq < best.seq)) best = t;
    }
    return best;
  }

  private fire(t: VirtualTimer): void {
    t.cancelled = true;
    this.timers = this.timers.filter((x) => x !== t);
    t.fn();
  }

  /** Drops every timer and pending record (gateway close). */
  close(): void {
    this.closed = true;
    for (const t of this.timers) t.cancelled = true;
    this.timers = [];
    for (const w of this.pending) w.done = true;
    this.pending.clear();
    this.poke();
  }
}

/** Resolves after the event loop has run what is queued now (immediates included). */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

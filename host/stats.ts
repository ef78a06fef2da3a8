// Custom metrics: a per-gateway stats store keyed by type and full name ("wasmcustom.<name>", shared by
// all workers as Envoy's store is process-wide), and per-VM metric ids (low 2 bits = type; counters
// 4, 8…, gauges 5, 9…, histograms 6, 10…). Values are u64 like Envoy's stats. The ABI answers are
// Envoy's Context::defineMetric/incrementMetric/recordMetric/getMetric (extensions/common/wasm/context.cc).
// Rendering for the admin endpoints is in admin.ts.

import { MetricType, WasmResult } from "./abi/constants";

/** Envoy's CustomStatNamespace for wasm: every user-defined metric is "wasmcustom.<name>". */
export const WASM_CUSTOM_STAT_NAMESPACE = "wasmcustom";

export interface Stat {
  /** Full name, "wasmcustom.<name>". */
  name: string;
  type: number;
  /** Counters and gauges. */
  value: bigint;
  /** Envoy's used(): set by the first add/sub/set/record. */
  used: boolean;
  /** Histograms only: number of recorded samples and their sum. */
  count: bigint;
  sum: bigint;
  /** Histograms only: every recorded value with its multiplicity (exact, where Envoy keeps a circllhist). */
  samples: Map<bigint, number>;
}

export class StatsStore {
  private readonly stats = new Map<string, Stat>();

  get(name: string, type: number): Stat {
    const key = `${type}\u0000${name}`;
    let s = this.stats.get(key);
    if (!s) {
      s = { name, type, value: 0n, used: false, count: 0n, sum: 0n, samples: new Map() };
      this.stats.set(key, s);
    }
    return s;
  }

  /** Every stat, in definition order. */
  all(): Stat[] {
    return [...this.stats.values()];
  }

  snapshot(): Array<{ name: string; type: "counter" | "gauge" | "histogram"; value: number; count?: number; sum?: number }> {
    const kinds = ["counter", "gauge", "histogram"] as const;
    return [...this.stats.values()].map((s) =>
      s.type === MetricType.Histogram
        ? { name: s.name, type: kinds[s.type], value: 0, count: Number(s.count), sum: Number(s.sum) }
        : { name: s.name, type: kinds[s.type], value: Number(s.value) },
    );
  }
}

const U64 = (v: bigint): bigint => BigInt.asUintN(64, v);

/** Wasm::kMetricTypeMask. */
const TYPE_MASK = 0x3;

export class VmMetrics {
  private readonly byId = new Map<number, Stat>();
  private readonly next = [4, 5, 6];

  constructor(private readonly store: StatsStore) {}

  /** `type` is 0..2 (the import refuses others with BadArgument after reading the name, as Envoy). */
  define(type: number, name: string): number {
    const id = this.next[type];
    this.next[type] += 4;
    this.byId.set(id, this.store.get(`${WASM_CUSTOM_STAT_NAMESPACE}.${name}`, type));
    return id;
  }

  /**
   * Counters: offset > 0 adds, else BadArgument; gauges: add, or sub(-offset) (u64, wrapping as
   * Envoy's release build does); an unknown counter/gauge id is NotFound; any other type BadArgument.
   */
  increment(id: number, offset: bigint): number {
    const type = id & TYPE_MASK;
    if (type === MetricType.Counter) {
      const s = this.byId.get(id);
      if (!s) return WasmResult.NotFound;
      if (offset <= 0n) return WasmResult.BadArgument;
      s.value = U64(s.value + offset);
      s.used = true;
      return WasmResult.Ok;
    }
    if (type === MetricType.Gauge) {
      const s = this.byId.get(id);
      if (!s) return WasmResult.NotFound;
      s.value = U64(s.value + offset);
      s.used = true;
      return WasmResult.Ok;
    }
    return WasmResult.BadArgument;
  }

  /** Counters add, gauges set, histograms record; an unknown id (of any type) is NotFound. */
  record(id: number, value: bigint): number {
    const s = this.byId.get(id);
    if (!s) return WasmResult.NotFound;
    const v = U64(value);
    if (s.type === MetricType.Counter) s.value = U64(s.value + v);
    else if (s.type === MetricType.Gauge) s.value = v;
    else {
      s.count += 1n;
      s.sum += v;
      s.samples.set(v, (s.samples.get(v) ?? 0) + 1);
    }
    s.used = true;
    return WasmResult.Ok;
  }

  /** Counters and gauges: the value, or NotFound; histograms (and type 3) BadArgument. */
  get(id: number): { result: number; value?: bigint } {
    const type = id & TYPE_MASK;
    if (type !== MetricType.Counter && type !== MetricType.Gauge) return { result: WasmResult.BadArgument };
    const s = this.byId.get(id);
    if (!s) return { result: WasmResult.NotFound };
    return { result: WasmResult.Ok, value: s.value };
  }
}

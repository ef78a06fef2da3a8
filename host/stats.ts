// Custom metrics: a per-gateway stats store keyed by the full name ("wasmcustom.<name>", shared by
// all workers as Envoy's store is process-wide), and per-VM metric ids (low 2 bits = type; counters
// 4, 8…, gauges 5, 9…, histograms 6, 10…). Values are u64 like Envoy's stats.

import { MetricType, WasmResult } from "./abi/constants";

export interface Stat {
  name: string;
  type: number;
  value: bigint;
  /** Histograms only: number of recorded samples and their sum. */
  count: bigint;
  sum: bigint;
}

export class StatsStore {
  private readonly stats = new Map<string, Stat>();

  get(name: string, type: number): Stat {
    let s = this.stats.get(name);
    if (!s) {
      s = { name, type, value: 0n, count: 0n, sum: 0n };
      this.stats.set(name, s);
    }
    return s;
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

export class VmMetrics {
  private readonly byId = new Map<number, Stat>();
  private readonly next = [4, 5, 6];

  constructor(private readonly store: StatsStore) {}

  define(type: number, name: string): number {
    const id = this.next[type];
    this.next[type] += 4;
    this.byId.set(id, this.store.get(`wasmcustom.${name}`, type));
    return id;
  }

  increment(id: number, offset: bigint): number {
    const s = this.byId.get(id);
    if (!s) return WasmResult.NotFound;
    if (s.type === MetricType.Counter) {
      if (offset <= 0n) return WasmResult.BadArgument;
      s.value = U64(s.value + offset);
      return WasmResult.Ok;
    }
    if (s.type === MetricType.Gauge) {
      s.value = U64(s.value + offset);
      return WasmResult.Ok;
    }
    return WasmResult.BadArgument;
  }

  record(id: number, value: bigint): number {
    const s = this.byId.get(id);
    if (!s) return WasmResult.NotFound;
    const v = BigInt.asUintN(64, value);
    if (s.type === MetricType.Counter) s.value = U64(s.value + v);
    else if (s.type === MetricType.Gauge) s.value = v;
    else {
      s.count += 1n;
      s.sum += v;
    }
    return WasmResult.Ok;
  }

  get(id: number): { result: number; value?: bigint } {
    const s = this.byId.get(id);
    if (!s) return { result: WasmResult.NotFound };
    if (s.type === MetricType.Histogram) return { result: WasmResult.BadArgument };
    return { result: WasmResult.Ok, value: s.value };
  }
}

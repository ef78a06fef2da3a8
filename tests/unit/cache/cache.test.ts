// The verified-token cache (assembly/authn/cache.ts TokenCache) through build/cache.wasm
// (assembly/api/cache.ts): regression tests for dropping a stale entry (one a waiting request still holds
// after it was dropped, replaced or evicted), which must never remove the fresh entry for the same token
// nor unlink the list; then a seeded 100,000-operation run over a small key space under several
// (maxEntries, maxBytes) bounds, with TokenCache.checkInvariants() after every operation and every
// result compared with a plain JS LRU model.
import { loadLib, WasmLib } from "../../helpers/wasmlib";
import { prng, Rnd } from "../../helpers/prng";

const MAX_CACHED_TOKEN_BYTES = 8 * 1024;
const ENTRY_OVERHEAD_BYTES = 256;
/** CacheInvariant in assembly/authn/cache.ts, for readable failures. */
const INVARIANT_NAMES: Record<number, string> = {
  0: "Ok",
  1: "EmptyMismatch",
  2: "HeadPrev",
  3: "TailNext",
  4: "ForwardCount",
  5: "ForwardEnd",
  6: "BackwardCount",
  7: "NotMapEntry",
  8: "Bytes",
  9: "OverEntries",
  10: "OverBytes",
  11: "BackLink",
};

let lib: WasmLib;
let c: Record<string, any>;

beforeAll(() => {
  lib = loadLib("cache");
  c = lib.exports;
});

afterEach(() => {
  expect(lib.aborted).toEqual([]);
});

const invariant = () => INVARIANT_NAMES[c.check()] ?? `code ${c.check()}`;
/** The charge of an entry: 2 x the token, the lib's 8-byte key (not the token's own bytes), 256, the fingerprint. */
const cost = (tokenLen: number, fpId: number) => 2 * tokenLen + 8 + ENTRY_OVERHEAD_BYTES + `fp${fpId}`.length;

describe("stale drops (regression: drop by identity, not by key)", () => {
  test("two requests hold one entry; the first drops it, a fresh entry is put, the second's drop leaves it", () => {
    c.reset(10, 1 << 20);
    const K = 7;
    const s1 = c.put(K, 100, 1);
    const h1 = c.get(K);
    const h2 = c.get(K);
    expect(h1).toBeGreaterThanOrEqual(0);
    expect(h2).toBeGreaterThanOrEqual(0);
    expect(c.sameEntry(h1, h2)).toBe(1);
    expect(c.heldSerial(h1)).toBe(s1);
    expect(c.drop(h1)).toBe(0); // the key left the set: the first request drops e1
    expect(c.size()).toBe(0);
    expect(invariant()).toBe("Ok");
    // The JWKS re-encodes the same key: a new fingerprint, so a fresh e2 (of another size).
    const s2 = c.put(K, 100, 1000);
    expect(c.size()).toBe(1);
    expect(c.drop(h2)).toBe(0); // the second request drops what it holds: the stale e1
    expect(invariant()).toBe("Ok");
    expect(c.size()).toBe(1);
    expect(c.usedBytes()).toBe(cost(100, 1000));
    const h3 = c.get(K);
    expect(h3).toBeGreaterThanOrEqual(0); // e2 is still a hit
    expect(c.heldSerial(h3)).toBe(s2);
    expect(c.sameEntry(h3, h2)).toBe(0);
    expect(invariant()).toBe("Ok");
  });

  test("the same sequence with other entries in the list keeps the list linked and the bytes exact", () => {
    c.reset(10, 1 << 20);
    const sa = c.put(1, 50, 1);
    c.put(2, 60, 1);
    const h1 = c.get(2);
    const h2 = c.get(2);
    const sb = c.put(3, 70, 1);
    c.drop(h1);
    const s2 = c.put(2, 60, 12345);
    c.drop(h2);
    expect(invariant()).toBe("Ok");
    expect(c.size()).toBe(3);
    expect(c.usedBytes()).toBe(cost(50, 1) + cost(70, 1) + cost(60, 12345));
    for (const [k, s] of [[1, sa], [2, s2], [3, sb]]) {
      const h = c.get(k);
      expect(h).toBeGreaterThanOrEqual(0);
      expect(c.heldSerial(h)).toBe(s);
    }
    expect(invariant()).toBe("Ok");
  });

  test("a held entry replaced by put (no drop in between), then dropped, leaves the replacement", () => {
    c.reset(4, 1 << 20);
    c.put(1, 10, 1);
    c.put(2, 10, 1);
    const h = c.get(1);
    const s = c.put(1, 10, 2); // replaces the held entry
    c.drop(h);
    expect(invariant()).toBe("Ok");
    expect(c.size()).toBe(2);
    expect(c.heldSerial(c.get(1))).toBe(s);
    expect(c.get(2)).toBeGreaterThanOrEqual(0);
  });

  test("a held entry evicted (by count and by bytes) and then dropped changes nothing", () => {
    c.reset(2, 1 << 20);
    c.put(1, 10, 1);
    const h = c.get(1);
    c.put(2, 10, 1);
    c.put(3, 10, 1); // evicts 1 by count
    const s1 = c.put(1, 10, 1); // a fresh entry for 1 (evicts 2)
    c.drop(h);
    expect(invariant()).toBe("Ok");
    expect(c.size()).toBe(2);
    expect(c.heldSerial(c.get(1))).toBe(s1);
    expect(c.get(3)).toBeGreaterThanOrEqual(0);

    c.reset(100, 2 * cost(100, 1));
    c.put(1, 100, 1);
    const hb = c.get(1);
    c.put(2, 100, 1);
    c.put(3, 100, 1); // evicts 1 by bytes
    c.drop(hb);
    expect(invariant()).toBe("Ok");
    expect(c.size()).toBe(2);
    expect(c.usedBytes()).toBe(2 * cost(100, 1));
  });

  test("dropping the same entry twice, and dropping after a release-and-reuse of handles, is safe", () => {
    c.reset(3, 1 << 20);
    c.put(1, 10, 1);
    const h = c.get(1);
    c.drop(h);
    const s = c.put(1, 10, 1);
    c.drop(h);
    c.drop(h);
    expect(invariant()).toBe("Ok");
    expect(c.heldSerial(c.get(1))).toBe(s);
    expect(c.release(h)).toBe(0);
    expect(c.drop(h)).toBe(-1); // released: nothing held
    expect(c.size()).toBe(1);
  });
});

/** A plain LRU with TokenCache's admission and eviction rules; most recently used first. */
interface ModelEntry {
  keyId: number;
  serial: number;
  cost: number;
}

class Model {
  order: ModelEntry[] = [];
  bytes = 0;
  hits = 0;
  misses = 0;
  evictedByCount = 0;
  evictedByBytes = 0;
  constructor(readonly maxEntries: number, readonly maxBytes: number) {}
  get enabled(): boolean {
    return this.maxEntries > 0 && this.maxBytes > 0;
  }
  index(keyId: number): number {
    return this.order.findIndex((e) => e.keyId === keyId);
  }
  current(keyId: number): ModelEntry | undefined {
    return this.order.find((e) => e.keyId === keyId);
  }
  private removeAt(i: number): void {
    this.bytes -= this.order[i].cost;
    this.order.splice(i, 1);
  }
  cacheable(tokenLen: number, fpId: number): boolean {
    return this.enabled && tokenLen <= MAX_CACHED_TOKEN_BYTES && cost(tokenLen, fpId) <= this.maxBytes;
  }
  put(keyId: number, tokenLen: number, fpId: number, serial: number): void {
    if (!this.cacheable(tokenLen, fpId)) return;
    const k = cost(tokenLen, fpId);
    const i = this.index(keyId);
    if (i >= 0) this.removeAt(i);
    while (this.order.length > 0 && (this.order.length >= this.maxEntries || this.bytes + k > this.maxBytes)) {
      if (this.order.length >= this.maxEntries) this.evictedByCount++;
      else this.evictedByBytes++;
      this.removeAt(this.order.length - 1);
    }
    this.order.unshift({ keyId, serial, cost: k });
    this.bytes += k;
  }
  get(keyId: number): ModelEntry | undefined {
    const i = this.enabled ? this.index(keyId) : -1;
    if (i < 0) {
      this.misses++;
      return undefined;
    }
    const [e] = this.order.splice(i, 1);
    this.order.unshift(e);
    this.hits++;
    return e;
  }
  /** Drop by identity: only when the held serial is still the live entry for its key. */
  drop(keyId: number, serial: number): void {
    const i = this.index(keyId);
    if (i >= 0 && this.order[i].serial === serial) this.removeAt(i);
  }
}

interface Setting {
  maxEntries: number;
  maxBytes: number;
  keys: number;
}

const SETTINGS: Setting[] = [
  { maxEntries: 1, maxBytes: 1 << 20, keys: 3 },
  { maxEntries: 2, maxBytes: 700, keys: 4 },
  { maxEntries: 3, maxBytes: 300, keys: 4 }, // one small entry fits; larger ones are refused
  { maxEntries: 4, maxBytes: 1500, keys: 6 },
  { maxEntries: 8, maxBytes: 4000, keys: 10 },
  { maxEntries: 16, maxBytes: 1 << 20, keys: 12 },
  { maxEntries: 64, maxBytes: 20000, keys: 24 },
  { maxEntries: 0, maxBytes: 1 << 20, keys: 4 }, // disabled by entries
  { maxEntries: 5, maxBytes: 0, keys: 4 }, // disabled by bytes
];

const TOTAL_OPS = 100_000;
const MAX_HELD = 48;

function tokenLen(r: Rnd): number {
  const x = r.int(100);
  if (x < 70) return r.int(120); // most entries are small
  if (x < 90) return 120 + r.int(2000);
  if (x < 97) return 2000 + r.int(MAX_CACHED_TOKEN_BYTES - 2000 + 1);
  return MAX_CACHED_TOKEN_BYTES - 2 + r.int(1000); // around and over the 8 KiB limit
}

describe("randomized against a JS LRU model", () => {
  test(`${TOTAL_OPS} operations (put, get-and-hold, drop of held handles, release) with invariants after each`, () => {
    const SEED = 0x5eed_ca5e;
    const r = prng(SEED);
    const perSetting = Math.ceil(TOTAL_OPS / SETTINGS.length);
    const stats = { ops: 0, puts: 0, refused: 0, hits: 0, misses: 0, evictedByCount: 0, evictedByBytes: 0, freshDrops: 0, staleDrops: 0, staleDropsWhileKeyLive: 0, longWaits: 0 };
    const log: string[] = [];
    let model = new Model(0, 0);
    /** handle → what the model says it holds, and the op index it was taken at. */
    const held = new Map<number, { keyId: number; serial: number; since: number }>();

    const fail = (why: string): never => {
      throw new Error(`seed ${SEED.toString(16)} op ${stats.ops}: ${why}\nlast ops:\n  ${log.slice(-12).join("\n  ")}`);
    };
    const compare = () => {
      const code = c.check();
      if (code !== 0) fail(`checkInvariants() = ${code} (${INVARIANT_NAMES[code]})`);
      if (c.size() !== model.order.length) fail(`size ${c.size()} != model ${model.order.length}`);
      if (c.usedBytes() !== model.bytes) fail(`usedBytes ${c.usedBytes()} != model ${model.bytes}`);
      if (c.hits() !== model.hits || c.misses() !== model.misses) fail(`hits/misses ${c.hits()}/${c.misses()} != model ${model.hits}/${model.misses}`);
    };
    /** get with the model's answer checked; returns the handle (held) or -1. */
    const getChecked = (keyId: number): number => {
      const want = model.get(keyId);
      const h = c.get(keyId);
      if (want === undefined) {
        if (h !== -1) fail(`get(${keyId}) hit serial ${c.heldSerial(h)}, model misses`);
        stats.misses++;
        return -1;
      }
      if (h < 0) fail(`get(${keyId}) missed, model has serial ${want.serial}`);
      if (c.heldSerial(h) !== want.serial) fail(`get(${keyId}) gave serial ${c.heldSerial(h)}, model ${want.serial}`);
      if (held.has(h)) fail(`get returned handle ${h}, which is still held`);
      held.set(h, { keyId, serial: want.serial, since: stats.ops });
      stats.hits++;
      return h;
    };
    const releaseChecked = (h: number) => {
      if (c.release(h) !== 0) fail(`release(${h}) refused`);
      held.delete(h);
    };

    for (let s = 0; s < SETTINGS.length; s++) {
      const set = SETTINGS[s];
      c.reset(set.maxEntries, set.maxBytes);
      model = new Model(set.maxEntries, set.maxBytes);
      held.clear();
      log.length = 0;
      log.push(`reset(${set.maxEntries}, ${set.maxBytes})`);
      compare();
      for (let n = 0; n < perSetting && stats.ops < TOTAL_OPS; n++, stats.ops++) {
        const op = r.int(100);
        const keyId = r.int(set.keys);
        if (op < 35) {
          // put: a fresh verification, under one of a few fingerprints (a re-encoded key changes it).
          const len = tokenLen(r);
          const fp = r.int(4) === 0 ? r.int(100000) : r.int(3);
          const cacheable = model.cacheable(len, fp);
          const serial = c.put(keyId, len, fp);
          log.push(`put(${keyId}, ${len}, ${fp}) = serial ${serial}${cacheable ? "" : " (refused)"}`);
          model.put(keyId, len, fp, serial);
          stats.puts++;
          if (!cacheable) stats.refused++;
          compare();
          if (cacheable) {
            // A put of a cacheable entry is a hit right away, on that very entry.
            const h = getChecked(keyId);
            if (h < 0 || c.heldSerial(h) !== serial) fail(`put(${keyId}) then get: not the entry just put`);
            log.push(`get(${keyId}) = h${h} (after put)`);
            compare();
            if (held.size > MAX_HELD || r.int(2) === 0) {
              releaseChecked(h);
              log.push(`release(h${h})`);
              compare();
            }
          }
        } else if (op < 65) {
          // get: a request that hits holds the entry (it may wait on a JWKS fetch for a long time).
          const h = getChecked(keyId);
          log.push(`get(${keyId}) = ${h < 0 ? "miss" : `h${h}`}`);
          compare();
          if (h >= 0 && held.size > MAX_HELD) {
            releaseChecked(h);
            compare();
          }
        } else if (op < 85) {
          // drop a held entry: its key left the set. Often stale by now (dropped, replaced or evicted).
          if (held.size === 0) continue;
          const handles = [...held.keys()];
          const h = handles[r.int(handles.length)];
          const info = held.get(h)!;
          const live = model.current(info.keyId);
          const stale = live === undefined || live.serial !== info.serial;
          if (stats.ops - info.since > 100) stats.longWaits++;
          c.drop(h);
          log.push(`drop(h${h} k${info.keyId} serial ${info.serial}) ${stale ? "stale" : "live"}`);
          model.drop(info.keyId, info.serial);
          if (stale) {
            stats.staleDrops++;
            if (live !== undefined) {
              stats.staleDropsWhileKeyLive++;
              // The stale drop must leave the live entry for that key: it is still a hit.
              compare();
              const g = getChecked(info.keyId);
              if (g < 0 || c.heldSerial(g) !== live.serial) fail(`stale drop of serial ${info.serial} removed live serial ${live.serial}`);
              releaseChecked(g);
            }
          } else {
            stats.freshDrops++;
          }
          compare();
          if (r.int(3) === 0) {
            releaseChecked(h); // the request finished; otherwise it keeps holding (and may drop again)
            compare();
          }
        } else if (op < 95) {
          // release: a waiting request finishes. Rare enough that handles are held across many ops.
          if (held.size === 0) continue;
          const handles = [...held.keys()];
          const h = handles[r.int(handles.length)];
          releaseChecked(h);
          log.push(`release(h${h})`);
          compare();
        } else {
          // The filter's rotation path in one go: hit, key gone → drop, re-verify → put a fresh entry.
          const h = getChecked(keyId);
          if (h < 0) continue;
          c.drop(h);
          model.drop(keyId, held.get(h)!.serial);
          stats.freshDrops++;
          const len = tokenLen(r);
          const fp = r.int(3);
          const serial = c.put(keyId, len, fp);
          model.put(keyId, len, fp, serial);
          log.push(`rotate(${keyId}): get h${h}, drop, put(${keyId}, ${len}, ${fp}) = serial ${serial}`);
          compare();
        }
      }
      // Drain: every handle still held is dropped (all stale or live) and released.
      for (const h of [...held.keys()]) {
        const info = held.get(h)!;
        c.drop(h);
        model.drop(info.keyId, info.serial);
        releaseChecked(h);
        compare();
      }
      stats.evictedByCount += model.evictedByCount;
      stats.evictedByBytes += model.evictedByBytes;
    }

    // eslint-disable-next-line no-console
    if (process.env.CACHE_TEST_STATS) console.log(stats);
    expect(stats.ops).toBe(TOTAL_OPS);
    // The run must actually exercise what it is about.
    expect(stats.hits).toBeGreaterThan(10000);
    expect(stats.misses).toBeGreaterThan(1000);
    expect(stats.refused).toBeGreaterThan(1000);
    expect(stats.evictedByCount).toBeGreaterThan(1000);
    expect(stats.evictedByBytes).toBeGreaterThan(1000);
    expect(stats.freshDrops).toBeGreaterThan(1000);
    expect(stats.staleDrops).toBeGreaterThan(1000);
    expect(stats.staleDropsWhileKeyLive).toBeGreaterThan(1000);
    expect(stats.longWaits).toBeGreaterThan(100);
  });
});

// Owns one remote JWKS (a rule's `jwksUri`): the keys last fetched, the single fetch in flight, the
// requests waiting for it, and the 10-minute lifetime after which the next request fetches again.
// Issue #2 scope: no stale-while-error, no sharing between VMs (a later issue).
import { Jwks } from "./jwks";
import { JwtRule } from "../config/config";

/** Envoy's default remote JWKS cache duration. */
export const JWKS_CACHE_S: f64 = 600;

/** A paused request that waits for the fetch of one key set; the stream supplies what to do when it completes. */
export abstract class KeyWaiter {
  constructor(public remote: RemoteJwks) {}
  abstract contextId(): u32;
  abstract isAlive(): bool;
  /** Called with the waiter's context made effective; `ok` false means the fetch failed. */
  abstract keysReady(ok: bool): void;
}

export class RemoteJwks {
  jwks: Jwks | null = null;
  fetchedAtS: f64 = 0;
  inFlight: bool = false;
  waiters: KeyWaiter[] = [];

  constructor(public rule: JwtRule) {}

  /** Keys usable at `nowS`, or null when a fetch is needed. */
  fresh(nowS: f64): Jwks | null {
    const j = this.jwks;
    if (j === null) return null;
    if (nowS - this.fetchedAtS >= JWKS_CACHE_S) return null;
    return j;
  }
}

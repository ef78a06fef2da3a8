// Owns one HTTP request: it reads the headers once, extracts the tokens, checks each (pausing while a
// key set is fetched), applies the success actions (payload and claim headers, token removal), then the
// authorization verdict. Per-request state lives here; everything configured lives in the root.
import {
  Context, FilterHeadersStatusValues, stream_context, continue_request, log, LogLevelValues,
} from "@solo-io/proxy-runtime/assembly";
import { readRequestHeaders } from "./headers";
import { Status, statusString } from "../status";
import { Config, JwtRule } from "../config/config";
import { Extractor, Location, LocationKind, removeQueryParam, removeCookie, RequestHeader } from "../authn/extractor";
import { claimHeaderValue } from "../authn/claimheaders";
import { findClaim } from "../jwt/claims";
import { TokenCheck, beginToken, checkRuleClaims, verifyWithKeys } from "../authn/authenticator";
import { TokenCache } from "../authn/cache";
import { Jwks } from "../jwks/jwks";
import { KeyWaiter, RemoteSet, DocKind, Need } from "../jwks/remote";
import { KeySets } from "../jwks/keysets";
import { evaluatePolicies, requestLine, Verdict } from "../authz/policy";
import { RequestAttrs } from "../authz/attributes";
import { explainPolicies, EXPLAIN_HEADER } from "../authz/explain";
import { realmFor, sendAuthnFailure, sendRbacDenied, sendNotConfigured, sendHeadersUnreadable, DECISION_HEADER } from "./reply";
import { nowMs } from "./clock";
import { debugWord, requestLogLine } from "../util/words";
import { proxy_set_property, proxy_remove_header_map_value } from "@solo-io/proxy-runtime/assembly/imports";
import { JwtRoot } from "./root";

/** Removes every request header of this (UTF-8) name: one host call, no per-request encoding. */
function removeRequestHeader(name: ArrayBuffer): void {
  proxy_remove_header_map_value(0, changetype<usize>(name), name.byteLength);
}

/** The filter state key of a request's policy decision (Envoy prefixes it `wasm.`). */
const DECISION_STATE = String.UTF8.encode("jwt_authn_decision");

/**
 * Rewrites every `cookie` header without the cookies `names` (a header left empty is dropped), in one
 * rewrite: `headers` is what extraction read (every `cookie` line, as a cookie location was configured),
 * so removing one name at a time from it would put back what an earlier removal took out.
 */
function removeCookiesEverywhere(names: string[], headers: RequestHeader[]): void {
  const kept: string[] = [];
  let touched = false;
  for (let i = 0; i < headers.length; i++) {
    const h = unchecked(headers[i]);
    if (h.name != "cookie") continue;
    const v = h.value;
    let nv = v;
    for (let j = 0; j < names.length; j++) nv = removeCookie(nv, unchecked(names[j]));
    if (nv != v) touched = true;
    if (nv.length > 0) kept.push(nv);
  }
  if (!touched) return;
  stream_context.headers.request.remove("cookie");
  for (let i = 0; i < kept.length; i++) stream_context.headers.request.add("cookie", unchecked(kept[i]));
}

// Never mutated: fields are replaced, not written into.
const NO_CHECKS: TokenCheck[] = [];
const NO_HEADERS: RequestHeader[] = [];
/** Off (no entries), until the request takes its root's cache: a stream allocates no cache of its own. */
const NO_CACHE: TokenCache = new TokenCache(0, 0);

/**
 * A paused request, tied to the one key set it waits for. The stream object may be recycled for a later
 * request once this one is deleted, so the waiter remembers which request it is: the context id and the
 * stream's generation at the pause.
 */
class StreamWaiter extends KeyWaiter {
  private id: u32;
  private generation: u32;
  constructor(public stream: JwtStream, remote: RemoteSet) {
    super(remote);
    this.id = stream.context_id;
    this.generation = stream.generation;
  }
  contextId(): u32 {
    return this.id;
  }
  isAlive(): bool {
    return !this.stream.deleted && this.stream.generation == this.generation;
  }
  keysReady(ok: bool): void {
    if (this.isAlive()) this.stream.keysReady(this.remote, ok);
  }
}

/** Idle stream objects a root keeps for its next requests (each holds no reference into a past request). */
export const STREAM_POOL_MAX: i32 = 32;

export class JwtStream extends Context {
  deleted: bool = false;
  /** How many requests this object served before the current one (it is pooled; see StreamWaiter). */
  generation: u32 = 0;
  /** This object's attributes and token list, reused by its next requests (set afresh by each). */
  private ownAttrs: RequestAttrs | null = null;
  private ownChecks: TokenCheck[] = [];
  private jwtRoot: JwtRoot;
  /**
   * What the request started with: the configuration, its compiled rules and the token cache of that
   * moment. A request resumed after a fetch goes on with them, even if the root was configured again.
   */
  private cfg: Config | null = null;
  private cache: TokenCache = NO_CACHE;
  private keySets: KeySets | null = null;
  // A shared empty list until a request carries a token: an anonymous request allocates no per-token state.
  private checks: TokenCheck[] = NO_CHECKS;
  private next: i32 = 0;
  private nowMs: f64 = 0;
  private path: string = "";
  private method: string = "";
  /** With debugHeaders: the deciding reason, added to the response as x-jwt-authn-decision ("" otherwise). */
  private decision: string = "";
  /** With debugHeaders and policies: every policy's rules, matched or the first field that did not (x-jwt-authn-policies). */
  private explanation: string = "";
  private authority: string = "";
  private scheme: string = "";
  /** What the policies look at (method, headers they name); null when there are no policies. */
  private attrs: RequestAttrs | null = null;
  /** The header lines extraction read (token headers and `cookie`), for removing an ignored cookie token. */
  private readHeaders: RequestHeader[] = NO_HEADERS;
  /** Set by checkKeys when it paused the request. */
  private waiting: bool = false;

  constructor(context_id: u32, root: JwtRoot) {
    super(context_id, root);
    this.jwtRoot = root;
  }

  onRequestHeaders(_n: u32, _endOfStream: bool): FilterHeadersStatusValues {
    const cfg = this.jwtRoot.config;
    const extractor: Extractor | null = this.jwtRoot.extractor;
    if (cfg === null || extractor === null) {
      sendNotConfigured();
      return FilterHeadersStatusValues.StopIteration;
    }
    this.cfg = cfg;
    this.cache = this.jwtRoot.cache;
    this.keySets = this.jwtRoot.keySets;
    // One host call for the whole map (names arrive lower-cased); a forwarded-payload header is never a
    // token location, and a client must not forge it: Envoy removes it from every request first.
    const view = readRequestHeaders(extractor.headerNames, cfg.sanitizeHeaders, cfg.policyHeaders);
    if (!view.ok) {
      // Tokens or a forged payload header could hide in what was not read: refuse, never pass.
      log(LogLevelValues.error, "jwt_authn: the request header map could not be read whole; request refused");
      sendHeadersUnreadable();
      return FilterHeadersStatusValues.StopIteration;
    }
    this.path = view.path;
    this.method = view.method;
    this.authority = view.authority;
    this.scheme = view.scheme;
    if (cfg.policies.length > 0) {
      let a = this.ownAttrs;
      if (a === null) {
        a = new RequestAttrs();
        this.ownAttrs = a;
      }
      a.begin(view.method, view.path, view.authority, view.extra, cfg.xffNumTrustedHops, cfg.xffIndex, cfg.claimPaths);
      this.attrs = a;
    }
    if (view.sawSkipped) {
      for (let i = 0; i < cfg.sanitizeHeaders.length; i++) {
        stream_context.headers.request.remove(unchecked(cfg.sanitizeHeaders[i]));
      }
    }
    if (view.method == "OPTIONS" && view.hasOrigin && view.hasCorsMethod) {
      // A CORS preflight carries no credentials: Istio sets bypass_cors_preflight, so no token is looked
      // at, and the policies still run with no principal.
      const st = this.jwtRoot.stats;
      if (st !== null) st.corsPreflightBypassed.increment(1);
      return this.proceed(cfg);
    }
    // The view is reused by the next request; a cookie token ignored for its issuer needs the lines later.
    if (extractor.readsCookies) this.readHeaders = view.headers.slice();
    const found = extractor.extract(view.headers, this.path);
    const tokens = found.tokens;
    if (found.overflow) {
      this.fail(Status.JwtTooManyTokens, true);
      return FilterHeadersStatusValues.StopIteration;
    }
    if (tokens.length == 0) {
      // The common anonymous request: nothing to check, straight to the policies.
      return this.proceed(cfg);
    }
    // Filled by push only: growing `length` first would show the collector slots not yet written (or
    // pointers from an earlier request it no longer traces) while `new TokenCheck` runs a collection step.
    const checks = this.ownChecks;
    checks.length = 0;
    for (let i = 0; i < tokens.length; i++) checks.push(new TokenCheck(unchecked(tokens[i])));
    this.checks = checks;
    this.nowMs = nowMs();
    return this.proceed(cfg);
  }

  /**
   * Resumes after the attempt on `remote` this request waited for ended (or its timeout passed): the
   * key sets made this context effective before calling. With no usable set the candidate fails.
   */
  keysReady(remote: RemoteSet, ok: bool): void {
    const cfg = this.cfg;
    if (cfg === null || this.next >= this.checks.length) return;
    const t = unchecked(this.checks[this.next]);
    this.nowMs = nowMs();
    if (!ok) t.reject(Status.JwksFetchFail);
    if (this.proceed(cfg) == FilterHeadersStatusValues.Continue) continue_request();
  }

  onDelete(): void {
    this.deleted = true;
    this.jwtRoot.recycle(this);
  }

  /**
   * Forgets the request (every per-request field back to its start) and makes this object the stream
   * of context `contextId`; a waiter of the old request no longer matches it (generation).
   */
  reuse(contextId: u32): void {
    this.context_id = contextId;
    this.generation++;
    this.deleted = false;
    this.cfg = null;
    this.cache = NO_CACHE;
    this.keySets = null;
    this.checks = NO_CHECKS;
    this.ownChecks.length = 0;
    this.next = 0;
    this.nowMs = 0;
    this.path = "";
    this.method = "";
    this.decision = "";
    this.explanation = "";
    this.authority = "";
    this.scheme = "";
    this.attrs = null;
    const a = this.ownAttrs;
    if (a !== null) a.release();
    this.readHeaders = NO_HEADERS;
    this.waiting = false;
  }

  private fail(s: Status, tokenPresent: bool): void {
    const stats = this.jwtRoot.stats;
    if (stats !== null) stats.deny(s);
    // The issuer the failing token claims (unverified), "-" when there is none or no token was parsed.
    let issuer = "";
    if (this.next < this.checks.length) {
      const jwt = unchecked(this.checks[this.next]).jwt;
      if (jwt.hasIss) issuer = jwt.iss;
    }
    log(LogLevelValues.info, "jwt_authn: denied status=\"" + statusString(s) + "\" issuer=" + debugWord(issuer) + ": " + requestLogLine(this.method, this.path));
    const cfg = this.cfg;
    let decision = "";
    if (cfg !== null && cfg.debugHeaders) {
      decision = "authn-failed status=\"" + statusString(s) + "\" issuer=" + debugWord(issuer);
    }
    sendAuthnFailure(s, realmFor(this.scheme, this.authority, this.path), tokenPresent, decision);
  }

  /** `principal=iss/sub issuer=<accepting rule's issuer>` for a debug decision header. */
  private principalWords(): string {
    const first = this.verifiedToken();
    let out = " principal=" + (first !== null ? debugWord(first.jwt.iss) + "/" + debugWord(first.jwt.sub) : "-");
    if (first !== null) {
      const rule = first.accepted;
      if (rule !== null) out += " issuer=" + debugWord(rule.issuer);
    }
    return out;
  }

  /** The debug decision of a policy verdict (`v` null: the configuration has no policies). */
  private verdictDecision(v: Verdict | null): string {
    if (v === null) return "allow no-policies" + this.principalWords();
    if (v.allowed) {
      if (v.policy.length == 0) return "allow no-deny-matched" + this.principalWords();
      return "allow policy=" + debugWord(v.policy) + " rule=" + v.rule.toString() + this.principalWords();
    }
    if (v.rule < 0) return "deny-no-allow-matched" + this.principalWords();
    return "deny policy=" + debugWord(v.policy) + " rule=" + v.rule.toString() + this.principalWords();
  }

  onResponseHeaders(_n: u32, _endOfStream: bool): FilterHeadersStatusValues {
    if (this.decision.length > 0) stream_context.headers.response.add(DECISION_HEADER, this.decision);
    if (this.explanation.length > 0) stream_context.headers.response.add(EXPLAIN_HEADER, this.explanation);
    return FilterHeadersStatusValues.Continue;
  }

  /** Pauses on a set; false when this VM already holds the most paused requests it may. */
  private pauseOn(ks: KeySets, rs: RemoteSet): bool {
    if (!ks.pause(rs, new StreamWaiter(this, rs), this.nowMs)) return false;
    this.jwtRoot.updateTick();
    return true;
  }

  /**
   * One candidate's keys and signature: inline keys, or the rule's shared set (waiting while it is
   * fetched, or refetched once for an unknown kid). Returns Ok or a failure; `Status.Ok` with
   * `this.waiting` set means the request is paused and resumes at the same candidate.
   */
  private checkKeys(t: TokenCheck, rule: JwtRule): Status {
    const local = rule.localJwks;
    if (local !== null) return verifyWithKeys(t, local, this.cache);
    const ks = this.keySets;
    if (ks === null) return Status.JwksFetchFail;
    for (let round = 0; round < 3; round++) {
      const rs = ks.jwksSetFor(rule);
      if (rs === null) return Status.JwksFetchFail;
      const jwks: Jwks | null = rs.kind == DocKind.Jwks ? rs.current(this.nowMs) : null;
      if (jwks === null) {
        const need = ks.acquire(rs, this.nowMs);
        if (need == Need.Ready) continue;
        if (need == Need.Wait && this.pauseOn(ks, rs)) {
          this.waiting = true;
          return Status.Ok;
        }
        return Status.JwksFetchFail;
      }
      const stats = this.jwtRoot.stats;
      if (stats !== null && rs.stale(this.nowMs)) stats.jwksStaleServed.increment(1);
      const s = verifyWithKeys(t, jwks, this.cache);
      if (s != Status.JwksKidAlgMismatch || t.refetched) return s;
      // A kid the set does not know: one refetch (single-flight, rate-limited), then the answer stands.
      t.refetched = true;
      const need = ks.kidMiss(rs, rs.version, this.nowMs);
      if (need == Need.Ready) continue;
      if (need == Need.Wait && this.pauseOn(ks, rs)) {
        this.waiting = true;
        return Status.Ok;
      }
      return s;
    }
    return Status.JwksFetchFail;
  }

  /**
   * Checks the remaining tokens; every token present must be valid (Envoy: "all of them must be valid"),
   * each under one of its candidate rules. Pauses (StopIteration) while a key set is fetched.
   */
  private proceed(cfg: Config): FilterHeadersStatusValues {
    const stats = this.jwtRoot.stats;
    while (this.next < this.checks.length) {
      const t = unchecked(this.checks[this.next]);
      if (!t.begun) {
        const s = beginToken(t, this.cache, cfg);
        if (stats !== null && t.cacheKey !== null) (t.entry !== null ? stats.jwtCacheHit : stats.jwtCacheMiss).increment(1);
        if (s != Status.Ok) {
          this.fail(s, true);
          return FilterHeadersStatusValues.StopIteration;
        }
      }
      if (t.ignored) {
        // ignoreUnknownIssuers: absent for authentication; applySuccess removes it from the request.
        this.next++;
        continue;
      }
      while (t.accepted === null && t.next < t.candidates.length) {
        const rule = unchecked(t.candidates[t.next]);
        let s = checkRuleClaims(rule, t.jwt, this.nowMs / 1000);
        if (s == Status.Ok) {
          s = this.checkKeys(t, rule);
          if (this.waiting) {
            this.waiting = false;
            return FilterHeadersStatusValues.StopIteration;
          }
        }
        if (s == Status.Ok) t.accepted = rule;
        else t.reject(s);
      }
      if (t.accepted === null) {
        // A cached parse that no candidate accepts any more (its key rotated out) is forgotten.
        const e = t.entry;
        if (e !== null) this.cache.drop(e);
        this.fail(t.failure, true);
        return FilterHeadersStatusValues.StopIteration;
      }
      this.next++;
    }
    this.applySuccess();
    if (stats !== null && this.checks.length > 0) stats.allowed.increment(1);
    const attrs = this.attrs;
    if (attrs === null) {
      if (cfg.debugHeaders) this.decision = this.verdictDecision(null);
      return FilterHeadersStatusValues.Continue;
    }
    const first = this.verifiedToken();
    attrs.jwt = first !== null ? first.jwt : null;
    attrs.rule = first !== null ? first.accepted : null;
    const verdict = evaluatePolicies(cfg, attrs, stats);
    // Envoy keeps it as filter state `wasm.jwt_authn_decision`: an access log prints it with
    // %FILTER_STATE(wasm.jwt_authn_decision:PLAIN)%, as our host's access log does.
    const tag = verdict.tag;
    proxy_set_property(changetype<usize>(DECISION_STATE), DECISION_STATE.byteLength, changetype<usize>(tag), tag.byteLength);
    // A local reply carries it itself (its headers pass onResponseHeaders too, so the field stays empty).
    const explanation = cfg.debugHeaders ? explainPolicies(cfg, attrs) : "";
    if (!verdict.allowed) {
      if (stats !== null) stats.rbacDenied.increment(1);
      log(LogLevelValues.info, "rbac: denied by policy " + verdict.policy + " rule " +
        (verdict.rule < 0 ? "-" : verdict.rule.toString()) + ": " + requestLine(attrs));
      const decision = cfg.debugHeaders ? this.verdictDecision(verdict) : "";
      if (cfg.denyWithAuthenticate && first === null) {
        // Beyond Istio: a request that brought no valid token is told to authenticate (401), not forbidden.
        sendAuthnFailure(Status.JwtMissed, realmFor(this.scheme, this.authority, this.path), false, decision, explanation);
      } else sendRbacDenied(verdict.policy, decision, explanation);
      return FilterHeadersStatusValues.StopIteration;
    }
    if (cfg.debugHeaders) this.decision = this.verdictDecision(verdict);
    this.explanation = explanation;
    if (stats !== null && cfg.policies.length > 0) stats.rbacAllowed.increment(1);
    return FilterHeadersStatusValues.Continue;
  }

  /** The first verified token (the principal's) and the rule that accepted it, never an ignored one; null without one. */
  private verifiedToken(): TokenCheck | null {
    for (let i = 0; i < this.checks.length; i++) {
      const t = unchecked(this.checks[i]);
      if (t.accepted !== null) return t;
    }
    return null;
  }

  /**
   * Removes a token's header from the request, and from what the policies see: Envoy's RBAC filter runs
   * after jwt_authn removed it, so a `request.headers[<name>]` condition finds it absent.
   */
  private removeTokenHeader(loc: Location): void {
    removeRequestHeader(loc.nameBytes);
    const attrs = this.attrs;
    const i = loc.policyHeaderIndex;
    if (attrs !== null && i >= 0 && i < attrs.headers.length) unchecked(attrs.headers[i] = null);
  }

  /**
   * Envoy's handleGoodJwt for every verified token, with the rule that accepted it: payload header, claim
   * headers, then token removal. A token ignored for its unknown issuer is removed wherever it was, cookies
   * included, whatever forwardOriginalToken says: the backend never receives an unverified token.
   */
  private applySuccess(): void {
    let path = this.path;
    let pathChanged = false;
    let ignoredCookies: string[] | null = null;
    for (let i = 0; i < this.checks.length; i++) {
      const t = unchecked(this.checks[i]);
      if (t.ignored) {
        const loc = t.found.location;
        if (loc.kind == LocationKind.Header) this.removeTokenHeader(loc);
        else if (loc.kind == LocationKind.Param) {
          path = removeQueryParam(path, loc.name);
          pathChanged = true;
        } else {
          if (ignoredCookies === null) ignoredCookies = [];
          ignoredCookies.push(loc.name);
        }
        continue;
      }
      const rule = t.accepted;
      if (rule === null) continue;
      const jwt = t.jwt;
      if (rule.outputPayloadToHeader.length > 0) {
        stream_context.headers.request.add(rule.outputPayloadToHeader, jwt.payloadB64);
      }
      // Envoy's addJWTClaimToHeader: headers_->addCopy (the client's copies were removed before extraction).
      for (let j = 0; j < rule.claimHeaders.length; j++) {
        const ch = unchecked(rule.claimHeaders[j]);
        const v = findClaim(jwt.payload, ch.path);
        if (v === null) continue;
        const value = claimHeaderValue(v, ch.format);
        if (value.length > 0) stream_context.headers.request.add(ch.header, value);
      }
      if (!rule.forwardOriginalToken) {
        const loc = t.found.location;
        if (loc.kind == LocationKind.Header) this.removeTokenHeader(loc);
        else if (loc.kind == LocationKind.Param) {
          path = removeQueryParam(path, loc.name);
          pathChanged = true;
        }
        // A cookie token is never removed (as Envoy).
      }
    }
    if (pathChanged) stream_context.headers.request.replace(":path", path);
    if (ignoredCookies !== null) removeCookiesEverywhere(ignoredCookies, this.readHeaders);
  }
}

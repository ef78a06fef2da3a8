// Owns one HTTP request: it reads the headers once, extracts the tokens, checks each (pausing while a
// key set is fetched), applies the success actions (payload header, token removal), then the
// authorization verdict. Per-request state lives here; everything configured lives in the root.
import {
  Context, FilterHeadersStatusValues, stream_context, continue_request,
} from "@solo-io/proxy-runtime/assembly";
import { readRequestHeaders } from "./headers";
import { Status } from "../status";
import { Config, JwtRule } from "../config/config";
import { FoundToken, LocationKind, removeQueryParam } from "../authn/extractor";
import { precheckToken, checkClaims, TokenCheck } from "../authn/authenticator";
import { verifyJwtSignatureWithKey, KeyMatch } from "../jwks/verify";
import { CacheEntry, tokenDigest, MAX_CACHED_TOKEN_BYTES } from "../authn/cache";
import { Jwks } from "../jwks/jwks";
import { KeyWaiter } from "../jwks/remote";
import { Principal } from "../authz/principal";
import { evaluatePolicies } from "../authz/policy";
import { realmFor, sendAuthnFailure, sendRbacDenied, sendNotConfigured } from "./reply";
import { nowSeconds } from "./clock";
import { JwtRoot } from "./root";

// Never mutated: fields are replaced, not written into.
const NO_TOKENS: FoundToken[] = [];
const NO_CHECKS: Array<TokenCheck | null> = [];
const NO_ENTRIES: Array<CacheEntry | null> = [];
const NO_DIGESTS: Array<string | null> = [];
const NO_PRINCIPAL: Principal = new Principal();

class StreamWaiter extends KeyWaiter {
  constructor(public stream: JwtStream) {
    super();
  }
  contextId(): u32 {
    return this.stream.context_id;
  }
  isAlive(): bool {
    return !this.stream.deleted;
  }
  keysReady(ok: bool): void {
    this.stream.keysReady(ok);
  }
}

export class JwtStream extends Context {
  deleted: bool = false;
  private jwtRoot: JwtRoot;
  // Shared empty values until a request carries a token: an anonymous request allocates none of them.
  private tokens: FoundToken[] = NO_TOKENS;
  private checks: Array<TokenCheck | null> = NO_CHECKS;
  /** Per token: its verified-token cache entry (a hit) and its cache key. */
  private cached: Array<CacheEntry | null> = NO_ENTRIES;
  private digests: Array<string | null> = NO_DIGESTS;
  private next: i32 = 0;
  private nowS: f64 = 0;
  private path: string = "";
  private authority: string = "";
  private scheme: string = "";
  private principal: Principal = NO_PRINCIPAL;

  constructor(context_id: u32, root: JwtRoot) {
    super(context_id, root);
    this.jwtRoot = root;
  }

  onRequestHeaders(_n: u32, _endOfStream: bool): FilterHeadersStatusValues {
    const cfg = this.jwtRoot.config;
    const extractor = this.jwtRoot.extractor;
    if (cfg === null || extractor === null) {
      sendNotConfigured();
      return FilterHeadersStatusValues.StopIteration;
    }
    // One host call for the whole map (names arrive lower-cased); a forwarded-payload header is never a
    // token location, and a client must not forge it: Envoy removes it from every request first.
    const view = readRequestHeaders(extractor.headerNames, cfg.sanitizeHeaders);
    this.path = view.path;
    this.authority = view.authority;
    this.scheme = view.scheme;
    if (view.sawSkipped) {
      for (let i = 0; i < cfg.sanitizeHeaders.length; i++) {
        stream_context.headers.request.remove(unchecked(cfg.sanitizeHeaders[i]));
      }
    }
    this.tokens = extractor.extract(view.headers, this.path);
    if (this.tokens.length == 0) {
      // The common anonymous request: nothing to check, straight to the policies.
      this.nowS = 0;
      return this.proceed(cfg);
    }
    this.checks = new Array<TokenCheck | null>(this.tokens.length);
    this.cached = new Array<CacheEntry | null>(this.tokens.length);
    this.digests = new Array<string | null>(this.tokens.length);
    this.nowS = nowSeconds();
    return this.proceed(cfg);
  }

  /** Resumes after a fetch: the root made this context effective before calling. */
  keysReady(ok: bool): void {
    const cfg = this.jwtRoot.config;
    if (cfg === null) return;
    if (!ok) {
      this.fail(Status.JwksFetchFail);
      return;
    }
    if (this.proceed(cfg) == FilterHeadersStatusValues.Continue) continue_request();
  }

  onDelete(): void {
    this.deleted = true;
  }

  private fail(s: Status): void {
    const stats = this.jwtRoot.stats;
    if (stats !== null) stats.denied.increment(1);
    sendAuthnFailure(s, realmFor(this.scheme, this.authority, this.path), this.tokens.length > 0);
  }

  private keysFor(rule: JwtRule): Jwks | null {
    const local = rule.localJwks;
    if (local !== null) return local;
    if (rule.index < 0 || rule.index >= this.jwtRoot.remotes.length) return null;
    const rj = unchecked(this.jwtRoot.remotes[rule.index]);
    if (rj === null) return null;
    return rj.fresh(this.nowS);
  }

  /** Checks the remaining tokens; every token present must be valid (Envoy: "all of them must be valid"). */
  private proceed(cfg: Config): FilterHeadersStatusValues {
    while (this.next < this.tokens.length) {
      const i = this.next;
      let check = unchecked(this.checks[i]);
      if (check === null) {
        const found = unchecked(this.tokens[i]);
        const cache = this.jwtRoot.cache;
        let entry: CacheEntry | null = null;
        if (cache.enabled && found.token.length <= MAX_CACHED_TOKEN_BYTES) {
          const digest = tokenDigest(found.token);
          this.digests[i] = digest;
          entry = cache.get(digest);
          const stats = this.jwtRoot.stats;
          if (stats !== null) (entry !== null ? stats.jwtCacheHit : stats.jwtCacheMiss).increment(1);
        }
        if (entry !== null) {
          // A repeat token: no parsing, no signature, but the issuer, time and audience checks run.
          const c = new TokenCheck();
          c.jwt = entry.jwt;
          check = checkClaims(cfg, found, c, this.nowS);
          this.cached[i] = entry;
        } else {
          check = precheckToken(cfg, found, this.nowS);
        }
        this.checks[i] = check;
        if (check.status != Status.Ok) {
          this.fail(check.status);
          return FilterHeadersStatusValues.StopIteration;
        }
      }
      const rule = check.rule;
      if (rule === null) {
        this.fail(Status.JwtUnknownIssuer);
        return FilterHeadersStatusValues.StopIteration;
      }
      const jwks = this.keysFor(rule);
      if (jwks === null) {
        const rj = unchecked(this.jwtRoot.remotes[rule.index]);
        if (rj === null || !this.jwtRoot.waitForKeys(rj, new StreamWaiter(this))) {
          this.fail(Status.JwksFetchFail);
        }
        return FilterHeadersStatusValues.StopIteration;
      }
      if (jwks.status != Status.Ok) {
        this.fail(Status.JwksNoValidKeys);
        return FilterHeadersStatusValues.StopIteration;
      }
      const entry = unchecked(this.cached[i]);
      if (entry !== null && jwks.hasFingerprint(entry.keyFingerprint)) {
        this.next = i + 1;
        continue;
      }
      if (entry !== null) this.jwtRoot.cache.drop(entry); // its key left the set (rotation)
      const match = new KeyMatch();
      const s = verifyJwtSignatureWithKey(check.jwt, jwks, match);
      if (s != Status.Ok) {
        this.fail(s);
        return FilterHeadersStatusValues.StopIteration;
      }
      const key = match.key;
      const digest = unchecked(this.digests[i]);
      if (key !== null && digest !== null && digest.length > 0) this.jwtRoot.cache.put(digest, check.jwt, key.fingerprint);
      this.next = i + 1;
    }
    this.applySuccess();
    const stats = this.jwtRoot.stats;
    if (stats !== null && this.tokens.length > 0) stats.allowed.increment(1);
    const verdict = evaluatePolicies(cfg, this.principal);
    if (!verdict.allowed) {
      if (stats !== null) stats.rbacDenied.increment(1);
      sendRbacDenied(verdict.policy);
      return FilterHeadersStatusValues.StopIteration;
    }
    if (stats !== null && cfg.policies.length > 0) stats.rbacAllowed.increment(1);
    return FilterHeadersStatusValues.Continue;
  }

  /** Envoy's handleGoodJwt for every verified token: payload header, then token removal. */
  private applySuccess(): void {
    let path = this.path;
    let pathChanged = false;
    for (let i = 0; i < this.tokens.length; i++) {
      const check = unchecked(this.checks[i]);
      if (check === null) continue;
      const rule = check.rule;
      if (rule === null) continue;
      const jwt = check.jwt;
      if (!this.principal.has) {
        const p = new Principal();
        p.has = true;
        p.iss = jwt.iss;
        p.hasIss = jwt.hasIss;
        p.sub = jwt.sub;
        p.hasSub = jwt.hasSub;
        this.principal = p;
      }
      if (rule.outputPayloadToHeader.length > 0) {
        stream_context.headers.request.add(rule.outputPayloadToHeader, jwt.payloadB64);
      }
      if (!rule.forwardOriginalToken) {
        const loc = unchecked(this.tokens[i]).location;
        if (loc.kind == LocationKind.Header) stream_context.headers.request.remove(loc.name);
        else if (loc.kind == LocationKind.Param) {
          path = removeQueryParam(path, loc.name);
          pathChanged = true;
        }
        // A cookie token is never removed (as Envoy).
      }
    }
    if (pathChanged) stream_context.headers.request.replace(":path", path);
  }
}


// Owns the per-token checks that need no keys, in Envoy's order (authenticator.cc startVerify):
// parse → issuer allowed for the location and configured → time (60 s skew) → audiences.
// The key lookup and the signature check follow in the stream, since they may wait for a fetch.
import { Status } from "../status";
import { Config, JwtRule } from "../config/config";
import { Jwt, parseJwt } from "../jwt/jwt";
import { checkTime, areAudiencesAllowed, DEFAULT_CLOCK_SKEW_S } from "../jwt/claims";
import { FoundToken } from "./extractor";

export class TokenCheck {
  status: Status = Status.Ok;
  jwt: Jwt = new Jwt();
  rule: JwtRule | null = null;
}

/** The first rule whose issuer is the token's and that this location serves (Envoy's findByIssuer). */
function ruleFor(cfg: Config, found: FoundToken, iss: string): JwtRule | null {
  if (!found.location.allows(iss)) return null;
  for (let i = 0; i < cfg.rules.length; i++) {
    const r = unchecked(cfg.rules[i]);
    if (r.issuer == iss) return r;
  }
  return null;
}

export function precheckToken(cfg: Config, found: FoundToken, nowS: f64): TokenCheck {
  const out = new TokenCheck();
  const s = parseJwt(found.token, out.jwt);
  if (s != Status.Ok) {
    out.status = s;
    return out;
  }
  return checkClaims(cfg, found, out, nowS);
}

/** The checks after parsing, also run on a verified-token cache hit (with the cached parsed token). */
export function checkClaims(cfg: Config, found: FoundToken, out: TokenCheck, nowS: f64): TokenCheck {
  const jwt = out.jwt;
  const rule = jwt.hasIss ? ruleFor(cfg, found, jwt.iss) : null;
  if (rule === null) {
    out.status = Status.JwtUnknownIssuer;
    return out;
  }
  out.rule = rule;
  const t = checkTime(jwt, nowS, DEFAULT_CLOCK_SKEW_S);
  if (t != Status.Ok) {
    out.status = t;
    return out;
  }
  if (!areAudiencesAllowed(jwt, rule.audiences)) {
    out.status = Status.JwtAudienceNotAllowed;
    return out;
  }
  return out;
}

// Owns how an Istio `requestPrincipals` value becomes matchers (pilot's requestPrincipalGenerator):
// split at the LAST '/', `*` alone is iss present AND sub present, `*x`/`x*` are suffix/prefix forms.
import { MatchKind, StringMatch, PrincipalMatch } from "../config/config";
import { Jwt } from "../jwt/jwt";

function present(): StringMatch {
  return new StringMatch(MatchKind.Present, "");
}

/** Istio's StringMatcher for one side: `*` present, `*x` suffix, `x*` prefix, else exact. */
function stringMatch(v: string): StringMatch {
  if (v == "*") return present();
  if (v.startsWith("*")) return new StringMatch(MatchKind.Suffix, v.substring(1));
  if (v.endsWith("*")) return new StringMatch(MatchKind.Prefix, v.substring(0, v.length - 1));
  return new StringMatch(MatchKind.Exact, v);
}

export function compilePrincipal(value: string): PrincipalMatch {
  if (value == "*") return new PrincipalMatch(present(), present());
  const idx = value.lastIndexOf("/");
  const found = idx >= 0;
  const iss = found ? value.substring(0, idx) : value;
  const sub = found ? value.substring(idx + 1) : "";
  if (value.startsWith("*")) {
    if (found) {
      // `*/sub` or `*suffix/sub`: iss present or suffix, sub exact.
      return new PrincipalMatch(stringMatch(iss), new StringMatch(MatchKind.Exact, sub));
    }
    // `*suffix` with no '/': the suffix applies to sub, iss must be present.
    return new PrincipalMatch(present(), new StringMatch(MatchKind.Suffix, value.substring(1)));
  }
  if (value.endsWith("*")) {
    if (found) {
      // `iss/*` or `iss/subprefix*`.
      return new PrincipalMatch(new StringMatch(MatchKind.Exact, iss), stringMatch(sub));
    }
    // `prefix*` with no '/': the prefix applies to iss, sub must be present.
    return new PrincipalMatch(new StringMatch(MatchKind.Prefix, value.substring(0, value.length - 1)), present());
  }
  return new PrincipalMatch(new StringMatch(MatchKind.Exact, iss), new StringMatch(MatchKind.Exact, sub));
}

/**
 * Whether the request's principal, the `iss`/`sub` of its first verified token (`p`; null when no valid
 * token was presented), matches any value. `allowMissingSub` (beyond Istio): a `*` sub side also matches
 * a token without `sub` (or with an empty one).
 */
export function matchesAnyPrincipal(list: PrincipalMatch[], p: Jwt | null, allowMissingSub: bool): bool {
  if (p === null) return false;
  const noSub = !p.hasSub || p.sub.length == 0;
  for (let i = 0; i < list.length; i++) {
    const m = unchecked(list[i]);
    if (!m.iss.matches(p.iss, p.hasIss)) continue;
    if (m.sub.matches(p.sub, p.hasSub)) return true;
    if (allowMissingSub && noSub && m.sub.kind == MatchKind.Present) return true;
  }
  return false;
}

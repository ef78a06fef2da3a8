// Owns reading the filter's explanation of a verdict for `check`: the `x-jwt-authn-policies` response
// header (written by assembly/authz/explain.ts when the configuration sets debugHeaders) becomes, per
// policy and rule, "matched" or the first field that did not match, as the AuthorizationPolicy names it.

export interface RuleExplanation {
  rule: number;
  matched: boolean;
  /** The first field that did not match, e.g. `to[0].operation.paths` ("" when matched). */
  why: string;
}

export interface PolicyExplanation {
  name: string;
  /** ALLOW, DENY or AUDIT, with `(dry-run)` for a dry-run policy. */
  action: string;
  rules: RuleExplanation[];
}

/** `p1 DENY: rule0 to[0].operation.paths, rule1 matched; p2 ALLOW: no rules` -> one entry per policy. */
export function parseExplanation(header: string): PolicyExplanation[] {
  const out: PolicyExplanation[] = [];
  if (header.trim() === "") return out;
  for (const part of header.split("; ")) {
    const m = /^(\S+) (\S+):(.*)$/.exec(part);
    if (m === null) continue;
    const rules: RuleExplanation[] = [];
    const body = m[3].trim();
    if (body !== "no rules") {
      for (const r of body.split(", ")) {
        const rm = /^rule(\d+) (.+)$/.exec(r.trim());
        if (rm === null) continue;
        const matched = rm[2] === "matched";
        rules.push({ rule: Number(rm[1]), matched, why: matched ? "" : rm[2] });
      }
    }
    out.push({ name: m[1], action: m[2], rules });
  }
  return out;
}

/** Lines for `check`'s text output: each policy, then each rule, matched or why not. */
export function formatExplanation(policies: PolicyExplanation[]): string[] {
  if (policies.length === 0) return [];
  const lines = ["policies:  (every rule: matched, or the first field that did not match)"];
  for (const p of policies) {
    lines.push(`  ${p.name} (${p.action})${p.rules.length === 0 ? ": no rules (matches nothing)" : ""}`);
    for (const r of p.rules) lines.push(`    rule ${r.rule}: ${r.matched ? "matched" : `not matched: ${r.why}`}`);
  }
  return lines;
}

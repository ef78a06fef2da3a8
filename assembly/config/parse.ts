// Owns reading the plugin configuration JSON into a compiled Config. Every mistake is reported once,
// as "<json path>: <problem>" (e.g. `jwtRules[0].issuer: required`); nothing here can trap, and
// nothing about the configuration is discovered later, on a request. Rules and policies are read by
// config/rules.ts and config/policies.ts with the primitives of config/reader.ts.
import { JsonKind, parseJson, lastJsonErrorMessage, lastJsonErrorOffset, JsonLimits } from "../util/json";
import { Config, PolicyAction } from "./config";
import { Reader } from "./reader";
import { readRule, finishRules } from "./rules";
import { readPolicy } from "./policies";

export class ConfigResult {
  config: Config | null = null;
  error: string = "";
  /** Non-fatal findings (e.g. an inline JWKS without a usable key, which Envoy also only warns about). */
  warnings: string[] = [];
}

const MAX_CONFIG_BYTES: i32 = 1 << 20;

/** Parses and compiles the plugin configuration (bytes of buffer 7). */
export function parseConfig(data: usize, len: i32): ConfigResult {
  const res = new ConfigResult();
  const r = new Reader();
  if (len <= 0) {
    res.error = "configuration: required (a JSON object with jwtRules and policies)";
    return res;
  }
  if (len > MAX_CONFIG_BYTES) {
    res.error = "configuration: larger than 1 MiB";
    return res;
  }
  const limits = new JsonLimits();
  limits.maxBytes = MAX_CONFIG_BYTES;
  const doc = parseJson(data, len, limits);
  if (doc === null) {
    res.error = "configuration: invalid JSON at byte " + lastJsonErrorOffset().toString() + ": " + lastJsonErrorMessage();
    return res;
  }
  if (doc.kind != JsonKind.Object) {
    res.error = "configuration: must be a JSON object";
    return res;
  }
  r.onlyKnown(doc, "", ["jwtRules", "policies", "tokenCache", "maxPausedRequests", "denyWithAuthenticate", "xffNumTrustedHops", "ignoreUnknownIssuers", "debugHeaders"], []);
  const cfg = new Config();
  cfg.denyWithAuthenticate = r.bool_(doc, "denyWithAuthenticate", "");
  cfg.debugHeaders = r.bool_(doc, "debugHeaders", "");
  cfg.xffNumTrustedHops = r.int(doc, "xffNumTrustedHops", "", 0, 0, 64);
  cfg.maxPausedRequests = r.int(doc, "maxPausedRequests", "", cfg.maxPausedRequests, 0, 1000000);
  const tc = r.obj(doc.get("tokenCache"), "tokenCache");
  if (tc !== null) {
    r.onlyKnown(tc, "tokenCache", ["maxEntries", "maxBytes"], []);
    cfg.cacheEntries = r.int(tc, "maxEntries", "tokenCache.", cfg.cacheEntries, 0, 1000000);
    cfg.cacheBytes = r.int(tc, "maxBytes", "tokenCache.", cfg.cacheBytes, 0, 1 << 30);
  }
  const rules = r.list(doc, "jwtRules", "");
  if (rules !== null) {
    for (let i = 0; i < rules.length && r.ok; i++) {
      const rule = readRule(r, unchecked(rules[i]), i);
      if (rule !== null) {
        cfg.rules.push(rule);
        if (rule.outputPayloadToHeader.length > 0 && !cfg.sanitizeHeaders.includes(rule.outputPayloadToHeader)) {
          cfg.sanitizeHeaders.push(rule.outputPayloadToHeader);
        }
      }
    }
  }
  finishRules(r, cfg);
  cfg.ignoreUnknownIssuers = r.bool_(doc, "ignoreUnknownIssuers", "");
  const policies = r.list(doc, "policies", "");
  if (policies !== null) {
    for (let i = 0; i < policies.length && r.ok; i++) {
      const pol = readPolicy(r, unchecked(policies[i]), i, cfg);
      if (pol !== null) {
        cfg.policies.push(pol);
        if (pol.action == PolicyAction.Allow && !pol.dryRun) cfg.hasAllow = true;
        if (pol.action == PolicyAction.Audit || pol.dryRun) cfg.hasShadow = true;
      }
    }
  }
  res.warnings = r.warnings;
  if (!r.ok) {
    res.error = r.error;
    return res;
  }
  res.config = cfg;
  return res;
}

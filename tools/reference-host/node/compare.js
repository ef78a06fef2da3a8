// Runs the harness's scenarios through our Node host (host/, as compiled by `tsc` into build/js) and
// prints CHECK lines comparable with the harness's, so docs/conformance.md can put both side by side.
//
//   node tools/reference-host/node/compare.js <scenario|all> [module.wasm]
//   env: HOST_JS   compiled host entry (default <repo>/build/js/host/index.js)
//        SAMPLES   folder with jwks.json and demo.jwt (default <repo>/../shared/vectors/istio/samples)
//        NODE_PATH <repo>/node_modules when HOST_JS is a copy outside the repo
//
// Scenarios: metrics, multi-vm, tick, properties, trap, shared (reconfigure has no Node equivalent:
// serve() configures each VM once). Not part of npm test.
"use strict";
const fs = require("fs");
const http = require("http");
const path = require("path");

const REPO = path.resolve(__dirname, "..", "..", "..");
const HOST_JS = process.env.HOST_JS || path.join(REPO, "build", "js", "host", "index.js");
const { serve } = require(HOST_JS);
const SAMPLES = process.env.SAMPLES || path.join(REPO, "..", "shared", "vectors", "istio", "samples");
const JWKS = fs.readFileSync(path.join(SAMPLES, "jwks.json"), "utf8").trim();
const TOKEN = fs.readFileSync(path.join(SAMPLES, "demo.jwt"), "utf8").trim();
const BEARER = "Bearer " + TOKEN;
const WASM = process.argv[3] || path.join(REPO, "build", "jwt_authn.wasm");

const REQUIRE_JWT = { name: "require-jwt", action: "ALLOW", rules: [{ from: [{ source: { requestPrincipals: ["testing@secure.istio.io/testing@secure.istio.io"] } }] }] };
const inlineRule = { issuer: "testing@secure.istio.io", jwks: JWKS };
const remoteRule = { issuer: "testing@secure.istio.io", jwksUri: "http://jwks.local/jwks.json", jwksCluster: "jwks" };

const check = (name, value) => console.log(`  CHECK ${name}: ${value}`);

function listen(handler) {
  return new Promise((resolve) => {
    const s = http.createServer(handler);
    s.listen(0, "127.0.0.1", () => resolve({ server: s, url: `http://127.0.0.1:${s.address().port}` }));
  });
}
const backend = () => listen((req, res) => res.end("Hello World! " + req.url));
function jwksServer() {
  const st = { hits: 0 };
  return listen((req, res) => {
    st.hits++;
    res.setHeader("content-type", "application/json");
    res.end(JWKS);
  }).then((s) => Object.assign(s, { st }));
}

/** One request on a new connection (the host spreads connections over its workers round-robin). */
function get(url, auth, extra = {}) {
  return new Promise((resolve, reject) => {
    const headers = { ...extra };
    if (auth) headers.authorization = auth;
    const req = http.request(url + "/headers", { headers, agent: false }, (res) => {
      let body = "";
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode, body }));
    });
    req.on("error", reject);
    req.end();
  });
}
const verdict = (r) => (r.status === 200 ? "CONTINUE to upstream (200 from upstream)" : `LOCAL REPLY ${r.status} "${r.body}"`);

async function gateway(config, extra = {}) {
  const logs = [];
  const gw = await serve({ wasm: WASM, configuration: JSON.stringify(config), upstream: extra.upstream, port: 0, logLevel: "info", log: (l) => logs.push(l), ...extra });
  return { gw, logs };
}
function dumpStats(gw) {
  console.log("\n-- metrics (Node host gw.stats())");
  for (const s of gw.stats()) console.log(`  STAT ${s.type} ${s.name} = ${s.value}`);
}

async function pump(gw, p, stepMs = 100, maxSteps = 120) {
  let done = false;
  p.then(() => (done = true), () => (done = true));
  let t = 0;
  for (let i = 0; i < maxSteps && !done; i++) {
    await new Promise((r) => setTimeout(r, 5));
    if (!done) {
      await gw.advance(stepMs);
      t += stepMs;
    }
  }
  return { r: await p, t };
}

const scenarios = {
  async metrics() {
    const be = await backend();
    const { gw } = await gateway({ jwtRules: [inlineRule], policies: [REQUIRE_JWT] }, { upstream: be.url, workers: 2 });
    for (const [n, a] of [["no token", ""], ["demo.jwt", BEARER], ["garbage token", "Bearer abc.def.ghi"], ["demo.jwt", BEARER], ["demo.jwt again (token cache)", BEARER], ["expired-looking junk", "Bearer eyJhbGciOiJSUzI1NiJ9.e30.AAAA"]])
      check(`request ${n}`, verdict(await get(gw.url, a)));
    dumpStats(gw);
    await gw.close();
    be.server.close();
  },
  async "multi-vm"() {
    const be = await backend();
    const js = await jwksServer();
    const { gw } = await gateway({ jwtRules: [remoteRule], policies: [REQUIRE_JWT] }, { upstream: be.url, workers: 4, clusters: { jwks: js.url }, manualClock: true });
    // Hold the JWKS answer: count the fetches started by on_configure before any answer.
    await gw.settle();
    check("fetches started by the VMs' on_configure (answered at once by the JWKS server)", js.st.hits);
    const ps = [1, 2, 3].map(() => get(gw.url, BEARER));
    const rs = [];
    for (const p of ps) rs.push(await pump(gw, p));
    rs.forEach((x, i) => check(`request ${i + 1} (worker ${i + 1} of 4, round-robin)`, verdict(x.r) + ` (after ${x.t} ms of virtual time)`));
    for (let i = 0; i < 4; i++) check(`again, connection ${i + 1}`, verdict(await get(gw.url, BEARER)));
    check("total fetches (all VMs)", js.st.hits);
    dumpStats(gw);
    await gw.close();
    be.server.close();
    js.server.close();
  },
  async tick() {
    const be = await backend();
    const js = await jwksServer();
    const { gw } = await gateway({ jwtRules: [remoteRule], policies: [REQUIRE_JWT] }, { upstream: be.url, workers: 2, clusters: { jwks: js.url }, manualClock: true });
    await gw.settle();
    check("request", verdict((await pump(gw, get(gw.url, BEARER))).r));
    const before = js.st.hits;
    let at = -1;
    for (let s = 0; s < 11 * 60 && at < 0; s++) {
      await gw.advance(1000);
      if (js.st.hits > before) at = s + 1;
    }
    check("first refresh fetch after", at < 0 ? "none in 11 min" : `${at} s past the first fetch`);
    check("after the refresh", verdict(await get(gw.url, BEARER)));
    dumpStats(gw);
    await gw.close();
    be.server.close();
    js.server.close();
  },
  async properties() {
    const be = await backend();
    for (const [label, port] of [["A 127.0.0.1 -> listener port (policy names that port)", null], ["C 127.0.0.1 -> listener port (policy names 9090)", 9090]]) {
      const net = require("net");
      // Find a free port first so the policy can name it.
      const free = await new Promise((res) => { const s = net.createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => res(p)); }); });
      const policies = [
        { name: "deny-ten", action: "DENY", rules: [{ from: [{ source: { ipBlocks: ["10.0.0.0/8"] } }] }] },
        { name: "allow-local", action: "ALLOW", rules: [{ from: [{ source: { ipBlocks: ["127.0.0.1/32"] } }], to: [{ operation: { ports: [String(port ?? free)] } }], when: [{ key: "destination.ip", values: ["127.0.0.0/8"] }, { key: "connection.sni", notValues: ["forbidden.example"] }] }] },
      ];
      const { gw } = await gateway({ jwtRules: [inlineRule], policies }, { upstream: be.url, workers: 1, port: free });
      check(label, verdict(await get(gw.url, "")));
      await gw.close();
    }
    be.server.close();
  },
  async trap() {
    const be = await backend();
    const { gw, logs } = await gateway({ jwtRules: [inlineRule], policies: [REQUIRE_JWT] }, { upstream: be.url, workers: 1 });
    check("before the crash: demo.jwt", verdict(await get(gw.url, BEARER)));
    gw.workers[0].crash();
    check("next request, same VM (fail_open=false)", verdict(await get(gw.url, BEARER)));
    check("and the one after", verdict(await get(gw.url, "")));
    check("worker failed", gw.workers[0].failed);
    console.log(logs.filter((l) => /fail/i.test(l)).map((l) => "  log: " + l.slice(0, 200)).join("\n"));
    await gw.close();
    be.server.close();
  },
  async shared() {
    const { SharedStore } = require(path.join(path.dirname(HOST_JS), "shared.js"));
    const st = new SharedStore();
    const vm = "jwt_authn";
    st.acquire(vm);
    st.acquire(vm);
    const R = ["Ok", "NotFound", "BadArgument", "SerializationFailure", "ParseFailure", "BadExpression", "InvalidMemoryAccess", "Empty", "CasMismatch", "ResultMismatch", "InternalFailure", "BrokenConnection", "Unimplemented"];
    const name = (r) => R[r] ?? String(r);
    check("worker1 set k=v1 cas=0", name(st.set(vm, "k", Buffer.from("v1"), 0)));
    const c1 = st.get(vm, "k").cas;
    check("worker1 get k", `"${st.get(vm, "k").value}" cas=${c1}`);
    check("worker2 set k=v2 with that cas", name(st.set(vm, "k", Buffer.from("v2"), c1)));
    check("worker1 set k=v3 with the stale cas", name(st.set(vm, "k", Buffer.from("v3"), c1)));
    check("worker1 set missing key with cas=12345", name(st.set(vm, "fresh", Buffer.from("x"), 12345)));
    check("worker1 get missing key", st.get(vm, "nope") ? "Ok" : "NotFound");
    check("worker1 set empty value", name(st.set(vm, "empty", Buffer.alloc(0), 0)));
    check("worker1 get empty value", `Ok size=${st.get(vm, "empty").value.length}`);
    const notes = [];
    const reg = (w) => ({ notifyQueueReady: (root, token) => notes.push(`${w} root#${root} token=${token}`) });
    const tq = st.registerQueue(vm, "q", reg("worker1"), 1);
    check("worker1 register q", `Ok token=${tq}`);
    check('worker2 resolve("", q)', `Ok token=${st.resolveQueue(vm, "q")} (the import maps "" to its own vm_id)`);
    check("worker2 resolve(other_vm, q)", st.resolveQueue("other_vm", "q") === undefined ? "NotFound" : "Ok");
    check('worker2 resolve("", never)', st.resolveQueue(vm, "never") === undefined ? "NotFound" : "Ok");
    check("worker2 enqueue a", name(st.enqueue(tq, Buffer.from("a"))));
    check("worker2 enqueue b", name(st.enqueue(tq, Buffer.from("b"))));
    check("worker2 enqueue to unknown token", name(st.enqueue(tq + 100, Buffer.from("z"))));
    check("notifications", notes.join(", "));
    let d = st.dequeue(tq);
    check("worker1 dequeue", `${name(d.result)} "${d.data}"`);
    d = st.dequeue(tq);
    check("worker1 dequeue", `${name(d.result)} "${d.data}"`);
    check("worker1 dequeue (empty)", name(st.dequeue(tq).result));
    check("worker1 dequeue unknown token", name(st.dequeue(tq + 100).result));
    notes.length = 0;
    const t2 = st.registerQueue(vm, "q", reg("worker2"), 1);
    check("worker2 re-registers q", `token=${t2}${t2 === tq ? " (same)" : " (NEW)"}`);
    st.enqueue(tq, Buffer.from("c"));
    check("after re-register: notifications", notes.join(", "));
  },
};

(async () => {
  const which = process.argv[2] || "all";
  for (const [n, f] of Object.entries(scenarios)) {
    if (which !== "all" && which !== n) continue;
    console.log(`\n### node host: ${n} (module ${WASM})`);
    await f();
  }
  process.exit(0);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});

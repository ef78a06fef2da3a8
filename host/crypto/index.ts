/**
 * Public JWS signature API of jwt-authn-wasm: `loadCrypto()` loads `build/crypto.wasm` (the same
 * AssemblyScript crypto the Envoy filter runs) and exposes key import and signature verification.
 * Never uses Node's `crypto`; every byte of key decoding, hashing and RSA arithmetic happens in wasm.
 */
import * as fs from "fs";
import * as path from "path";

/**
 * The JWS algorithms `verify` implements: exactly the filter's one algorithm table
 * (assembly/jwt/algorithms.ts), read from the wasm module, in its order (the index is the wasm alg id).
 */
export const SUPPORTED_ALGORITHMS: readonly string[] = Object.freeze([
  "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "HS256", "HS384", "HS512", "EdDSA",
]);

/** The RSA PKCS#1 v1.5 ids, the only ones whose large inputs are hashed in chunks (verifyDigest). */
const DIGEST_ALGS = new Set([0, 1, 2]);

/** An imported public key. Opaque: only `verify` of the Crypto that made it can use it directly. */
export interface Key {
  /** The JWK `kty` ("" if absent or not a string). */
  readonly kty: string;
  /** The JWK `alg`, if it had one; `verify` rejects any other alg for this key. */
  readonly alg: string | undefined;
  /** False if the JWK could not be imported; `verify` then always returns false. */
  readonly usable: boolean;
  /** Key size in bits (RSA modulus, EC curve, 256 for Ed25519, secret bits for oct), 0 if unusable. */
  readonly bits: number;
}

export interface Crypto {
  /**
   * Imports a public JWK once (base64url decoding and all per-key precomputation happen in wasm).
   * The JWK is read by the filter's own parser (kty RSA, EC, oct, OKP with jwt_verify_lib's rules).
   * Never throws: an unusable JWK (unknown kty, bad base64url, RSA e not 3/65537 or modulus outside
   * 2048..8192 bits, EC point not on the curve, `use` other than "sig") gives a Key with `usable === false`.
   */
  importKey(jwk: object): Key;
  /**
   * Verifies a JWS signature. `key` is a Key from importKey or a plain JWK (imported for this call).
   * Returns false for any invalid signature, unusable key, kty that does not fit `alg`, or a JWK whose
   * `alg` member differs from `alg`. Throws only when `alg` is not implemented (see SUPPORTED_ALGORITHMS).
   * @example
   *   const crypto = await loadCrypto();
   *   const key = crypto.importKey({ kty: "RSA", n, e: "AQAB" });
   *   crypto.verify("RS256", key, signingInput, signature); // true or false
   */
  verify(alg: string, key: Key | object, data: Uint8Array, signature: Uint8Array): boolean;
}

/** Raw exports of build/crypto.wasm (bindings "raw": numbers only). */
interface CryptoExports {
  readonly memory: WebAssembly.Memory;
  _initialize(): void;
  scratch(size: number): number;
  importJwk(ptr: number, len: number): number;
  lastImportStatus(): number;
  algorithms(): number;
  algorithmName(id: number): number;
  freeKey(handle: number): void;
  keyBits(handle: number): number;
  keyCount(): number;
  verify(alg: number, handle: number, dataPtr: number, dataLen: number, sigPtr: number, sigLen: number): number;
  verifyDigest(alg: number, handle: number, digestPtr: number, sigPtr: number, sigLen: number): number;
  sha(alg: number, ptr: number, len: number, out: number): number;
  shaInit(alg: number): number;
  shaUpdate(ptr: number, len: number): number;
  shaFinish(out: number): number;
  b64uDecodedLength(len: number): number;
  b64uDecode(src: number, len: number, dst: number): number;
  b64uDecodeString(strPtr: number, dst: number): number;
  __new(size: number, classId: number): number;
  __pin(ptr: number): number;
  __unpin(ptr: number): void;
}

/** Inputs larger than this are hashed in chunks of this size instead of being copied whole into wasm. */
const CHUNK_BYTES = 1 << 20;
/** The wasm side refuses scratch requests above 64 MiB; JWK members are capped well below it. */
const MAX_JWK_MEMBER_CHARS = 1 << 20;
const MAX_DIGEST_BYTES = 64;
/** AssemblyScript's runtime class id of String. */
const AS_STRING_CLASS_ID = 2;

/** Environment variable naming a crypto.wasm to load instead of the one found next to the package. */
export const CRYPTO_WASM_ENV = "JWT_AUTHN_CRYPTO_WASM";

/**
 * Finds build/crypto.wasm: $JWT_AUTHN_CRYPTO_WASM if set, else the first `build/crypto.wasm` walking up from
 * this file's directory (build/js/host/crypto/ when compiled, host/crypto/ under ts-jest).
 */
export function findCryptoWasm(): string {
  const override = process.env[CRYPTO_WASM_ENV];
  if (override) return path.resolve(override);
  let dir = __dirname;
  for (let i = 0; i < 8; i++) {
    const candidate = path.join(dir, "build", "crypto.wasm");
    if (fs.existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error(
    `crypto.wasm not found above ${__dirname}: run "npm run build:wasm" (or set ${CRYPTO_WASM_ENV})`,
  );
}

const moduleCache = new Map<string, Promise<WebAssembly.Module>>();

function compileModule(file: string): Promise<WebAssembly.Module> {
  let p = moduleCache.get(file);
  if (!p) {
    p = fs.promises.readFile(file).then((bytes) => WebAssembly.compile(bytes));
    moduleCache.set(file, p);
    p.catch(() => moduleCache.delete(file));
  }
  return p;
}

/** Thrown when the wasm module aborts: a bug (every export is meant to return, never trap). */
export class CryptoWasmAbort extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CryptoWasmAbort";
  }
}

async function instantiate(): Promise<WasmCrypto> {
  const mod = await compileModule(findCryptoWasm());
  let memory: WebAssembly.Memory | undefined;
  const readString = (ptr: number): string => {
    if (!memory || ptr === 0) return "";
    const view = new DataView(memory.buffer);
    if (ptr < 4 || ptr > view.byteLength) return "";
    const len = view.getUint32(ptr - 4, true) >>> 1;
    return String.fromCharCode(...new Uint16Array(memory.buffer, ptr, Math.min(len, 1024)));
  };
  const imports = {
    env: {
      abort(msg: number, file: number, line: number, col: number): never {
        throw new CryptoWasmAbort(`crypto.wasm aborted: ${readString(msg)} at ${readString(file)}:${line}:${col}`);
      },
    },
  };
  const instance = await WebAssembly.instantiate(mod, imports);
  const ex = instance.exports as unknown as CryptoExports;
  memory = ex.memory;
  ex._initialize();
  return new WasmCrypto(ex);
}

/** Frees wasm key handles of Keys that were garbage-collected. */
const keyFinalizer = new FinalizationRegistry<{ owner: WasmCrypto; handle: number }>(({ owner, handle }) => {
  owner.releaseHandle(handle);
});

class WasmKey implements Key {
  /** @internal wasm handle, 0 when unusable. */
  handle: number;
  constructor(
    readonly owner: WasmCrypto,
    readonly kty: string,
    readonly alg: string | undefined,
    handle: number,
    readonly bits: number,
    /** @internal the JWK text a foreign Crypto needs to import this key again. */
    readonly source: string | undefined,
  ) {
    this.handle = handle;
  }
  get usable(): boolean {
    return this.handle > 0;
  }
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null;
}

class WasmCrypto implements Crypto {
  private view = new Uint8Array(0);
  /** Alg name → wasm alg id, read from the module's table. */
  readonly algIds = new Map<string, number>();

  constructor(private readonly ex: CryptoExports) {
    const n = ex.algorithms();
    for (let id = 0; id < n; id++) {
      const ptr = ex.algorithmName(id);
      const len = new Uint32Array(ex.memory.buffer, ptr - 4, 1)[0] >>> 1;
      this.algIds.set(String.fromCharCode(...new Uint16Array(ex.memory.buffer, ptr, len)), id);
    }
    const names = [...this.algIds.keys()];
    if (names.join() !== SUPPORTED_ALGORITHMS.join()) {
      throw new Error(`crypto.wasm algorithm table ${names.join()} differs from SUPPORTED_ALGORITHMS`);
    }
  }

  /** The memory view, refreshed when the memory has grown. */
  private bytes(): Uint8Array {
    if (this.view.buffer !== this.ex.memory.buffer) this.view = new Uint8Array(this.ex.memory.buffer);
    return this.view;
  }

  /** Copies parts into the wasm scratch buffer back to back; returns their pointers, or null if too big. */
  private stage(parts: readonly Uint8Array[]): number[] | null {
    let total = 0;
    for (const p of parts) total += p.length;
    const base = this.ex.scratch(total);
    if (base === 0) return null;
    const mem = this.bytes();
    const ptrs: number[] = [];
    let at = base;
    for (const p of parts) {
      mem.set(p, at);
      ptrs.push(at);
      at += p.length;
    }
    return ptrs;
  }

  /** @internal */
  releaseHandle(handle: number): void {
    if (handle > 0) this.ex.freeKey(handle);
  }

  importKey(jwk: object): Key {
    if (!isRecord(jwk)) return new WasmKey(this, "", undefined, 0, 0, undefined);
    const kty = typeof jwk.kty === "string" ? jwk.kty : "";
    const alg = typeof jwk.alg === "string" ? jwk.alg : undefined;
    const unusable = () => new WasmKey(this, kty, alg, 0, 0, undefined);
    // A present but non-string alg matches no algorithm.
    if (jwk.alg !== undefined && alg === undefined) return unusable();
    let text: string;
    try {
      text = JSON.stringify(jwk);
    } catch {
      return unusable();
    }
    if (typeof text !== "string" || text.length > MAX_JWK_MEMBER_CHARS) return unusable();
    // UTF-8: a non-ASCII character reaches the wasm JSON reader and base64url decoder as bytes >= 0x80.
    const bytes = Buffer.from(text, "utf8");
    const ptrs = this.stage([bytes]);
    if (!ptrs) return unusable();
    const handle = this.ex.importJwk(ptrs[0], bytes.length);
    if (handle <= 0) return unusable();
    const key = new WasmKey(this, kty, alg, handle, this.ex.keyBits(handle), text);
    keyFinalizer.register(key, { owner: this, handle }, key);
    return key;
  }

  /** Frees a key made for one call. */
  private dispose(key: WasmKey): void {
    if (key.handle > 0) {
      keyFinalizer.unregister(key);
      this.ex.freeKey(key.handle);
      key.handle = 0;
    }
  }

  verify(alg: string, key: Key | object, data: Uint8Array, signature: Uint8Array): boolean {
    const algId = typeof alg === "string" ? this.algIds.get(alg) : undefined;
    if (algId === undefined) throw new Error(`unsupported JWS algorithm: ${String(alg)} (supported: ${SUPPORTED_ALGORITHMS.join(", ")})`);
    if (!(data instanceof Uint8Array) || !(signature instanceof Uint8Array)) return false;
    let k: WasmKey;
    let temporary = false;
    if (key instanceof WasmKey) {
      if (key.owner === this) {
        k = key;
      } else {
        // A Key from another loadCrypto() instance: import its JWK members here for this call.
        if (!key.usable || !key.source) return false;
        k = this.importKey(JSON.parse(key.source) as object) as WasmKey;
        temporary = true;
      }
    } else if (isRecord(key)) {
      k = this.importKey(key) as WasmKey;
      temporary = true;
    } else {
      return false;
    }
    try {
      if (!k.usable) return false;
      if (k.alg !== undefined && k.alg !== alg) return false;
      return this.verifyWithHandle(algId, k.handle, data, signature);
    } finally {
      if (temporary) this.dispose(k);
    }
  }

  private verifyWithHandle(wasmAlg: number, handle: number, data: Uint8Array, signature: Uint8Array): boolean {
    if (data.length + signature.length <= CHUNK_BYTES || !DIGEST_ALGS.has(wasmAlg)) {
      const ptrs = this.stage([data, signature]);
      if (!ptrs) return false;
      return this.ex.verify(wasmAlg, handle, ptrs[0], data.length, ptrs[1], signature.length) === 1;
    }
    // Large input to RS*: stream it through the wasm hasher, then verify the digest (ids 0/1/2 are also
    // the SHA-256/384/512 ids).
    const digest = this.hashChunked(wasmAlg, data);
    if (!digest) return false;
    const ptrs = this.stage([digest, signature]);
    if (!ptrs) return false;
    return this.ex.verifyDigest(wasmAlg, handle, ptrs[0], ptrs[1], signature.length) === 1;
  }

  /** Hashes data in CHUNK_BYTES pieces (wasm alg ids 0/1/2 double as SHA-256/384/512 ids). */
  hashChunked(hashAlg: number, data: Uint8Array, splits?: readonly number[]): Uint8Array | null {
    const hlen = this.ex.shaInit(hashAlg);
    if (hlen === 0) return null;
    const cuts = splits ?? [];
    let pos = 0;
    const feed = (end: number): boolean => {
      while (pos < end) {
        const n = Math.min(end - pos, CHUNK_BYTES);
        const ptrs = this.stage([data.subarray(pos, pos + n)]);
        if (!ptrs || this.ex.shaUpdate(ptrs[0], n) !== 1) return false;
        pos += n;
      }
      // A zero-length update must be harmless too.
      const p0 = this.ex.scratch(0);
      return this.ex.shaUpdate(p0, 0) === 1;
    };
    for (const cut of cuts) {
      if (!feed(Math.max(pos, Math.min(cut, data.length)))) return null;
    }
    if (!feed(data.length)) return null;
    const out = this.ex.scratch(MAX_DIGEST_BYTES);
    if (out === 0 || this.ex.shaFinish(out) !== hlen) return null;
    return this.bytes().slice(out, out + hlen);
  }

  /** Test access to the raw wasm helpers. */
  rawHelpers(): CryptoWasmForTests {
    const ex = this.ex;
    return {
      sha: (alg, data) => {
        const ptrs = this.stage([data, new Uint8Array(MAX_DIGEST_BYTES)]);
        if (!ptrs) return null;
        const n = ex.sha(alg, ptrs[0], data.length, ptrs[1]);
        return n === 0 ? null : this.bytes().slice(ptrs[1], ptrs[1] + n);
      },
      shaSplit: (alg, data, splits) => this.hashChunked(alg, data, splits),
      b64uDecodedLength: (len) => ex.b64uDecodedLength(len),
      b64uDecode: (text) => {
        const outLen = ex.b64uDecodedLength(text.length);
        const ptrs = this.stage([text, new Uint8Array(outLen)]);
        if (!ptrs) return null;
        const n = ex.b64uDecode(ptrs[0], text.length, ptrs[1]);
        return n < 0 ? null : this.bytes().slice(ptrs[1], ptrs[1] + n);
      },
      b64uDecodeString: (s) => {
        const strPtr = ex.__pin(ex.__new(s.length * 2, AS_STRING_CLASS_ID));
        try {
          const units = new Uint16Array(ex.memory.buffer, strPtr, s.length);
          for (let i = 0; i < s.length; i++) units[i] = s.charCodeAt(i);
          const outLen = ex.b64uDecodedLength(s.length);
          const out = ex.scratch(outLen);
          if (out === 0) return null;
          const n = ex.b64uDecodeString(strPtr, out);
          return n < 0 ? null : this.bytes().slice(out, out + n);
        } finally {
          ex.__unpin(strPtr);
        }
      },
      liveKeyCount: () => ex.keyCount(),
    };
  }
}

/**
 * Loads build/crypto.wasm into a fresh instance and returns the verification API.
 * The compiled module is cached per process; each call gets its own instance and key table.
 */
export async function loadCrypto(): Promise<Crypto> {
  return instantiate();
}

/** Raw helpers over a private crypto.wasm instance, for tests (hash ids: 0 SHA-256, 1 SHA-384, 2 SHA-512). */
export interface CryptoWasmForTests {
  /** One-shot hash, null for an unknown alg. */
  sha(alg: number, data: Uint8Array): Uint8Array | null;
  /** Incremental hash with updates cut at the given offsets (plus zero-length updates between them). */
  shaSplit(alg: number, data: Uint8Array, splits: readonly number[]): Uint8Array | null;
  b64uDecodedLength(len: number): number;
  /** Strict base64url decode of bytes (assembly/util/base64url.ts base64UrlDecodeInto). */
  b64uDecode(text: Uint8Array): Uint8Array | null;
  /** Strict base64url decode of a JS string as UTF-16 code units (base64UrlDecodeString). */
  b64uDecodeString(s: string): Uint8Array | null;
  /** Number of live wasm key handles of this instance. */
  liveKeyCount(): number;
}

/** Loads a Crypto plus raw access to the wasm hash and base64url functions of the same instance. */
export async function loadCryptoWasmForTests(): Promise<{ crypto: Crypto; raw: CryptoWasmForTests }> {
  const c = await instantiate();
  return { crypto: c, raw: c.rawHelpers() };
}

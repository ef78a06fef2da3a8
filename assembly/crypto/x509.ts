// Minimal X.509 reading for Google's `{kid: "-----BEGIN CERTIFICATE-----..."}` key maps: PEM → DER →
// TBSCertificate → SubjectPublicKeyInfo → RSAPublicKey (n, e). Reads only that path, strict DER, bounds-checked
// at every step; never trusts a length, never traps; anything else (EC keys, BER, garbage) gives null.
import { RsaPublicKey, importRsaPublicKey } from "./rsa";
import { base64StdDecodeStringInto, base64StdMaxDecodedLength } from "../util/base64std";

/** Longest PEM text accepted (characters); real certificates are 1-4 KiB. */
export const MAX_PEM_CHARS: i32 = 1 << 16;

const PEM_BEGIN = "-----BEGIN CERTIFICATE-----";
const PEM_END = "-----END CERTIFICATE-----";

// DER tags (X.690 §8; RFC 5280 §4.1).
const TAG_INTEGER: u32 = 0x02;
const TAG_BIT_STRING: u32 = 0x03;
const TAG_NULL: u32 = 0x05;
const TAG_OID: u32 = 0x06;
const TAG_SEQUENCE: u32 = 0x30;
const TAG_VERSION: u32 = 0xa0; // [0] EXPLICIT Version
const TAG_ISSUER_UID: u32 = 0x81; // [1] IMPLICIT UniqueIdentifier
const TAG_SUBJECT_UID: u32 = 0x82; // [2] IMPLICIT UniqueIdentifier
const TAG_EXTENSIONS: u32 = 0xa3; // [3] EXPLICIT Extensions

// rsaEncryption, 1.2.840.113549.1.1.1 (RFC 8017 Appendix C), DER contents of the OID.
@lazy const OID_RSA_ENCRYPTION: usize = memory.data<u8>([0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01]);
const OID_RSA_ENCRYPTION_LENGTH: usize = 9;

// The element readTlv last read: tag, contents [tlvContent, tlvEnd).
let tlvTag: u32 = 0;
let tlvContent: usize = 0;
let tlvEnd: usize = 0;

/**
 * Reads one DER element at p, which must end by `end`. Definite lengths only, in their shortest form
 * (short form, or long form with 1..4 length bytes), single-byte tags. False for anything else, and for an
 * element whose length runs past `end`.
 */
function readTlv(p: usize, end: usize): bool {
  if (p >= end || end - p < 2) return false;
  let tag = <u32>load<u8>(p);
  if ((tag & 0x1f) == 0x1f) return false; // high-tag-number form: no field we read uses it
  let first = <u32>load<u8>(p, 1);
  let q = p + 2;
  let len: u64 = 0;
  if (first < 0x80) {
    len = <u64>first;
  } else {
    let count = <usize>(first & 0x7f);
    // 0x80 is BER's indefinite length; more than 4 length bytes is never a certificate.
    if (count == 0 || count > 4 || count > end - q) return false;
    for (let i: usize = 0; i < count; i++) len = (len << 8) | <u64>load<u8>(q + i);
    q += count;
    // DER (X.690 §10.1): the long form only for lengths >= 128, without leading zero bytes.
    if (len < 0x80 || (len >> (<u64>(count - 1) << 3)) == 0) return false;
  }
  if (len > <u64>(end - q)) return false;
  tlvTag = tag;
  tlvContent = q;
  tlvEnd = q + <usize>len;
  return true;
}

// Reads an element with the given tag at p (ending by end).
@inline function readExpected(p: usize, end: usize, tag: u32): bool {
  return readTlv(p, end) && tlvTag == tag;
}

// A DER INTEGER's contents [p, end) are a non-negative number in minimal form: not empty, top bit clear,
// and a leading zero byte only where the next byte has its top bit set.
function isMinimalNonNegative(p: usize, end: usize): bool {
  if (p >= end) return false;
  let b0 = <u32>load<u8>(p);
  if ((b0 & 0x80) != 0) return false;
  if (b0 == 0 && end - p > 1 && (<u32>load<u8>(p, 1) & 0x80) == 0) return false;
  return true;
}

function copyBytes(p: usize, end: usize): Uint8Array {
  let len = <i32>(end - p);
  let out = new Uint8Array(len);
  memory.copy(out.dataStart, p, <usize>len);
  return out;
}

/**
 * The RSA public key of a DER certificate at [der, der + len), or null. Reads Certificate → tbsCertificate
 * → subjectPublicKeyInfo only, but checks that every SEQUENCE on that path holds exactly its fields.
 */
export function rsaKeyFromDerCertificate(der: usize, len: i32): RsaPublicKey | null {
  if (len <= 0) return null;
  let end = der + <usize>len;
  // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }, filling the input.
  if (!readExpected(der, end, TAG_SEQUENCE) || tlvEnd != end) return null;
  let certEnd = tlvEnd;
  if (!readExpected(tlvContent, certEnd, TAG_SEQUENCE)) return null;
  let tbs = tlvContent;
  let tbsEnd = tlvEnd;
  if (!readExpected(tbsEnd, certEnd, TAG_SEQUENCE)) return null; // signatureAlgorithm
  if (!readExpected(tlvEnd, certEnd, TAG_BIT_STRING) || tlvEnd != certEnd) return null; // signatureValue

  // TBSCertificate (RFC 5280 §4.1): [0] version OPTIONAL, serialNumber, signature, issuer, validity,
  // subject, subjectPublicKeyInfo, [1] issuerUniqueID, [2] subjectUniqueID, [3] extensions (all OPTIONAL).
  let p = tbs;
  if (!readTlv(p, tbsEnd)) return null;
  if (tlvTag == TAG_VERSION) {
    let versionEnd = tlvEnd;
    if (!readExpected(tlvContent, versionEnd, TAG_INTEGER) || tlvEnd != versionEnd) return null;
    p = versionEnd;
  }
  if (!readExpected(p, tbsEnd, TAG_INTEGER)) return null; // serialNumber
  if (!readExpected(tlvEnd, tbsEnd, TAG_SEQUENCE)) return null; // signature
  if (!readExpected(tlvEnd, tbsEnd, TAG_SEQUENCE)) return null; // issuer
  if (!readExpected(tlvEnd, tbsEnd, TAG_SEQUENCE)) return null; // validity
  if (!readExpected(tlvEnd, tbsEnd, TAG_SEQUENCE)) return null; // subject
  if (!readExpected(tlvEnd, tbsEnd, TAG_SEQUENCE)) return null; // subjectPublicKeyInfo
  let spki = tlvContent;
  let spkiEnd = tlvEnd;
  p = spkiEnd;
  // Only the optional trailing fields, each at most once and in order, may follow.
  let lastTag: u32 = 0;
  while (p < tbsEnd) {
    if (!readTlv(p, tbsEnd)) return null;
    let t = tlvTag;
    if (t != TAG_ISSUER_UID && t != TAG_SUBJECT_UID && t != TAG_EXTENSIONS) return null;
    if ((t & 0x1f) <= (lastTag & 0x1f)) return null;
    lastTag = t;
    p = tlvEnd;
  }

  // SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING }.
  if (!readExpected(spki, spkiEnd, TAG_SEQUENCE)) return null;
  let algEnd = tlvEnd;
  if (!readExpected(tlvContent, algEnd, TAG_OID)) return null;
  if (tlvEnd - tlvContent != OID_RSA_ENCRYPTION_LENGTH
    || memory.compare(tlvContent, OID_RSA_ENCRYPTION, OID_RSA_ENCRYPTION_LENGTH) != 0) return null; // not RSA
  // RFC 3279 §2.3.1: the parameters are NULL; tolerate them absent, reject anything else.
  if (tlvEnd != algEnd) {
    if (!readExpected(tlvEnd, algEnd, TAG_NULL) || tlvContent != tlvEnd || tlvEnd != algEnd) return null;
  }
  if (!readExpected(algEnd, spkiEnd, TAG_BIT_STRING) || tlvEnd != spkiEnd) return null;
  let bits = tlvContent;
  let bitsEnd = tlvEnd;
  if (bits >= bitsEnd || load<u8>(bits) != 0) return null; // 0 unused bits

  // RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER } (RFC 8017 §A.1.1), filling it.
  if (!readExpected(bits + 1, bitsEnd, TAG_SEQUENCE) || tlvEnd != bitsEnd) return null;
  let rsaEnd = tlvEnd;
  if (!readExpected(tlvContent, rsaEnd, TAG_INTEGER)) return null;
  let n = tlvContent;
  let nEnd = tlvEnd;
  if (!readExpected(nEnd, rsaEnd, TAG_INTEGER) || tlvEnd != rsaEnd) return null;
  let e = tlvContent;
  let eEnd = tlvEnd;
  if (!isMinimalNonNegative(n, nEnd) || !isMinimalNonNegative(e, eEnd)) return null;
  // importRsaPublicKey enforces 2048..8192 bits, an odd modulus and e in {3, 65537}.
  return importRsaPublicKey(copyBytes(n, nEnd), copyBytes(e, eEnd));
}

@inline function isPemSpace(c: i32): bool {
  return c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d;
}

/**
 * The RSA public key of a PEM certificate (one `-----BEGIN CERTIFICATE-----` block, optionally surrounded by
 * whitespace, body in standard base64 with LF or CRLF line breaks), or null: not PEM, bad base64, bad DER,
 * not an RSA key, or a key importRsaPublicKey refuses.
 */
export function rsaKeyFromPemCertificate(pem: string): RsaPublicKey | null {
  let len = pem.length;
  if (len > MAX_PEM_CHARS) return null;
  let start = 0;
  while (start < len && isPemSpace(pem.charCodeAt(start))) start++;
  let end = len;
  while (end > start && isPemSpace(pem.charCodeAt(end - 1))) end--;
  let beginLen = PEM_BEGIN.length;
  let endLen = PEM_END.length;
  if (end - start < beginLen + endLen) return null;
  if (pem.indexOf(PEM_BEGIN, start) != start) return null;
  let bodyStart = start + beginLen;
  let bodyEnd = end - endLen;
  if (pem.lastIndexOf(PEM_END, bodyEnd) != bodyEnd) return null;
  // The body holds only base64 symbols, padding and line breaks (the decoder rejects everything else,
  // including a second BEGIN/END line).
  let room = base64StdMaxDecodedLength(bodyEnd - bodyStart);
  if (room <= 0) return null;
  let der = new Uint8Array(room);
  let derLen = base64StdDecodeStringInto(pem, bodyStart, bodyEnd, der.dataStart);
  if (derLen <= 0) return null;
  return rsaKeyFromDerCertificate(der.dataStart, derLen);
}

#!/bin/bash
# Runs every (WAMR build x module x scenario) combination; one process each. WAMR without SIMD runs
# only the scalar build (the SIMD build does not load there: "v128 value type requires simd feature").
# Output: $REFHOST_DIR/out/<wamr>-<module>-<mode>.txt and a summary (CHECK lines) on stdout.
cd "${REFHOST_DIR:-${TMPDIR:-/tmp}/refhost}"
B=${BUILD_DIR:?set BUILD_DIR to the folder holding jwt_authn.wasm and jwt_authn.scalar.wasm}
I=${ISTIO_SAMPLES:?set ISTIO_SAMPLES to a folder with jwks.json and demo.jwt, e.g. ../shared/vectors/istio/samples}
MODES=${MODES:-inline remote remote-fail remote-unknown-cluster multi-vm multi-vm-nocanary shared tick metrics properties trap reconfigure}
mkdir -p out
for w in nosimd simd; do
  for m in scalar simd; do
    [ $w = nosimd ] && [ $m = simd ] && { echo "### wamr-$w module=$m: skipped (no SIMD in this WAMR)"; continue; }
    wasm=$B/jwt_authn.wasm; [ $m = scalar ] && wasm=$B/jwt_authn.scalar.wasm
    for mode in $MODES; do
      o=out/wamr_$w-module_$m-$mode.txt
      timeout 600 harness/bin/harness-wamr-$w $wasm $mode $I/jwks.json $I/demo.jwt > $o 2>&1
      rc=$?
      echo "### wamr-$w module=$m mode=$mode rc=$rc"
      grep -E '^  == |^  CHECK |^RESULT|!! |log\[(warn|error|critical)\]' $o | cut -c1-260
    done
  done
done

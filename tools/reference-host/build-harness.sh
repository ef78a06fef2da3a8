#!/bin/bash
# Build the reference-host harness: proxy-wasm-cpp-host core + WAMR adapter + harness, linked
# against the two WAMR builds from build-wamr.sh. Sources: this folder (harness/harness.cc,
# harness/tools/); everything built goes to $REFHOST_DIR/harness/{obj,bin}.
# Produces $REFHOST_DIR/harness/bin/harness-wamr-{nosimd,simd} and wamr_load_check-{nosimd,simd}.
set -e
HERE=$(cd "$(dirname "$0")" && pwd)
cd "${REFHOST_DIR:-${TMPDIR:-/tmp}/refhost}"
CXX=${CXX:-g++}
FLAGS="-std=c++20 -O2 -g -Wall -Wno-unused-parameter -DPROXY_WASM_HAS_RUNTIME_WAMR -DPROXY_WASM_HOST_ENGINE_WAMR -Icpp-host -Icpp-sdk"
mkdir -p harness/obj harness/bin
CORE="bytecode_util context exports hash pairs_util shared_data shared_queue signature_util vm_id_handle wasm"
for f in $CORE; do
  [ harness/obj/$f.o -nt cpp-host/src/$f.cc ] || $CXX $FLAGS -Iwamr-nosimd/include -c cpp-host/src/$f.cc -o harness/obj/$f.o
done
for v in nosimd simd; do
  [ harness/obj/wamr-$v.o -nt cpp-host/src/wamr/wamr.cc ] || $CXX $FLAGS -Iwamr-$v/include -c cpp-host/src/wamr/wamr.cc -o harness/obj/wamr-$v.o
  $CXX $FLAGS -Iwamr-$v/include -c "$HERE/harness/harness.cc" -o harness/obj/harness-$v.o
  $CXX -o harness/bin/harness-wamr-$v harness/obj/harness-$v.o harness/obj/wamr-$v.o \
     $(for f in $CORE; do echo harness/obj/$f.o; done) wamr-$v/lib/libiwasm.a -lcrypto -lpthread -lm -ldl
done
ls -la harness/bin
# WAMR's own loader message for a module cpp-host refuses ("Failed to load Wasm bytecode" says nothing more)
for v in nosimd simd; do
  gcc -O1 -Iwamr-$v/include "$HERE/harness/tools/wamr_load_check.c" wamr-$v/lib/libiwasm.a -lpthread -lm -ldl -o harness/bin/wamr_load_check-$v
done

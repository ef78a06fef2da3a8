#!/bin/bash
# Unpacks the pinned sources into $REFHOST_DIR (default ${TMPDIR:-/tmp}/refhost) from bare git clones of
# github:proxy-wasm/proxy-wasm-cpp-host, github:proxy-wasm/proxy-wasm-cpp-sdk,
# github:bytecodealliance/wasm-micro-runtime and github:simd-everywhere/simde, installs the Debian
# packages, and applies cpp-host's wamr.patch. MIRRORS is the folder holding them as
# <owner>+<name>/repo (what the `fetch` tool leaves under /work/.mirror). Without the mirrors, download
# the same commits as GitHub tarballs instead (URLs below) and unpack them into cpp-host, cpp-sdk, wamr, simde.
set -e
mkdir -p "${REFHOST_DIR:-${TMPDIR:-/tmp}/refhost}"
cd "${REFHOST_DIR:-${TMPDIR:-/tmp}/refhost}"
M=${MIRRORS:?set MIRRORS to the folder holding bare git clones named owner+name/repo}
HOST_COMMIT=52a02917b301c679ff43565064cffd2c3c750f6d   # proxy-wasm-cpp-host HEAD used (2026-07-01)
SDK_COMMIT=7465dee8b2953beebff99f6dc3720ad0c79bab99    # pinned by cpp-host bazel/repositories.bzl
WAMR_TAG=WAMR-2.4.1                                     # pinned by cpp-host (b124f70345d712bead5c0c2393acb2dc583511de)
SIMDE_TAG=v0.8.2                                        # what WAMR's simde.cmake FetchContent wants (71fd833d9666141edcd1d3c109a80e228303d8d7)
# https://github.com/proxy-wasm/proxy-wasm-cpp-host/archive/$HOST_COMMIT.tar.gz
# https://github.com/proxy-wasm/proxy-wasm-cpp-sdk/archive/$SDK_COMMIT.tar.gz
# https://github.com/bytecodealliance/wasm-micro-runtime/archive/refs/tags/$WAMR_TAG.tar.gz
# https://github.com/simd-everywhere/simde/archive/refs/tags/$SIMDE_TAG.tar.gz
if [ -z "$SKIP_APT" ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y g++ cmake ninja-build libssl-dev libabsl-dev
fi
rm -rf cpp-host cpp-sdk wamr simde && mkdir -p cpp-host cpp-sdk wamr simde
git --git-dir=$M/proxy-wasm+proxy-wasm-cpp-host/repo archive $HOST_COMMIT | tar -x -C cpp-host
git --git-dir=$M/proxy-wasm+proxy-wasm-cpp-sdk/repo archive $SDK_COMMIT | tar -x -C cpp-sdk
git --git-dir=$M/bytecodealliance+wasm-micro-runtime/repo archive $WAMR_TAG | tar -x -C wamr
git --git-dir=$M/simd-everywhere+simde/repo archive $SIMDE_TAG | tar -x -C simde
(cd wamr && patch -p1 < ../cpp-host/bazel/external/wamr.patch)
# Record what was unpacked (docs/conformance.md cites these).
{
  echo "cpp-host $HOST_COMMIT"
  echo "cpp-sdk  $SDK_COMMIT"
  echo "wamr     $WAMR_TAG $(git --git-dir=$M/bytecodealliance+wasm-micro-runtime/repo rev-parse $WAMR_TAG^{commit})"
  echo "simde    $SIMDE_TAG $(git --git-dir=$M/simd-everywhere+simde/repo rev-parse $SIMDE_TAG^{commit})"
} > SOURCES.txt
cat SOURCES.txt

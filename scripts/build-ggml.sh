#!/bin/sh
# Builds ggml (static libggml, libggml-base, libggml-cpu) for the neural models from the
# llama.cpp source that npm's node-llama-cpp ships (llama/gitRelease.bundle, MIT). Shares its
# cache with tests/llm/build-llama-server.sh ($SOUNDSTAR_CACHE, default ~/.cache/soundstar/llama:
# the same npm copy, clone and build folder, configured the same way), so each is built once.
# Safe to run twice. Prints the cache folder, which CMake's SOUNDSTAR_GGML_ROOT expects.
# Needs: npm, git, cmake, a C++ compiler.
set -eu
cache="${SOUNDSTAR_CACHE:-$HOME/.cache/soundstar}/llama"
libs="$cache/build/ggml/src"
if [ -f "$libs/libggml.a" ] && [ -f "$libs/libggml-base.a" ] && [ -f "$libs/libggml-cpu.a" ] && [ -f "$cache/src/ggml/include/ggml.h" ]; then
    echo "$cache"; exit 0
fi
mkdir -p "$cache/npm"
if [ ! -f "$cache/npm/node_modules/node-llama-cpp/llama/gitRelease.bundle" ]; then
    (cd "$cache/npm" && npm install --no-save --ignore-scripts --no-audit --no-fund node-llama-cpp >&2)
fi
if [ ! -d "$cache/src/.git" ]; then
    rm -rf "$cache/src"
    git -c advice.detachedHead=false clone -q "$cache/npm/node_modules/node-llama-cpp/llama/gitRelease.bundle" "$cache/src" >&2
fi
# The same options as tests/llm/build-llama-server.sh, so neither script reconfigures the other's build.
cmake -S "$cache/src" -B "$cache/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
    -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TOOLS=ON \
    -DGGML_NATIVE=OFF >&2
cmake --build "$cache/build" --target ggml ggml-base ggml-cpu -j"$(nproc)" >&2
echo "$cache"

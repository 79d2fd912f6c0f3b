#!/bin/sh
# Builds a real llama.cpp `llama-server` for the LLM tests from the llama.cpp source that npm's
# node-llama-cpp package ships (llama/gitRelease.bundle, MIT). Cached outside the repository
# ($SOUNDSTAR_CACHE, default ~/.cache/soundstar), so only the first run is slow (about 7-10
# minutes on 2 cores). Prints the server's path. Needs: npm, git, cmake, a C++ compiler.
set -eu
cache="${SOUNDSTAR_CACHE:-$HOME/.cache/soundstar}/llama"
bin="$cache/bin/llama-server"
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi
mkdir -p "$cache/npm" "$cache/bin"
if [ ! -f "$cache/npm/node_modules/node-llama-cpp/llama/gitRelease.bundle" ]; then
    (cd "$cache/npm" && npm install --no-save --ignore-scripts --no-audit --no-fund node-llama-cpp >&2)
fi
if [ ! -d "$cache/src/.git" ]; then
    rm -rf "$cache/src"
    git -c advice.detachedHead=false clone -q "$cache/npm/node_modules/node-llama-cpp/llama/gitRelease.bundle" "$cache/src" >&2
fi
cmake -S "$cache/src" -B "$cache/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
    -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TOOLS=ON \
    -DGGML_NATIVE=OFF >&2
cmake --build "$cache/build" --target llama-server -j"$(nproc)" >&2
cp "$cache/build/bin/llama-server" "$bin.tmp" && mv "$bin.tmp" "$bin"
echo "$bin"

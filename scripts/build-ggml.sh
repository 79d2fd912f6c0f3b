#!/bin/sh
# Builds ggml for the neural models from the llama.cpp source that npm's node-llama-cpp ships
# (llama/gitRelease.bundle, MIT): shared libggml and libggml-base, and the CPU backend as one
# module per instruction-set level (GGML_BACKEND_DL + GGML_CPU_ALL_VARIANTS, only the variants
# named below). At run time src/models/ggml/GgmlCpu.cpp loads the best variant this CPU runs:
# AVX2/FMA/F16C or AVX-512 where present, plain x86-64 elsewhere, from the same build.
# Shares the npm copy and the clone with tests/llm/build-llama-server.sh ($SOUNDSTAR_CACHE,
# default ~/.cache/soundstar/llama); the server keeps its own static build folder and flags.
# Safe to run twice. Prints the cache folder, which CMake's SOUNDSTAR_GGML_ROOT expects.
# Needs: npm, git, cmake, make, a C++ compiler.
set -eu
cache="${SOUNDSTAR_CACHE:-$HOME/.cache/soundstar}/llama"
out="$cache/ggml-cpu-variants"
stamp="$out/bin/soundstar-ggml.stamp"
# x64: any x86-64; sse42; sandybridge: AVX; haswell: AVX2 FMA F16C BMI2; alderlake: + AVX-VNNI;
# skylakex: + AVX-512; icelake: + AVX-512 VBMI/VNNI; zen4: + AVX-512 BF16.
variants="x64 sse42 sandybridge haswell alderlake skylakex icelake zen4"
# The cache key: change it when the options or the variants change, so a stale cache is rebuilt.
key="ggml cpu variants v1: $variants"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ] && [ -f "$cache/src/ggml/include/ggml.h" ]; then
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
rm -f "$stamp"
cmake -S "$cache/src" -B "$out" -G "Unix Makefiles" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON \
    -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON -DGGML_NATIVE=OFF \
    -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_TOOLS=OFF >&2
targets="ggml-base"
for v in $variants; do targets="$targets ggml-cpu-$v"; done
# shellcheck disable=SC2086
cmake --build "$out" --target $targets -j"$(nproc)" >&2
# libggml's CMake target depends on every variant ggml knows; "ggml/fast" (Unix Makefiles) links
# it alone, after the variants chosen above.
cmake --build "$out" --target ggml/fast -j"$(nproc)" >&2
for f in libggml.so libggml-base.so; do
    [ -f "$out/bin/$f" ] || { echo "build-ggml.sh: $out/bin/$f was not built" >&2; exit 1; }
done
for v in $variants; do
    [ -f "$out/bin/libggml-cpu-$v.so" ] || { echo "build-ggml.sh: $out/bin/libggml-cpu-$v.so was not built" >&2; exit 1; }
done
echo "$key" > "$stamp.tmp" && mv "$stamp.tmp" "$stamp"
echo "$cache"

#pragma once
// Soundstar's own modules: shared objects the build makes for the few parts whose libraries are
// heavy to load (cpp-httplib with OpenSSL, SentencePiece), opened with dlopen by the first call
// that needs them, so every other command starts without loading them (ADR 0004).
// Where a module is looked for: $SOUNDSTAR_MODULE_DIR alone when it is set; otherwise the build
// tree's modules folder, then PREFIX/LIBDIR/soundstar of an install.
#include <string>

namespace soundstar::core {

/// The handle of module `name` ("http" is libsoundstar_http.so), opened once per process and
/// never closed. Throws std::runtime_error naming each place looked in and why it failed
/// [any thread; the first call opens it].
void* openModule(const std::string& name);

/// `symbol` of module `name` as a function pointer `Fn`; throws std::runtime_error naming both
/// when the module lacks it.
template <class Fn>
Fn moduleFunction(const std::string& name, const char* symbol);

/// The untyped form of moduleFunction.
void* moduleSymbol(const std::string& name, const char* symbol);

template <class Fn>
Fn moduleFunction(const std::string& name, const char* symbol) {
    return reinterpret_cast<Fn>(moduleSymbol(name, symbol));
}

}  // namespace soundstar::core

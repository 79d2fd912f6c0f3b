# ggml for the neural models (issue #12): not packaged in Debian 12, so scripts/build-ggml.sh
# builds its static libraries from the llama.cpp source npm's node-llama-cpp ships, into
# SOUNDSTAR_GGML_ROOT (default ~/.cache/soundstar/llama, or $SOUNDSTAR_CACHE/llama).
# SOUNDSTAR_GGML is ON when they are found; everything else builds without them.
if(DEFINED ENV{SOUNDSTAR_CACHE})
  set(_ggml_default "$ENV{SOUNDSTAR_CACHE}/llama")
else()
  set(_ggml_default "$ENV{HOME}/.cache/soundstar/llama")
endif()
set(SOUNDSTAR_GGML_ROOT "${_ggml_default}" CACHE PATH "Where scripts/build-ggml.sh built ggml (src/ggml/include, build/ggml/src)")
set(_ggml_inc "${SOUNDSTAR_GGML_ROOT}/src/ggml/include")
set(_ggml_lib "${SOUNDSTAR_GGML_ROOT}/build/ggml/src")
set(_ggml_found OFF)
if(EXISTS "${_ggml_inc}/ggml.h" AND EXISTS "${_ggml_inc}/gguf.h" AND EXISTS "${_ggml_lib}/libggml.a"
   AND EXISTS "${_ggml_lib}/libggml-cpu.a" AND EXISTS "${_ggml_lib}/libggml-base.a")
  set(_ggml_found ON)
endif()
# AUTO (default): on when found, so a later scripts/build-ggml.sh and a reconfigure turn it on.
set(SOUNDSTAR_GGML AUTO CACHE STRING "Build the neural models on ggml: AUTO (when found), ON or OFF")
if(SOUNDSTAR_GGML STREQUAL "AUTO")
  set(SOUNDSTAR_GGML ${_ggml_found})
elseif(SOUNDSTAR_GGML AND NOT _ggml_found)
  message(WARNING "SOUNDSTAR_GGML: no ggml under ${SOUNDSTAR_GGML_ROOT} (run scripts/build-ggml.sh): building without the neural models")
  set(SOUNDSTAR_GGML OFF)
endif()
if(SOUNDSTAR_GGML)
  add_library(soundstar_ggml INTERFACE)
  # SYSTEM: ggml's headers are not held to our warnings.
  target_include_directories(soundstar_ggml SYSTEM INTERFACE "${_ggml_inc}")
  target_link_libraries(soundstar_ggml INTERFACE "${_ggml_lib}/libggml.a" "${_ggml_lib}/libggml-cpu.a" "${_ggml_lib}/libggml-base.a"
                                                 gomp Threads::Threads m)  # ggml-cpu was built by g++ with OpenMP: libgomp, for clang builds too
  message(STATUS "ggml: ${SOUNDSTAR_GGML_ROOT} (neural models on)")
else()
  message(STATUS "ggml: not found (run scripts/build-ggml.sh): building without the neural models")
endif()

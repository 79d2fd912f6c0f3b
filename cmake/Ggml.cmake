# ggml for the neural models (issue #12): not packaged in Debian 12, so scripts/build-ggml.sh
# builds it from the llama.cpp source npm's node-llama-cpp ships, into SOUNDSTAR_GGML_ROOT
# (default ~/.cache/soundstar/llama, or $SOUNDSTAR_CACHE/llama): shared libggml and libggml-base,
# and the CPU backend as several modules (libggml-cpu-x64.so ... -skylakex.so) of which
# src/models/ggml/GgmlCpu.cpp loads the best one this CPU runs.
# SOUNDSTAR_GGML is ON when they are found; everything else builds without them.
if(DEFINED ENV{SOUNDSTAR_CACHE})
  set(_ggml_default "$ENV{SOUNDSTAR_CACHE}/llama")
else()
  set(_ggml_default "$ENV{HOME}/.cache/soundstar/llama")
endif()
set(SOUNDSTAR_GGML_ROOT "${_ggml_default}" CACHE PATH "Where scripts/build-ggml.sh built ggml (src/ggml/include, ggml-cpu-variants/bin)")
set(_ggml_inc "${SOUNDSTAR_GGML_ROOT}/src/ggml/include")
set(_ggml_lib "${SOUNDSTAR_GGML_ROOT}/ggml-cpu-variants/bin")
set(_ggml_found OFF)
# soundstar-ggml.stamp: written by scripts/build-ggml.sh once every library is built.
if(EXISTS "${_ggml_inc}/ggml.h" AND EXISTS "${_ggml_inc}/gguf.h" AND EXISTS "${_ggml_lib}/soundstar-ggml.stamp"
   AND EXISTS "${_ggml_lib}/libggml.so" AND EXISTS "${_ggml_lib}/libggml-base.so" AND EXISTS "${_ggml_lib}/libggml-cpu-x64.so")
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
  # The CPU variants are dlopen'ed at run time from this folder (SOUNDSTAR_GGML_CPU_DIR overrides it).
  target_compile_definitions(soundstar_ggml INTERFACE SOUNDSTAR_GGML_CPU_DIR="${_ggml_lib}")
  target_link_libraries(soundstar_ggml INTERFACE "${_ggml_lib}/libggml.so" "${_ggml_lib}/libggml-base.so" ${CMAKE_DL_LIBS} Threads::Threads m)
  list(APPEND CMAKE_INSTALL_RPATH "${_ggml_lib}")  # an installed soundstar finds libggml*.so where they were built
  message(STATUS "ggml: ${SOUNDSTAR_GGML_ROOT} (neural models on)")
else()
  message(STATUS "ggml: not found (run scripts/build-ggml.sh): building without the neural models")
endif()

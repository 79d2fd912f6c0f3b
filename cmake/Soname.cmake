# soundstar_soname(OUT LIBRARIES WHAT): the soname (libfoo.so.N) of the first of a pkg-config
# module's LIBRARIES, for the libraries we dlopen at run time (FluidSynth, RtAudio, libsndfile):
# their headers at build time, their soname to open. Stops the configure naming WHAT when the
# file name carries none.
function(soundstar_soname out libraries what)
  list(GET libraries 0 _library)
  get_filename_component(_real "${_library}" REALPATH)
  get_filename_component(_name "${_real}" NAME)
  string(REGEX MATCH "^.*\\.so\\.[0-9]+" _soname "${_name}")
  if(NOT _soname)
    message(FATAL_ERROR "cannot tell ${what}'s soname from ${_real}")
  endif()
  set(${out} "${_soname}" PARENT_SCOPE)
endfunction()

#pragma once
// libsndfile, opened at run time [control]. Its library and the codecs it needs (FLAC, Vorbis,
// Opus, Ogg, mpg123, LAME) took about 4.5 ms of every start of soundstar to map and relocate on
// this machine, a ninth of a 1-second render. Sndfile.cpp defines the sf_* calls the code makes
// (the declarations stay <sndfile.h>'s); the first one opens SOUNDSTAR_SNDFILE_LIBRARY, so a
// command that reads or writes no audio file never loads it, and one that will can start loading
// it on another thread while it parses its command line and reads its interpreter.
//
// When the library cannot be loaded, sf_open and sf_open_virtual return null and sf_strerror
// says why ("cannot load libsndfile.so.1 (...); Debian: apt install libsndfile1"), so every
// caller's error names it.
#include <string>

namespace soundstar::io {

/// Starts loading libsndfile on a helper thread, once (later calls do nothing); the first sf_*
/// call waits for it. The helper is joined at exit.
void preloadSndfile();

/// Loads libsndfile now if it is not loaded; "" when it is, else why it cannot be.
std::string sndfileLoadError();

}  // namespace soundstar::io

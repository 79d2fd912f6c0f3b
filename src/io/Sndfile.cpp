#include "io/Sndfile.h"

#include <dlfcn.h>
#include <pthread.h>
#include <unistd.h>
#include <fmt/format.h>
#include <sndfile.h>

#include <exception>
#include <mutex>
#include <system_error>
#include <thread>

namespace soundstar::io {
namespace {

struct SndfileApi {
    decltype(&sf_open) open = nullptr;
    decltype(&sf_open_virtual) openVirtual = nullptr;
    decltype(&sf_close) close = nullptr;
    decltype(&sf_strerror) strerror = nullptr;
    decltype(&sf_command) command = nullptr;
    decltype(&sf_format_check) formatCheck = nullptr;
    decltype(&sf_version_string) version = nullptr;
    decltype(&sf_readf_float) readfFloat = nullptr;
    decltype(&sf_writef_float) writefFloat = nullptr;
    decltype(&sf_writef_short) writefShort = nullptr;
    std::string error;  // why it is not loaded; "" once it is
};

// Never destroyed: the preloading thread may still write it, and sf_strerror hand out its
// text, while statics are destroyed at exit.
SndfileApi& api() {
    static SndfileApi& a = *new SndfileApi;
    return a;
}

void load() {
    SndfileApi& a = api();
    // RTLD_NOW: every symbol bound here, on whichever thread loads it, not lazily later.
    void* lib = dlopen(SOUNDSTAR_SNDFILE_LIBRARY, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char* why = dlerror();
        a.error = fmt::format("cannot load {} ({}); Debian: apt install libsndfile1", SOUNDSTAR_SNDFILE_LIBRARY, why ? why : "no reason given");
        return;
    }
    std::string missing;
    const auto sym = [&](auto& fn, const char* name) {
        fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(lib, name));
        if (!fn) missing += missing.empty() ? name : fmt::format(", {}", name);
    };
    sym(a.open, "sf_open");
    sym(a.openVirtual, "sf_open_virtual");
    sym(a.close, "sf_close");
    sym(a.strerror, "sf_strerror");
    sym(a.command, "sf_command");
    sym(a.formatCheck, "sf_format_check");
    sym(a.version, "sf_version_string");
    sym(a.readfFloat, "sf_readf_float");
    sym(a.writefFloat, "sf_writef_float");
    sym(a.writefShort, "sf_writef_short");
    if (!missing.empty()) a.error = fmt::format("{} lacks {}", SOUNDSTAR_SNDFILE_LIBRARY, missing);
}

std::once_flag loadOnce;

/// The API when it is loaded (loading it first, or waiting for the preloader), else null.
const SndfileApi* loaded() {
    std::call_once(loadOnce, load);
    return api().error.empty() ? &api() : nullptr;
}

/// The preloading thread, joined at exit (a static's destructor runs before the dynamic
/// loader's own finalisation, which must not meet a dlopen still under way). Only by the process
/// that started it: a forked child that exits has no such thread to join.
struct Preloader {
    std::once_flag started;
    std::thread* thread = nullptr;  // left to the process's end in a child
    pid_t owner = 0;
    ~Preloader() {
        if (thread && ::getpid() == owner && thread->joinable()) thread->join();
    }
};

Preloader& preloader() {
    static Preloader p;
    return p;
}

}  // namespace

void preloadSndfile() {
    Preloader& p = preloader();
    std::call_once(p.started, [&p] {
        // A fork while the helper is inside dlopen would hand the child the loader's state half
        // changed (batch jobs are forked children, and one crashed so in CI): a fork waits for
        // the load to end first. The handler runs before fork takes any of libc's locks.
        ::pthread_atfork(
            [] {
                try {
                    loaded();
                } catch (...) {
                }
            },
            nullptr, nullptr);
        try {
            p.owner = ::getpid();
            p.thread = new std::thread([] {
                try {
                    loaded();
                } catch (...) {  // out of memory for the message: the first sf_* call tries again
                }
            });
        } catch (const std::exception&) {  // no thread to spare: the first sf_* call loads it
        }
    });
}

std::string sndfileLoadError() {
    loaded();
    return api().error;
}

}  // namespace soundstar::io

// <sndfile.h>'s calls that soundstar makes, served by the library loaded above. Hidden: only our
// code calls these; were they exported, libsndfile's own calls to them could resolve here.
extern "C" {

__attribute__((visibility("hidden"))) SNDFILE* sf_open(const char* path, int mode, SF_INFO* sfinfo);
__attribute__((visibility("hidden"))) SNDFILE* sf_open_virtual(SF_VIRTUAL_IO* sfvirtual, int mode, SF_INFO* sfinfo, void* user_data);
__attribute__((visibility("hidden"))) int sf_close(SNDFILE* sndfile);
__attribute__((visibility("hidden"))) const char* sf_strerror(SNDFILE* sndfile);
__attribute__((visibility("hidden"))) int sf_command(SNDFILE* sndfile, int command, void* data, int datasize);
__attribute__((visibility("hidden"))) int sf_format_check(const SF_INFO* info);
__attribute__((visibility("hidden"))) const char* sf_version_string(void);
__attribute__((visibility("hidden"))) sf_count_t sf_readf_float(SNDFILE* sndfile, float* ptr, sf_count_t frames);
__attribute__((visibility("hidden"))) sf_count_t sf_writef_float(SNDFILE* sndfile, const float* ptr, sf_count_t frames);
__attribute__((visibility("hidden"))) sf_count_t sf_writef_short(SNDFILE* sndfile, const short* ptr, sf_count_t frames);

SNDFILE* sf_open(const char* path, int mode, SF_INFO* sfinfo) {
    const auto* a = soundstar::io::loaded();
    return a ? a->open(path, mode, sfinfo) : nullptr;
}

SNDFILE* sf_open_virtual(SF_VIRTUAL_IO* sfvirtual, int mode, SF_INFO* sfinfo, void* user_data) {
    const auto* a = soundstar::io::loaded();
    return a ? a->openVirtual(sfvirtual, mode, sfinfo, user_data) : nullptr;
}

int sf_close(SNDFILE* sndfile) {
    const auto* a = soundstar::io::loaded();
    return a ? a->close(sndfile) : 0;
}

const char* sf_strerror(SNDFILE* sndfile) {
    const auto* a = soundstar::io::loaded();
    return a ? a->strerror(sndfile) : soundstar::io::api().error.c_str();
}

int sf_command(SNDFILE* sndfile, int command, void* data, int datasize) {
    const auto* a = soundstar::io::loaded();
    return a ? a->command(sndfile, command, data, datasize) : 0;
}

int sf_format_check(const SF_INFO* info) {
    const auto* a = soundstar::io::loaded();
    return a ? a->formatCheck(info) : 0;
}

const char* sf_version_string(void) {
    const auto* a = soundstar::io::loaded();
    return a ? a->version() : soundstar::io::api().error.c_str();
}

sf_count_t sf_readf_float(SNDFILE* sndfile, float* ptr, sf_count_t frames) {
    const auto* a = soundstar::io::loaded();
    return a ? a->readfFloat(sndfile, ptr, frames) : 0;
}

sf_count_t sf_writef_float(SNDFILE* sndfile, const float* ptr, sf_count_t frames) {
    const auto* a = soundstar::io::loaded();
    return a ? a->writefFloat(sndfile, ptr, frames) : 0;
}

sf_count_t sf_writef_short(SNDFILE* sndfile, const short* ptr, sf_count_t frames) {
    const auto* a = soundstar::io::loaded();
    return a ? a->writefShort(sndfile, ptr, frames) : 0;
}

}  // extern "C"

#include "core/Module.h"

#include <dlfcn.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace soundstar::core {
namespace {

std::vector<std::string> moduleDirs() {
    if (const char* dir = std::getenv("SOUNDSTAR_MODULE_DIR"); dir && *dir) return {dir};
    return {SOUNDSTAR_BUILD_MODULE_DIR, SOUNDSTAR_INSTALL_MODULE_DIR};
}

}  // namespace

void* openModule(const std::string& name) {
    static std::mutex lock;
    static std::map<std::string, void*> open;
    const std::scoped_lock hold(lock);
    if (const auto it = open.find(name); it != open.end()) return it->second;
    const std::string file = "libsoundstar_" + name + ".so";
    std::string tried;
    for (const auto& dir : moduleDirs()) {
        const std::string path = dir + "/" + file;
        // RTLD_NOW: everything bound here, none of it later on a thread that must not wait.
        if (void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL)) return open[name] = handle;
        const char* why = dlerror();
        tried += "\n  " + path + ": " + (why ? why : "could not be opened");
    }
    throw std::runtime_error("Soundstar's " + name + " module (" + file + ") could not be opened; looked for it at:" + tried +
                             "\nbuild it with the project (scripts/setup), or set SOUNDSTAR_MODULE_DIR to the folder that holds it");
}

void* moduleSymbol(const std::string& name, const char* symbol) {
    void* handle = openModule(name);
    void* fn = dlsym(handle, symbol);
    if (!fn) throw std::runtime_error("Soundstar's " + name + " module lacks " + symbol + ": it is from another build of Soundstar");
    return fn;
}

}  // namespace soundstar::core

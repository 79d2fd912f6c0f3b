#include "models/ggml/GgmlCpu.h"

#include <dlfcn.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <ggml-backend.h>
#include <ggml.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "music/JsonText.h"

#ifndef SOUNDSTAR_GGML_CPU_DIR
#define SOUNDSTAR_GGML_CPU_DIR ""
#endif

namespace soundstar::models {
namespace {

constexpr std::size_t kMaxVariants = 64;  // shared modules looked at in the folder
constexpr const char* kPrefix = "libggml-cpu-";
constexpr const char* kSuffix = ".so";

struct Candidate {
    std::string name;
    std::filesystem::path path;
    int score = 0;
    std::string problem;  // why it cannot be used, when score is 0
};

// ggml_backend_score() of one variant, from a throw-away dlopen (as ggml's own loader does):
// 0 when this CPU lacks an instruction set the variant was compiled with.
Candidate probe(const std::filesystem::path& path, std::string name) {
    Candidate c{std::move(name), path, 0, {}};
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char* e = dlerror();
        c.problem = music::clipText(e ? e : "dlopen failed", 300);
        return c;
    }
    using ScoreFn = int (*)();
    if (auto* fn = reinterpret_cast<ScoreFn>(dlsym(handle, "ggml_backend_score"))) {
        c.score = fn();
        if (c.score == 0) c.problem = "this CPU lacks an instruction set it needs";
    } else {
        c.problem = "no ggml_backend_score in it";
    }
    dlclose(handle);
    return c;
}

std::vector<Candidate> listVariants(const std::filesystem::path& dir) {
    std::vector<Candidate> out;
    std::error_code ec;
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const auto file = it->path().filename().string();
        if (file.size() <= std::string(kPrefix).size() + 3 || file.rfind(kPrefix, 0) != 0 || !file.ends_with(kSuffix)) continue;
        if (out.size() >= kMaxVariants)
            throw std::runtime_error(fmt::format("ggml: more than {} CPU variants in {}", kMaxVariants, music::clipText(dir.string(), 300)));
        const auto tag = file.substr(std::string(kPrefix).size(), file.size() - std::string(kPrefix).size() - 3);
        out.push_back(probe(it->path(), tag));
    }
    std::sort(out.begin(), out.end(), [](const Candidate& a, const Candidate& b) { return a.name < b.name; });
    return out;
}

std::string variantList(const std::vector<Candidate>& all) {
    std::vector<std::string> parts;
    for (const auto& c : all) parts.push_back(c.score > 0 ? fmt::format("{} (score {})", c.name, c.score) : fmt::format("{} ({})", c.name, c.problem));
    return parts.empty() ? std::string("none") : fmt::format("{}", fmt::join(parts, ", "));
}

// ggml reports load failures through its log: keep the last error for our message.
thread_local std::string loadError;
void captureLoadLog(ggml_log_level level, const char* text, void*) {
    if (level == GGML_LOG_LEVEL_ERROR) loadError = music::clipText(text ? text : "", 300);
}

struct Loaded {
    GgmlCpuVariant variant;
    ggml_backend_reg_t reg = nullptr;
    ggml_backend_dev_t device = nullptr;
    ggml_backend_set_n_threads_t setThreads = nullptr;
    ggml_backend_set_abort_callback_t setAbort = nullptr;
};

Loaded load() {
    const char* dirEnv = std::getenv("SOUNDSTAR_GGML_CPU_DIR");
    const std::filesystem::path dir = dirEnv && *dirEnv ? dirEnv : SOUNDSTAR_GGML_CPU_DIR;
    const std::string dirText = music::clipText(dir.string(), 300);
    if (dir.empty()) throw std::runtime_error("ggml: no folder of CPU variants (set SOUNDSTAR_GGML_CPU_DIR, or run scripts/build-ggml.sh and reconfigure)");
    const auto all = listVariants(dir);
    const char* forcedEnv = std::getenv("SOUNDSTAR_GGML_CPU");
    const std::string forced = forcedEnv ? forcedEnv : "";
    const Candidate* pick = nullptr;
    if (!forced.empty()) {
        for (const auto& c : all)
            if (c.name == forced) pick = &c;
        if (!pick || pick->score == 0)
            throw std::runtime_error(music::clipText(fmt::format("ggml: SOUNDSTAR_GGML_CPU={} {}; the variants in {}: {}", music::clipText(forced, 60),
                                                                 pick ? "cannot run on this CPU" : "is not one of them", dirText, variantList(all)),
                                                     1900));
    } else {
        for (const auto& c : all)
            if (c.score > 0 && (!pick || c.score > pick->score)) pick = &c;
        if (!pick)
            throw std::runtime_error(music::clipText(
                fmt::format("ggml: no CPU variant in {} runs on this machine (variants: {}); run scripts/build-ggml.sh", dirText, variantList(all)), 1900));
    }

    ggml_log_callback oldLog = nullptr;
    void* oldData = nullptr;
    ggml_log_get(&oldLog, &oldData);
    ggml_log_set(captureLoadLog, nullptr);
    loadError.clear();
    ggml_backend_reg_t reg = ggml_backend_load(pick->path.c_str());
    ggml_log_set(oldLog, oldData);
    if (!reg || ggml_backend_reg_dev_count(reg) == 0)
        throw std::runtime_error(music::clipText(fmt::format("ggml: could not load {}: {}", pick->path.string(), loadError.empty() ? "no device in it" : loadError), 1900));

    Loaded l;
    l.reg = reg;
    l.device = ggml_backend_reg_dev_get(reg, 0);
    l.setThreads = reinterpret_cast<ggml_backend_set_n_threads_t>(ggml_backend_reg_get_proc_address(reg, "ggml_backend_set_n_threads"));
    l.setAbort = reinterpret_cast<ggml_backend_set_abort_callback_t>(ggml_backend_reg_get_proc_address(reg, "ggml_backend_set_abort_callback"));
    l.variant.name = pick->name;
    l.variant.path = pick->path.string();
    l.variant.score = pick->score;
    l.variant.forced = !forced.empty();
    if (auto getFeatures = reinterpret_cast<ggml_backend_get_features_t>(ggml_backend_reg_get_proc_address(reg, "ggml_backend_get_features"))) {
        for (const ggml_backend_feature* f = getFeatures(reg); f && f->name; ++f)
            if (f->value && std::string(f->value) == "1") l.variant.features.emplace_back(f->name);
    }
    return l;
}

const Loaded& loaded() {
    static std::once_flag once;
    static std::unique_ptr<Loaded> state;
    static std::string failure;
    std::call_once(once, [] {
        try {
            state = std::make_unique<Loaded>(load());
        } catch (const std::exception& e) {
            failure = e.what();
        }
    });
    if (!state) throw std::runtime_error(failure);
    return *state;
}

}  // namespace

const GgmlCpuVariant& ggmlCpuVariant() { return loaded().variant; }

std::string describeGgmlCpu() {
    const auto& v = ggmlCpuVariant();
    return fmt::format("{} ({}) from {}{}", v.name, v.features.empty() ? std::string("no SIMD extensions") : fmt::format("{}", fmt::join(v.features, " ")), v.path,
                       v.forced ? " (forced by SOUNDSTAR_GGML_CPU)" : "");
}

int defaultModelThreads(const std::vector<std::filesystem::path>& files) {
    std::uint64_t bytes = 0;
    for (const auto& f : files) {
        std::error_code ec;
        const auto n = std::filesystem::file_size(f, ec);
        if (!ec) bytes += n;
    }
    if (bytes < kOneThreadModelBytes) return 1;
    return static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 64u));
}

}  // namespace soundstar::models

// ggml-cpu.h's entry points the models call, served by the variant loaded above. With
// GGML_BACKEND_DL the CPU backend lives only in the dlopen'ed module, so nothing else defines them.
// (ggml_backend_cpu_buffer_type is not one: libggml-base has it, and the modules call it there;
// defining it here would interpose on theirs.)
// Hidden: only our code calls these; were they exported, the module's own internal calls to its
// ggml_backend_cpu_init would resolve here (the executable comes first) and recurse.
extern "C" {

__attribute__((visibility("hidden"))) ggml_backend_t ggml_backend_cpu_init(void);
__attribute__((visibility("hidden"))) void ggml_backend_cpu_set_n_threads(ggml_backend_t backend, int n_threads);
__attribute__((visibility("hidden"))) void ggml_backend_cpu_set_abort_callback(ggml_backend_t backend, ggml_abort_callback callback, void* data);

ggml_backend_t ggml_backend_cpu_init(void) { return ggml_backend_dev_init(soundstar::models::loaded().device, nullptr); }

void ggml_backend_cpu_set_n_threads(ggml_backend_t backend, int n_threads) {
    const auto& l = soundstar::models::loaded();
    if (l.setThreads) l.setThreads(backend, n_threads);
}

// Checked by the CPU backend between graph nodes: a long graph (AudioLDM's UNet) can stop early.
void ggml_backend_cpu_set_abort_callback(ggml_backend_t backend, ggml_abort_callback callback, void* data) {
    const auto& l = soundstar::models::loaded();
    if (l.setAbort) l.setAbort(backend, callback, data);
}

}  // extern "C"

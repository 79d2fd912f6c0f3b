#include "llm/LlmSettings.h"

#include <fmt/format.h>

#include <stdexcept>
// The whole of toml++ in this one file, rather than its shared library loaded by every command.
#define TOML_HEADER_ONLY 1
#include <toml++/toml.h>

namespace soundstar::llm {
namespace {

double parseSeconds(const std::string& text, const std::string& where) {
    try {
        std::size_t used = 0;
        const double v = std::stod(text, &used);
        if (used == text.size() && v > 0 && v <= 3600) return v;
    } catch (const std::logic_error&) {
    }
    throw std::invalid_argument(fmt::format("{} = '{}' is invalid: allowed seconds above 0, up to 3600", where, text));
}

int parseMaxTokens(const std::string& text, const std::string& where) {
    try {
        std::size_t used = 0;
        const int v = std::stoi(text, &used);
        if (used == text.size() && v >= 64 && v <= 131072) return v;
    } catch (const std::logic_error&) {
    }
    throw std::invalid_argument(fmt::format("{} = '{}' is invalid: allowed a whole number from 64 to 131072", where, text));
}

int parseRetries(const std::string& text, const std::string& where) {
    try {
        std::size_t used = 0;
        const int v = std::stoi(text, &used);
        if (used == text.size() && v >= 0 && v <= 10) return v;
    } catch (const std::logic_error&) {
    }
    throw std::invalid_argument(fmt::format("{} = '{}' is invalid: allowed a whole number from 0 to 10", where, text));
}

void checkUrl(const std::string& url, const std::string& where) {
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
        throw std::invalid_argument(fmt::format("{} = '{}' is invalid: allowed an http:// or https:// URL, e.g. "
                                                "http://localhost:1234/v1",
                                                where, url));
}

}  // namespace

std::filesystem::path defaultConfigFile(const std::function<const char*(const char*)>& getenv) {
    if (const char* c = getenv("SOUNDSTAR_CONFIG"); c && *c) return c;
    if (const char* x = getenv("XDG_CONFIG_HOME"); x && *x) return std::filesystem::path(x) / "soundstar" / "config.toml";
    if (const char* h = getenv("HOME"); h && *h) return std::filesystem::path(h) / ".config" / "soundstar" / "config.toml";
    return {};
}

LlmSettings resolveLlmSettings(const LlmFlags& flags, const std::function<const char*(const char*)>& getenv,
                               const std::filesystem::path& configFile) {
    LlmSettings s;
    std::string origin = "defaults";
    if (!configFile.empty() && std::filesystem::exists(configFile)) {
        toml::table t;
        try {
            t = toml::parse_file(configFile.string());
        } catch (const toml::parse_error& e) {
            throw std::invalid_argument(fmt::format("{}:{}:{}: not valid TOML: {}", configFile.string(), e.source().begin.line,
                                                    e.source().begin.column, e.description()));
        }
        if (const auto* llmTable = t["llm"].as_table()) {
            for (const auto& [k, v] : *llmTable) {
                const std::string key(k.str());
                const auto where = fmt::format("{}:{}: [llm] {}", configFile.string(), v.source().begin.line, key);
                if (key == "url") {
                    if (!v.is_string()) throw std::invalid_argument(where + " must be a string (a URL)");
                    s.baseUrl = *v.value<std::string>();
                    checkUrl(s.baseUrl, where);
                } else if (key == "model") {
                    if (!v.is_string()) throw std::invalid_argument(where + " must be a string");
                    s.model = *v.value<std::string>();
                } else if (key == "api_key") {
                    if (!v.is_string()) throw std::invalid_argument(where + " must be a string");
                    s.apiKey = *v.value<std::string>();
                } else if (key == "timeout") {
                    if (!v.is_number()) throw std::invalid_argument(where + " must be a number of seconds");
                    s.timeoutSeconds = parseSeconds(fmt::format("{}", *v.value<double>()), where);
                } else if (key == "retries") {
                    if (!v.is_integer()) throw std::invalid_argument(where + " must be a whole number");
                    s.retries = parseRetries(std::to_string(*v.value<std::int64_t>()), where);
                } else if (key == "max_tokens") {
                    if (!v.is_integer()) throw std::invalid_argument(where + " must be a whole number");
                    s.maxTokens = parseMaxTokens(std::to_string(*v.value<std::int64_t>()), where);
                } else {
                    throw std::invalid_argument(fmt::format("{}: unknown key; allowed: url, model, api_key, timeout, retries, max_tokens", where));
                }
            }
            origin = configFile.string();
        }
    }
    const auto env = [&](const char* name) -> std::optional<std::string> {
        const char* v = getenv(name);
        if (v && *v) return std::string(v);
        return std::nullopt;
    };
    bool fromEnv = false;
    if (auto v = env("SOUNDSTAR_LLM_URL")) checkUrl(s.baseUrl = *v, "SOUNDSTAR_LLM_URL"), fromEnv = true;
    if (auto v = env("SOUNDSTAR_LLM_MODEL")) s.model = *v, fromEnv = true;
    if (auto v = env("SOUNDSTAR_LLM_API_KEY")) s.apiKey = *v, fromEnv = true;
    if (auto v = env("SOUNDSTAR_LLM_TIMEOUT")) s.timeoutSeconds = parseSeconds(*v, "SOUNDSTAR_LLM_TIMEOUT"), fromEnv = true;
    if (auto v = env("SOUNDSTAR_LLM_RETRIES")) s.retries = parseRetries(*v, "SOUNDSTAR_LLM_RETRIES"), fromEnv = true;
    if (auto v = env("SOUNDSTAR_LLM_MAX_TOKENS")) s.maxTokens = parseMaxTokens(*v, "SOUNDSTAR_LLM_MAX_TOKENS"), fromEnv = true;
    if (fromEnv) origin += ", environment";
    if (flags.url) {
        if (!flags.url->empty()) checkUrl(s.baseUrl = *flags.url, "--llm");
        origin += ", flags";
    }
    if (flags.model) s.model = *flags.model;
    if (flags.timeoutSeconds) s.timeoutSeconds = parseSeconds(fmt::format("{}", *flags.timeoutSeconds), "--llm-timeout");
    while (!s.baseUrl.empty() && s.baseUrl.back() == '/') s.baseUrl.pop_back();
    s.origin = origin;
    return s;
}

std::string describe(const LlmSettings& s) {
    return fmt::format("{}, model {}, timeout {} s, {} retr{}, API key {} (settings from {})", s.baseUrl,
                       s.model.empty() ? "(the first listed)" : s.model, s.timeoutSeconds, s.retries, s.retries == 1 ? "y" : "ies",
                       s.apiKey.empty() ? "not set" : "set (hidden)", s.origin);
}

}  // namespace soundstar::llm

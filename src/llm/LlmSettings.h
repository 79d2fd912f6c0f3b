#pragma once
// Where the LLM lives and how long to wait for it. Settings come from command-line flags, then
// environment variables, then a TOML file (~/.config/soundstar/config.toml), then defaults, in
// that order of precedence. The API key is never printed or logged: describe() masks it.
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace soundstar::llm {

struct LlmSettings {
    std::string baseUrl = "http://localhost:1234/v1";  // LM Studio's default
    std::string model;                                   // empty: the first model the endpoint lists
    std::string apiKey;                                  // empty: no Authorization header
    double timeoutSeconds = 60.0;                        // the whole call, retries included
    int retries = 2;                                     // further attempts after a failed one
    int maxTokens = 4096;                                // per answer
    std::string origin;                                  // where the values came from, for doctor
};

/// Values given on the command line (unset: not given).
struct LlmFlags {
    std::optional<std::string> url, model;
    std::optional<double> timeoutSeconds;
};

/// The config file: $SOUNDSTAR_CONFIG, else $XDG_CONFIG_HOME/soundstar/config.toml, else
/// ~/.config/soundstar/config.toml.
std::filesystem::path defaultConfigFile(const std::function<const char*(const char*)>& getenv);

/// Resolves flags > environment (SOUNDSTAR_LLM_URL, SOUNDSTAR_LLM_MODEL, SOUNDSTAR_LLM_API_KEY,
/// SOUNDSTAR_LLM_TIMEOUT, SOUNDSTAR_LLM_RETRIES, SOUNDSTAR_LLM_MAX_TOKENS) > the TOML file's
/// [llm] table (url, model, api_key, timeout, retries, max_tokens) > defaults. A missing file is fine; a malformed one, an unknown
/// key or a bad value is a std::invalid_argument naming the file, line, key and what is allowed.
LlmSettings resolveLlmSettings(const LlmFlags& flags, const std::function<const char*(const char*)>& getenv,
                               const std::filesystem::path& configFile);

/// "http://host:port/v1, model M, timeout 60 s, API key set (hidden)" — never the key itself.
std::string describe(const LlmSettings& s);

}  // namespace soundstar::llm

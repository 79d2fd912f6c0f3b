// The LLM composer. Repair and settings are pure functions. The client is tested through real
// sockets on loopback: a port nothing listens on, a server that drops the connection, one that
// answers garbage and one that never answers (these four are small fakes: a real server does
// not misbehave on demand). The composer is tested end to end against a REAL llama.cpp
// llama-server (built by tests/llm/build-llama-server.sh from npm's node-llama-cpp source) with
// a tiny random-weights GGUF the test writes; without the server binary those tests skip and say
// how to build it.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "Cli.h"
#include "interpret/Interpreter.h"
#include "llm/LlmComposer.h"
#include "llm/Repair.h"
#include "music/Arrangement.h"

using namespace soundstar;
using namespace soundstar::llm;
using test::runCommand;
using test::TempDir;
using Clock = std::chrono::steady_clock;

namespace {

const interpret::Interpreter& interp() {
    static const auto it = interpret::Interpreter::load(std::filesystem::path(SOUNDSTAR_DATA) / "interpret");
    return it;
}

/// A loopback TCP server that misbehaves on purpose.
class FakeServer {
public:
    enum class Mode { Drop, Garbage, Silent, NotChat };
    explicit FakeServer(Mode mode) : mode_(mode) {
        fd_ = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = 0;
        const int one = 1;
        setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
        listen(fd_, 8);
        socklen_t len = sizeof a;
        getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this] { loop(); });
    }
    ~FakeServer() {
        stop_ = true;
        shutdown(fd_, SHUT_RDWR);
        close(fd_);
        thread_.join();
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }
    int connections() const { return connections_; }

private:
    void loop() {
        while (!stop_) {
            const int c = accept(fd_, nullptr, nullptr);
            if (c < 0) return;
            ++connections_;
            char buf[8192];
            const auto n = recv(c, buf, sizeof buf, 0);
            (void)n;
            const auto send = [&](const std::string& s) { (void)::send(c, s.data(), s.size(), MSG_NOSIGNAL); };
            if (mode_ == Mode::Garbage) send("HTTP/1.1 200 OK\r\nContent-Length: 22\r\n\r\n<html>not json</html>\n");
            if (mode_ == Mode::NotChat) {
                const std::string body = R"({"data":[{"id":"fake"}],"choices":[{"message":{"content":"Sure! Here is a nice song about rain."}}]})";
                send("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
            }
            if (mode_ == Mode::Silent)
                while (!stop_) std::this_thread::sleep_for(std::chrono::milliseconds(10));
            close(c);  // Drop: closes without a word
        }
    }
    Mode mode_;
    int fd_ = -1, port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<int> connections_{0};
    std::thread thread_;
};

LlmSettings settingsFor(const std::string& url, double timeout = 2.0) {
    LlmSettings s;
    s.baseUrl = url;
    s.model = "tiny";
    s.timeoutSeconds = timeout;
    s.retries = 2;
    return s;
}

std::string joined(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += x + "\n";
    return s;
}

}  // namespace

TEST(LlmRepair, NearMissesAreRepairedAndTheRestRejected) {
    EXPECT_EQ(repairBpm(120), 120.0);
    EXPECT_EQ(repairBpm("120 BPM"), 120.0);
    EXPECT_EQ(repairBpm("~96bpm"), 96.0);
    EXPECT_EQ(repairBpm("120-130 bpm"), 125.0);
    EXPECT_FALSE(repairBpm("fast"));
    EXPECT_FALSE(repairBpm(900));
    const auto k = repairKey("F sharp minor");
    ASSERT_TRUE(k);
    EXPECT_EQ(k->root, 6);
    EXPECT_TRUE(k->hasMode);
    EXPECT_EQ(k->mode, music::Mode::Minor);
    EXPECT_EQ(repairKey("f#m")->root, 6);
    EXPECT_EQ(repairKey("Bb major")->mode, music::Mode::Major);
    EXPECT_EQ(repairKey("C Dorian")->mode, music::Mode::Dorian);
    EXPECT_EQ(repairKey("E\xE2\x99\xAD minor")->root, 3);
    EXPECT_FALSE(repairKey("H minor"));
    EXPECT_FALSE(repairKey("a mysterious key"));
    const std::vector<std::string> labels{"very_dark", "dark", "medium", "bright", "very_bright"};
    EXPECT_EQ(repairLabel("Very Dark", labels), "very_dark");
    EXPECT_EQ(repairLabel("very-bright", labels), "very_bright");
    EXPECT_FALSE(repairLabel("dim", labels));
    EXPECT_EQ(repairNumber("50%", 0, 1), 0.5);
    EXPECT_EQ(repairNumber(1.2, 0, 1), 1.0);  // a near miss is clamped
    EXPECT_FALSE(repairNumber(80, 0, 1));     // far off is rejected
    EXPECT_EQ(repairSeconds("0:15"), 15.0);
    EXPECT_EQ(repairSeconds("1.5 min"), 90.0);
    EXPECT_EQ(repairSeconds("20s"), 20.0);
    EXPECT_FALSE(repairSeconds("-3"));
    EXPECT_EQ(repairSection("Verse 2"), "verse");
    EXPECT_EQ(repairSection("Pre-Chorus"), "build");
    EXPECT_EQ(repairSection("coda"), "outro");
    EXPECT_FALSE(repairSection("kazoo solo interlude"));
    EXPECT_EQ(repairColour("#ABC"), "#aabbcc");
    EXPECT_EQ(repairColour("navy"), "#1a237e");
    EXPECT_FALSE(repairColour("#12345g"));
}

TEST(LlmRepair, JsonIsFoundInProseFencesAndBrokenNumbers) {
    EXPECT_EQ((*extractJson("Sure! ```json\n{\"a\": 1,}\n``` hope it helps"))["a"], 1);
    EXPECT_EQ((*extractJson("{\"s\": \"a } in a string\", \"n\": [1, 2,],}"))["n"].size(), 2u);
    const auto big = extractJson("{\"x\": 45075E2618853750008130, \"y\": 92E758}");
    ASSERT_TRUE(big);
    EXPECT_GT((*big)["x"].get<double>(), 1.0);
    EXPECT_FALSE(extractJson("no json here"));
    EXPECT_FALSE(extractJson("{\"cut\": \"off"));
    // A nested object of a broken answer is not taken for the answer.
    EXPECT_FALSE(extractJson("{\"config\": {\"a\": 1}, oops}"));
    EXPECT_EQ(sanitizeUtf8("ok \xff\xfe ok"), "ok \xEF\xBF\xBD\xEF\xBF\xBD ok");
    EXPECT_EQ(clipUtf8("a\xC3\xA9", 2), "a");
}

TEST(LlmCompose, AnswersAreValidatedFieldByFieldAndExplicitWordsKept) {
    const auto meaning = interp().interpret("a rainy night at 70 bpm");
    nlohmann::json meta;
    std::vector<std::string> warnings;
    const std::string answer = R"(Here you go:
```json
{"genre": "Deep House", "tempo_bpm": "124 BPM", "key": "F sharp minor", "mood": "Wistful",
 "instrumentation": "piano, strings",
 "config": {"brightness": "Very Dark", "swing": "30%", "density": 9, "space": "enormous", "colour": "blue", "depth": "yes"},
 "title": "Rain Glass", "reasoning": "Minor and slow for rain.",
 "palettes": [{"name": "night", "colors": ["#102030", "navy", "nope"]}]}
```)";
    const auto cfg = applyDeconstruction(answer, meaning.config, meaning.explicitFields, &interp(), meta, warnings);
    ASSERT_TRUE(cfg);
    const std::string w = joined(warnings);
    EXPECT_EQ(cfg->genre, "deep_house") << w;           // mapped to the style profile
    EXPECT_EQ(cfg->resolvedBpm(), 70.0) << w;            // the prompt's "70 bpm" wins over the LLM
    EXPECT_NE(w.find("kept the prompt's own 'bpm'"), std::string::npos) << w;
    EXPECT_EQ(cfg->root, 6);
    EXPECT_EQ(cfg->brightness, "very_dark");
    EXPECT_DOUBLE_EQ(cfg->swing, 0.3);
    EXPECT_EQ(cfg->density, 6) << w;                     // 9 is a near miss: clamped
    EXPECT_EQ(cfg->space, meaning.config.space);          // "enormous" dropped, the interpreter's kept
    EXPECT_NE(w.find("config.space = \"enormous\" dropped: allowed dry, small, medium, large, vast"), std::string::npos) << w;
    EXPECT_NE(w.find("config.colour ignored"), std::string::npos) << w;
    EXPECT_EQ(cfg->instrumentation, (std::vector<std::string>{"piano", "strings"}));
    EXPECT_TRUE(cfg->depth);
    EXPECT_EQ(meta["title"], "Rain Glass");
    EXPECT_EQ(meta["palettes"][0]["colors"], (nlohmann::json{"#102030", "#1a237e"}));
    EXPECT_NE(w.find("colour \"nope\" dropped"), std::string::npos) << w;
    EXPECT_FALSE(applyDeconstruction("I cannot help with that.", meaning.config, {}, &interp(), meta, warnings));

    std::vector<std::string> sw;
    const auto s = applyStructure(R"({"sections": [{"section": "Intro", "duration": "0:10"}, {"section": "Verse 1", "duration": 20},
                                   {"section": "kazoo", "duration": 5}, {"section": "Coda", "duration": "10s"}]})",
                                  *cfg, 40.0, sw);
    ASSERT_TRUE(s) << joined(sw);
    const auto sections = nlohmann::json::parse(*s);
    ASSERT_EQ(sections.size(), 3u);
    EXPECT_EQ(sections[2]["section"], "outro");
    EXPECT_NE(joined(sw).find("section 2"), std::string::npos);
    EXPECT_FALSE(applyStructure("[]", *cfg, 40.0, sw));
}

TEST(LlmSettings, FlagsBeatEnvironmentBeatFileBeatDefaults) {
    TempDir dir;
    const auto file = dir / "config.toml";
    std::ofstream(file) << "[llm]\nurl = \"http://file:1/v1\"\nmodel = \"file-model\"\napi_key = \"sk-secret-file\"\ntimeout = 5\nretries = 1\n";
    std::map<std::string, std::string> env;
    const auto getenv = [&](const char* n) -> const char* {
        const auto it = env.find(n);
        return it == env.end() ? nullptr : it->second.c_str();
    };
    auto s = resolveLlmSettings({}, getenv, file);
    EXPECT_EQ(s.baseUrl, "http://file:1/v1");
    EXPECT_EQ(s.model, "file-model");
    EXPECT_EQ(s.timeoutSeconds, 5.0);
    EXPECT_EQ(s.retries, 1);
    env["SOUNDSTAR_LLM_URL"] = "http://env:2/v1/";
    env["SOUNDSTAR_LLM_MODEL"] = "env-model";
    s = resolveLlmSettings({}, getenv, file);
    EXPECT_EQ(s.baseUrl, "http://env:2/v1");  // trailing slash dropped
    EXPECT_EQ(s.model, "env-model");
    s = resolveLlmSettings({std::string("http://flag:3/v1"), std::string("flag-model"), 9.0}, getenv, file);
    EXPECT_EQ(s.baseUrl, "http://flag:3/v1");
    EXPECT_EQ(s.model, "flag-model");
    EXPECT_EQ(s.timeoutSeconds, 9.0);
    EXPECT_EQ(s.apiKey, "sk-secret-file");
    EXPECT_EQ(describe(s).find("sk-secret"), std::string::npos);  // never printed
    EXPECT_NE(describe(s).find("set (hidden)"), std::string::npos);
    EXPECT_EQ(resolveLlmSettings({}, [](const char*) -> const char* { return nullptr; }, dir / "missing.toml").baseUrl, "http://localhost:1234/v1");
}

TEST(LlmSettings, BadConfigFilesAreClearErrors) {
    TempDir dir;
    const auto none = [](const char*) -> const char* { return nullptr; };
    const auto message = [&](const std::string& text) {
        std::ofstream(dir / "c.toml") << text;
        try {
            resolveLlmSettings({}, none, dir / "c.toml");
        } catch (const std::invalid_argument& e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    EXPECT_NE(message("[llm]\nurl = \"ftp://x\"\n").find("allowed an http:// or https:// URL"), std::string::npos);
    EXPECT_NE(message("[llm]\ntimeout = -1\n").find("allowed seconds above 0"), std::string::npos);
    EXPECT_NE(message("[llm]\ncolour = 1\n").find("unknown key; allowed: url, model"), std::string::npos);
    EXPECT_NE(message("[llm\nurl=").find("not valid TOML"), std::string::npos);
    EXPECT_NE(message("[llm]\nretries = \"two\"\n").find("retries must be a whole number"), std::string::npos);
}

TEST(LlmClient, DownDroppedGarbageAndSilentServersFailClearlyAndInTime) {
    // Down: a port bound but not listening, held for the whole check. A connection to it is
    // refused, and no other test running in parallel can take the port meanwhile (a port bound
    // then closed could be handed to another test's server between the two steps).
    const int held = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(held, 0);
    int port;
    {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ASSERT_EQ(bind(held, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        socklen_t len = sizeof a;
        ASSERT_EQ(getsockname(held, reinterpret_cast<sockaddr*>(&a), &len), 0);
        port = ntohs(a.sin_port);
    }
    const auto expectKind = [](LlmSettings st, LlmError::Kind kind, const std::string& words) {
        LlmClient c(st);
        const auto t0 = Clock::now();
        try {
            ChatRequest req;
            req.system = "sys";
            req.user = "user";
            c.chat(req);
            ADD_FAILURE() << "no error from " << st.baseUrl;
        } catch (const LlmError& e) {
            EXPECT_EQ(static_cast<int>(e.kind), static_cast<int>(kind)) << e.what();
            EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find(st.baseUrl), std::string::npos) << e.what();
        }
        // Never past the timeout (plus scheduling slack on a shared machine).
        EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), st.timeoutSeconds + 1.5);
    };
    expectKind(settingsFor("http://127.0.0.1:" + std::to_string(port) + "/v1"), LlmError::Kind::Down, "nothing answers there");
    close(held);
    {
        FakeServer s(FakeServer::Mode::Drop);
        expectKind(settingsFor(s.url()), LlmError::Kind::Dropped, "connection dropped");
        EXPECT_EQ(s.connections(), 3);  // one try and two retries
    }
    {
        FakeServer s(FakeServer::Mode::Garbage);
        expectKind(settingsFor(s.url()), LlmError::Kind::Garbage, "not a chat completion: <html>not json</html>");
    }
    {
        FakeServer s(FakeServer::Mode::Silent);
        expectKind(settingsFor(s.url(), 0.8), LlmError::Kind::Timeout, "no answer within the 0.8 s timeout");
    }
}

TEST(LlmCompose, EveryFailureFallsBackToTheInterpreterWithAReason) {
    const auto expected = interp().interpret("melancholic rainy night").config;
    FakeServer silent(FakeServer::Mode::Silent), garbage(FakeServer::Mode::Garbage), prose(FakeServer::Mode::NotChat);
    for (const auto& [url, why] : std::vector<std::pair<std::string, std::string>>{
             {"http://127.0.0.1:9/v1", "nothing answers there"}, {silent.url(), "timeout"}, {garbage.url(), "not a chat completion"},
             {prose.url(), "holds no usable JSON object"}}) {
        LlmClient client(settingsFor(url, 0.8));
        const auto r = composeWithLlm(client, interp(), "melancholic rainy night", 30.0, true);
        EXPECT_FALSE(r.configFromLlm) << url;
        EXPECT_EQ(music::toJson(r.config), music::toJson(expected)) << url;
        EXPECT_NE(joined(r.warnings).find(why), std::string::npos) << joined(r.warnings);
        EXPECT_EQ(r.metadata["source"], "interpreter");
        EXPECT_EQ(r.metadata["title"], "melancholic rainy night");
    }
}

// ---- against a real llama.cpp server ----

namespace {
std::string llamaServerPath() {
    if (const char* p = std::getenv("SOUNDSTAR_LLAMA_SERVER"); p && *p) return p;
    const char* cache = std::getenv("SOUNDSTAR_CACHE");
    const char* home = std::getenv("HOME");
    const auto path = std::filesystem::path(cache && *cache ? cache : std::string(home ? home : "/root") + "/.cache/soundstar") / "llama/bin/llama-server";
    return std::filesystem::exists(path) ? path.string() : "";
}

class RealLlamaServer : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        server_ = llamaServerPath();
        if (server_.empty()) return;
        dir_ = new TempDir;
        model_ = *dir_ / "tiny.gguf";
        const auto made = runCommand(std::string(MAKE_TINY_GGUF) + " " + model_ + " 7");
        ASSERT_EQ(made.code, 0) << made.output;
        for (int attempt = 0; attempt < 5 && url_.empty(); ++attempt) {
            port_ = 20000 + static_cast<int>((Clock::now().time_since_epoch().count() / 1000) % 20000);
            const std::string cmd = server_ + " -m " + model_ + " --host 127.0.0.1 --port " + std::to_string(port_) +
                                    " -c 8192 -np 1 --no-jinja --chat-template llama2 > " + (*dir_ / "server.log") + " 2>&1 & echo $!";
            pid_ = std::stoi(runCommand(cmd).output);
            for (int i = 0; i < 300; ++i) {  // up to 30 s to load
                if (runCommand("curl -sf http://127.0.0.1:" + std::to_string(port_) + "/health").code == 0) {
                    url_ = "http://127.0.0.1:" + std::to_string(port_) + "/v1";
                    break;
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
            }
            if (url_.empty()) stopServer();
        }
        ASSERT_FALSE(url_.empty()) << "llama-server did not start; its log:\n" << runCommand("cat " + (*dir_ / "server.log")).output;
    }
    static void TearDownTestSuite() {
        stopServer();
        delete dir_;
    }
    // SIGTERM, then SIGKILL if it is still there after 3 s: a server busy with a long answer
    // may not stop at once, and it is not our child (the shell started it), so poll for it.
    static void stopServer() {
        if (pid_ <= 0) return;
        kill(pid_, SIGTERM);
        for (int i = 0; i < 30 && kill(pid_, 0) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
        if (kill(pid_, 0) == 0) kill(pid_, SIGKILL);
        pid_ = 0;
    }
    void SetUp() override {
        if (server_.empty()) GTEST_SKIP() << "no llama-server: run tests/llm/build-llama-server.sh (scripts/test does) or set SOUNDSTAR_LLAMA_SERVER";
    }
    static inline std::string server_, model_, url_;
    static inline int port_ = 0, pid_ = 0;
    static inline TempDir* dir_ = nullptr;
};
}  // namespace

TEST_F(RealLlamaServer, ListsItsModelAndAnswersWithSchemaValidJson) {
    LlmSettings st = settingsFor(url_, 60.0);
    st.model.clear();
    LlmClient client(st);
    const auto models = client.models();
    ASSERT_FALSE(models.empty());
    EXPECT_NE(models.front().find("tiny.gguf"), std::string::npos);
    ChatRequest req{"Answer in JSON.", "rain", structureSchema(), "s", 512, 0.2, 1};
    const auto answer = client.chat(req);
    const auto j = nlohmann::json::parse(sanitizeUtf8(answer));  // grammar-constrained: valid JSON
    ASSERT_TRUE(j.contains("sections")) << answer;
    ASSERT_GE(j["sections"].size(), 1u);
    for (const auto& s : j["sections"]) {
        EXPECT_NE(std::find(music::sectionKinds().begin(), music::sectionKinds().end(), s["section"].get<std::string>()), music::sectionKinds().end());
        EXPECT_GE(s["duration"].get<int>(), 1);
    }
}

TEST_F(RealLlamaServer, PromptToLlmToConfigToRenderEndToEnd) {
    TempDir dir;
    const auto r = runCommand(std::string("SOUNDSTAR_LLM_MAX_TOKENS=7000 ") + SOUNDSTAR_BIN + " render 'melancholic rainy night' --llm " + url_ +
                              " --llm-model tiny --llm-timeout 600 -d 12 -o " + (dir / "llm.wav") + " --metadata " + (dir / "meta.json"));
    ASSERT_EQ(r.code, 0) << r.output;
    const auto meta = nlohmann::json::parse(test::readText(dir / "meta.json"));
    // The random model's answer is schema-valid JSON: the config came from the LLM, with its
    // out-of-range numbers dropped one by one and said so.
    EXPECT_EQ(meta["source"], "llm") << r.output;
    EXPECT_EQ(meta["model"], "tiny");
    EXPECT_FALSE(meta["llm_answer"].get<std::string>().empty());
    EXPECT_NO_THROW(music::parseMusicConfig(meta["config"].dump()));
    EXPECT_GE(meta["arrangement"]["sections"].size(), 1u);
    EXPECT_TRUE(meta["warnings"].is_array());
    for (const auto& w : meta["warnings"]) EXPECT_NE(r.output.find(w.get<std::string>().substr(0, 40)), std::string::npos);
    const auto probe = runCommand("soxi -D " + (dir / "llm.wav"));
    EXPECT_NEAR(std::stod(probe.output), 12.0, 0.01) << probe.output;
}

TEST_F(RealLlamaServer, ATimeoutShorterThanTheAnswerFallsBackInTime) {
    TempDir dir;
    const auto t0 = Clock::now();
    const auto r = runCommand(std::string(SOUNDSTAR_BIN) + " render 'sunny morning' --llm " + url_ + " --llm-model tiny --llm-timeout 0.2 -d 3 -o " +
                              (dir / "t.wav") + " --metadata " + (dir / "m.json"));
    ASSERT_EQ(r.code, 0) << r.output;
    EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 10.0);
    EXPECT_NE(r.output.find("no answer within the 0.2 s timeout"), std::string::npos) << r.output;
    EXPECT_EQ(nlohmann::json::parse(test::readText(dir / "m.json"))["source"], "interpreter");
}

// ADR 0004: cpp-httplib with OpenSSL (the http module) and SentencePiece (the spm module) are
// opened by the first call that needs them, not loaded by every command at start. Without the
// module, an LLM render falls back to the interpreter naming the module and where it looked.
TEST(LlmModule, TheCliStartsWithoutHttpOrTokenizerLibrariesAndAMissingModuleIsNamed) {
    const auto ldd = runCommand(std::string("ldd ") + SOUNDSTAR_BIN);
    ASSERT_NE(ldd.output.find("libstdc++"), std::string::npos) << ldd.output;  // ldd read the binary
    for (const char* lib : {"libssl", "libcrypto", "libcpp-httplib", "libsentencepiece"})
        EXPECT_EQ(ldd.output.find(lib), std::string::npos) << lib << " is loaded by every command:\n" << ldd.output;
    TempDir dir;
    std::filesystem::create_directories(dir / "no-modules");
    const auto r = runCommand("SOUNDSTAR_MODULE_DIR='" + (dir / "no-modules") + "' " + SOUNDSTAR_BIN +
                              " render 'melancholic rainy night' --llm http://127.0.0.1:9/v1 -d 1 -o '" + (dir / "out.wav") + "'");
    EXPECT_EQ(r.code, 0) << r.output;
    EXPECT_NE(r.output.find("libsoundstar_http.so"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(dir / "no-modules"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("SOUNDSTAR_MODULE_DIR"), std::string::npos) << r.output;
    EXPECT_TRUE(std::filesystem::exists(dir / "out.wav")) << "the interpreter's render is still written";
}

// Bounds and strict parsing on every input surface (issue #10): nesting depth and size of JSON,
// update steps, key/root/mode grammar, register bounds, the length limit, LLM answers that are
// too deep or too large. Each case here crashed, hung or was silently accepted before.
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <cmath>
#include <string>
#include <thread>

#include "compose/Arranger.h"
#include "interpret/Interpreter.h"
#include "llm/LlmClient.h"
#include "llm/LlmComposer.h"
#include "music/Arrangement.h"
#include "music/JsonText.h"
#include "music/MusicConfig.h"

using namespace soundstar;

namespace {
std::string nested(int levels, const std::string& inner = "1") {
    return std::string(static_cast<std::size_t>(levels), '[') + inner + std::string(static_cast<std::size_t>(levels), ']');
}

std::string errorOf(const std::function<void()>& f) {
    try {
        f();
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "";
}
}  // namespace

TEST(JsonLimits, DeepNestingIsRefusedBeforeParsingWithTheLimitNamed) {
    const std::string deep = R"({"genre": )" + nested(100000) + "}";
    const auto e = errorOf([&] { music::parseMusicConfig(deep, "deep.json"); });
    EXPECT_NE(e.find("deep.json"), std::string::npos) << e;
    EXPECT_NE(e.find("64 levels"), std::string::npos) << e;
    EXPECT_LT(e.size(), 300u) << "the message quotes no part of the value";
    // 64 levels are fine for the parser (the field itself is then refused as not a string).
    const auto ok64 = errorOf([&] { music::parseMusicConfig(R"({"genre": )" + nested(63) + "}"); });
    EXPECT_NE(ok64.find("field 'genre'"), std::string::npos) << ok64;
    EXPECT_LT(ok64.size(), 400u) << "a value is quoted by a bounded prefix";
    // Brackets inside strings are text, not nesting.
    EXPECT_NO_THROW(music::parseJsonBounded(R"({"a": ")" + std::string(500, '[') + R"("})", "t"));
    EXPECT_EQ(music::jsonDepth(R"({"a": "[[[\"[[", "b": [1]})", 64), 2);
}

TEST(JsonLimits, OversizedTextIsRefusedWithTheLimitNamed) {
    const std::string big = R"({"genre": ")" + std::string(2u << 20, 'a') + R"("})";
    const auto e = errorOf([&] { music::parseMusicConfig(big, "big.json"); });
    EXPECT_NE(e.find("limit is 1048576 bytes"), std::string::npos) << e;
}

TEST(JsonLimits, QuotesAreBoundedAndSafeOnAnyValue) {
    const auto v = nlohmann::json(std::string(10000, 'x'));
    EXPECT_LE(music::quoteJson(v, 80).size(), 83u);
    // A value nested past 64 levels (built in code, not parsed) is quoted by its type alone.
    nlohmann::json deep = 1;
    for (int i = 0; i < 5000; ++i) deep = nlohmann::json::array({std::move(deep)});
    EXPECT_EQ(music::quoteJson(deep), "[...]");
    EXPECT_EQ(music::clipText("héllo", 2), "h...") << "never cuts inside a UTF-8 sequence";
}

TEST(JsonLimits, ClippedTextIsAlwaysValidUtf8) {
    // Valid sequences pass through; stray, truncated, overlong and surrogate bytes become '?'.
    EXPECT_EQ(music::validUtf8("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x8E\xB5"), "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x8E\xB5");
    EXPECT_EQ(music::validUtf8("x\x80y"), "x?y");
    EXPECT_EQ(music::validUtf8("\xD4'"), "?'") << "a lead byte followed by ASCII";
    EXPECT_EQ(music::validUtf8("\xC0\xAF"), "??") << "overlong";
    EXPECT_EQ(music::validUtf8("\xED\xA0\x80"), "???") << "a UTF-16 surrogate";
    EXPECT_EQ(music::validUtf8("\xF4\x90\x80\x80"), "????") << "past U+10FFFF";
    EXPECT_EQ(music::clipText("ab\xE2\x82", 10), "ab??");
    // A parse error quoting half of a multi-byte character (the fuzzer's finding) dumps as JSON.
    std::string why;
    try {
        music::parseJsonBounded("{\"track\":\"bass\"\xD4\xA3\xDD\x97ote\":36}", "args");
    } catch (const std::invalid_argument& e) {
        why = e.what();
    }
    ASSERT_FALSE(why.empty());
    const nlohmann::json reply = {{"error", music::clipText(why, 400)}};
    EXPECT_NO_THROW((void)reply.dump()) << why;
}

TEST(JsonLimits, StructuresObeyDepthAndTheLengthLimit) {
    music::MusicConfig cfg;
    EXPECT_NE(errorOf([&] { compose::arrangeFromStructure(cfg, nested(100000), 0.0); }).find("64 levels"), std::string::npos);
    const auto two = errorOf([&] {
        compose::arrangeFromStructure(cfg, R"([{"section":"verse","duration":3600},{"section":"chorus","duration":3600}])", 0.0);
    });
    EXPECT_NE(two.find("3600 s"), std::string::npos) << two;
    const auto bars = errorOf([&] {
        compose::arrangeFromStructure(music::parseMusicConfig(R"({"bpm":40})"), R"([{"section":"verse","bars":512},{"section":"a","bars":512}])", 0.0);
    });
    EXPECT_NE(bars.find("length limit"), std::string::npos) << bars;
    EXPECT_NE(errorOf([&] { compose::arrange(cfg, 3601.0); }).find("3600"), std::string::npos);
    EXPECT_NE(errorOf([&] { compose::arrange(cfg, NAN); }).find("length limit"), std::string::npos);
    EXPECT_NO_THROW(compose::arrange(cfg, 3600.0));
}

TEST(UpdateSteps, AreParsedStrictly) {
    const music::MusicConfig base = music::parseMusicConfig(R"({"density":4,"swing":0.2,"bpm":100,"brightness":"medium"})");
    for (const char* bad : {R"({"density":"+nan"})", R"({"swing":"+nan"})", R"({"bpm":"+nan"})", R"({"bpm":"+inf"})",
                            R"({"density":"+1abc"})", R"({"density":"+1 "})", R"({"density":"+0x10"})", R"({"bpm":"+1e3"})",
                            R"({"brightness":"+1.5"})", R"({"density":"+0.5"})", R"({"brightness":1000})", R"({"brightness":1.5})",
                            R"({"bpm":"+"})", R"({"swing":"+1234567"})"}) {
        const auto e = errorOf([&] { music::applyUpdate(base, bad, "--update"); });
        EXPECT_NE(e.find("--update: field '"), std::string::npos) << bad << " -> " << e;
        EXPECT_NE(e.find("allowed"), std::string::npos) << e;
    }
    const auto up = music::applyUpdate(base, R"({"density":"+1","swing":"+0.25","bpm":"-10","brightness":"+2","tempo":-1})");
    EXPECT_EQ(up.density, 5);
    EXPECT_DOUBLE_EQ(up.swing, 0.45);
    EXPECT_DOUBLE_EQ(*up.bpm, 90.0);
    EXPECT_EQ(up.brightness, "very_bright");
    EXPECT_EQ(music::applyUpdate(base, R"({"density":"+99"})").density, 6) << "steps saturate at the range's end";
}

TEST(KeyGrammar, AcceptsExactlyTheDocumentedSpellings) {
    for (const char* bad : {"C blorp", "c_ minor", "H minor", "c#m", "F  minor", "F# minor ", "Fsharp minor", "", "cb flat"}) {
        const auto e = errorOf([&] { music::parseMusicConfig(nlohmann::json{{"key", bad}}.dump()); });
        EXPECT_NE(e.find("field 'key'"), std::string::npos) << "'" << bad << "' -> " << e;
    }
    const auto k = music::parseMusicConfig(R"({"key":"F sharp harmonic minor"})");
    EXPECT_EQ(k.root, 6);
    EXPECT_EQ(k.mode, music::Mode::HarmonicMinor);
    EXPECT_EQ(music::parseMusicConfig(R"({"key":"Bb DORIAN"})").root, 10);
    EXPECT_EQ(music::parseMusicConfig(R"({"key":"E"})").root, 4);
    EXPECT_EQ(music::parseMusicConfig(R"({"root":"Db"})").root, 1);
    EXPECT_NE(errorOf([] { music::parseMusicConfig(R"({"root":"c_"})"); }).find("field 'root'"), std::string::npos);
    EXPECT_NE(errorOf([] { music::parseMusicConfig(R"({"mode":"minorish"})"); }).find("field 'mode'"), std::string::npos);
}

TEST(RegisterBounds, OneBoundAloneMovesTheOtherBothReversedAreRefused) {
    const auto low = music::parseMusicConfig(R"({"register_max_oct":2})");
    EXPECT_EQ(low.registerMinOct, 2);
    EXPECT_EQ(low.registerMaxOct, 2);
    const auto high = music::parseMusicConfig(R"({"register_min_oct":8})");
    EXPECT_EQ(high.registerMaxOct, 8);
    EXPECT_NE(errorOf([] { music::parseMusicConfig(R"({"register_min_oct":5,"register_max_oct":3})"); }).find("must not be above"),
              std::string::npos);
    EXPECT_EQ(music::parseMusicConfig(R"({"density":3.0})").density, 3) << "3.0 is an integer, as JSON Schema reads it";
    EXPECT_NE(errorOf([] { music::parseMusicConfig(R"({"density":3.5})"); }).find("field 'density'"), std::string::npos);
}

TEST(Loops, KeepTheTempoInRangeAndMoveItLittle) {
    const auto slow = music::parseMusicConfig(R"({"bpm":40})");
    for (double seconds : {1.0, 7.0, 13.0}) {
        const auto a = compose::arrange(slow, seconds, {"auto", true});
        EXPECT_GE(a.bpm, music::kMinBpm) << seconds;
        EXPECT_LE(a.bpm, music::kMaxBpm) << seconds;
        EXPECT_LE(std::abs(a.bpm / 40.0 - 1.0), 0.15 + 1e-9) << seconds;
        EXPECT_NEAR(a.durationSeconds, a.totalBars * a.barSeconds(), 1e-9) << "whole bars, seamless";
    }
    EXPECT_DOUBLE_EQ(compose::arrange(slow, 1.0, {"auto", true}).durationSeconds, 6.0) << "one bar at 40 bpm";
    const auto mid = compose::arrange(music::parseMusicConfig(R"({"bpm":110})"), 7.3, {"auto", true});
    EXPECT_DOUBLE_EQ(mid.durationSeconds, 7.3) << "a nearby bar count fits the asked length exactly";
    EXPECT_LE(std::abs(mid.bpm / 110.0 - 1.0), 0.15);
}

namespace {
// A loopback OpenAI-style server whose chat answer is `content` (or a body streamed forever).
class AnswerServer {
public:
    explicit AnswerServer(std::string content, bool endless = false) : content_(std::move(content)) {
        server_.Get("/v1/models", [](const httplib::Request&, httplib::Response& res) {
            res.set_content(R"({"data":[{"id":"tiny"}]})", "application/json");
        });
        server_.Post("/v1/chat/completions", [this, endless](const httplib::Request&, httplib::Response& res) {
            if (endless) {
                res.set_chunked_content_provider("application/json", [](std::size_t, httplib::DataSink& sink) {
                    static const std::string block(64 * 1024, ' ');
                    return sink.write(block.data(), block.size());
                });
                return;
            }
            const nlohmann::json body{{"choices", {{{"message", {{"role", "assistant"}, {"content", content_}}}}}}};
            res.set_content(body.dump(), "application/json");
        });
        port_ = server_.bind_to_any_port("127.0.0.1");
        thread_ = std::thread([this] { server_.listen_after_bind(); });
        while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ~AnswerServer() {
        server_.stop();
        thread_.join();
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }

private:
    std::string content_;
    httplib::Server server_;
    int port_ = 0;
    std::thread thread_;
};

const interpret::Interpreter& interpreter() {
    static const auto it = interpret::Interpreter::load(SOUNDSTAR_DATA "/interpret");
    return it;
}
}  // namespace

TEST(LlmLimits, ADeeplyNestedAnswerFallsBackToTheInterpreter) {
    AnswerServer server(R"({"genre": )" + nested(100000) + R"(, "bpm": 100})");
    llm::LlmSettings s;
    s.baseUrl = server.url();
    s.timeoutSeconds = 20;
    llm::LlmClient client(s);
    const auto r = llm::composeWithLlm(client, interpreter(), "rainy night", 30.0, false);
    EXPECT_FALSE(r.configFromLlm);
    ASSERT_FALSE(r.warnings.empty());
    EXPECT_NE(r.warnings.front().find("64 levels"), std::string::npos) << r.warnings.front();
    EXPECT_NE(r.warnings.front().find("embedded interpreter"), std::string::npos);
}

TEST(LlmLimits, AnEndlessAnswerStopsAtTheSizeLimit) {
    AnswerServer server("", true);
    llm::LlmSettings s;
    s.baseUrl = server.url();
    s.timeoutSeconds = 60;
    s.model = "tiny";
    llm::LlmClient client(s);
    llm::ChatRequest req;
    req.user = "x";
    try {
        client.chat(req);
        FAIL() << "an endless body must fail";
    } catch (const llm::LlmError& e) {
        EXPECT_EQ(e.kind, llm::LlmError::Kind::TooLarge);
        EXPECT_NE(std::string(e.what()).find("4194304 bytes"), std::string::npos) << e.what();
    }
    // And composing falls back with a warning that says why.
    const auto r = llm::composeWithLlm(client, interpreter(), "rainy night", 30.0, false);
    EXPECT_FALSE(r.configFromLlm);
    ASSERT_FALSE(r.warnings.empty());
    EXPECT_NE(r.warnings.front().find("larger than the limit"), std::string::npos) << r.warnings.front();
}

TEST(RegisterBounds, StepsThatCrossTheBoundsAreRefused) {
    const auto same = music::parseMusicConfig(R"({"register_min_oct":4,"register_max_oct":4})");
    const auto e = errorOf([&] { music::applyUpdate(same, R"({"register_min_oct":"+1","register_max_oct":"-1"})"); });
    EXPECT_NE(e.find("must not be above"), std::string::npos) << e;
    const auto up = music::applyUpdate(same, R"({"register_min_oct":"+2"})");
    EXPECT_EQ(up.registerMinOct, 6);
    EXPECT_EQ(up.registerMaxOct, 6) << "one bound stepped alone moves the other";
}

TEST(JsonLimits, StructuresFitTheirBarsExactlyOrSayWhyNot) {
    const auto slow = music::parseMusicConfig(R"({"bpm":40})");
    std::string many = "[";
    for (int i = 0; i < 12; ++i) many += std::string(i ? "," : "") + R"({"section":"verse","bars":1})";
    many += "]";
    const auto e = errorOf([&] { compose::arrangeFromStructure(slow, many, 45.0, true); });
    EXPECT_NE(e.find("12 sections need at least 12 bars"), std::string::npos) << e;
    // Twenty-one uneven sections scaled into a duration: whole bars, at least one each, adding up.
    std::string uneven = "[";
    for (int i = 0; i < 21; ++i) uneven += std::string(i ? "," : "") + R"({"section":"verse","bars":)" + std::to_string(1 + (i * 7) % 5) + "}";
    uneven += "]";
    for (const double seconds : {60.0, 97.0, 200.0})
        for (const bool loop : {false, true}) {
            const auto a = compose::arrangeFromStructure(music::parseMusicConfig(R"({"bpm":120})"), uneven, seconds, loop);
            int sum = 0;
            for (const auto& s : a.sections) {
                EXPECT_GE(s.bars, 1);
                EXPECT_EQ(s.startBar, sum);
                sum += s.bars;
            }
            EXPECT_EQ(sum, a.totalBars);
            EXPECT_LE(a.totalBars * a.barSeconds(), a.durationSeconds + 1e-6) << seconds << (loop ? " loop" : "") << ": the bars fit the length";
        }
}

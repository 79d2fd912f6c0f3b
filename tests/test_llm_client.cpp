// The LLM client's HTTP behaviour against a real HTTP server on loopback (cpp-httplib's
// httplib::Server, scripted per test): retries on 5xx and 429 with a growing backoff, no retry
// on other 4xx, the Authorization header, and every call ending by its deadline.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "llm/LlmClient.h"

using namespace soundstar::llm;
using Clock = std::chrono::steady_clock;

namespace {

const std::string kChatAnswer = R"({"choices":[{"message":{"role":"assistant","content":"hello"}}]})";

/// One request as the server saw it.
struct Seen {
    std::string method, path, authorization;
    bool hasAuthorization = false;
    Clock::time_point at;
};

/// A real HTTP server on 127.0.0.1 whose n-th request (0-based) is answered by `answer(n)`:
/// {status, body}. Records every request.
class ScriptedServer {
  public:
    using Answer = std::function<std::pair<int, std::string>(int)>;
    explicit ScriptedServer(Answer answer) : answer_(std::move(answer)) {
        const auto handle = [this](const httplib::Request& req, httplib::Response& res) {
            int n;
            {
                std::lock_guard lock(mutex_);
                n = static_cast<int>(seen_.size());
                seen_.push_back({req.method, req.path, req.get_header_value("Authorization"),
                                 req.has_header("Authorization"), Clock::now()});
            }
            const auto [status, body] = answer_(n);
            res.status = status;
            res.set_content(body, "application/json");
        };
        server_.Get(".*", handle);
        server_.Post(".*", handle);
        port_ = server_.bind_to_any_port("127.0.0.1");
        thread_ = std::thread([this] { server_.listen_after_bind(); });
        while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ~ScriptedServer() {
        server_.stop();
        thread_.join();
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }
    std::vector<Seen> seen() {
        std::lock_guard lock(mutex_);
        return seen_;
    }

  private:
    Answer answer_;
    httplib::Server server_;
    int port_ = 0;
    std::thread thread_;
    std::mutex mutex_;
    std::vector<Seen> seen_;
};

LlmSettings settingsFor(const std::string& url, double timeoutSeconds = 10.0, int retries = 2) {
    LlmSettings s;
    s.baseUrl = url;
    s.model = "tiny";
    s.apiKey = "sk-test-4711";
    s.timeoutSeconds = timeoutSeconds;
    s.retries = retries;
    return s;
}

ChatRequest hello() {
    ChatRequest r;
    r.system = "sys";
    r.user = "hi";
    return r;
}

double secondsBetween(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
}

/// The LlmError a call throws (fails the test when it returns).
template <typename F>
LlmError errorOf(F&& call) {
    try {
        call();
    } catch (const LlmError& e) {
        return e;
    }
    ADD_FAILURE() << "no LlmError";
    return LlmError(LlmError::Kind::Garbage, "none");
}

}  // namespace

TEST(LlmClientHttp, ServerErrorsAndTooManyRequestsAreRetriedWithBackoff) {
    for (int status : {500, 503, 429}) {
        SCOPED_TRACE(status);
        ScriptedServer s([status](int n) {
            return n < 2 ? std::pair{status, std::string(R"({"error":"busy"})")}
                         : std::pair{200, kChatAnswer};
        });
        LlmClient c(settingsFor(s.url()));
        EXPECT_EQ(c.chat(hello()), "hello");
        const auto seen = s.seen();
        ASSERT_EQ(seen.size(), 3u) << "two failures, then the answer";
        for (const auto& r : seen) {
            EXPECT_EQ(r.method, "POST");
            EXPECT_EQ(r.path, "/v1/chat/completions");
        }
        // The backoff doubles from 0.25 s: at least 0.25 s, then 0.5 s between tries.
        EXPECT_GE(secondsBetween(seen[0].at, seen[1].at), 0.24);
        EXPECT_GE(secondsBetween(seen[1].at, seen[2].at), 0.49);
        EXPECT_LT(secondsBetween(seen[1].at, seen[2].at), 1.5);
    }
}

TEST(LlmClientHttp, RetriesRunOutWithTheLastStatusInTheMessage) {
    ScriptedServer s([](int) { return std::pair{503, std::string(R"({"error":"model loading"})")}; });
    LlmClient c(settingsFor(s.url(), 10.0, 2));
    const auto e = errorOf([&] { c.chat(hello()); });
    EXPECT_EQ(e.kind, LlmError::Kind::Http);
    const std::string what = e.what();
    EXPECT_NE(what.find("HTTP 503"), std::string::npos) << what;
    EXPECT_NE(what.find("model loading"), std::string::npos) << what;
    EXPECT_NE(what.find(s.url()), std::string::npos) << what;
    EXPECT_EQ(s.seen().size(), 3u) << "one try and two retries";
}

TEST(LlmClientHttp, ClientErrorsAreNotRetriedAndSayWhatHappened) {
    for (int status : {400, 401, 403, 404, 422}) {
        SCOPED_TRACE(status);
        ScriptedServer s([status](int) {
            return std::pair{status, std::string(R"({"error":"no such thing"})")};
        });
        LlmClient c(settingsFor(s.url()));
        const auto e = errorOf([&] { c.chat(hello()); });
        EXPECT_EQ(e.kind, LlmError::Kind::Http);
        const std::string what = e.what();
        EXPECT_NE(what.find("HTTP " + std::to_string(status)), std::string::npos) << what;
        EXPECT_NE(what.find("no such thing"), std::string::npos) << what;
        EXPECT_NE(what.find("POST " + s.url() + "/chat/completions"), std::string::npos) << what;
        EXPECT_EQ(what.find("sk-test-4711"), std::string::npos) << "the API key never appears in a message";
        EXPECT_EQ(s.seen().size(), 1u);
    }
}

TEST(LlmClientHttp, SendsTheApiKeyAsABearerTokenAndNothingWithoutOne) {
    ScriptedServer s([](int n) {
        // Each client lists the models first, then chats.
        return n % 2 == 0 ? std::pair{200, std::string(R"({"data":[{"id":"listed-model"}]})")}
                          : std::pair{200, kChatAnswer};
    });
    auto st = settingsFor(s.url());
    st.model.clear();  // so the client asks GET /models first
    LlmClient c(st);
    EXPECT_EQ(c.chat(hello()), "hello");
    auto seen = s.seen();
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].method, "GET");
    EXPECT_EQ(seen[0].path, "/v1/models");
    for (const auto& r : seen) EXPECT_EQ(r.authorization, "Bearer sk-test-4711") << r.method << " " << r.path;
    st.apiKey.clear();
    LlmClient anonymous(st);
    EXPECT_EQ(anonymous.chat(hello()), "hello");
    seen = s.seen();
    ASSERT_EQ(seen.size(), 4u);
    EXPECT_FALSE(seen[2].hasAuthorization) << seen[2].authorization;
    EXPECT_FALSE(seen[3].hasAuthorization) << seen[3].authorization;
}

TEST(LlmClientHttp, BackoffNeverRunsPastTheDeadline) {
    // Always 500 and many retries allowed: the 0.25 + 0.5 + 1 s backoffs would run past a
    // 0.6 s timeout; the call must end by it, saying why and what the server last said.
    ScriptedServer s([](int) { return std::pair{500, std::string(R"({"error":"overloaded"})")}; });
    LlmClient c(settingsFor(s.url(), 0.6, 10));
    const auto t0 = Clock::now();
    const auto e = errorOf([&] { c.chat(hello()); });
    const double took = secondsBetween(t0, Clock::now());
    EXPECT_GE(took, 0.55) << "it kept trying until the deadline";
    EXPECT_LT(took, 0.6 + 0.5) << "it stopped at the deadline (plus scheduling slack on a shared machine)";
    EXPECT_EQ(e.kind, LlmError::Kind::Timeout) << e.what();
    const std::string what = e.what();
    EXPECT_NE(what.find("0.6 s timeout"), std::string::npos) << what;
    EXPECT_NE(what.find("HTTP 500"), std::string::npos) << "the last failure is named: " << what;
    const auto n = s.seen().size();
    EXPECT_GE(n, 2u);
    EXPECT_LE(n, 3u) << "tries at 0, 0.25 s and (maybe) just before 0.6 s";
    // An explicit deadline shorter than the settings' timeout wins too.
    LlmClient patient(settingsFor(s.url(), 30.0, 10));
    const auto t1 = Clock::now();
    errorOf([&] { patient.chat(hello(), Clock::now() + std::chrono::milliseconds(400)); });
    EXPECT_LT(secondsBetween(t1, Clock::now()), 0.4 + 0.5);
}

#include "queue/RedisConnection.h"

#include <fmt/format.h>
#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <cmath>
#include <regex>
#include <stdexcept>

#include "music/JsonText.h"

namespace soundstar::queue {
namespace {
timeval toTimeval(double seconds) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(seconds);
    tv.tv_usec = static_cast<suseconds_t>((seconds - std::floor(seconds)) * 1e6);
    return tv;
}

RedisReply convert(const redisReply* r, int depth = 0) {
    RedisReply out;
    if (!r || depth > 16) return out;
    switch (r->type) {
        case REDIS_REPLY_STRING:
        case REDIS_REPLY_STATUS:
            out.type = RedisReply::Type::String;
            out.text.assign(r->str, r->len);
            break;
        case REDIS_REPLY_ERROR:
            out.type = RedisReply::Type::Error;
            out.text.assign(r->str, r->len);
            break;
        case REDIS_REPLY_INTEGER:
            out.type = RedisReply::Type::Integer;
            out.integer = r->integer;
            break;
        case REDIS_REPLY_ARRAY:
            out.type = RedisReply::Type::Array;
            for (std::size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i], depth + 1));
            break;
        default: break;
    }
    return out;
}
}  // namespace

RedisUrl parseRedisUrl(std::string_view text) {
    const auto refuse = [&](const std::string& why) -> RedisUrl {
        throw std::invalid_argument(fmt::format("--redis {} is not a Redis URL: {}; the form is redis://[:PASSWORD@]HOST[:PORT][/DB], "
                                                "e.g. redis://127.0.0.1:6379/0 (port 1-65535, database 0-15)",
                                                music::quoteJson(std::string(music::clipText(text, 200)), 220), why));
    };
    if (text.size() > 1024) return refuse(fmt::format("it has {} bytes; the limit is 1024", text.size()));
    static const std::regex kUrl(R"(redis://(?::([^@/]*)@)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::([0-9]{1,5}))?(?:/([0-9]{1,2}))?/?)");
    std::cmatch m;
    if (!std::regex_match(text.data(), text.data() + text.size(), m, kUrl)) {
        if (text.substr(0, 8) != "redis://") return refuse("it does not start with redis://");
        return refuse("the host, port or database is malformed");
    }
    RedisUrl u;
    u.password = m[1].str();
    u.host = m[2].str();
    if (u.host.size() > 2 && u.host.front() == '[') u.host = u.host.substr(1, u.host.size() - 2);
    if (u.host.size() > 253) return refuse("the host name is longer than 253 bytes");
    if (m[3].matched) {
        u.port = std::stoi(m[3].str());
        if (u.port < 1 || u.port > 65535) return refuse(fmt::format("port {} is out of range", u.port));
    }
    if (m[4].matched) {
        u.database = std::stoi(m[4].str());
        if (u.database > 15) return refuse(fmt::format("database {} is out of range", u.database));
    }
    return u;
}

std::string describe(const RedisUrl& u) { return fmt::format("redis://{}:{}/{}", u.host, u.port, u.database); }

struct RedisConnection::Impl {
    redisContext* ctx = nullptr;
    std::string where;
    double timeout = 10.0;
};

RedisConnection::RedisConnection(const RedisUrl& url, double timeoutSeconds) : impl_(std::make_unique<Impl>()) {
    impl_->where = describe(url);
    impl_->ctx = redisConnectWithTimeout(url.host.c_str(), url.port, toTimeval(timeoutSeconds));
    if (!impl_->ctx || impl_->ctx->err) {
        const std::string why = impl_->ctx ? impl_->ctx->errstr : "out of memory";
        if (impl_->ctx) redisFree(impl_->ctx);
        impl_->ctx = nullptr;
        throw std::runtime_error(fmt::format("cannot connect to Redis at {}: {}", impl_->where, why));
    }
    redisEnableKeepAlive(impl_->ctx);
    if (!url.password.empty()) {
        const auto r = command({"AUTH", url.password});
        if (r.type == RedisReply::Type::Error) throw std::runtime_error(fmt::format("Redis at {} refused the password: {}", impl_->where, music::clipText(r.text, 200)));
    }
    if (url.database != 0) checked({"SELECT", std::to_string(url.database)});
}

RedisConnection::~RedisConnection() {
    if (impl_ && impl_->ctx) redisFree(impl_->ctx);
}

RedisReply RedisConnection::command(const std::vector<std::string>& args, double timeoutSeconds) {
    if (!impl_->ctx) throw std::runtime_error(fmt::format("the connection to Redis at {} is closed", impl_->where));
    if (timeoutSeconds != impl_->timeout) {
        redisSetTimeout(impl_->ctx, toTimeval(timeoutSeconds));
        impl_->timeout = timeoutSeconds;
    }
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& a : args) {
        argv.push_back(a.data());
        lens.push_back(a.size());
    }
    auto* raw = static_cast<redisReply*>(redisCommandArgv(impl_->ctx, static_cast<int>(argv.size()), argv.data(), lens.data()));
    if (!raw) {
        const std::string why = impl_->ctx->errstr;
        redisFree(impl_->ctx);
        impl_->ctx = nullptr;
        throw std::runtime_error(fmt::format("lost the connection to Redis at {} during {}: {}", impl_->where, args.empty() ? "" : args[0], why));
    }
    RedisReply r = convert(raw);
    freeReplyObject(raw);
    return r;
}

RedisReply RedisConnection::checked(const std::vector<std::string>& args, double timeoutSeconds) {
    RedisReply r = command(args, timeoutSeconds);
    if (r.type == RedisReply::Type::Error)
        throw std::runtime_error(fmt::format("Redis at {} answered {} with an error: {}", impl_->where, args.empty() ? "" : args[0], music::clipText(r.text, 300)));
    return r;
}

}  // namespace soundstar::queue

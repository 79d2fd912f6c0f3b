#pragma once
// A blocking connection to one Redis server [control; one thread per connection]. The only place
// that knows hiredis: everything above it speaks in argument lists and RedisReply trees.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace soundstar::queue {

/// Where a Redis server is: redis://[:PASSWORD@]HOST[:PORT][/DB].
struct RedisUrl {
    std::string host;
    int port = 6379;
    int database = 0;
    std::string password;  // never printed
};
/// Parses a redis:// URL. Throws std::invalid_argument naming what is wrong and the form allowed
/// (host at most 253 bytes, port 1-65535, database 0-15).
RedisUrl parseRedisUrl(std::string_view url);
/// The URL without its password, for messages.
std::string describe(const RedisUrl& url);

/// One reply, as a tree: strings (bulk or status), integers, nil, errors and arrays.
struct RedisReply {
    enum class Type { Nil, String, Integer, Array, Error } type = Type::Nil;
    std::string text;  // String, Error (and Status replies read as String)
    long long integer = 0;
    std::vector<RedisReply> elements;

    bool isNil() const { return type == Type::Nil; }
    bool isArray() const { return type == Type::Array; }
};

class RedisConnection {
public:
    /// Connects (within `timeoutSeconds`), authenticates and selects the database. Throws
    /// std::runtime_error saying which server could not be reached and why.
    RedisConnection(const RedisUrl& url, double timeoutSeconds = 5.0);
    ~RedisConnection();
    RedisConnection(const RedisConnection&) = delete;
    RedisConnection& operator=(const RedisConnection&) = delete;

    /// Sends one command and waits up to `timeoutSeconds` for its reply (a blocking command
    /// needs more than its BLOCK time). A Redis error reply comes back as Type::Error; a broken
    /// connection or a timeout throws std::runtime_error (the connection is then unusable).
    RedisReply command(const std::vector<std::string>& args, double timeoutSeconds = 10.0);
    /// As command(), but an error reply throws std::runtime_error naming the command.
    RedisReply checked(const std::vector<std::string>& args, double timeoutSeconds = 10.0);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace soundstar::queue

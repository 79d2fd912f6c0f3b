#include "queue/WorkQueue.h"

#include <fmt/format.h>

#include <stdexcept>

#include "music/JsonText.h"

namespace soundstar::queue {
namespace {
// Results and dead letters are kept, trimmed to about this many entries.
constexpr const char* kKeepResults = "100000";

std::map<std::string, std::string> fieldsOf(const RedisReply& flat) {
    std::map<std::string, std::string> f;
    for (std::size_t i = 0; i + 1 < flat.elements.size(); i += 2) f[flat.elements[i].text] = flat.elements[i + 1].text;
    return f;
}

// [[id, [field, value, ...]], ...] -> entries (deleted entries come back as nil fields: skipped).
std::vector<ResultEntry> entriesOf(const RedisReply& list) {
    std::vector<ResultEntry> out;
    for (const auto& e : list.elements)
        if (e.isArray() && e.elements.size() == 2 && e.elements[1].isArray()) out.push_back({e.elements[0].text, fieldsOf(e.elements[1])});
    return out;
}

std::vector<QueueEntry> jobsOf(const std::vector<ResultEntry>& entries) {
    std::vector<QueueEntry> jobs;
    for (const auto& e : entries) {
        const auto it = e.fields.find("job");
        jobs.push_back({e.streamId, it == e.fields.end() ? std::string() : it->second, 1});
    }
    return jobs;
}
}  // namespace

QueueNames QueueNames::of(const std::string& stream, const std::string& group) {
    return {stream, group, stream + ":results", stream + ":dead", stream + ":errors"};
}

WorkQueue::WorkQueue(RedisConnection& redis, QueueNames names) : redis_(redis), names_(std::move(names)) {}

void WorkQueue::ensureGroup() {
    const auto r = redis_.command({"XGROUP", "CREATE", names_.stream, names_.group, "0", "MKSTREAM"});
    if (r.type == RedisReply::Type::Error && r.text.rfind("BUSYGROUP", 0) != 0)
        throw std::runtime_error(fmt::format("cannot create the consumer group {} on {}: {}", names_.group, names_.stream, music::clipText(r.text, 300)));
}

std::vector<QueueEntry> WorkQueue::readNew(const std::string& consumer, int count, int blockMs) {
    std::vector<std::string> args{"XREADGROUP", "GROUP", names_.group, consumer, "COUNT", std::to_string(count)};
    if (blockMs > 0) args.insert(args.end(), {"BLOCK", std::to_string(blockMs)});
    args.insert(args.end(), {"STREAMS", names_.stream, ">"});
    const auto r = redis_.checked(args, 10.0 + blockMs / 1000.0);
    if (!r.isArray() || r.elements.empty()) return {};
    const auto& perStream = r.elements[0];  // [stream name, entries]
    if (!perStream.isArray() || perStream.elements.size() < 2) return {};
    return jobsOf(entriesOf(perStream.elements[1]));
}

std::vector<QueueEntry> WorkQueue::claimStale(const std::string& consumer, long long minIdleMs, int count) {
    const auto r = redis_.checked({"XAUTOCLAIM", names_.stream, names_.group, consumer, std::to_string(minIdleMs), claimCursor_, "COUNT",
                                   std::to_string(count)});
    if (!r.isArray() || r.elements.size() < 2) return {};
    claimCursor_ = r.elements[0].text.empty() ? "0-0" : r.elements[0].text;
    auto jobs = jobsOf(entriesOf(r.elements[1]));
    for (auto& j : jobs) {
        // [[id, consumer, idle ms, deliveries]]
        const auto p = redis_.checked({"XPENDING", names_.stream, names_.group, j.id, j.id, "1"});
        if (p.isArray() && !p.elements.empty() && p.elements[0].isArray() && p.elements[0].elements.size() >= 4)
            j.deliveries = p.elements[0].elements[3].integer;
    }
    return jobs;
}

void WorkQueue::keepAlive(const std::string& consumer, const std::vector<std::string>& ids) {
    if (ids.empty()) return;
    std::vector<std::string> args{"XCLAIM", names_.stream, names_.group, consumer, "0"};
    args.insert(args.end(), ids.begin(), ids.end());
    args.push_back("JUSTID");
    redis_.checked(args);
}

namespace {
std::vector<std::string> xadd(const std::string& stream, const std::map<std::string, std::string>& fields) {
    std::vector<std::string> args{"XADD", stream, "MAXLEN", "~", kKeepResults, "*"};
    for (const auto& [k, v] : fields) args.insert(args.end(), {k, v});
    return args;
}
}  // namespace

void WorkQueue::complete(const std::string& id, const std::map<std::string, std::string>& result) {
    auto fields = result;
    fields["id"] = id;
    redis_.checked({"MULTI"});
    redis_.checked({"XACK", names_.stream, names_.group, id});
    redis_.checked({"XDEL", names_.stream, id});
    redis_.checked(xadd(names_.results, fields));
    redis_.checked({"HDEL", names_.errors, id});
    redis_.checked({"EXEC"});
}

void WorkQueue::recordFailure(const std::string& id, const std::string& error) { redis_.checked({"HSET", names_.errors, id, error}); }

std::string WorkQueue::lastError(const std::string& id) {
    const auto r = redis_.checked({"HGET", names_.errors, id});
    return r.isNil() ? std::string() : r.text;
}

void WorkQueue::deadLetter(const QueueEntry& entry, const std::string& error, const std::string& worker) {
    const std::string attempts = std::to_string(entry.deliveries);
    redis_.checked({"MULTI"});
    redis_.checked(xadd(names_.dead, {{"id", entry.id}, {"job", entry.job}, {"error", error}, {"attempts", attempts}, {"worker", worker}}));
    redis_.checked(xadd(names_.results, {{"id", entry.id}, {"status", "failed"}, {"error", error}, {"attempts", attempts}, {"worker", worker}}));
    redis_.checked({"XACK", names_.stream, names_.group, entry.id});
    redis_.checked({"XDEL", names_.stream, entry.id});
    redis_.checked({"HDEL", names_.errors, entry.id});
    redis_.checked({"EXEC"});
}

std::string WorkQueue::submit(const std::string& jobLine) { return redis_.checked({"XADD", names_.stream, "*", "job", jobLine}).text; }

std::string WorkQueue::lastResultId() {
    const auto r = redis_.checked({"XREVRANGE", names_.results, "+", "-", "COUNT", "1"});
    const auto entries = entriesOf(r);
    return entries.empty() ? "0-0" : entries[0].streamId;
}

std::vector<ResultEntry> WorkQueue::readResults(const std::string& afterId, int blockMs, int count) {
    const auto r = redis_.checked({"XREAD", "COUNT", std::to_string(count), "BLOCK", std::to_string(blockMs), "STREAMS", names_.results, afterId},
                                  10.0 + blockMs / 1000.0);
    if (!r.isArray() || r.elements.empty() || !r.elements[0].isArray() || r.elements[0].elements.size() < 2) return {};
    return entriesOf(r.elements[0].elements[1]);
}

}  // namespace soundstar::queue

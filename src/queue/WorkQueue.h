#pragma once
// Render jobs on a Redis Stream with a consumer group [control]. Keys, all named after the
// stream S: S (the jobs: one entry per job, field "job" = a job line), S:results (one entry per
// finished job: id, status ok|failed, output, error, worker, attempts), S:dead (jobs given up on,
// with their error) and S:errors (a hash: the last error of each job still being retried).
// A job is acknowledged (and deleted from S) together with its result entry in one MULTI/EXEC,
// after its files are renamed into place: a worker killed at any moment leaves the job pending,
// and another worker claims it once it has been idle for the claim timeout.
#include <map>
#include <string>
#include <vector>

#include "queue/RedisConnection.h"

namespace soundstar::queue {

/// Attempts before a job goes to the dead-letter stream.
inline constexpr int kMaxAttempts = 3;

struct QueueNames {
    std::string stream, group, results, dead, errors;
    static QueueNames of(const std::string& stream, const std::string& group);
};

/// A job taken from the stream.
struct QueueEntry {
    std::string id;
    std::string job;          // the job line ("" when the entry has no "job" field)
    long long deliveries = 1;  // how many times it has been handed to a worker, this time included
};

/// An entry of the results (or dead-letter) stream, as field -> value.
struct ResultEntry {
    std::string streamId;
    std::map<std::string, std::string> fields;
};

class WorkQueue {
public:
    WorkQueue(RedisConnection& redis, QueueNames names);
    const QueueNames& names() const { return names_; }

    /// Creates the group (and the stream) unless they exist.
    void ensureGroup();
    /// Up to `count` jobs never delivered before; waits up to `blockMs` (0: does not wait).
    std::vector<QueueEntry> readNew(const std::string& consumer, int count, int blockMs);
    /// Up to `count` pending jobs idle for at least `minIdleMs` (their worker died or gave up),
    /// now owned by `consumer`, with their delivery counts.
    std::vector<QueueEntry> claimStale(const std::string& consumer, long long minIdleMs, int count);
    /// Resets the idle time of jobs `consumer` is still rendering, so nobody claims them.
    void keepAlive(const std::string& consumer, const std::vector<std::string>& ids);
    /// Acknowledges a finished job and adds its result, atomically.
    void complete(const std::string& id, const std::map<std::string, std::string>& result);
    /// Remembers a failed attempt's error (the job stays pending and is retried).
    void recordFailure(const std::string& id, const std::string& error);
    /// The last recorded error of a job ("" when none).
    std::string lastError(const std::string& id);
    /// Gives up on a job: adds it to the dead-letter stream and a "failed" result, acknowledges it.
    void deadLetter(const QueueEntry& entry, const std::string& error, const std::string& worker);

    /// Adds a job line; returns its entry id.
    std::string submit(const std::string& jobLine);
    /// The id of the newest result so far ("0-0" when none): read results after it.
    std::string lastResultId();
    /// Results after `afterId`, waiting up to `blockMs`.
    std::vector<ResultEntry> readResults(const std::string& afterId, int blockMs, int count = 500);

private:
    RedisConnection& redis_;
    QueueNames names_;
    std::string claimCursor_ = "0-0";
};

}  // namespace soundstar::queue

// `soundstar batch JOBS.jsonl -o DIR [-j N]`: one render per JSON line, N child processes at a
// time (see batch/ProcessPool.h for why processes), a progress line on stderr, a summary table
// on stdout. A bad line is reported with its number and the other lines still render; the exit
// status is 0 only when every job rendered.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <stdexcept>
#include <thread>

#include "Commands.h"
#include "batch/JobSpec.h"
#include "batch/ProcessPool.h"
#include "io/OutputFiles.h"
#include "music/JsonText.h"

namespace soundstar::app {
namespace fs = std::filesystem;
namespace {
using Clock = std::chrono::steady_clock;

// One line of the jobs file and what became of it.
struct BatchJob {
    std::size_t line = 0;
    std::optional<batch::JobSpec> spec;
    std::string output;  // relative to the output folder
    bool done = false, ok = false;
    std::string error;
    nlohmann::json outcome;
    double seconds = 0.0;
};

struct RawLine {
    std::size_t number;
    std::string text;
    bool tooLong;
};

// Reads the lines of a jobs file, keeping at most kMaxLineBytes of each (longer lines are
// marked, not kept) and refusing more than kMaxJobs jobs. Blank lines and # comments are skipped.
std::vector<RawLine> readJobLines(std::istream& in, const std::string& name) {
    std::vector<RawLine> lines;
    std::string text;
    bool tooLong = false;
    std::size_t number = 0;
    const auto finish = [&] {
        ++number;
        const auto first = text.find_first_not_of(" \t\r");
        if (tooLong || (first != std::string::npos && text[first] != '#')) {
            if (lines.size() == batch::kMaxJobs)
                throw std::invalid_argument(fmt::format("{} has more than {} jobs (at line {}); the limit is {} jobs per batch: split the file",
                                                        name, batch::kMaxJobs, number, batch::kMaxJobs));
            lines.push_back({number, tooLong ? std::string() : text, tooLong});
        }
        text.clear();
        tooLong = false;
    };
    char buf[64 * 1024];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
        const std::size_t got = static_cast<std::size_t>(in.gcount());
        for (std::size_t i = 0; i < got; ++i) {
            if (buf[i] == '\n') {
                finish();
            } else if (!tooLong) {
                text.push_back(buf[i]);
                if (text.size() > batch::kMaxLineBytes) {
                    tooLong = true;
                    text.clear();
                }
            }
        }
    }
    if (!text.empty() || tooLong) finish();
    return lines;
}

// Parses every line and gives each job its output name; a name already taken (by the file, its
// .mid or its .stems) is an error on the later line.
std::vector<BatchJob> parseJobs(const std::vector<RawLine>& lines) {
    std::vector<BatchJob> jobs;
    std::map<std::string, std::size_t> taken;
    for (const auto& raw : lines) {
        BatchJob j;
        j.line = raw.number;
        try {
            if (raw.tooLong)
                throw std::invalid_argument(fmt::format("the line is longer than {} bytes, the limit per job", batch::kMaxLineBytes));
            auto spec = batch::parseJobLine(raw.text);
            j.output = batch::outputName(spec, fmt::format("job-{:04}", raw.number));
            std::vector<std::string> names{j.output};
            if (spec.midi) names.push_back(batch::midiName(j.output));
            if (spec.stems) names.push_back(batch::stemsName(j.output));
            for (const auto& n : names)
                if (const auto it = taken.find(n); it != taken.end())
                    throw std::invalid_argument(fmt::format("{} is already written by the job on line {}; give \"output\" another name", n, it->second));
            for (const auto& n : names) taken.emplace(n, raw.number);
            j.spec = std::move(spec);
        } catch (const std::invalid_argument& e) {
            j.done = true;
            j.error = e.what();
        }
        jobs.push_back(std::move(j));
    }
    return jobs;
}

class Progress {
public:
    Progress(std::size_t total, bool quiet) : total_(total), quiet_(quiet), tty_(::isatty(2) == 1), t0_(Clock::now()) {}
    void update(std::size_t finished, std::size_t failed, int running, const BatchJob* last) {
        if (quiet_) return;
        const double minutes = std::chrono::duration<double>(Clock::now() - t0_).count() / 60.0;
        const double rate = minutes > 0 ? static_cast<double>(finished - failed) / minutes : 0.0;
        if (tty_) {
            const int width = 24, filled = total_ ? static_cast<int>(width * finished / total_) : width;
            fmt::print(stderr, "\r[{}{}] {}/{} done, {} failed, {} running, {:.1f} renders/min ", std::string(filled, '#'),
                       std::string(width - filled, '.'), finished, total_, failed, running, rate);
        } else if (last) {
            fmt::print(stderr, "[{}/{}] line {} {} {}\n", finished, total_, last->line, last->ok ? "ok" : "FAILED", last->output.empty() ? "-" : last->output);
        }
    }
    void end() {
        if (!quiet_ && tty_) fmt::print(stderr, "\n");
    }

private:
    std::size_t total_;
    bool quiet_, tty_;
    Clock::time_point t0_;
};

void printSummary(const std::vector<BatchJob>& jobs, double wallSeconds, int parallel) {
    fmt::print("{:>6}  {:<40}  {:<6}  {:>8}  {:>8}  {:>6}  {:>6}\n", "line", "output", "status", "audio s", "wall s", "LUFS", "dBTP");
    std::size_t ok = 0;
    std::vector<std::size_t> failedLines;
    for (const auto& j : jobs) {
        const auto num = [&](const char* key, const char* spec) {
            return j.outcome.contains(key) ? fmt::format(fmt::runtime(spec), j.outcome[key].get<double>()) : std::string("-");
        };
        fmt::print("{:>6}  {:<40}  {:<6}  {:>8}  {:>8}  {:>6}  {:>6}\n", j.line, music::clipText(j.output.empty() ? "-" : j.output, 40),
                   j.ok ? "ok" : "failed", num("audio_seconds", "{:.2f}"), j.ok ? fmt::format("{:.2f}", j.seconds) : "-", num("lufs", "{:.1f}"),
                   num("dbtp", "{:.1f}"));
        if (j.ok)
            ++ok;
        else
            failedLines.push_back(j.line);
    }
    const double perMinute = wallSeconds > 0 ? static_cast<double>(ok) * 60.0 / wallSeconds : 0.0;
    fmt::print("{} jobs: {} rendered, {} failed{}; {} at a time; {:.2f} s wall; {:.1f} renders per minute\n", jobs.size(), ok, failedLines.size(),
               failedLines.empty() ? "" : fmt::format(" (lines {})", fmt::join(failedLines, ", ")), parallel, wallSeconds, perMinute);
}

void writeReport(const std::string& path, const std::vector<BatchJob>& jobs) {
    io::OutputFiles out;
    const auto temp = out.add(path, "--report");
    std::ofstream f(temp);
    for (const auto& j : jobs) {
        nlohmann::json row{{"line", j.line}, {"output", j.output}, {"ok", j.ok}, {"wall_seconds", j.seconds}};
        if (!j.ok) row["error"] = j.error;
        if (j.ok) row.update(j.outcome);
        f << row.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    }
    f.close();
    if (!f) throw std::runtime_error(fmt::format("cannot write the report {}", path));
    out.commit();
}

void finishJob(BatchJob& j, const batch::ProcessPool::Finished& f) {
    j.done = true;
    j.seconds = f.seconds;
    j.ok = f.ok;
    if (!f.ok) {
        j.error = music::clipText(f.text, 1500);
        return;
    }
    try {
        j.outcome = nlohmann::json::parse(f.text);
    } catch (const nlohmann::json::exception&) {
        j.ok = false;
        j.error = "the render process sent back an unreadable result";
    }
}
// Runs every parsed job, `parallel` at a time, reporting each as it finishes.
void renderAll(std::vector<BatchJob>& jobs, const std::string& outputDir, int parallel, Progress& progress, std::size_t finished, std::size_t failed) {
    progress.update(finished, failed, 0, nullptr);
    batch::ProcessPool pool({parallel, false});
    std::size_t next = 0;
    while (finished < jobs.size()) {
        for (; pool.freeSlots() > 0 && next < jobs.size(); ++next) {
            if (jobs[next].done) continue;
            const BatchJob& j = jobs[next];
            pool.start(next, [&j, &outputDir] { return renderJobInto(*j.spec, outputDir, j.output); });
        }
        for (const auto& f : pool.wait(-1)) {
            BatchJob& j = jobs[f.tag];
            finishJob(j, f);
            ++finished;
            if (!j.ok) {
                ++failed;
                progress.end();
                fmt::print(stderr, "soundstar batch: line {}: {}\n", j.line, j.error);
            }
            if (j.ok && j.outcome.contains("warnings"))
                for (const auto& w : j.outcome["warnings"]) fmt::print(stderr, "soundstar batch: line {}: warning: {}\n", j.line, w.get<std::string>());
            progress.update(finished, failed, pool.running(), &j);
        }
    }
}
}  // namespace

int runBatch(const BatchArgs& b) {
    std::ifstream file;
    if (b.jobsFile != "-") {
        file.open(b.jobsFile, std::ios::binary);
        if (!file) throw std::invalid_argument(fmt::format("cannot read the jobs file {}", b.jobsFile));
    }
    const auto lines = readJobLines(b.jobsFile == "-" ? std::cin : file, b.jobsFile == "-" ? "standard input" : b.jobsFile);
    if (lines.empty()) throw std::invalid_argument(fmt::format("{} has no jobs (one JSON object per line, e.g. {{\"prompt\":\"rainy night\"}})", b.jobsFile));
    std::error_code ec;
    fs::create_directories(b.outputDir, ec);
    if (ec || !fs::is_directory(b.outputDir)) throw std::invalid_argument(fmt::format("-o {}: cannot use it as the output folder: {}", b.outputDir, ec ? ec.message() : "not a folder"));

    auto jobs = parseJobs(lines);
    std::size_t failed = 0, finished = 0;
    bool prompts = false;
    for (const auto& j : jobs) {
        if (!j.spec) {
            ++failed, ++finished;
            fmt::print(stderr, "soundstar batch: line {}: {}\n", j.line, j.error);
        } else if (!j.spec->prompt.empty()) {
            prompts = true;
        }
    }
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const int parallel = static_cast<int>(std::min<std::size_t>(b.parallel > 0 ? b.parallel : cores, std::max<std::size_t>(1, jobs.size() - failed)));
    preloadRenderData(prompts);

    const auto t0 = Clock::now();
    Progress progress(jobs.size(), b.quiet);
    renderAll(jobs, b.outputDir, parallel, progress, finished, failed);
    progress.end();
    const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
    printSummary(jobs, wall, parallel);
    if (!b.reportFile.empty()) writeReport(b.reportFile, jobs);
    return std::all_of(jobs.begin(), jobs.end(), [](const BatchJob& j) { return j.ok; }) ? 0 : 1;
}

}  // namespace soundstar::app

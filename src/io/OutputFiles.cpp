#include "io/OutputFiles.h"

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <stdexcept>
#include <system_error>

namespace soundstar::io {
namespace fs = std::filesystem;

bool isStandardOutput(const fs::path& target) { return target == "-" || target == "/dev/stdout"; }

bool writesDirectly(const fs::path& target) {
    if (isStandardOutput(target)) return true;
    std::error_code ec;
    const auto st = fs::status(target, ec);
    return !ec && fs::exists(st) && !fs::is_regular_file(st) && !fs::is_directory(st);
}

namespace {
// The same file for two outputs? Compared by their absolute, normalised paths (and by identity
// when both exist), so "x.wav" and "./x.wav" collide.
bool sameFile(const fs::path& a, const fs::path& b) {
    std::error_code ec;
    if (fs::exists(a, ec) && fs::exists(b, ec)) return fs::equivalent(a, b, ec);
    return fs::weakly_canonical(fs::absolute(a), ec) == fs::weakly_canonical(fs::absolute(b), ec);
}

fs::path tempFor(const fs::path& target) {
    static std::atomic<int> counter{0};
    const auto name = fmt::format(".{}.part-{}-{}{}", target.stem().string(), ::getpid(), counter++, target.extension().string());
    return target.parent_path() / name;
}
}  // namespace

fs::path OutputFiles::add(const fs::path& asked, const std::string& what) {
    if (asked.empty()) throw std::invalid_argument(fmt::format("{}: give a file name", what));
    // Standard output under either name; an existing symbolic link is written through (the
    // temporary file and the rename happen beside the file it points to, not over the link).
    fs::path target = isStandardOutput(asked) ? fs::path("-") : asked;
    std::error_code ec;
    for (int hops = 0; hops < 8 && target != "-" && fs::is_symlink(target, ec); ++hops) {  // dangling links too
        const fs::path to = fs::read_symlink(target, ec);
        if (ec) break;
        target = to.is_absolute() ? to : target.parent_path() / to;
    }
    for (const auto& e : entries_)
        if (target != "-" && e.target != "-" && sameFile(e.target, target))
            throw std::invalid_argument(fmt::format("{} and {} name the same file ({}); give each its own", e.what, what, target.string()));
        else if (target == "-" && e.target == "-")
            throw std::invalid_argument(fmt::format("{} and {} both write to standard output; only one may", e.what, what));
    if (fs::is_directory(target, ec)) throw std::invalid_argument(fmt::format("{}: {} is a folder; give a file name", what, target.string()));
    if (writesDirectly(target)) {
        entries_.push_back({target, target, what});
        return target;
    }
    const auto parent = target.parent_path().empty() ? fs::path(".") : target.parent_path();
    if (!fs::is_directory(parent, ec))
        throw std::invalid_argument(fmt::format("{}: cannot write {}: the folder {} does not exist", what, target.string(), parent.string()));
    entries_.push_back({target, tempFor(target), what});
    return entries_.back().temp;
}

void OutputFiles::ensureFolder(const fs::path& dir, const std::string& what) {
    if (dir.empty()) throw std::invalid_argument(fmt::format("{}: give a folder name", what));
    std::error_code ec;
    if (fs::is_directory(dir, ec)) return;
    if (fs::exists(dir, ec)) throw std::invalid_argument(fmt::format("{}: {} exists and is not a folder", what, dir.string()));
    // Remember each level this creates, innermost first: the order to remove them in.
    std::vector<fs::path> missing;
    for (fs::path p = fs::absolute(dir); !p.empty() && !fs::exists(p, ec); p = p.parent_path()) {
        missing.push_back(p);
        if (p == p.parent_path()) break;
    }
    fs::create_directories(dir, ec);
    if (ec) throw std::runtime_error(fmt::format("{}: cannot create the folder {}: {}", what, dir.string(), ec.message()));
    createdFolders_.insert(createdFolders_.end(), missing.begin(), missing.end());
}

void OutputFiles::commit() {
    for (const auto& e : entries_) {
        if (e.temp == e.target) continue;
        std::error_code ec;
        fs::rename(e.temp, e.target, ec);
        if (ec) throw std::runtime_error(fmt::format("{}: cannot move the finished file into place as {}: {}", e.what, e.target.string(), ec.message()));
    }
    committed_ = true;
}

std::string OutputFiles::withTargetNames(std::string message) const {
    for (const auto& e : entries_) {
        const std::string temp = e.temp.string(), target = e.target.string();
        for (std::size_t at = 0; (at = message.find(temp, at)) != std::string::npos; at += target.size()) message.replace(at, temp.size(), target);
    }
    return message;
}

OutputFiles::~OutputFiles() {
    if (committed_) return;
    std::error_code ec;
    for (const auto& e : entries_)
        if (e.temp != e.target) fs::remove(e.temp, ec);
    for (const auto& d : createdFolders_) fs::remove(d, ec);  // only if empty: innermost first
}

}  // namespace soundstar::io

#include "SessionLoop.h"

#include <fmt/format.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <iostream>
#include <iterator>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "core/AudioRing.h"
#include "io/AudioDevice.h"
#include "music/JsonText.h"

namespace soundstar::app {

std::atomic<bool> SessionLoop::interrupted{false};

std::vector<std::pair<double, std::string>> readScript(const std::string& file) {
    std::vector<std::pair<double, std::string>> script;
    std::istringstream text(file.empty() ? std::string(std::istreambuf_iterator<char>(std::cin), {}) : music::readTextFile(file, "--script"));
    static const std::regex kTimed(R"(\s*([0-9]{1,6}(\.[0-9]{1,3})?)(\s+(.*))?)");
    std::smatch m;
    for (std::string line; std::getline(text, line);) {
        if (line.empty() || line[0] == '#') continue;
        if (script.size() >= 10000) throw std::invalid_argument("--script: at most 10000 lines");
        if (!std::regex_match(line, m, kTimed)) throw std::invalid_argument(fmt::format("--script: '{}' is not \"SECONDS LINE\"", music::clipText(line, 80)));
        script.emplace_back(std::stod(m[1]), m[4]);
    }
    std::stable_sort(script.begin(), script.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
    return script;
}

SessionLoop::SessionLoop(live::LiveSession& session, Recorder& recorder, double sampleRate, int blockSize, SampleTime end)
    : session_(session), recorder_(recorder), sampleRate_(sampleRate), blockSize_(blockSize), end_(end) {}

void SessionLoop::quit(SampleTime now, bool urgent) {
    if (urgent && realTime_) {
        // The device plays what the engine renders from now() on: stamped a block past where the
        // engine is at this moment (not at `now`, which a loaded machine may have left behind
        // since), the fade is never late, and lands within a block of the key or signal.
        constexpr double kSeconds = 0.05;
        const SampleTime at = std::max(now, session_.engine().now()) + blockSize_;
        session_.note(now, "stop", interrupted ? "interrupted (SIGINT)" : "quit");
        session_.fadeOut(at, kSeconds, true);
        end_ = std::min(end_, at + static_cast<SampleTime>((kSeconds + 0.02) * sampleRate_));
        quitting_ = true;
        return;
    }
    const SampleTime from = std::max(now, session_.scheduledUntil());
    const double seconds = std::max(0.02, 0.1 - static_cast<double>(from - now) / sampleRate_);
    session_.fadeOut(from, seconds);
    end_ = std::min(end_, from + static_cast<SampleTime>((seconds + 0.05) * sampleRate_));
    quitting_ = true;
}

void SessionLoop::feedBlock() {
    if (feed) feed(fed_);
    while (!session_.pump(fed_ + blockSize_)) {  // one block ahead: "now" lands on the next block
    }
    fed_ += blockSize_;
}

void SessionLoop::runVirtual() {
    StereoBuffer block;
    block.resize(blockSize_);
    std::vector<float> inter(static_cast<std::size_t>(blockSize_) * 2);
    for (SampleTime pos = 0; pos < end_;) {
        if (poll) poll(pos);
        if (interrupted && !quitting_) quit(pos);
        fed_ = pos;
        feedBlock();
        // Whole blocks, as a device renders them (per-block stages such as the leveller would
        // differ on a short last block); only the frames up to the end are kept.
        const int n = static_cast<int>(std::min<SampleTime>(blockSize_, end_ - pos));
        session_.engine().render(block.view());
        if (recorder_.active()) {
            for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) inter[2 * i] = block.left()[i], inter[2 * i + 1] = block.right()[i];
            recorder_.write(inter.data(), static_cast<std::size_t>(n));
        }
        pos += n;
    }
}

void SessionLoop::runRealTime(const std::string& deviceName, const std::function<void(const std::string&)>& say, std::unique_ptr<io::AudioDevice> own) {
    auto device = own ? std::move(own) : deviceName == "null" ? io::makeNullDevice() : io::makeRtAudioDevice();
    if (!device) throw std::runtime_error("this build has no audio device support; use --device null or --clock virtual");
    std::signal(SIGINT, [](int) { interrupted = true; });
    realTime_ = true;
    const auto lookAhead = static_cast<SampleTime>(0.2 * sampleRate_);
    while (fed_ < lookAhead) feedBlock();
    // What the device plays is tapped into a ring (3 s) and written out here, off the audio
    // thread, up to the end (a device may render a block or two past it before it stops).
    AudioRing tap(1 << 17);
    std::vector<float> drained(static_cast<std::size_t>(1 << 17) * 2);
    SampleTime recorded = 0;
    const auto drain = [&] {
        for (std::size_t n; (n = tap.read(drained.data(), 1 << 17)) > 0;) {
            const auto keep = static_cast<std::size_t>(std::clamp<SampleTime>(end_ - recorded, 0, static_cast<SampleTime>(n)));
            if (keep > 0) recorder_.write(drained.data(), keep);
            recorded += static_cast<SampleTime>(n);
        }
    };
    engine::AudioEngine& engine = session_.engine();
    if (recorder_.active()) engine.setTap(&tap);
    device->start(engine);
    say(device->name());
    std::string pending;
    bool stdinOpen = true;
    while (engine.now() < end_) {
        const SampleTime now = engine.now();
        // Wait at most 4 ms for a line (the loop also drains the recording); once stdin is
        // closed it is no longer watched (poll ignores a negative descriptor and only waits).
        pollfd in{stdinOpen && !quitting_ ? STDIN_FILENO : -1, POLLIN, 0};
        if (::poll(&in, 1, 4) > 0 && (in.revents & (POLLIN | POLLHUP | POLLERR))) {
            char buf[4096];
            const ssize_t got = ::read(STDIN_FILENO, buf, sizeof buf);
            const SampleTime read = engine.now();  // where the lines were read (the poll waited up to 4 ms)
            if (got <= 0 && !(got < 0 && errno == EINTR)) {
                stdinOpen = false;
                if (stdinClosed) stdinClosed(read);
            } else if (got > 0) {
                pending.append(buf, static_cast<std::size_t>(got));
                for (std::size_t nl; (nl = pending.find('\n')) != std::string::npos; pending.erase(0, nl + 1))
                    if (!quitting_ && line) line(pending.substr(0, nl), read);
                if (pending.size() > 4096) {
                    fmt::print(stderr, "soundstar: a line over 4096 bytes was dropped\n");
                    pending.clear();
                }
            }
        }
        if (poll) poll(now);
        if (interrupted && !quitting_) quit(engine.now(), true);
        while (fed_ < now + lookAhead) feedBlock();
        drain();
    }
    device->stop();
    drain();
    engine.setTap(nullptr);
    if (tap.dropped() > 0) fmt::print(stderr, "soundstar: the recording lost {} frames (the disk or pipe was too slow)\n", tap.dropped());
    end_ = std::min(end_, engine.now());  // what was played up to the end (and recorded)
}

}  // namespace soundstar::app

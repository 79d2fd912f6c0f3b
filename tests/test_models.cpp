// The model service (issue #12): the frame codec and model folders alone, then the supervisor
// with real `soundstar model-worker` processes running the procedural model: streaming order,
// seeds, cancel, a worker killed (SIGKILL) or hung (SIGSTOP) mid-request, the memory budget, and
// the CLI's files read back with sox.
#include <gtest/gtest.h>
#include <fmt/format.h>

#include <set>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <thread>

#include "Cli.h"
#include "models/Frame.h"
#include "models/ModelManifest.h"
#include "models/WorkerSupervisor.h"

using namespace soundstar;
using namespace soundstar::models;
namespace fs = std::filesystem;

namespace {
constexpr double kRate = 22050.0;

std::string expectThrow(const std::function<void()>& f) {
    try {
        f();
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    ADD_FAILURE() << "no std::invalid_argument";
    return {};
}

struct TempDir {
    fs::path path;
    TempDir() : path(fs::temp_directory_path() / ("soundstar-models-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++))) {
        fs::create_directories(path);
    }
    ~TempDir() { fs::remove_all(path); }
    static int& counter() {
        static int n = 0;
        return n;
    }
};

void writeFile(const fs::path& p, const std::string& bytes) { std::ofstream(p, std::ios::binary) << bytes; }

std::string f32Bytes(const std::vector<float>& v) {
    std::string s(v.size() * 4, '\0');
    std::memcpy(s.data(), v.data(), s.size());
    return s;
}

/// A procedural model folder (4 f32 taps) with this name and memory claim.
fs::path makeModel(const fs::path& root, const std::string& name, std::uint64_t memoryBytes = 100'000'000) {
    const auto dir = root / name;
    fs::create_directories(dir);
    nlohmann::json m = {{"name", name},        {"kind", "procedural"}, {"sample_rate", kRate},          {"quantization", "f32"},
                        {"weights", "w.bin"},  {"parameter_count", 4}, {"memory_bytes", memoryBytes},
                        {"parameters", {{"default_steps", 4}, {"unconditional", "calm ambient"}}}};
    writeFile(dir / "manifest.json", m.dump());
    writeFile(dir / "w.bin", f32Bytes({0.7f, 0.2f, 0.1f, 0.0f}));
    return dir;
}

WorkerSupervisor::Options serviceOptions() {
    WorkerSupervisor::Options o;
    o.workerCommand = {SOUNDSTAR_BIN, "model-worker"};
    return o;
}

double rms(const std::vector<float>& x) {
    double s = 0;
    for (float v : x) s += double(v) * v;
    return x.empty() ? 0.0 : std::sqrt(s / double(x.size()));
}

GenerateRequest req(const fs::path& model, const std::string& prompt, double seconds, std::uint64_t seed = 1, std::optional<int> steps = {}) {
    GenerateRequest r;
    r.model = model;
    r.prompt = prompt;
    r.seconds = seconds;
    r.seed = seed;
    r.steps = steps;
    return r;
}

/// Waits up to 20 s for `done` (the supervisor restarts a worker after it has answered).
bool eventually(const std::function<bool()>& done) {
    for (int i = 0; i < 2000 && !done(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return done();
}

int pidOf(const ModelService& s, const std::string& name) {
    for (const auto& m : s.status().loaded)
        if (m.name == name) return m.pid;
    return 0;
}
}  // namespace

// ---- the frame codec ----

TEST(ModelFrames, EveryTypeRoundTripsWhateverTheSplit) {
    std::vector<Frame> sent = {
        Frame::make(FrameType::Hello, {{"protocol", 1}, {"pid", 7}}),
        Frame::make(FrameType::Generate, {{"id", 2}, {"prompt", "warm pads"}, {"seconds", 2.5}, {"seed", 18446744073709551615ull}, {"steps", 4}}),
        Frame::make(FrameType::Progress, {{"id", 2}, {"step", 1}, {"steps", 4}}),
        Frame::chunk(2, 0, 2, 44100, {0.5f, -0.25f, 1e-30f, -0.0f}),
        Frame::make(FrameType::Done, {{"id", 2}, {"frames", 2}}),
        Frame::make(FrameType::Cancel, {{"id", 2}}),
        Frame::make(FrameType::Error, {{"id", 2}, {"message", "no"}, {"code", "cancelled"}}),
        Frame::make(FrameType::Status, {{"id", 3}, {"model", "m"}, {"memory_bytes", 5}}),
    };
    std::string bytes;
    for (const auto& f : sent) bytes += encodeFrame(f);
    for (std::size_t piece : {std::size_t{1}, std::size_t{5}, bytes.size()}) {
        FrameDecoder d;
        std::vector<Frame> got;
        for (std::size_t at = 0; at < bytes.size(); at += piece) {
            d.feed(bytes.data() + at, std::min(piece, bytes.size() - at));
            while (auto f = d.next()) got.push_back(std::move(*f));
        }
        ASSERT_EQ(got.size(), sent.size()) << piece;
        for (std::size_t i = 0; i < got.size(); ++i) {
            EXPECT_EQ(got[i].type, sent[i].type);
            EXPECT_EQ(got[i].header, sent[i].header);
            ASSERT_EQ(got[i].pcm.size(), sent[i].pcm.size());
            EXPECT_EQ(std::memcmp(got[i].pcm.data(), sent[i].pcm.data(), 4 * got[i].pcm.size()), 0);  // bit for bit, -0 included
        }
        EXPECT_EQ(d.pending(), 0u);
    }
}

TEST(ModelFrames, BadFramesNameWhatIsWrongAndTheLimit) {
    const auto decodeAll = [](const std::string& bytes) {
        FrameDecoder d;
        d.feed(bytes.data(), bytes.size());
        while (d.next()) {
        }
    };
    const auto prefix = [](std::uint32_t header, std::uint32_t payload) {
        std::string s = "SSMF";
        for (auto v : {header, payload})
            for (int i = 0; i < 4; ++i) s.push_back(char((v >> (8 * i)) & 0xff));
        return s;
    };
    EXPECT_NE(expectThrow([&] { decodeAll("GET / HTTP/1.1\r\n\r\n"); }).find("\"SSMF\""), std::string::npos);
    EXPECT_NE(expectThrow([&] { decodeAll(prefix(70000, 0)); }).find("65536"), std::string::npos);
    EXPECT_NE(expectThrow([&] { decodeAll(prefix(2, 9 * 1024 * 1024)); }).find("8388608"), std::string::npos);
    EXPECT_NE(expectThrow([&] { decodeAll(prefix(2, 6) + "{}"); }).find("multiple of 4"), std::string::npos);
    EXPECT_NE(expectThrow([&] { decodeAll(prefix(17, 0) + R"({"type":"reboot"})"); }).find("allowed hello, load"), std::string::npos);
    const std::string steps = R"({"type":"generate","id":1,"prompt":"x","seconds":1,"steps":5000})";
    EXPECT_NE(expectThrow([&] { decodeAll(prefix(std::uint32_t(steps.size()), 0) + steps); }).find("\"steps\" is 5000; allowed 1 to 1000"), std::string::npos);
    const std::string chunk = R"({"type":"chunk","id":1,"index":0,"channels":2,"frames":3,"sample_rate":44100})";
    EXPECT_NE(expectThrow([&] { decodeAll(prefix(std::uint32_t(chunk.size()), 8) + chunk + std::string(8, '\0')); }).find("3 frames of 2 channels but carries 2"),
              std::string::npos);
    const std::string load = R"({"type":"load","id":1})";
    EXPECT_NE(expectThrow([&] { decodeAll(prefix(std::uint32_t(load.size()), 0) + load); }).find("needs \"path\""), std::string::npos);
    // Nothing undecodable is sent either, and a failed decoder stays failed.
    EXPECT_NE(expectThrow([] { encodeFrame(Frame::chunk(1, 0, 1, 44100, {std::nanf("")})); }).find("not finite"), std::string::npos);
    FrameDecoder d;
    EXPECT_THROW(d.feed("XXXXXXXXXXXXXXXX", 16), std::invalid_argument);
    const auto ok = encodeFrame(Frame::make(FrameType::Cancel, {{"id", 1}}));
    EXPECT_THROW(d.feed(ok.data(), ok.size()), std::invalid_argument);
}

// ---- model folders ----

TEST(ModelFolders, BadFoldersGetErrorsNamingTheFileAndTheProblem) {
    TempDir t;
    EXPECT_NE(expectThrow([&] { readModelDir(t.path / "nope"); }).find("not a model folder"), std::string::npos);
    const auto dir = makeModel(t.path, "m");
    EXPECT_EQ(readModelDir(dir).name, "m");
    const auto manifest = dir / "manifest.json";
    const auto original = test::readText(manifest.string());
    fs::remove(manifest);
    auto e = expectThrow([&] { readModelDir(dir); });
    EXPECT_NE(e.find("manifest.json: missing"), std::string::npos) << e;
    writeFile(manifest, "{ not json");
    EXPECT_NE(expectThrow([&] { readModelDir(dir); }).find("not valid JSON"), std::string::npos);
    auto j = nlohmann::json::parse(original);
    const auto withField = [&](const char* key, nlohmann::json v) {
        auto k = j;
        k[key] = std::move(v);
        writeFile(manifest, k.dump());
        return expectThrow([&] { readModelDir(dir); });
    };
    EXPECT_NE(withField("kind", "diffusion").find("allowed procedural, musicgen, audioldm"), std::string::npos);
    // "audioldm" runs where ggml is built (test_models_audioldm loads such a folder end to end).
    EXPECT_NE(withField("quantization", "q3").find("allowed f32, q8, q4"), std::string::npos);
    EXPECT_NE(withField("sample_rate", 1000).find("from 8000 to 192000"), std::string::npos);
    EXPECT_NE(withField("weights", "../etc/passwd").find("plain file name"), std::string::npos);
    EXPECT_NE(withField("colour", "red").find("unknown field \"colour\""), std::string::npos);
    // The weights: missing, then the wrong size for what the manifest says.
    writeFile(manifest, original);
    fs::remove(dir / "w.bin");
    e = expectThrow([&] { readModelDir(dir); });
    EXPECT_NE(e.find("w.bin: missing"), std::string::npos) << e;
    writeFile(dir / "w.bin", std::string(15, '\0'));
    e = expectThrow([&] { readModelDir(dir); });
    EXPECT_NE(e.find("w.bin: 15 bytes, but 4 f32 parameters take 16 bytes"), std::string::npos) << e;
}

TEST(ModelFolders, QuantizedWeightsAreReadBackScaled) {
    TempDir t;
    const auto dir = makeModel(t.path, "q");
    auto j = nlohmann::json::parse(test::readText((dir / "manifest.json").string()));
    j["quantization"] = "q8";
    j["parameter_count"] = 3;
    writeFile(dir / "manifest.json", j.dump());
    writeFile(dir / "w.bin", f32Bytes({0.5f}) + std::string{char(2), char(-4), char(127)});
    EXPECT_EQ(readWeights(dir, readModelDir(dir)), (std::vector<float>{1.0f, -2.0f, 63.5f}));
    j["quantization"] = "q4";
    writeFile(dir / "manifest.json", j.dump());
    writeFile(dir / "w.bin", f32Bytes({0.25f}) + std::string{char(0xF3), char(0x08)});  // 3, -1 | -8
    EXPECT_EQ(readWeights(dir, readModelDir(dir)), (std::vector<float>{0.75f, -0.25f, -2.0f}));
}

// ---- the service with real worker processes ----

TEST(ModelService, StreamsInOrderAndTheSameSeedGivesTheSameSamples) {
    TempDir t;
    const auto dir = makeModel(t.path, "m");
    WorkerSupervisor service(serviceOptions());
    std::vector<std::string> events;
    std::vector<float> fromChunks;
    GenerateCallbacks cb;
    cb.onProgress = [&](int step, int steps) { events.push_back("progress " + std::to_string(step) + "/" + std::to_string(steps)); };
    cb.onChunk = [&](const AudioChunk& c) {
        events.push_back("chunk " + std::to_string(c.index));
        fromChunks.insert(fromChunks.end(), c.interleaved.begin(), c.interleaved.end());
    };
    GenerateRequest r = req(dir, "bright techno with a driving kick", 1.5, 42);
    const auto first = service.generate(r, cb);
    ASSERT_TRUE(first.ok) << first.error;
    EXPECT_TRUE(first.loadedCold);
    EXPECT_EQ(events, (std::vector<std::string>{"chunk 0", "progress 1/4", "chunk 1", "progress 2/4", "chunk 2", "progress 3/4", "chunk 3", "progress 4/4"}));
    EXPECT_EQ(first.channels, 2);
    EXPECT_EQ(first.sampleRateHz, kRate);
    EXPECT_EQ(first.frames(), static_cast<std::uint64_t>(1.5 * kRate));
    EXPECT_EQ(fromChunks, first.interleaved);
    EXPECT_GT(rms(first.interleaved), 0.01);  // music, not silence
    const int pid = pidOf(service, "m");
    const auto again = service.generate(r);
    ASSERT_TRUE(again.ok) << again.error;
    EXPECT_FALSE(again.loadedCold);  // the worker kept the model
    EXPECT_EQ(pidOf(service, "m"), pid);
    EXPECT_EQ(again.interleaved, first.interleaved);
    r.seed = 43;
    EXPECT_NE(service.generate(r).interleaved, first.interleaved);
    r.steps = 2;  // steps change the windows, not the music
    r.seed = 42;
    EXPECT_EQ(service.generate(r).interleaved, first.interleaved);
}

// Takes: a model that cannot batch them (the procedural one) makes them one after another in
// its worker; take t is the one-take audio of seed + t, streamed with its take number, with one
// progress count over all the takes; a take count outside 1 to 8 is refused before any work.
TEST(ModelService, TakesAreTheOneTakeAudioOfTheirSeeds) {
    TempDir t;
    const auto dir = makeModel(t.path, "m");
    WorkerSupervisor service(serviceOptions());
    GenerateRequest r = req(dir, "bright techno with a driving kick", 1.0, 42);
    r.takes = 3;
    std::vector<int> chunkTakes, progress;
    int steps = 0;
    GenerateCallbacks cb;
    cb.onChunk = [&](const AudioChunk& c) { chunkTakes.push_back(c.take); };
    cb.onProgress = [&](int step, int of) { progress.push_back(step), steps = of; };
    const auto three = service.generate(r, cb);
    ASSERT_TRUE(three.ok) << three.error;
    ASSERT_EQ(three.takes(), 3);
    for (int take = 0; take < 3; ++take) {
        const auto one = service.generate(req(dir, r.prompt, 1.0, 42 + static_cast<std::uint64_t>(take)));
        ASSERT_TRUE(one.ok) << one.error;
        EXPECT_EQ(three.take(take), one.interleaved) << "take " << take;
        EXPECT_EQ(three.take(take).size(), static_cast<std::size_t>(kRate) * 2);
    }
    EXPECT_NE(three.take(0), three.take(1));
    EXPECT_TRUE(std::is_sorted(chunkTakes.begin(), chunkTakes.end())) << "one take after another";
    EXPECT_EQ(std::set<int>(chunkTakes.begin(), chunkTakes.end()), (std::set<int>{0, 1, 2}));
    EXPECT_EQ(steps, 12) << "three takes of four steps, one count";
    EXPECT_TRUE(std::is_sorted(progress.begin(), progress.end()));
    EXPECT_EQ(progress.back(), 12);
    for (const int bad : {0, 9}) {
        r.takes = bad;
        try {
            service.submit(r);
            ADD_FAILURE() << bad << " takes were taken";
        } catch (const std::invalid_argument& e) {
            EXPECT_NE(std::string(e.what()).find("allowed 1 to 8"), std::string::npos) << e.what();
        }
    }
    r.takes = 1;
    r.threads = 65;
    EXPECT_THROW(service.submit(r), std::invalid_argument);
}

TEST(ModelService, CancelStopsARunningRequestAndAQueuedOne) {
    TempDir t;
    const auto dir = makeModel(t.path, "m");
    WorkerSupervisor service(serviceOptions());
    ASSERT_EQ(service.load(dir).name, "m");
    std::atomic<int> chunks{0};
    GenerateCallbacks cb;
    cb.onChunk = [&](const AudioChunk&) { ++chunks; };
    GenerateRequest longOne = req(dir, "slow ambient drone", 120.0, 1, 240);
    const auto id = service.submit(longOne, cb);
    const auto queued = service.submit(req(dir, "queued", 1.0));
    while (chunks == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    const auto asked = std::chrono::steady_clock::now();
    EXPECT_TRUE(service.cancel(id));
    EXPECT_TRUE(service.cancel(queued));
    const auto r = service.wait(id);
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - asked).count();
    EXPECT_FALSE(r.ok);
    EXPECT_TRUE(r.cancelled) << r.error;
    EXPECT_LT(r.frames(), static_cast<std::uint64_t>(60 * kRate));
    EXPECT_LT(took, 0.5);
    const auto q = service.wait(queued);
    EXPECT_TRUE(q.cancelled);
    EXPECT_EQ(q.error, "cancelled before it started");
    EXPECT_FALSE(service.cancel(id));  // over
    const auto next = service.generate(req(dir, "after the cancel", 0.5));
    ASSERT_TRUE(next.ok) << next.error;
    EXPECT_EQ(service.status().restarts, 0);  // the worker stopped by itself
}

TEST(ModelService, HigherPrioritiesRunFirstThenFirstCome) {
    TempDir t;
    const auto dir = makeModel(t.path, "m");
    WorkerSupervisor service(serviceOptions());
    std::vector<std::string> order;  // written on the dispatcher thread only, read after every wait
    std::atomic<bool> firstRunning{false};
    const auto named = [&](const std::string& name) {
        GenerateCallbacks cb;
        cb.onChunk = [&order, &firstRunning, name](const AudioChunk& c) {
            if (c.index == 0) order.push_back(name);
            firstRunning = true;
        };
        return cb;
    };
    const auto first = service.submit(req(dir, "keeps the dispatcher busy", 30.0, 1, 60), named("first"));
    while (!firstRunning) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    auto low = req(dir, "low", 0.3), high1 = req(dir, "high one", 0.3), high2 = req(dir, "high two", 0.3);
    high1.priority = high2.priority = 5;
    const std::vector<TaskId> ids = {service.submit(low, named("low")), service.submit(high1, named("high1")), service.submit(high2, named("high2"))};
    EXPECT_EQ(service.status().queued, 3u);
    ASSERT_TRUE(service.wait(first).ok);
    for (const auto id : ids) ASSERT_TRUE(service.wait(id).ok);
    EXPECT_EQ(order, (std::vector<std::string>{"first", "high1", "high2", "low"}));
    EXPECT_THROW(service.wait(first), std::invalid_argument);  // a result is taken once
}

TEST(ModelService, AWorkerKilledMidRequestFailsItClearlyAndRestarts) {
    TempDir t;
    const auto dir = makeModel(t.path, "m");
    WorkerSupervisor service(serviceOptions());
    const GenerateRequest small = req(dir, "lofi hip hop", 1.0, 9);
    const auto reference = service.generate(small);
    ASSERT_TRUE(reference.ok) << reference.error;
    const int pid = pidOf(service, "m");
    GenerateCallbacks cb;
    cb.onProgress = [&](int step, int) {
        if (step == 1) ::kill(pid, SIGKILL);
    };
    const auto killed = service.generate(req(dir, "long piece", 60.0, 1, 120), cb);
    EXPECT_FALSE(killed.ok);
    EXPECT_NE(killed.error.find("was killed by signal 9"), std::string::npos) << killed.error;
    EXPECT_NE(killed.error.find("restarted"), std::string::npos) << killed.error;
    EXPECT_TRUE(eventually([&] { return service.status().restarts == 1; }));
    const auto s = service.status();
    ASSERT_EQ(s.loaded.size(), 1u);
    EXPECT_NE(s.loaded[0].pid, pid);
    const auto after = service.generate(small);
    ASSERT_TRUE(after.ok) << after.error;
    EXPECT_FALSE(after.loadedCold);  // restarted and loaded before it was asked
    EXPECT_EQ(after.interleaved, reference.interleaved);  // same seed, same samples, in a new process
    // A callback that throws ends its request the same way; the service goes on.
    GenerateCallbacks throwing;
    throwing.onChunk = [](const AudioChunk&) { throw std::runtime_error("disk full"); };
    const auto thrown = service.generate(small, throwing);
    EXPECT_FALSE(thrown.ok);
    EXPECT_NE(thrown.error.find("callback failed (disk full)"), std::string::npos) << thrown.error;
    const auto last = service.generate(small);
    ASSERT_TRUE(last.ok) << last.error;
    EXPECT_EQ(last.interleaved, reference.interleaved);
}

TEST(ModelService, AHangingWorkerHitsTheTimeoutAndIsReplaced) {
    TempDir t;
    const auto dir = makeModel(t.path, "m");
    WorkerSupervisor service(serviceOptions());
    ASSERT_TRUE(service.generate(req(dir, "warm up", 0.5)).ok);
    const int pid = pidOf(service, "m");
    GenerateCallbacks cb;
    cb.onProgress = [&](int step, int) {
        if (step == 1) ::kill(pid, SIGSTOP);  // alive, but answers nothing
    };
    GenerateRequest hang = req(dir, "long piece", 60.0, 1, 120);
    hang.timeoutSeconds = 1.5;
    const auto started = std::chrono::steady_clock::now();
    const auto r = service.generate(hang, cb);
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.error.find("timed out"), std::string::npos) << r.error;
    EXPECT_NE(r.error.find("1.5 s timeout"), std::string::npos) << r.error;
    EXPECT_LT(took, 4.0);
    EXPECT_TRUE(eventually([&] { return pidOf(service, "m") != 0; }));
    EXPECT_NE(pidOf(service, "m"), pid);
    const auto next = service.generate(req(dir, "after the hang", 0.5));
    ASSERT_TRUE(next.ok) << next.error;
}

TEST(ModelService, TheMemoryBudgetUnloadsTheLeastRecentlyUsedModel) {
    TempDir t;
    const auto a = makeModel(t.path, "a"), b = makeModel(t.path, "b"), c = makeModel(t.path, "c"), huge = makeModel(t.path, "huge", 400'000'000);
    auto o = serviceOptions();
    o.maxMemoryBytes = 250'000'000;  // two of the 100 MB models
    WorkerSupervisor service(o);
    service.load(a);
    service.load(b);
    ASSERT_TRUE(service.generate(req(a, "use a again", 0.3)).ok);  // b is now the least recently used
    service.load(c);
    auto s = service.status();
    ASSERT_EQ(s.loaded.size(), 2u);
    EXPECT_EQ(s.loaded[0].name, "a");
    EXPECT_EQ(s.loaded[1].name, "c");
    EXPECT_EQ(s.memoryBytes, 200'000'000u);
    EXPECT_EQ(s.maxMemoryBytes, 250'000'000u);
    try {
        service.load(huge);
        ADD_FAILURE() << "a model over the whole budget loaded";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("the memory budget (max_memory) is 238.4 MiB"), std::string::npos) << e.what();
    }
    EXPECT_EQ(service.status().loaded.size(), 2u);  // nothing unloaded for a model that cannot fit
    EXPECT_TRUE(service.unload(a));
    EXPECT_FALSE(service.unload(a));
    EXPECT_EQ(service.status().loaded.size(), 1u);
}

TEST(ModelService, BadModelsAndBrokenWorkersGiveClearErrors) {
    TempDir t;
    const auto dir = makeModel(t.path, "m");
    writeFile(dir / "w.bin", "short");
    WorkerSupervisor service(serviceOptions());
    auto r = service.generate(req(dir, "x", 1.0));
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.error.find("w.bin: 5 bytes, but 4 f32 parameters take 16 bytes"), std::string::npos) << r.error;
    EXPECT_TRUE(service.status().loaded.empty());
    EXPECT_NE(expectThrow([&] { service.submit(req(dir, "x", 0.0)); }).find("allowed 0.1 to 600 seconds"), std::string::npos);
    // A "worker" that answers with something other than frames.
    auto o = serviceOptions();
    o.workerCommand = {"/bin/sh", "-c", "echo 'hello, I am not a model worker'; sleep 5"};
    WorkerSupervisor broken(o);
    writeFile(dir / "w.bin", f32Bytes({1, 0, 0, 0}));
    r = broken.generate(req(dir, "x", 1.0));
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.error.find("sent a bad frame (not a model frame: it must start with \"SSMF\""), std::string::npos) << r.error;
}

// ---- the CLI ----

// --loop-bars: the shipped model's audio fitted into whole bars at --bpm (asked for long enough
// without -d), as a loop file for a sampler or a DAW; loop options alone or out of reach refused
// before anything runs, and no file is left.
TEST(ModelCli, GenerateALoopOfWholeBarsAtTheTempoAsked) {
    TempDir t;
    const auto loop = (t.path / "loop.wav").string();
    const auto r = test::runCommandSplit(std::string(SOUNDSTAR_BIN) + " generate 'steady house drums' --seed 4 --loop-bars 2 --bpm 110 --key 'A minor' -o '" + loop + "'");
    ASSERT_EQ(r.code, 0) << r.err;
    const auto info = test::soxInfo(loop);
    EXPECT_EQ(info.sampleRate, 44100.0) << "the shipped model's rate";
    EXPECT_EQ(info.frames, std::llround(2 * 4 * 60.0 / 110.0 * info.sampleRate)) << "two bars at 110 bpm to the sample";
    EXPECT_NE(r.err.find("loop of 2 bars at 110 bpm"), std::string::npos) << r.err;
    EXPECT_NEAR(test::soxStats(loop).rmsDb, -17.0, 6.0) << "levelled near -14 LUFS";
    // At another rate the loop is fitted at that rate: whole bars to the sample there too.
    const auto at48 = (t.path / "loop48.wav").string();
    const auto r48 = test::runCommandSplit(std::string(SOUNDSTAR_BIN) + " generate 'steady house drums' --seed 4 --loop-bars 2 --bpm 110 --sample-rate 48000 -q -o '" + at48 + "'");
    ASSERT_EQ(r48.code, 0) << r48.err;
    EXPECT_EQ(test::soxInfo(at48).sampleRate, 48000.0);
    EXPECT_EQ(test::soxInfo(at48).frames, std::llround(2 * 4 * 60.0 / 110.0 * 48000.0)) << "two bars at 110 bpm at 48 kHz";
    const auto refused = [&](const std::string& args, const std::string& says) {
        const auto bad = test::runCommandSplit(std::string(SOUNDSTAR_BIN) + " generate x " + args + " -o '" + (t.path / "bad.wav").string() + "'");
        EXPECT_NE(bad.code, 0) << args;
        EXPECT_NE(bad.err.find(says), std::string::npos) << args << ": " << bad.err;
        EXPECT_FALSE(fs::exists(t.path / "bad.wav")) << args;
    };
    refused("--bpm 120", "give --loop-bars too");
    refused("--loop-bars 8 -d 3", "longer than -d 3");
    refused("--loop-bars 2 --key H", "is no key");
    refused("--loop-bars 0", "--loop-bars");
}

// --sample-rate: the model's audio resampled (band-limited) to the rate asked: the length to the
// frame, and the same signal as sox's own resampling of the file at the model's rate (two good
// sinc resamplers agree 50 dB and more below the signal); a rate outside 8000 to 192000 is refused.
TEST(ModelCli, GenerateResamplesToTheRateAsked) {
    TempDir t;
    const auto dir = makeModel(t.path, "m");
    const std::string cmd = std::string(SOUNDSTAR_BIN) + " generate 'dreamy synthwave' --model '" + dir.string() + "' -d 2 --seed 5 -q --format wav32f ";
    const auto native = (t.path / "native.wav").string();
    ASSERT_EQ(test::runCommand(cmd + "-o '" + native + "'").code, 0);
    for (const int rate : {48000, 16000}) {  // up and down from the model's 22050
        const auto ours = (t.path / fmt::format("ours{}.wav", rate)).string(), theirs = (t.path / fmt::format("sox{}.wav", rate)).string();
        const auto r = test::runCommand("LD_DEBUG=libs " + cmd + fmt::format("--sample-rate {} -o '{}'", rate, ours));
        ASSERT_EQ(r.code, 0) << r.output;
        // libsamplerate comes with the stretch module, opened by the first resample.
        EXPECT_NE(r.output.find("library=libsamplerate"), std::string::npos) << r.output.substr(0, 2000);
        EXPECT_NE(r.output.find("libsoundstar_stretch.so"), std::string::npos);
        const auto info = test::soxInfo(ours);
        EXPECT_EQ(info.sampleRate, rate);
        EXPECT_EQ(info.frames, 2L * rate);
        ASSERT_EQ(test::runCommand(fmt::format("sox '{}' -e floating-point '{}' rate -v {}", native, theirs, rate)).code, 0);
        // The difference of the two, against the signal: -v -1 inverts the second input of a mix.
        const auto diff = (t.path / fmt::format("diff{}.wav", rate)).string();
        ASSERT_EQ(test::runCommand(fmt::format("sox -m '{}' -v -1 '{}' '{}'", ours, theirs, diff)).code, 0);
        const double signal = test::soxStats(ours).rmsDb, residue = test::soxStats(diff).rmsDb;
        std::printf("%d Hz: signal %.1f dBFS, difference from sox's resampling %.1f dBFS\n", rate, signal, residue);
        EXPECT_GT(signal, -40.0);
        EXPECT_LT(residue, signal - 50.0) << "resampled audio should match sox's within 50 dB of the signal";
    }
    const auto bad = test::runCommandSplit(cmd + "--sample-rate 7000 -o '" + (t.path / "x.wav").string() + "'");
    EXPECT_NE(bad.code, 0);
    EXPECT_NE(bad.err.find("8000 to 192000"), std::string::npos) << bad.err;
}

TEST(ModelCli, GenerateWritesTheLengthAskedAndTheSameSeedGivesTheSameBytes) {
    TempDir t;
    const auto dir = makeModel(t.path, "m");
    const auto a = (t.path / "a.wav").string(), b = (t.path / "b.wav").string();
    const std::string cmd = std::string(SOUNDSTAR_BIN) + " generate 'dreamy synthwave' --model '" + dir.string() + "' -d 2 --seed 5 --steps 3 --guidance 4 -q -o ";
    auto r = test::runCommand(cmd + "'" + a + "'");
    ASSERT_EQ(r.code, 0) << r.output;
    r = test::runCommand(cmd + "'" + b + "'");
    ASSERT_EQ(r.code, 0) << r.output;
    const auto info = test::soxInfo(a);
    EXPECT_EQ(info.channels, 2);
    EXPECT_EQ(info.sampleRate, kRate);
    EXPECT_EQ(info.frames, 2 * static_cast<long>(kRate));
    EXPECT_GT(test::soxStats(a).rmsDb, -40.0);
    EXPECT_EQ(test::readText(a), test::readText(b));
    fs::remove(dir / "w.bin");
    const auto bad = test::runCommandSplit(std::string(SOUNDSTAR_BIN) + " generate x --model '" + dir.string() + "' -o '" + (t.path / "c.wav").string() + "'");
    EXPECT_EQ(bad.code, 1);
    EXPECT_NE(bad.err.find("w.bin: missing"), std::string::npos) << bad.err;
    EXPECT_FALSE(fs::exists(t.path / "c.wav"));
    const auto list = test::runCommandSplit(std::string(SOUNDSTAR_BIN) + " models --dir '" + t.path.string() + "'");
    EXPECT_NE(list.out.find("m "), std::string::npos) << list.out;
    EXPECT_NE(list.out.find("unusable: "), std::string::npos) << list.out;
    EXPECT_NE(list.out.find("procedural "), std::string::npos) << list.out;  // the shipped model
}

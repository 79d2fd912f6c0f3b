// The audio thread allocates nothing while the server is under load: a real Studio on the null
// device (its clock thread renders under an RtGuard), driven through the operation table as fast
// as the control thread can go, with this binary's operator new counting allocations made while
// a guard is live (the same trap as test_engine's).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <new>
#include <thread>

#include "Cli.h"
#include "core/RtGuard.h"
#include "server/Server.h"
#include "server/Studio.h"

using namespace soundstar;
using namespace soundstar::server;
using nlohmann::json;

namespace {
std::atomic<long> gRtAllocations{0};
}
// The replacement operators below pair malloc with free; GCC sees the inlined pair and warns.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void* operator new(std::size_t n) {
    if (RtGuard::active()) gRtAllocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

TEST(ServerRealTime, NoAllocationOnTheAudioThreadUnderLoad) {
    engine::PresetLibrary presets;
    presets.loadDirectory(std::filesystem::path(SOUNDSTAR_DATA) / "presets");
    test::TempDir dir;
    StudioHooks hooks;
    hooks.presets = &presets;
    hooks.vibeFromText = [](const std::string& text, std::optional<std::uint64_t>) {
        live::StreamVibe v;  // the default config and composer settings (the app adds the interpreter)
        v.label = text;
        return v;
    };
    hooks.vibeFromConfig = [](const std::string& label, const music::MusicConfig& cfg) { return live::StreamVibe{label, cfg, {}, 0.0}; };
    // Render jobs run on the worker thread meanwhile (a stand-in render that reports progress).
    hooks.render = [](const RenderJobSpec&, const std::function<void(double)>& progress) {
        for (int i = 1; i <= 10; ++i) {
            progress(i / 10.0);
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    };
    StudioOptions o;
    o.dataDir = dir / "data";
    Studio studio(o, hooks);
    OperationTable table;
    studio.registerOperations(table);
    long failures = 0, calls = 0;
    const auto call = [&](const std::string& op, const json& args) {
        table.call(op, args, {}, [&](Outcome r) {
            ++calls;
            if (!r.ok()) ++failures, ADD_FAILURE() << op << ": " << r.error;
        });
    };
    const char* kPresets[] = {"bass_round", "pad_warm", "pluck_bright", "lead_saw", "drum_kit", "fm_bell", "keys_fm_epiano"};
    call("live_start", {{"vibe", "the live session plays through a track too"}});
    // A sample track (the zone player, a sustained loop) with its bus tapped for live analysis.
    std::filesystem::create_directories(dir / "data");
    ASSERT_EQ(std::system(("sox -n -r 44100 -c 2 '" + (dir / "data/s.wav") + "' synth 1 saw 220 gain -12").c_str()), 0);
    call("sample_load", {{"name", "s"}, {"file", "s.wav"}});
    call("sample_track", {{"track", "smp"}, {"zones", {{{"sample", "s"}, {"mode", "loop"}, {"loop_start", 0.2}, {"loop_end", 0.7}}}}});
    CallContext ws;
    ws.client = 1;
    ws.push = [](std::string) {};
    table.call("analysis_subscribe", {{"bus", "smp"}, {"rate_hz", 30}}, ws, [&](Outcome r) {
        if (!r.ok()) ADD_FAILURE() << "analysis_subscribe: " << r.error;
    });
    // All four track taps in use, and every live measure on them and on the master.
#if defined(__SANITIZE_THREAD__)
    // Under ThreadSanitizer the control side's measures run far slower than real time; the taps
    // (what the audio thread does) are the same whatever is measured.
    const json every = {"levels", "true_peak"};
#else
    const json every = {"spectrum", "levels", "loudness", "true_peak", "onsets", "pitch", "tempo", "key"};
#endif
    for (const char* bus : {"smp2", "smp3", "smp4", "master"}) {
        if (std::string(bus) != "master") call("sample_track", {{"track", bus}, {"zones", {{{"sample", "s"}}}}});
        table.call("analysis_subscribe", {{"bus", bus}, {"rate_hz", 30}, {"features", every}}, ws, [&](Outcome r) {
            if (!r.ok()) ADD_FAILURE() << "analysis_subscribe " << bus << ": " << r.error;
        });
    }
    // At least 3 s and at least kMinCalls operations answered, at most 60 s. Under ThreadSanitizer
    // the operations answer far slower (on the 2-core machine 346 in the first 3 s, then 470 in
    // 60 s; release answers about 4,500 in 3 s), so the bar is lower there.
#if defined(__SANITIZE_THREAD__)
    constexpr long kMinCalls = 300;
#else
    constexpr long kMinCalls = 500;
#endif
    const auto start = std::chrono::steady_clock::now();
    const auto until = start + std::chrono::seconds(3), giveUp = start + std::chrono::seconds(60);
    for (int round = 0; (std::chrono::steady_clock::now() < until || calls < kMinCalls) && std::chrono::steady_clock::now() < giveUp; ++round) {
        std::string name(1, 't');  // (GCC 12 warns falsely about "t" + std::to_string(...) here)
        name += std::to_string(round % 8);
        if (round >= 8) call("free_track", {{"track", name}});
        call("create_track", {{"name", name}, {"preset", kPresets[round % 7]}, {"effects", {{{"type", "chorus"}}}}});
        for (int n = 0; n < 16; ++n)
            call("play_note", {{"track", name}, {"note", 40 + (n * 7) % 40}, {"velocity", 0.7}, {"duration", 0.05 + 0.01 * n}, {"at", {{"sample", studio.now() + 512 + 37 * n}}}});
        call("set_params", {{"track", name}, {"effect", 0}, {"params", {{"mix", 0.3}}}});
        call("sample_play", {{"track", "smp"}, {"rate", 0.5 + 0.1 * (round % 10)}, {"start", 0.01 * (round % 7)}, {"pan", -0.5}, {"duration", 0.05}});
        if (round % 4 == 0) call("sample_play", {{"track", round % 8 ? "smp2" : "smp3"}, {"duration", 0.2}});
        call("set_mix", {{"target", name}, {"gain_db", -6}, {"pan", 0.3}, {"sends", {{"reverb", 0.2}, {"delay", 0.1}}}, {"fade_seconds", 0.05}});
        if (round % 5 == 4) {
            json a = json::parse(R"({"effects": [{"type": "phaser"}, {"type": "delay"}]})");
            a["track"] = name;
            call("set_effects", a);
        }
        call("set_params", {{"track", "reverb"}, {"effect", 0}, {"params", {{"mix", 1}}}});
        // The master's chain swapped in place, its parameters, bypass; a tempo ramp now and then.
        if (round % 3 == 0) call("insert_effect", {{"track", "master"}, {"type", round % 2 ? "filter" : "compressor"}, {"position", 0}});
        if (round % 3 == 1) call("set_bypass", {{"track", "master"}, {"effect", 0}, {"bypass", round % 2 == 0}});
        if (round % 3 == 2) call("remove_effect", {{"track", "master"}, {"effect", 0}});
        if (round % 7 == 0) call("set_tempo", {{"bpm", 90 + round % 60}, {"ramp_beats", 4}});
        if (round % 10 == 0) call("render_start", {{"prompt", "a job"}, {"file", "job.wav"}});
        call("render_status", {{"job", 1}});
        if (round % 10 == 5) call("live_steer", {{"line", round % 20 == 5 ? "+bright" : "-bright"}});
        for (int i = 0; i < 5; ++i) {
            studio.tick();
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
    }
    call("live_stop", json::object());
    call("sync", json::object());
    for (int i = 0; i < 200 && calls == 0; ++i) studio.tick();
    const json status = [&] {
        json s;
        table.call("status", json::object(), {}, [&](Outcome r) { s = r.result; });
        return s;
    }();
    studio.shutdown();
    EXPECT_EQ(failures, 0);
    EXPECT_GE(calls, kMinCalls) << "operations answered in " << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() << " s";
    EXPECT_GT(status["sample"].get<long>(), 44100);  // the device really ran for the whole test
    EXPECT_EQ(gRtAllocations.load(), 0) << "operator new on the audio thread";
}

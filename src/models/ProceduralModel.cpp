#include "models/ProceduralModel.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "compose/Profiles.h"
#include "engine/Preset.h"
#include "interpret/Interpreter.h"
#include "live/LiveSession.h"
#include "live/Steering.h"
#include "music/JsonText.h"
#include "pipeline/DataSet.h"
#include "pipeline/RenderJob.h"

namespace soundstar::models {
namespace {
constexpr int kBlock = 256;

class ProceduralModel final : public Generator {
public:
    ProceduralModel(const pipeline::DataSet& data, const std::filesystem::path& dir, const ModelManifest& m) : data_(data), rate_(m.sampleRateHz) {
        const auto where = (dir / "manifest.json").string();
        const auto& p = m.parameters;
        const auto bad = [&](const std::string& what) { throw std::invalid_argument(music::clipText(fmt::format("{}: {}", where, what), 1900)); };
        if (m.parameterCount > 1024) bad(fmt::format("a procedural model has 1 to 1024 filter taps; parameter_count is {}", m.parameterCount));
        for (const auto& [key, v] : p.items())
            if (key != "unconditional" && key != "default_steps" && key != "default_guidance")
                bad(fmt::format("unknown parameter {}; a procedural model takes unconditional, default_steps, default_guidance", music::quoteJson(key)));
        if (p.contains("unconditional")) {
            if (!p["unconditional"].is_string() || p["unconditional"].get<std::string>().empty() || p["unconditional"].get<std::string>().size() > 1000)
                bad("\"parameters.unconditional\" must be a prompt of 1 to 1000 bytes");
            unconditional_ = p["unconditional"].get<std::string>();
        }
        if (p.contains("default_steps")) {
            if (!p["default_steps"].is_number_integer() || p["default_steps"].get<int>() < 1 || p["default_steps"].get<int>() > 1000)
                bad(fmt::format("\"parameters.default_steps\" is {}; allowed a whole number from 1 to 1000", music::quoteJson(p["default_steps"])));
            steps_ = p["default_steps"].get<int>();
        }
        if (p.contains("default_guidance")) {
            if (!p["default_guidance"].is_number() || !(p["default_guidance"].get<double>() >= 0.0 && p["default_guidance"].get<double>() <= 30.0))
                bad(fmt::format("\"parameters.default_guidance\" is {}; allowed 0 to 30", music::quoteJson(p["default_guidance"])));
            guidance_ = p["default_guidance"].get<double>();
        }
        taps_ = readWeights(dir, m);
        // What loading means for this kind: the interpreter, presets and style profiles, once
        // (the data set lists the last two at first; names() and find() read every file now, so a
        // broken one fails the load, not a request).
        (void)data_.interpreter();
        (void)data_.presets().names();
        for (const auto& name : data_.profiles().names()) (void)data_.profiles().find(name);
    }

    double sampleRateHz() const override { return rate_; }
    int channels() const override { return 2; }

    void generate(const GenerateParams& p, const std::function<void(int, int)>& progress, const std::function<void(int, std::vector<float>&&)>& chunk,
                  const std::atomic<bool>& cancel) override {
        const int steps = p.steps.value_or(steps_);
        const auto cfg = condition(p);
        live::StreamVibe vibe{p.prompt.empty() ? unconditional_ : p.prompt, cfg, pipeline::sketchFor(data_, cfg), p.seconds};
        live::LiveOptions o;
        o.sampleRate = rate_;
        o.blockSize = kBlock;
        live::LiveSession session(data_.presets(), vibe, o);
        const auto total = static_cast<SampleTime>(std::llround(p.seconds * rate_));
        StereoBuffer block;
        block.resize(kBlock);
        std::vector<std::vector<float>> history(2, std::vector<float>(taps_.size(), 0.0f));
        SampleTime rendered = 0;
        std::size_t head = 0;
        std::vector<float> ready;  // filtered frames of the last block not yet handed out (interleaved)
        std::size_t readyAt = 0;
        SampleTime pos = 0;
        for (int step = 0; step < steps; ++step) {
            const SampleTime end = total * (step + 1) / steps;
            std::vector<float> out;
            out.reserve(static_cast<std::size_t>(end - pos) * 2);
            while (pos < end) {
                if (readyAt == ready.size()) {
                    // Whole blocks, as a device renders them; a window that ends mid-block takes
                    // the rest of the block into the next one, so the windows join seamlessly.
                    if (cancel) throw Cancelled();
                    while (!session.pump(rendered + kBlock)) {
                    }
                    session.engine().render(block.view());
                    rendered += kBlock;
                    ready.clear();
                    readyAt = 0;
                    for (std::size_t i = 0; i < static_cast<std::size_t>(kBlock); ++i) {
                        head = head == 0 ? taps_.size() - 1 : head - 1;  // a ring: history[c][head] is the newest input
                        history[0][head] = block.left()[i];
                        history[1][head] = block.right()[i];
                        for (std::size_t c = 0; c < 2; ++c) {
                            float acc = 0.0f;
                            for (std::size_t k = 0; k < taps_.size(); ++k) acc += taps_[k] * history[c][(head + k) % taps_.size()];
                            ready.push_back(acc);
                        }
                    }
                }
                const auto n = std::min<std::size_t>((ready.size() - readyAt) / 2, static_cast<std::size_t>(end - pos));
                out.insert(out.end(), ready.begin() + static_cast<long>(readyAt), ready.begin() + static_cast<long>(readyAt + 2 * n));
                readyAt += 2 * n;
                pos += static_cast<SampleTime>(n);
            }
            if (step == steps - 1) fadeEnd(out);
            chunk(0, std::move(out));
            progress(step + 1, steps);
        }
    }

private:
    // The prompt's config pulled toward the unconditional one: guidance g weighs them g : 1.
    music::MusicConfig condition(const GenerateParams& p) const {
        const double g = p.guidance.value_or(guidance_);
        std::vector<std::string> understood;
        pipeline::RenderArgs a;
        a.seed = p.seed;
        a.prompt = unconditional_;
        auto cfg = pipeline::resolveConfig(data_, a, understood);
        if (!p.prompt.empty() && g > 0.0) {
            a.prompt = p.prompt;
            const auto prompted = pipeline::resolveConfig(data_, a, understood);
            cfg = live::blendConfigs({{prompted, g}, {cfg, 1.0}});
        }
        cfg.seed = p.seed;
        return cfg;
    }
    // The last 20 ms fade to silence, so the file ends without a click.
    void fadeEnd(std::vector<float>& out) const {
        const std::size_t frames = out.size() / 2, fade = std::min<std::size_t>(frames, static_cast<std::size_t>(0.02 * rate_));
        for (std::size_t i = 0; i < fade; ++i) {
            const float gain = static_cast<float>(i) / static_cast<float>(fade);
            out[2 * (frames - 1 - i)] *= gain;
            out[2 * (frames - 1 - i) + 1] *= gain;
        }
    }

    const pipeline::DataSet& data_;
    double rate_;
    std::string unconditional_ = "calm ambient";
    int steps_ = 8;
    double guidance_ = 3.0;
    std::vector<float> taps_;
};
}  // namespace

std::unique_ptr<Generator> makeProceduralModel(const pipeline::DataSet& data, const std::filesystem::path& dir, const ModelManifest& m) {
    return std::make_unique<ProceduralModel>(data, dir, m);
}

}  // namespace soundstar::models

// Fuzz target: the model workers' framed protocol (models::FrameDecoder, checkFrame,
// encodeFrame) and model manifests (models::parseManifest), on the same bytes.
// Properties: errors are std::invalid_argument with a bounded message; the frames decoded do not
// depend on how the bytes were split when fed; the bytes held never exceed one frame's limit; a
// decoded frame re-encodes and decodes to the same header and the same samples, bit for bit; an
// accepted manifest has its fields in range and a weights size that matches its quantization.
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "FuzzCheck.h"
#include "models/Frame.h"
#include "models/ModelManifest.h"

using namespace soundstar;

namespace {
struct Decoded {
    std::vector<models::Frame> frames;
    std::string error;
};

Decoded decode(const std::string& bytes, std::size_t piece) {
    Decoded d;
    models::FrameDecoder dec;
    try {
        for (std::size_t at = 0; at < bytes.size(); at += piece) {
            dec.feed(bytes.data() + at, std::min(piece, bytes.size() - at));
            while (auto f = dec.next()) d.frames.push_back(std::move(*f));
            if (dec.pending() > models::kFramePrefixBytes + models::kMaxHeaderBytes + models::kMaxPayloadBytes)
                fuzz::finding("the decoder holds more than one frame's limit");
        }
    } catch (const std::invalid_argument& e) {
        fuzz::checkMessage(e.what());
        d.error = e.what();
    }
    return d;
}

bool same(const models::Frame& a, const models::Frame& b) {
    return a.type == b.type && a.header == b.header && a.pcm.size() == b.pcm.size() &&
           (a.pcm.empty() || std::memcmp(a.pcm.data(), b.pcm.data(), a.pcm.size() * 4) == 0);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string bytes = fuzz::asText(data, size);
    const auto whole = decode(bytes, bytes.size() + 1);
    const auto split = decode(bytes, size > 0 ? data[0] % 17 + 1 : 1);
    if (whole.frames.size() != split.frames.size() || whole.error.empty() != split.error.empty())
        fuzz::finding("the frames decoded depend on how the bytes were split");
    for (std::size_t i = 0; i < std::min(whole.frames.size(), split.frames.size()); ++i)
        if (!same(whole.frames[i], split.frames[i])) fuzz::finding("a frame decoded differently when split");
    for (const auto& f : whole.frames) {
        const auto again = decode(models::encodeFrame(f), 4096);
        if (!again.error.empty() || again.frames.size() != 1 || !same(again.frames[0], f))
            fuzz::finding("a decoded frame does not survive encode and decode", again.error);
    }
    try {
        const auto m = models::parseManifest(bytes, "manifest.json");
        if (m.name.empty() || m.name.size() > 64 || !(m.sampleRateHz >= 8000 && m.sampleRateHz <= 192000) || m.parameterCount < 1 ||
            models::expectedWeightsBytes(m) > models::kMaxWeightsBytes || m.weightsFile.find('/') != std::string::npos)
            fuzz::finding("an accepted manifest out of range");
    } catch (const std::invalid_argument& e) {
        fuzz::checkMessage(e.what());
    }
    return 0;
}

// Fuzz target: an OSC packet (UDP datagram) through osc::decodePacket, as `soundstar serve`
// reads them. Properties: errors are std::invalid_argument with a bounded message; an accepted
// packet's messages encode again and decode to the same messages (nothing is misread).
#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "FuzzCheck.h"
#include "server/Osc.h"

using namespace soundstar;
using namespace soundstar::server;

namespace {
bool same(const osc::Arg& a, const osc::Arg& b) {
    if (a.index() != b.index()) return false;
    if (const float* x = std::get_if<float>(&a)) return std::memcmp(x, &std::get<float>(b), 4) == 0;  // NaN payloads too
    if (const double* x = std::get_if<double>(&a)) return std::memcmp(x, &std::get<double>(b), 8) == 0;
    if (const auto* x = std::get_if<osc::Blob>(&a)) return x->bytes == std::get<osc::Blob>(b).bytes;
    if (const auto* x = std::get_if<osc::TimeTag>(&a)) return x->ntp == std::get<osc::TimeTag>(b).ntp;
    return a == b;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::vector<osc::TimedMessage> msgs;
    try {
        msgs = osc::decodePacket({data, size});
    } catch (const std::invalid_argument& e) {
        fuzz::checkMessage(e.what());
        return 0;
    }
    // An empty bundle is valid OSC (the fuzzer's first finding was this property, too strict).
    for (const auto& m : msgs) {
        // Type tag 'c' and 'S' and 'I' read as int32, string and nil; the rest round-trip exactly.
        const auto again = osc::decodePacket(osc::encodeMessage(m.message));
        if (again.size() != 1 || again[0].message.address != m.message.address || again[0].message.args.size() != m.message.args.size())
            fuzz::finding("a message does not survive encoding", m.message.address);
        for (std::size_t i = 0; i < m.message.args.size(); ++i)
            if (!same(m.message.args[i], again[0].message.args[i])) fuzz::finding("an argument changed through encoding", osc::describe(m.message.args[i]));
        if (m.time.has_value() != m.anchor.has_value()) fuzz::finding("a bundled message without its anchor");
    }
    return 0;
}

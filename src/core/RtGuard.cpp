#include "core/RtGuard.h"

namespace soundstar {
namespace {
thread_local int tDepth = 0;
}
RtGuard::RtGuard() { ++tDepth; }
RtGuard::~RtGuard() { --tDepth; }
bool RtGuard::active() { return tDepth > 0; }
}  // namespace soundstar

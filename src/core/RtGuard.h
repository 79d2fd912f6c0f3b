#pragma once
// Marks the current thread as real-time for a scope. Tests install an operator new that counts
// (or traps) allocations made while a guard is live, proving render() allocates nothing.
namespace soundstar {

class RtGuard {
public:
    RtGuard();
    ~RtGuard();
    RtGuard(const RtGuard&) = delete;
    RtGuard& operator=(const RtGuard&) = delete;
    /// True while any RtGuard is live on this thread [any].
    static bool active();
};

}  // namespace soundstar

#pragma once
// A wait-free single-producer/single-consumer ring of stereo frames: the audio thread hands what
// it rendered to the control side (a recording, a pipe) without waiting or allocating. Capacity
// is fixed at construction [control]; write() [rt], read() [control]. When the reader falls
// behind, the newest frames are dropped and counted, never the audio thread blocked.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace soundstar {

class AudioRing {
public:
    /// `frames` is rounded up to a power of two.
    explicit AudioRing(std::size_t frames) {
        std::size_t n = 2;
        while (n < frames) n <<= 1;
        data_.resize(2 * n);
        mask_ = n - 1;
    }

    /// Appends up to `n` frames; returns how many fitted (the rest are counted as dropped) [rt].
    std::size_t write(const float* left, const float* right, std::size_t n) noexcept {
        const auto w = write_.load(std::memory_order_relaxed);
        const auto room = mask_ + 1 - (w - read_.load(std::memory_order_acquire));
        const std::size_t count = n < room ? n : room;
        for (std::size_t i = 0; i < count; ++i) {
            const std::size_t at = 2 * ((w + i) & mask_);
            data_[at] = left[i];
            data_[at + 1] = right[i];
        }
        write_.store(w + count, std::memory_order_release);
        if (count < n) dropped_.fetch_add(n - count, std::memory_order_relaxed);
        return count;
    }

    /// Moves up to `maxFrames` frames, interleaved, into `out`; returns how many [control].
    std::size_t read(float* out, std::size_t maxFrames) noexcept {
        const auto r = read_.load(std::memory_order_relaxed);
        const auto available = write_.load(std::memory_order_acquire) - r;
        const std::size_t count = available < maxFrames ? available : maxFrames;
        for (std::size_t i = 0; i < count; ++i) {
            const std::size_t at = 2 * ((r + i) & mask_);
            out[2 * i] = data_[at];
            out[2 * i + 1] = data_[at + 1];
        }
        read_.store(r + count, std::memory_order_release);
        return count;
    }

    /// Frames dropped because the reader fell behind [any].
    std::uint64_t dropped() const noexcept { return dropped_.load(std::memory_order_relaxed); }

private:
    std::vector<float> data_;
    std::size_t mask_ = 0;
    std::atomic<std::size_t> write_{0}, read_{0};  // frame counters; they only grow
    std::atomic<std::uint64_t> dropped_{0};
};

}  // namespace soundstar

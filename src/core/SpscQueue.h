#pragma once
// Bounded wait-free single-producer/single-consumer queue of trivially copyable items.
// The only meeting point of threads in the engine (STYLE.md rule 2). Capacity is fixed at
// construction [control]; push/pop never allocate, lock or block [rt].
#include <atomic>
#include <cstddef>
#include <new>
#include <optional>
#include <type_traits>
#include <vector>

namespace soundstar {

template <typename T>
class SpscQueue {
    static_assert(std::is_trivially_copyable_v<T>, "queue items must be trivially copyable");

public:
    /// capacity is rounded up to a power of two; one slot is kept free.
    explicit SpscQueue(std::size_t capacity) {
        std::size_t n = 2;
        while (n < capacity + 1) n <<= 1;
        slots_.resize(n);
        mask_ = n - 1;
    }

    /// Producer side. Returns false when full: the caller decides (retry later, count a drop).
    bool push(const T& item) noexcept {
        const auto w = write_.load(std::memory_order_relaxed);
        const auto next = (w + 1) & mask_;
        if (next == read_.load(std::memory_order_acquire)) return false;
        slots_[w] = item;
        write_.store(next, std::memory_order_release);
        return true;
    }

    /// Consumer side. Empty -> false.
    bool pop(T& out) noexcept {
        const auto r = read_.load(std::memory_order_relaxed);
        if (r == write_.load(std::memory_order_acquire)) return false;
        out = slots_[r];
        read_.store((r + 1) & mask_, std::memory_order_release);
        return true;
    }

    /// Consumer side: look at the next item without removing it.
    const T* peek() const noexcept {
        const auto r = read_.load(std::memory_order_relaxed);
        if (r == write_.load(std::memory_order_acquire)) return nullptr;
        return &slots_[r];
    }

    /// Approximate count [any]; exact from either single side's point of view.
    std::size_t size() const noexcept {
        return (write_.load(std::memory_order_acquire) - read_.load(std::memory_order_acquire)) & mask_;
    }
    std::size_t capacity() const noexcept { return mask_; }

private:
    std::vector<T> slots_;
    std::size_t mask_ = 0;
    alignas(64) std::atomic<std::size_t> write_{0};
    alignas(64) std::atomic<std::size_t> read_{0};
};

}  // namespace soundstar

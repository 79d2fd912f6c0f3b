#pragma once
// Circular delay line with linear-interpolated fractional reads. prepare() allocates [control];
// push/read [rt].
#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>

#include <sys/mman.h>
#include <unistd.h>

namespace soundstar::dsp {

/// A float buffer that starts zeroed without touching its memory: calloc hands a large one
/// straight from fresh (zero) pages, so a 4-second delay line costs only the pages it reaches
/// (a 1-second render of a long delay no longer writes and faults in the whole ring) [control].
/// `populated(n)`: all its pages put in place at once instead (one mmap with MAP_POPULATE), for
/// a buffer that will be written whole soon, such as the offline graph's lanes: faulting pages in
/// one at a time costs 12 us a page on this VM, populating 1.2 us. Not for what a live session
/// makes on its control thread while it plays (a vibe's delay rings, megabytes: populating them
/// there starved the server's tick under load and its tap dropped audio). An offline render
/// asks for it with a PopulateScope on the threads that prepare its graph, for the pages its
/// length will reach: a ring is written from its start, and read behind the write before its
/// first wrap, so a render of L samples reaches its first L and its last L floats.
class ZeroedFloats {
public:
    /// The size from which a PopulateScope makes buffers populated (a page is 1024 floats).
    static constexpr std::size_t kPopulateFrom = 4096;
    explicit ZeroedFloats(std::size_t n = 0) {
        if (n == 0) return;
        if (n >= kPopulateFrom && populateUpTo_ > 0) {
            *this = populated(n, populateUpTo_);
            return;
        }
        n_ = n;
        p_ = static_cast<float*>(std::calloc(n, sizeof(float)));
        if (!p_) throw std::bad_alloc();
    }
    /// The largest buffer (in floats) this thread's PopulateScope populates; 0 outside one.
    static std::size_t populateUpTo() { return populateUpTo_; }
    /// Mapped with its pages in place: all of them, or with `ends` below n/2 only those of its
    /// first and last `ends` floats (the rest faulted in when reached).
    static ZeroedFloats populated(std::size_t n, std::size_t ends = std::numeric_limits<std::size_t>::max()) {
        ZeroedFloats z;
        if (n == 0) return z;
        if (n > std::numeric_limits<std::size_t>::max() / sizeof(float)) throw std::bad_alloc();
        const bool whole = ends >= n / 2;
        void* p = ::mmap(nullptr, n * sizeof(float), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | (whole ? MAP_POPULATE : 0), -1, 0);
        if (p == MAP_FAILED) throw std::bad_alloc();
        if (!whole) {
            // Page-aligned ends (mmap's start is); an old kernel without MADV_POPULATE_WRITE
            // refuses it, and the pages are faulted in as before.
            static const auto kPage = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
            const std::size_t head = (ends * sizeof(float) + kPage - 1) / kPage * kPage;
            const std::size_t tailFrom = (n - ends) * sizeof(float) / kPage * kPage;
            ::madvise(p, head, kPopulateWrite);
            ::madvise(static_cast<char*>(p) + tailFrom, n * sizeof(float) - tailFrom, kPopulateWrite);
        }
        z.p_ = static_cast<float*>(p);
        z.n_ = n;
        z.mapped_ = true;
        return z;
    }
    ZeroedFloats(const ZeroedFloats& o) : ZeroedFloats(o.n_) {
        if (n_) std::memcpy(p_, o.p_, n_ * sizeof(float));
    }
    ZeroedFloats(ZeroedFloats&& o) noexcept : p_(o.p_), n_(o.n_), mapped_(o.mapped_) {
        o.p_ = nullptr;
        o.n_ = 0;
        o.mapped_ = false;
    }
    ZeroedFloats& operator=(ZeroedFloats o) noexcept {
        std::swap(p_, o.p_);
        std::swap(n_, o.n_);
        std::swap(mapped_, o.mapped_);
        return *this;
    }
    ~ZeroedFloats() {
        if (mapped_) ::munmap(p_, n_ * sizeof(float));
        else std::free(p_);
    }
    float* data() { return p_; }
    const float* data() const { return p_; }
    std::size_t size() const { return n_; }
    /// Whether its pages were put in place when it was made (populated()).
    bool isPopulated() const { return mapped_; }
    float& operator[](std::size_t i) { return p_[i]; }
    float operator[](std::size_t i) const { return p_[i]; }

#ifdef MADV_POPULATE_WRITE
    static constexpr int kPopulateWrite = MADV_POPULATE_WRITE;
#else
    static constexpr int kPopulateWrite = 23;  // Linux 5.14
#endif

private:
    friend class PopulateScope;
    static inline thread_local std::size_t populateUpTo_ = 0;
    float* p_ = nullptr;
    std::size_t n_ = 0;
    bool mapped_ = false;
};

/// While one lives on a thread, the ZeroedFloats made there of kPopulateFrom floats or more
/// are populated(n, upTo): whole up to 2 upTo floats, else their ends [control]. Graph::prepare passes its caller's on to the threads it prepares
/// tracks on.
class PopulateScope {
public:
    explicit PopulateScope(std::size_t upTo) : was_(ZeroedFloats::populateUpTo_) { ZeroedFloats::populateUpTo_ = upTo; }
    ~PopulateScope() { ZeroedFloats::populateUpTo_ = was_; }
    PopulateScope(const PopulateScope&) = delete;
    PopulateScope& operator=(const PopulateScope&) = delete;

private:
    std::size_t was_;
};

class DelayLine {
public:
    /// maxSamples: the longest delay that can be read.
    void prepare(std::size_t maxSamples) {
        std::size_t n = 1;
        while (n < maxSamples + 2) n <<= 1;
        buf_ = ZeroedFloats(n);
        mask_ = n - 1;
        write_ = 0;
    }
    void reset() { std::fill(buf_.data(), buf_.data() + buf_.size(), 0.0f); }
    void push(float x) {
        buf_[write_] = x;
        write_ = (write_ + 1) & mask_;
    }
    /// Sample written `delay` samples ago (delay >= 1 after push; fractional allowed).
    float read(float delay) const {
        const float d = std::clamp(delay, 1.0f, static_cast<float>(mask_ - 1));
        const auto di = static_cast<std::size_t>(d);
        const float frac = d - static_cast<float>(di);
        const float a = buf_[(write_ - di) & mask_];
        const float b = buf_[(write_ - di - 1) & mask_];
        return a + (b - a) * frac;
    }
    float readInt(std::size_t delay) const { return buf_[(write_ - delay) & mask_]; }
    /// Block helpers: what read()/readInt() will return after `ahead` more pushes, valid while
    /// ahead < delay (the sample was written before this block) [rt].
    float readAhead(int ahead, float delay) const {
        const float d = std::clamp(delay, 1.0f, static_cast<float>(mask_ - 1));
        const auto di = static_cast<std::size_t>(d);
        const float frac = d - static_cast<float>(di);
        const std::size_t w = write_ + static_cast<std::size_t>(ahead);
        const float a = buf_[(w - di) & mask_];
        const float b = buf_[(w - di - 1) & mask_];
        return a + (b - a) * frac;
    }
    float readAheadInt(int ahead, std::size_t delay) const {
        return buf_[(write_ + static_cast<std::size_t>(ahead) - delay) & mask_];
    }
    /// Pushes n samples taken every `stride` floats from src (n below the ring's size).
    void pushBlock(const float* src, int n, int stride) {
        const auto st = static_cast<std::size_t>(stride);
        float* buf = buf_.data();
        std::size_t w = write_;
        // Up to the end of the ring, then from its start: no mask per sample.
        const std::size_t first = std::min<std::size_t>(static_cast<std::size_t>(n), mask_ + 1 - w);
        for (std::size_t i = 0; i < first; ++i) buf[w + i] = src[i * st];
        for (std::size_t i = first; i < static_cast<std::size_t>(n); ++i) buf[i - first] = src[i * st];
        write_ = (w + static_cast<std::size_t>(n)) & mask_;
    }
    /// n zeros pushed (pushBlock of zeros, without a source) [rt].
    void pushZeros(std::size_t n) {
        float* buf = buf_.data();
        const std::size_t first = std::min(n, mask_ + 1 - write_);
        std::fill(buf + write_, buf + write_ + first, 0.0f);
        std::fill(buf, buf + std::min(n - first, mask_ + 1), 0.0f);
        write_ = (write_ + n) & mask_;
    }
    /// readAheadInt(k, delay) for k = 0..n-1 into dst[k * stride] (valid while n <= delay).
    void readBlock(float* dst, int n, std::size_t delay, int stride) const {
        const auto st = static_cast<std::size_t>(stride);
        const float* buf = buf_.data();
        const std::size_t r = (write_ - delay) & mask_;
        const std::size_t first = std::min<std::size_t>(static_cast<std::size_t>(n), mask_ + 1 - r);
        for (std::size_t i = 0; i < first; ++i) dst[i * st] = buf[r + i];
        for (std::size_t i = first; i < static_cast<std::size_t>(n); ++i) dst[i * st] = buf[i - first];
    }
    std::size_t maxDelay() const { return mask_ - 1; }
    /// After a block algorithm wrote n samples at writeIndex() itself: they count as pushed [rt].
    void advance(std::size_t n) { write_ = (write_ + n) & mask_; }
    /// Raw access for block algorithms that index the ring themselves [rt].
    float* data() { return buf_.data(); }
    const float* data() const { return buf_.data(); }
    std::size_t mask() const { return mask_; }
    std::size_t writeIndex() const { return write_; }
    std::size_t size() const { return mask_ + 1; }

private:
    ZeroedFloats buf_{2};
    std::size_t mask_ = 1, write_ = 0;
};

}  // namespace soundstar::dsp

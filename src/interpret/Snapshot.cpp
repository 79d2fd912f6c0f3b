#include "interpret/Snapshot.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>

namespace soundstar::interpret {
namespace {

constexpr char kMagic[8] = {'S', 'S', 'I', 'N', 'T', 'E', 'R', 'P'};
constexpr std::uint32_t kByteOrder = 0x01020304;
constexpr std::size_t kAlign = 64;
constexpr std::uint32_t kMaxSections = 64;

struct Header {
    char magic[8];
    std::uint32_t byteOrder;
    std::uint32_t version;
    std::uint64_t fileBytes;
    std::uint64_t payloadChecksum;  // XXH3-64 of every byte after the header but kCheckedOnRead sections'
    std::uint32_t sectionCount;
    std::uint32_t reserved;
    SourceStamp stamps[kSnapshotSourceCount];
    std::uint64_t contentHash;
    std::uint64_t reserved2;
    std::uint64_t headerChecksum;  // XXH3-64 of the header bytes before this field
};
static_assert(sizeof(Header) == 128);

struct SectionEntry {
    std::uint32_t id;
    std::uint32_t flags;  // kCheckedOnRead or 0
    std::uint64_t offset;
    std::uint64_t bytes;
};
static_assert(sizeof(SectionEntry) == 24);
constexpr std::uint32_t kCheckedOnRead = 1;  // checked by its block sums, outside the payload checksum

/// XXH3-64 of bytes [from, end) but the `skipped` ranges (offset, size), which lie inside it
/// and do not overlap; `willRead` (when set) is told each range before it is hashed.
std::uint64_t checksumAround(std::span<const std::byte> bytes, std::size_t from, std::vector<std::pair<std::size_t, std::size_t>> skipped,
                             const std::function<void(std::span<const std::byte>)>& willRead) {
    std::sort(skipped.begin(), skipped.end());
    XXH3_state_t* state = XXH3_createState();
    if (!state) throw std::bad_alloc();
    const std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> keep(state, &XXH3_freeState);
    XXH3_64bits_reset(state);
    skipped.emplace_back(bytes.size(), 0);
    std::size_t at = from;
    for (const auto& [offset, size] : skipped) {
        const auto part = bytes.subspan(at, offset - at);
        if (willRead) willRead(part);
        XXH3_64bits_update(state, part.data(), part.size());
        at = offset + size;
    }
    return XXH3_64bits_digest(state);
}

std::size_t alignUp(std::size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

std::uint64_t headerChecksum(const Header& h) { return XXH3_64bits(&h, offsetof(Header, headerChecksum)); }

}  // namespace

SnapshotSourceInfo stampSources(const std::filesystem::path& dir, bool withContentHash) {
    SnapshotSourceInfo info;
    XXH3_state_t* state = withContentHash ? XXH3_createState() : nullptr;
    const std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> keep(state, &XXH3_freeState);
    if (state) XXH3_64bits_reset(state);
    for (std::size_t i = 0; i < kSnapshotSourceCount; ++i) {
        const auto file = dir / kSnapshotSources[i];
        std::error_code ec;
        const auto bytes = std::filesystem::file_size(file, ec);
        const auto time = std::filesystem::last_write_time(file, ec);
        if (ec) throw SnapshotError(fmt::format("cannot read the interpreter source {}: {}", file.string(), ec.message()));
        info.stamps[i] = {bytes, std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch()).count()};
        if (!state) continue;
        std::ifstream in(file, std::ios::binary);
        std::vector<char> buf(1 << 16);
        while (in) {
            in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
            XXH3_64bits_update(state, buf.data(), static_cast<std::size_t>(in.gcount()));
        }
        if (!in.eof()) throw SnapshotError(fmt::format("cannot read the interpreter source {}", file.string()));
    }
    if (state) info.contentHash = XXH3_64bits_digest(state);
    return info;
}

void SnapshotWriter::addBytes(SectionId id, std::span<const std::byte> bytes) {
    sections_.push_back({id, std::vector<std::byte>(bytes.begin(), bytes.end())});
}

void SnapshotWriter::addCheckedOnRead(SectionId id, SectionId sumsId, std::span<const std::byte> bytes) {
    std::vector<std::uint64_t> sums;
    for (std::size_t at = 0; at < bytes.size(); at += kCheckBlock)
        sums.push_back(XXH3_64bits(bytes.data() + at, std::min(kCheckBlock, bytes.size() - at)));
    sections_.push_back({id, std::vector<std::byte>(bytes.begin(), bytes.end()), true});
    add(sumsId, sums);
}

void SnapshotWriter::addStrings(SectionId id, const FlatStrings& s) {
    std::vector<std::byte> b(4 + 4 * s.offsets.size() + s.chars.size());
    const auto count = static_cast<std::uint32_t>(s.offsets.size() - 1);
    std::memcpy(b.data(), &count, 4);
    std::memcpy(b.data() + 4, s.offsets.data(), 4 * s.offsets.size());
    std::memcpy(b.data() + 4 + 4 * s.offsets.size(), s.chars.data(), s.chars.size());
    sections_.push_back({id, std::move(b)});
}

std::vector<std::byte> SnapshotWriter::finish(const SnapshotSourceInfo& sources) const {
    Header h{};
    std::memcpy(h.magic, kMagic, sizeof kMagic);
    h.byteOrder = kByteOrder;
    h.version = kSnapshotVersion;
    h.sectionCount = static_cast<std::uint32_t>(sections_.size());
    std::copy(std::begin(sources.stamps), std::end(sources.stamps), h.stamps);
    h.contentHash = sources.contentHash;
    std::vector<SectionEntry> table;
    std::size_t at = alignUp(sizeof(Header) + sizeof(SectionEntry) * sections_.size());
    std::vector<std::pair<std::size_t, std::size_t>> skipped;
    for (const auto& s : sections_) {
        table.push_back({static_cast<std::uint32_t>(s.id), s.checkedOnRead ? kCheckedOnRead : 0, at, s.bytes.size()});
        if (s.checkedOnRead) skipped.emplace_back(at, s.bytes.size());
        at = alignUp(at + s.bytes.size());
    }
    std::vector<std::byte> out(at);
    h.fileBytes = out.size();
    std::memcpy(out.data() + sizeof(Header), table.data(), sizeof(SectionEntry) * table.size());
    for (std::size_t i = 0; i < sections_.size(); ++i)
        std::memcpy(out.data() + table[i].offset, sections_[i].bytes.data(), sections_[i].bytes.size());
    h.payloadChecksum = checksumAround(out, sizeof(Header), std::move(skipped), {});
    h.headerChecksum = headerChecksum(h);
    std::memcpy(out.data(), &h, sizeof h);
    return out;
}

SnapshotReader::SnapshotReader(std::span<const std::byte> bytes, std::string what, bool verifyChecksum,
                               const std::function<void(std::span<const std::byte>)>& willRead)
    : bytes_(bytes), what_(std::move(what)), verify_(verifyChecksum) {
    const auto bad = [&](const std::string& why) { return SnapshotError(fmt::format("{}: {}", what_, why)); };
    if (reinterpret_cast<std::uintptr_t>(bytes.data()) % 8 != 0) throw bad("the snapshot is not 8-byte aligned in memory");
    if (bytes.size() < sizeof(Header)) throw bad(fmt::format("{} bytes, shorter than the {}-byte header", bytes.size(), sizeof(Header)));
    Header h;
    std::memcpy(&h, bytes.data(), sizeof h);
    if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0) throw bad("not an interpreter snapshot (no SSINTERP header)");
    if (h.byteOrder != kByteOrder) throw bad("written on a machine of the other byte order");
    if (h.version != kSnapshotVersion) throw bad(fmt::format("format version {}, this build reads {}", h.version, kSnapshotVersion));
    if (h.headerChecksum != headerChecksum(h)) throw bad("the header's checksum does not match (a damaged file)");
    if (h.fileBytes != bytes.size()) throw bad(fmt::format("{} bytes, the header says {} (a truncated file)", bytes.size(), h.fileBytes));
    if (h.sectionCount > kMaxSections) throw bad(fmt::format("{} sections, at most {} allowed", h.sectionCount, kMaxSections));
    const std::size_t tableEnd = sizeof(Header) + sizeof(SectionEntry) * h.sectionCount;
    if (tableEnd > bytes.size()) throw bad("the section table runs past the end");
    // The table is read (every entry within the file, none twice, none overlapping a section
    // checked on read) before the checksum, which skips those sections.
    std::vector<std::pair<std::size_t, std::size_t>> skipped;
    for (std::uint32_t i = 0; i < h.sectionCount; ++i) {
        SectionEntry e;
        std::memcpy(&e, bytes.data() + sizeof(Header) + sizeof(SectionEntry) * i, sizeof e);
        if (e.offset % kAlign != 0 || e.offset < tableEnd || e.offset > bytes.size() || e.bytes > bytes.size() - e.offset)
            throw bad(fmt::format("section {} lies outside the file or off its alignment", e.id));
        if (e.flags & ~kCheckedOnRead) throw bad(fmt::format("section {} has unknown flags {:#x}", e.id, e.flags));
        const auto id = static_cast<SectionId>(e.id);
        if (std::any_of(sections_.begin(), sections_.end(), [&](const auto& s) { return s.id == id; }))
            throw bad(fmt::format("section {} appears twice", e.id));
        const bool onRead = (e.flags & kCheckedOnRead) != 0;
        sections_.push_back({id, bytes.subspan(e.offset, e.bytes), onRead});
        if (onRead) skipped.emplace_back(e.offset, e.bytes);
    }
    // A section checked on read shares no byte with any other: the rest's bytes are all under
    // the checksum.
    for (const auto& f : sections_)
        for (const auto& other : sections_) {
            if (!f.checkedOnRead || other.id == f.id) continue;
            if (other.bytes.data() < f.bytes.data() + f.bytes.size() && f.bytes.data() < other.bytes.data() + other.bytes.size())
                throw bad(fmt::format("section {} overlaps section {}, which is checked on read", static_cast<std::uint32_t>(other.id),
                                      static_cast<std::uint32_t>(f.id)));
        }
    if (verifyChecksum && checksumAround(bytes, sizeof(Header), std::move(skipped), willRead) != h.payloadChecksum)
        throw bad("the checksum does not match (a damaged file)");
    std::copy(std::begin(h.stamps), std::end(h.stamps), sources_.stamps);
    sources_.contentHash = h.contentHash;
}

const SnapshotReader::Section& SnapshotReader::find(SectionId id) const {
    const auto it = std::find_if(sections_.begin(), sections_.end(), [&](const auto& s) { return s.id == id; });
    if (it == sections_.end()) throw SnapshotError(fmt::format("{}: section {} is missing", what_, static_cast<std::uint32_t>(id)));
    return *it;
}

CheckedOnRead SnapshotReader::checkedOnRead(SectionId id, SectionId sumsId, std::string_view name) const {
    const auto& s = find(id);
    if (!s.checkedOnRead) throw SnapshotError(fmt::format("{}: section {} is not marked as checked on read", what_, static_cast<std::uint32_t>(id)));
    const std::size_t blocks = (s.bytes.size() + kCheckBlock - 1) / kCheckBlock;
    const auto sums = get<std::uint64_t>(sumsId, blocks);
    if (!verify_) return CheckedOnRead(s.bytes, {}, what_, 0);
    return CheckedOnRead(s.bytes, sums, fmt::format("{}: {}", what_, name), static_cast<std::size_t>(s.bytes.data() - bytes_.data()));
}

CheckedOnRead::CheckedOnRead(std::span<const std::byte> bytes, std::span<const std::uint64_t> sums, std::string what, std::size_t fileOffset)
    : bytes_(bytes), sums_(sums), what_(std::make_shared<const std::string>(std::move(what))), fileOffset_(fileOffset) {
    if (!sums_.empty() && sums_.size() != (bytes.size() + kCheckBlock - 1) / kCheckBlock)
        throw std::logic_error("CheckedOnRead: one sum per block");
    if (!sums_.empty()) checked_.reset(new std::atomic<std::uint8_t>[sums_.size()]());
}

void CheckedOnRead::checkBlocks(std::size_t first, std::size_t last) const {
    for (std::size_t b = first; b <= last && b < sums_.size(); ++b) {
        if (checked_[b].load(std::memory_order_acquire) != 0) continue;
        const std::size_t at = b * kCheckBlock, n = std::min(kCheckBlock, bytes_.size() - at);
        if (XXH3_64bits(bytes_.data() + at, n) != sums_[b])
            throw SnapshotError(fmt::format("{}, bytes {} to {} of the file, do not match their checksum "
                                            "(a damaged file: rebuild it, or delete it to read the sources)",
                                            *what_, fileOffset_ + at, fileOffset_ + at + n - 1));
        checked_[b].store(1, std::memory_order_release);
    }
}

std::span<const std::byte> SnapshotReader::section(SectionId id, std::size_t elemSize, std::size_t count) const {
    const auto& s = find(id);
    // Its bytes are outside the checksum: only checkedOnRead hands them out.
    if (s.checkedOnRead && verify_)
        throw SnapshotError(fmt::format("{}: section {} is checked on read, not as a whole", what_, static_cast<std::uint32_t>(id)));
    const auto b = s.bytes;
    if (b.size() % elemSize != 0 || (count != static_cast<std::size_t>(-1) && b.size() / elemSize != count))
        throw SnapshotError(fmt::format("{}: section {} holds {} bytes, expected {} of {} bytes", what_,
                                        static_cast<std::uint32_t>(id), b.size(),
                                        count == static_cast<std::size_t>(-1) ? std::string("a whole number") : std::to_string(count),
                                        elemSize));
    return b;
}

StringList SnapshotReader::strings(SectionId id) const {
    const auto b = section(id, 1, static_cast<std::size_t>(-1));
    const std::string name = fmt::format("{}: string section {}", what_, static_cast<std::uint32_t>(id));
    if (b.size() < 4) throw SnapshotError(name + " is shorter than its count");
    std::uint32_t n = 0;
    std::memcpy(&n, b.data(), 4);
    if (static_cast<std::size_t>(n) + 1 > (b.size() - 4) / 4)
        throw SnapshotError(fmt::format("{} says {} strings, more than its {} bytes hold", name, n, b.size()));
    const std::size_t charsAt = 4 + 4 * (static_cast<std::size_t>(n) + 1);
    const std::span<const std::uint32_t> offsets(reinterpret_cast<const std::uint32_t*>(b.data() + 4), n + 1);
    const std::span<const char> chars(reinterpret_cast<const char*>(b.data() + charsAt), b.size() - charsAt);
    try {
        return StringList(chars, offsets, name);
    } catch (const std::runtime_error& e) {
        throw SnapshotError(e.what());
    }
}

void SnapshotReader::checkSources(const std::filesystem::path& dir) const {
    const auto now = stampSources(dir, false);
    bool same = true;
    for (std::size_t i = 0; i < kSnapshotSourceCount; ++i)
        same = same && now.stamps[i].bytes == sources_.stamps[i].bytes && now.stamps[i].mtimeNs == sources_.stamps[i].mtimeNs;
    if (same) return;
    // Times differ after a copy or a checkout: the content decides (reads about 8 MB, once).
    if (stampSources(dir, true).contentHash == sources_.contentHash) return;
    throw SnapshotError(fmt::format("{} was made from other data than {} (stale: rebuild it)", what_, dir.string()));
}

std::shared_ptr<const MappedFile> MappedFile::open(const std::filesystem::path& file, std::uint64_t maxBytes) {
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw SnapshotError(fmt::format("cannot open {}: {}", file.string(), std::strerror(errno)));
    struct stat st {};
    const int statResult = ::fstat(fd, &st);
    const auto size = static_cast<std::uint64_t>(st.st_size);
    if (statResult != 0 || !S_ISREG(st.st_mode) || size == 0 || size > maxBytes) {
        ::close(fd);
        throw SnapshotError(fmt::format("{} is not a regular file of 1 byte to {} bytes", file.string(), maxBytes));
    }
    // Not MAP_POPULATE: the sections checked on read are mostly never read (willRead puts in
    // the rest).
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (p == MAP_FAILED) throw SnapshotError(fmt::format("cannot map {}: {}", file.string(), std::strerror(errno)));
    std::shared_ptr<MappedFile> m(new MappedFile);
    m->data_ = p;
    m->size_ = size;
    return m;
}

void MappedFile::willRead(std::span<const std::byte> range) const {
#ifdef MADV_POPULATE_READ
    const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
    const auto begin = reinterpret_cast<std::uintptr_t>(range.data()) / page * page;
    const auto end = reinterpret_cast<std::uintptr_t>(range.data() + range.size());
    if (range.empty() || range.data() < bytes().data() || range.data() + range.size() > bytes().data() + bytes().size()) return;
    (void)::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_READ);  // a hint: faults do the same
#else
    (void)range;
#endif
}

MappedFile::~MappedFile() {
    if (data_) ::munmap(data_, size_);
}

}  // namespace soundstar::interpret

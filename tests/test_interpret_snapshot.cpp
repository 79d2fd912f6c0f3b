// The interpreter's snapshot (src/interpret/Snapshot.h): a mapped snapshot reads every prompt
// exactly as the sources do; damaged, truncated, stale or foreign files are refused with a
// reason that names the file, and the CLI's loader then falls back to the sources.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <xxhash.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "interpret/Interpreter.h"
#include "interpret/Snapshot.h"
#include "interpret/WordVectors.h"
#include "llm/LlmClient.h"
#include "llm/LlmComposer.h"

using namespace soundstar;
using interpret::Interpreter;
using interpret::SnapshotError;

namespace {

const std::filesystem::path kDir = std::filesystem::path(SOUNDSTAR_DATA) / "interpret";

/// A fresh folder under the temp dir, removed afterwards.
struct Scratch {
    std::filesystem::path path = std::filesystem::temp_directory_path() /
                                 ("soundstar-snapshot-test-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
                                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    Scratch() {
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
    }
    ~Scratch() { std::filesystem::remove_all(path); }
};

const std::vector<std::byte>& snapshotBytes() {
    static const auto bytes = Interpreter::buildSnapshot(kDir);
    return bytes;
}

void writeBytes(const std::filesystem::path& file, const std::vector<std::byte>& bytes, std::size_t count) {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(count));
}

std::string openError(const std::filesystem::path& file, const std::filesystem::path& sources = kDir) {
    try {
        Interpreter::open(file, sources);
    } catch (const SnapshotError& e) {
        return e.what();
    }
    return "opened";
}

std::string bytesError(std::vector<std::byte> bytes, bool verifyChecksum) {
    try {
        Interpreter::fromBytes(std::move(bytes), verifyChecksum);
    } catch (const SnapshotError& e) {
        return e.what();
    }
    return "opened";
}

// The header's layout (Snapshot.cpp): the payload checksum at 24, the header checksum at 120
// over the 120 bytes before it; the section table (id u32, flags u32, offset u64, bytes u64) at
// 128. The payload checksum covers every byte after the header but the sections flagged 1
// (checked on read, a block at a time, against their sums).
void reseal(std::vector<std::byte>& b) {
    std::uint32_t count = 0;
    std::memcpy(&count, b.data() + 32, 4);
    std::vector<std::pair<std::uint64_t, std::uint64_t>> skipped;
    for (std::uint32_t i = 0; i < count; ++i) {
        std::uint32_t flags = 0;
        std::uint64_t offset = 0, size = 0;
        std::memcpy(&flags, b.data() + 128 + 24 * i + 4, 4);
        std::memcpy(&offset, b.data() + 128 + 24 * i + 8, 8);
        std::memcpy(&size, b.data() + 128 + 24 * i + 16, 8);
        if (flags & 1) skipped.emplace_back(offset, size);
    }
    std::sort(skipped.begin(), skipped.end());
    skipped.emplace_back(b.size(), 0);
    XXH3_state_t* state = XXH3_createState();
    XXH3_64bits_reset(state);
    std::size_t at = 128;
    for (const auto& [offset, size] : skipped) {
        XXH3_64bits_update(state, b.data() + at, offset - at);
        at = offset + size;
    }
    const std::uint64_t payload = XXH3_64bits_digest(state);
    XXH3_freeState(state);
    std::memcpy(b.data() + 24, &payload, 8);
    const std::uint64_t header = XXH3_64bits(b.data(), 120);
    std::memcpy(b.data() + 120, &header, 8);
}
std::size_t sectionOffset(const std::vector<std::byte>& b, interpret::SectionId id) {
    std::uint32_t count = 0;
    std::memcpy(&count, b.data() + 32, 4);
    for (std::uint32_t i = 0; i < count; ++i) {
        std::uint32_t sid = 0;
        std::uint64_t offset = 0;
        std::memcpy(&sid, b.data() + 128 + 24 * i, 4);
        std::memcpy(&offset, b.data() + 128 + 24 * i + 8, 8);
        if (sid == static_cast<std::uint32_t>(id)) return offset;
    }
    ADD_FAILURE() << "no section " << static_cast<std::uint32_t>(id);
    return 0;
}

std::vector<std::string> manyPrompts() {
    std::vector<std::string> out;
    for (const char* file : {"interpret_prompts.json", "interpret_heldout.json"}) {
        std::ifstream in(std::filesystem::path(SOUNDSTAR_TESTS_DIR) / "data" / file);
        const auto json = nlohmann::json::parse(in);  // kept: a range-for over parse(in).at(...) would dangle
        for (const auto& p : json.at("prompts")) out.push_back(p.at("prompt").get<std::string>());
    }
    const char* scenes[] = {"rainy night", "sunrise over the sea", "deep house", "a haunted forest", "grandma's kitchen", "zxqv blorp",
                            "techno at 130 bpm", "", "\xF0\x9F\x8C\xA7 storms", "lofi study beats in F# minor"};
    const char* twists[] = {"", " but happy", " without drums", ", very dark and slower", " with piano and strings", " at 4am",
                            " not sad", " (dub)", " -- euphoric!!", " 808"};
    for (const char* s : scenes)
        for (const char* t : twists) out.push_back(std::string(s) + t);
    return out;
}

}  // namespace

TEST(InterpreterSnapshot, MappedSnapshotReadsEveryPromptExactlyAsTheSources) {
    Scratch dir;
    const auto file = dir.path / "interpreter.bin";
    writeBytes(file, snapshotBytes(), snapshotBytes().size());
    const auto mapped = Interpreter::open(file, kDir);
    const auto parsed = Interpreter::load(kDir);
    ASSERT_EQ(mapped.vocabularySize(), parsed.vocabularySize());
    ASSERT_EQ(mapped.librarySize(), parsed.librarySize());
    std::set<std::string> configs;
    const auto prompts = manyPrompts();
    ASSERT_GT(prompts.size(), 200u);
    for (const auto& p : prompts) {
        const auto a = mapped.interpret(p), b = parsed.interpret(p);
        const std::string config = music::toJson(a.config);
        configs.insert(config);
        EXPECT_EQ(config, music::toJson(b.config)) << p;
        EXPECT_EQ(a.notes, b.notes) << p;
        EXPECT_EQ(a.decidedBy, b.decidedBy) << p;
        EXPECT_EQ(a.explicitFields, b.explicitFields) << p;
        EXPECT_EQ(a.unknownWords, b.unknownWords) << p;
        EXPECT_EQ(a.valence, b.valence) << p;
        EXPECT_EQ(a.arousal, b.arousal) << p;
        ASSERT_EQ(a.neighbours.size(), b.neighbours.size()) << p;
        for (std::size_t i = 0; i < a.neighbours.size(); ++i) {
            EXPECT_EQ(a.neighbours[i].text, b.neighbours[i].text) << p;
            EXPECT_EQ(a.neighbours[i].similarity, b.neighbours[i].similarity) << p;
            EXPECT_EQ(a.neighbours[i].weight, b.neighbours[i].weight) << p;
        }
    }
    EXPECT_GT(configs.size(), prompts.size() / 2);  // the prompts do read differently: the comparison means something
}

TEST(InterpreterSnapshot, TruncatedAndDamagedFilesAreRefusedNamingTheFile) {
    Scratch dir;
    const auto file = dir.path / "interpreter.bin";
    const auto& bytes = snapshotBytes();
    for (const std::size_t size : {std::size_t{0}, std::size_t{10}, std::size_t{127}, std::size_t{128}, std::size_t{4096},
                                   bytes.size() / 2, bytes.size() - 1}) {
        writeBytes(file, bytes, size);
        const auto e = openError(file);
        EXPECT_NE(e.find(file.string()), std::string::npos) << size << ": " << e;
        EXPECT_TRUE(e.find("truncated") != std::string::npos || e.find("shorter") != std::string::npos ||
                    e.find("1 byte to") != std::string::npos)
            << size << ": " << e;
    }
    // A byte of the library's embeddings, and one of the word vectors' sums: both are under the
    // checksum read at every open.
    for (const auto id : {interpret::SectionId::Embeddings, interpret::SectionId::WordVectorSums}) {
        auto damaged = bytes;
        damaged[sectionOffset(damaged, id) + 100] ^= std::byte{0x40};
        writeBytes(file, damaged, damaged.size());
        EXPECT_NE(openError(file).find("checksum does not match"), std::string::npos) << openError(file);
    }
    auto damaged = bytes;
    damaged[17] ^= std::byte{1};  // the file size in the header
    writeBytes(file, damaged, damaged.size());
    EXPECT_NE(openError(file).find("header's checksum"), std::string::npos) << openError(file);
    damaged = bytes;
    std::uint32_t version = 99;
    std::memcpy(damaged.data() + 12, &version, 4);
    reseal(damaged);
    writeBytes(file, damaged, damaged.size());
    EXPECT_NE(openError(file).find("format version 99"), std::string::npos) << openError(file);
    { std::ofstream(file) << "{\"not\": \"a snapshot\"}" << std::string(200, ' '); }
    EXPECT_NE(openError(file).find("no SSINTERP header"), std::string::npos) << openError(file);
    EXPECT_NE(openError(dir.path / "missing.bin").find("cannot open"), std::string::npos);
    EXPECT_NE(openError(dir.path).find("not a regular file"), std::string::npos) << openError(dir.path);
}

// The word vectors (most of the file; a prompt reads a few of its rows) are checked a 4 KiB
// block at a time when first read, not at every open. Damage there is found when a prompt
// reaches it: opened with its sources, the interpreter then reads that prompt and every later
// one from the sources, saying why (file and bytes); opened without, the prompt is refused.
TEST(InterpreterSnapshot, AWordVectorBlockIsCheckedWhenFirstRead) {
    Scratch dir;
    const auto file = dir.path / "interpreter.bin";
    const auto vectors = interpret::WordVectors::load(kDir / "words.bin");
    // A rare word (ranked last of the plain ones), whose block the open's self-check never reads.
    std::uint32_t rare = 0;
    for (auto i = static_cast<std::uint32_t>(vectors.size()); i-- > 0;) {
        const auto w = vectors.word(i);
        if (w.size() >= 5 && std::all_of(w.begin(), w.end(), [](char c) { return c >= 'a' && c <= 'z'; })) {
            rare = i;
            break;
        }
    }
    ASSERT_GT(rare, vectors.size() / 2);
    const std::string word(vectors.word(rare)), prompt = "dancing with " + std::string(vectors.word(rare));
    auto bytes = snapshotBytes();
    const std::size_t section = sectionOffset(bytes, interpret::SectionId::WordVectors);
    const std::size_t row = section + std::size_t{rare} * static_cast<std::size_t>(vectors.dimensions());
    bytes[row + 3] ^= std::byte{0x10};
    writeBytes(file, bytes, bytes.size());
    const std::size_t block = (row + 3 - section) / interpret::kCheckBlock * interpret::kCheckBlock;
    const std::size_t rows = vectors.size() * static_cast<std::size_t>(vectors.dimensions());
    const std::string where = fmt::format("the word vectors, bytes {} to {} of the file, do not match their checksum", section + block,
                                          section + std::min(block + interpret::kCheckBlock, rows) - 1);
    const auto sound = Interpreter::load(kDir);
    const auto same = [&](const interpret::Interpretation& a, const std::string& p) {
        EXPECT_EQ(music::toJson(a.config), music::toJson(sound.interpret(p).config)) << p;
    };
    {
        const auto damaged = Interpreter::open(file, kDir);  // the open's checksum does not cover the rows
        const auto before = damaged.interpret("sad jazz club at night");
        same(before, "sad jazz club at night");
        EXPECT_EQ(before.warning, "");  // read from the snapshot: none of its rows is damaged
        const auto hit = damaged.interpret(prompt);
        same(hit, prompt);  // the sources' answer
        EXPECT_EQ(hit.warning.rfind("interpreter snapshot damaged: " + file.string() + ": " + where, 0), 0u) << hit.warning;
        EXPECT_NE(hit.warning.find("read from the sources in " + kDir.string()), std::string::npos) << hit.warning;
        const auto after = damaged.interpret("sad jazz club at night");  // from the sources from now on
        same(after, "sad jazz club at night");
        EXPECT_EQ(after.warning, hit.warning);
    }
    {
        // Through the LLM composer, whose endpoint here is down so it keeps the interpreter's
        // reading: the warning is among the composition's, which `render --llm` prints.
        const auto damaged = Interpreter::open(file, kDir);
        llm::LlmSettings st;
        st.baseUrl = "http://127.0.0.1:9/v1";  // below the ephemeral ports: nothing listens there
        st.model = "tiny";
        st.timeoutSeconds = 2.0;
        st.retries = 0;
        llm::LlmClient client(st);
        const auto comp = llm::composeWithLlm(client, damaged, prompt, 10.0, false);
        EXPECT_EQ(music::toJson(comp.config), music::toJson(sound.interpret(prompt).config));
        ASSERT_FALSE(comp.warnings.empty());
        EXPECT_EQ(comp.warnings.front().rfind("interpreter snapshot damaged: " + file.string() + ": " + where, 0), 0u) << comp.warnings.front();
    }
    {
        const auto alone = Interpreter::open(file, {});  // no sources to fall back to
        for (int attempt = 0; attempt < 2; ++attempt) {  // a block that failed is not taken as checked
            try {
                (void)alone.interpret(prompt);
                ADD_FAILURE() << "the damaged row of '" << word << "' was read";
            } catch (const SnapshotError& e) {
                EXPECT_NE(std::string(e.what()).find(file.string() + ": " + where), std::string::npos) << e.what();
            }
        }
        EXPECT_THROW(alone.checkAllData(), SnapshotError);
    }
    // The same file undamaged: the same word reads as from the sources, with no warning.
    writeBytes(file, snapshotBytes(), snapshotBytes().size());
    const auto fine = Interpreter::open(file, kDir);
    const auto read = fine.interpret(prompt);
    same(read, prompt);
    EXPECT_EQ(read.warning, "");
    EXPECT_NO_THROW(fine.checkAllData());
    // A reader that verifies checksums does not hand out the rows unchecked.
    const interpret::SnapshotReader r(snapshotBytes(), "snap", true);
    try {
        (void)r.get<std::int8_t>(interpret::SectionId::WordVectors);
        ADD_FAILURE() << "the rows were handed out whole";
    } catch (const SnapshotError& e) {
        EXPECT_NE(std::string(e.what()).find("checked on read, not as a whole"), std::string::npos) << e.what();
    }
}

// The block checks are shared by the threads that read the vectors and by every copy: a block
// that matched is not hashed again (so later damage to it goes unseen, which shows the mark is
// kept), a damaged block is refused on every thread that reaches it.
TEST(InterpreterSnapshot, BlocksCheckedOnReadAreMarkedOnceAcrossThreadsAndCopies) {
    std::vector<std::byte> bytes(5 * interpret::kCheckBlock + 100);
    for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::byte>(i * 7 + 3);
    std::vector<std::uint64_t> sums;
    for (std::size_t at = 0; at < bytes.size(); at += interpret::kCheckBlock)
        sums.push_back(XXH3_64bits(bytes.data() + at, std::min(interpret::kCheckBlock, bytes.size() - at)));
    ASSERT_EQ(sums.size(), 6u);
    sums[4] ^= 1;  // block 4 "damaged"
    const interpret::CheckedOnRead c(bytes, sums, "test bytes", 1000);
    std::atomic<int> refused{0}, passed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (std::size_t at = static_cast<std::size_t>(t) * 333; at + 200 <= bytes.size(); at += 1000) try {
                    c.check(at, 200);
                    passed.fetch_add(1);
                } catch (const SnapshotError& e) {
                    const std::string what = e.what();  // file positions: the block plus the 1000 given
                    if (what.find("test bytes, bytes 17384 to 21479 of the file, do not match") == std::string::npos) ADD_FAILURE() << what;
                    refused.fetch_add(1);
                }
        });
    for (auto& t : threads) t.join();
    // Every span that touches block 4 ([16384, 20480)) was refused, and only those.
    int touching = 0, total = 0;
    for (int t = 0; t < 4; ++t)
        for (std::size_t at = static_cast<std::size_t>(t) * 333; at + 200 <= bytes.size(); at += 1000, ++total)
            touching += (at + 200 > 16384 && at < 20480) ? 1 : 0;
    EXPECT_GT(touching, 0);
    EXPECT_EQ(refused.load(), touching);
    EXPECT_EQ(passed.load(), total - touching);
    EXPECT_THROW(c.checkAll(), SnapshotError);
    // A span across a block boundary checks both blocks; the last, short block is checked too.
    EXPECT_THROW(c.check(4 * interpret::kCheckBlock - 10, 20), SnapshotError);
    EXPECT_NO_THROW(c.check(3 * interpret::kCheckBlock - 10, 20));
    EXPECT_NO_THROW(c.check(bytes.size() - 1, 1));
    auto lastDamaged = sums;
    lastDamaged[5] ^= 1;
    EXPECT_THROW(interpret::CheckedOnRead(bytes, lastDamaged, "test bytes", 0).check(bytes.size() - 1, 1), SnapshotError);
    // Blocks 0-3 matched above; now damage block 1. A copy of c shares its marks and does not
    // look again; a fresh reader of the same bytes does.
    bytes[interpret::kCheckBlock + 5] ^= std::byte{1};
    const interpret::CheckedOnRead copy = c;
    EXPECT_NO_THROW(copy.check(interpret::kCheckBlock, 10));
    EXPECT_THROW(interpret::CheckedOnRead(bytes, sums, "test bytes", 0).check(interpret::kCheckBlock, 10), SnapshotError);
    // Made without sums, it checks nothing (a file read with its checksums unchecked).
    EXPECT_NO_THROW(interpret::CheckedOnRead(bytes, {}, "unchecked", 0).checkAll());
}

// A section table that breaks the rules of sections checked on read is refused, naming the
// fault: unknown flags, a section overlapping one checked on read, sums of the wrong size, a
// section read as checked on read that is not marked so.
TEST(InterpreterSnapshot, SectionsCheckedOnReadKeepTheirRules) {
    interpret::SnapshotWriter w;
    w.add(interpret::SectionId::Meta, std::vector<std::uint32_t>{3});
    std::vector<std::int8_t> rows(3 * 3000);
    for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<std::int8_t>(i % 251);
    w.addCheckedOnRead(interpret::SectionId::WordVectors, interpret::SectionId::WordVectorSums, std::as_bytes(std::span<const std::int8_t>(rows)));
    w.add(interpret::SectionId::Common, std::vector<float>{0.5f, 0.25f, 0.125f});
    const auto good = w.finish({});
    const auto entry = [&](const std::vector<std::byte>& b, interpret::SectionId id) {  // the table entry's place
        std::uint32_t count = 0;
        std::memcpy(&count, b.data() + 32, 4);
        for (std::uint32_t i = 0; i < count; ++i) {
            std::uint32_t sid = 0;
            std::memcpy(&sid, b.data() + 128 + 24 * i, 4);
            if (sid == static_cast<std::uint32_t>(id)) return std::size_t{128} + 24 * i;
        }
        ADD_FAILURE() << "no section " << static_cast<std::uint32_t>(id);
        return std::size_t{0};
    };
    const auto error = [](const std::vector<std::byte>& b, bool readRows) -> std::string {
        try {
            const interpret::SnapshotReader r(b, "tiny", true);
            if (readRows) (void)r.checkedOnRead(interpret::SectionId::WordVectors, interpret::SectionId::WordVectorSums, "the rows");
        } catch (const SnapshotError& e) {
            return e.what();
        }
        return "opened";
    };
    {
        const interpret::SnapshotReader r(good, "tiny", true);
        const auto c = r.checkedOnRead(interpret::SectionId::WordVectors, interpret::SectionId::WordVectorSums, "the rows");
        ASSERT_EQ(c.bytes().size(), rows.size());
        EXPECT_EQ(std::memcmp(c.bytes().data(), rows.data(), rows.size()), 0);
        EXPECT_NO_THROW(c.checkAll());
    }
    auto b = good;
    std::uint32_t flags = 3;
    std::memcpy(b.data() + entry(b, interpret::SectionId::WordVectors) + 4, &flags, 4);
    reseal(b);
    EXPECT_NE(error(b, false).find("tiny: section 6 has unknown flags 0x3"), std::string::npos) << error(b, false);
    b = good;
    flags = 0;  // the rows no longer marked: under the main checksum, but not to be read as checked on read
    std::memcpy(b.data() + entry(b, interpret::SectionId::WordVectors) + 4, &flags, 4);
    reseal(b);
    EXPECT_NE(error(b, true).find("tiny: section 6 is not marked as checked on read"), std::string::npos) << error(b, true);
    b = good;
    std::uint64_t offset = 0;  // Common moved inside the rows: its bytes would escape the checksum
    std::memcpy(&offset, b.data() + entry(b, interpret::SectionId::WordVectors) + 8, 8);
    offset += 64;
    std::memcpy(b.data() + entry(b, interpret::SectionId::Common) + 8, &offset, 8);
    reseal(b);
    EXPECT_NE(error(b, false).find("tiny: section 16 overlaps section 6, which is checked on read"), std::string::npos) << error(b, false);
    b = good;
    std::uint64_t size = 0;  // one sum short
    std::memcpy(&size, b.data() + entry(b, interpret::SectionId::WordVectorSums) + 16, 8);
    size -= 8;
    std::memcpy(b.data() + entry(b, interpret::SectionId::WordVectorSums) + 16, &size, 8);
    reseal(b);
    EXPECT_NE(error(b, true).find("tiny: section 26 holds 16 bytes, expected 3 of 8 bytes"), std::string::npos) << error(b, true);
}

TEST(InterpreterSnapshot, EveryIndexIsCheckedWhenTheChecksumIsNot) {
    auto bytes = snapshotBytes();
    EXPECT_EQ(bytesError(bytes, false), "opened");
    const std::uint32_t wild = 0xFFFFFFF0u;
    std::memcpy(bytes.data() + sectionOffset(bytes, interpret::SectionId::EntryWords), &wild, 4);
    EXPECT_NE(bytesError(bytes, true).find("checksum does not match"), std::string::npos);
    EXPECT_NE(bytesError(bytes, false).find("an entry word names library word 4294967280"), std::string::npos) << bytesError(bytes, false);
    bytes = snapshotBytes();
    std::memcpy(bytes.data() + sectionOffset(bytes, interpret::SectionId::WordSlots), &wild, 4);
    EXPECT_NE(bytesError(bytes, false).find("hash slot names string"), std::string::npos) << bytesError(bytes, false);
    bytes = snapshotBytes();
    const char* junk = "tempo=glacial";  // over entry 0's fields: a value the schema does not allow
    const std::size_t fields = sectionOffset(bytes, interpret::SectionId::EntryFields);
    std::uint32_t entries = 0;
    std::memcpy(&entries, bytes.data() + fields, 4);
    std::memcpy(bytes.data() + fields + 4 + 4 * (std::size_t{entries} + 1), junk, std::strlen(junk));
    const auto e = bytesError(bytes, false);
    EXPECT_NE(e.find("library entry"), std::string::npos) << e;
}

TEST(InterpreterSnapshot, ASnapshotFromOtherCodeOrOtherDataIsStale) {
    auto bytes = snapshotBytes();
    float x = 0;
    const std::size_t at = sectionOffset(bytes, interpret::SectionId::Embeddings);  // entry 0 is in the self-check's sample
    std::memcpy(&x, bytes.data() + at, 4);
    x = std::nextafter(x, 2.0f);  // one ulp: what a change in the embedding code would do
    std::memcpy(bytes.data() + at, &x, 4);
    reseal(bytes);
    EXPECT_NE(bytesError(bytes, true).find("reads differently with this build's code (stale"), std::string::npos) << bytesError(bytes, true);

    Scratch dir;
    const auto src = dir.path / "interpret";
    std::filesystem::create_directories(src);
    for (const char* f : interpret::kSnapshotSources) std::filesystem::copy_file(kDir / f, src / f);
    const auto file = dir.path / "interpreter.bin";
    const auto own = Interpreter::buildSnapshot(src);
    writeBytes(file, own, own.size());
    EXPECT_EQ(openError(file, src), "opened");
    // Rewritten with the same bytes (a checkout, a copy): new times, same content, still fresh.
    { std::ofstream(src / "valence.tsv", std::ios::binary | std::ios::trunc) << std::ifstream(kDir / "valence.tsv", std::ios::binary).rdbuf(); }
    std::filesystem::last_write_time(src / "valence.tsv", std::filesystem::last_write_time(src / "valence.tsv") + std::chrono::hours(1));
    EXPECT_EQ(openError(file, src), "opened");
    // Other content: stale, and the loader reads the sources instead, saying why.
    { std::ofstream(src / "valence.tsv", std::ios::app) << "zzzglad\t0.9\n"; }
    EXPECT_NE(openError(file, src).find("made from other data"), std::string::npos) << openError(file, src);
    std::string warning;
    const auto it = Interpreter::loadFastest(src, {dir.path / "none.bin", file}, warning);
    EXPECT_NE(warning.find("no " + (dir.path / "none.bin").string()), std::string::npos) << warning;
    EXPECT_NE(warning.find("stale"), std::string::npos) << warning;
    EXPECT_GT(it.interpret("zzzglad").valence, 0.3);  // the new word counts: these are the sources' answers
    warning = "unset";
    Interpreter::loadFastest(kDir, {dir.path / "none.bin", file}, warning);
    EXPECT_EQ(warning, "");  // made from a copy of kDir's data: other times, same content, so it serves kDir
}

// The snapshot fuzzer's seed must open, or the fuzzer only ever sees refusals; after a format
// change, rewrite it with the command in tests/fuzz/snapshot.cpp.
TEST(InterpreterSnapshot, TheFuzzersSeedOpens) {
    std::ifstream in(std::filesystem::path(SOUNDSTAR_TESTS_DIR) / "fuzz" / "corpus" / "snapshot" / "mini", std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::byte> bytes(text.size());
    std::memcpy(bytes.data(), text.data(), text.size());
    const auto it = Interpreter::fromBytes(bytes, true);
    EXPECT_EQ(it.librarySize(), 4u);
    EXPECT_EQ(it.interpret("sad jazz club at night").config.mode, music::Mode::Minor);
}

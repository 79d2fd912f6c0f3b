// Fuzz target: any bytes as the interpreter's snapshot (src/interpret/Snapshot.h), through
// Interpreter::fromBytes. With the checksum verified, almost every mutation is refused at the
// door; so each input is also opened with the checksum unchecked, where every size, offset and
// index must be checked instead. Properties: a bad file is a SnapshotError with a bounded message
// (no other exception, no crash, no out-of-bounds read under ASan); a file that opens interprets
// prompts without throwing, each note bounded.
// Seeds: tests/fuzz/corpus/snapshot, made from the tiny data set in tests/data/interpret_mini by
//   build/release/tools/build_interpreter_data tests/data/interpret_mini tests/fuzz/corpus/snapshot/mini
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "FuzzCheck.h"
#include "interpret/Interpreter.h"

using namespace soundstar;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    for (const bool verify : {true, false}) {
        std::vector<std::byte> bytes(size);  // heap memory: aligned as a mapped file is
        if (size > 0) std::memcpy(bytes.data(), data, size);
        try {
            const auto it = interpret::Interpreter::fromBytes(std::move(bytes), verify);
            for (const char* prompt : {"sad jazz club at night", "happy techno, no drums", "rainy 4am in F minor", ""}) {
                const auto r = it.interpret(prompt);
                for (const auto& note : r.notes) fuzz::checkMessage(note);
            }
        } catch (const interpret::SnapshotError& e) {
            fuzz::checkMessage(e.what());
        }
    }
    return 0;
}

// Writes the interpreter's library (data/interpret/library.tsv) from its building blocks
// (data/interpret/blocks.json). Run after editing the blocks:
//   build/release/tools/build_library data/interpret/blocks.json data/interpret/library.tsv
// test_interpret checks that the committed library is what this writes.
#include <fmt/format.h>

#include <exception>
#include <fstream>

#include "interpret/Library.h"

int main(int argc, char** argv) {
    if (argc != 3) {
        fmt::print(stderr, "usage: build_library BLOCKS.json OUT.tsv\n");
        return 2;
    }
    try {
        const auto blocks = soundstar::interpret::loadBlocks(argv[1]);
        const auto entries = soundstar::interpret::generateLibrary(blocks);
        std::ofstream out(argv[2], std::ios::binary);
        out << soundstar::interpret::libraryToTsv(entries);
        if (!out) throw std::runtime_error(fmt::format("cannot write {}", argv[2]));
        fmt::print("{}: {} entries from {} blocks\n", argv[2], entries.size(), blocks.blocks.size());
    } catch (const std::exception& e) {
        fmt::print(stderr, "build_library: {}\n", e.what());
        return 1;
    }
    return 0;
}

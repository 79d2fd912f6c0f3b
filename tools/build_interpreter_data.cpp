// Writes the interpreter's snapshot (src/interpret/Snapshot.h): the data in data/interpret,
// read and computed once, in a binary file the CLI maps instead of parsing. The build runs it
// (build/<preset>/data/interpret/interpreter.bin); run it by hand for another data folder:
//   build/release/tools/build_interpreter_data data/interpret /path/to/interpreter.bin
// The file is written under a temporary name and renamed into place, so a reader never sees
// half of it.
#include <fmt/format.h>

#include <exception>
#include <filesystem>
#include <fstream>

#include "interpret/Interpreter.h"
#include "io/OutputFiles.h"

int main(int argc, char** argv) {
    if (argc != 3) {
        fmt::print(stderr, "usage: build_interpreter_data DATA/interpret OUT.bin\n");
        return 2;
    }
    try {
        const auto bytes = soundstar::interpret::Interpreter::buildSnapshot(argv[1]);
        soundstar::io::OutputFiles outputs;
        const std::filesystem::path target = argv[2];
        if (target.has_parent_path()) outputs.ensureFolder(target.parent_path(), "the snapshot's folder");
        const auto temp = outputs.add(target, "the snapshot");
        {
            std::ofstream out(temp, std::ios::binary);
            out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
            if (!out.flush()) throw std::runtime_error(fmt::format("cannot write {}", target.string()));
        }
        // Check it as the CLI will, so a bad file fails the build rather than a user's start-up.
        const auto it = soundstar::interpret::Interpreter::open(temp, argv[1]);
        outputs.commit();
        fmt::print("{}: {} bytes, {} words, {} library entries\n", target.string(), bytes.size(), it.vocabularySize(),
                   it.librarySize());
    } catch (const std::exception& e) {
        fmt::print(stderr, "build_interpreter_data: {}\n", e.what());
        return 1;
    }
    return 0;
}

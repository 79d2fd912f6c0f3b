#pragma once
// All-or-nothing output [control]: every file a command writes (the mix, stems, MIDI, metadata)
// goes to a temporary name in its own folder and is renamed into place only when all of them
// were written. A failure (an exception, a full disk) removes what this run wrote and leaves
// existing files untouched. Targets that are not regular files (/dev/null, a FIFO, a terminal)
// are written directly, since they cannot be renamed onto.
#include <filesystem>
#include <string>
#include <vector>

namespace soundstar::io {

class OutputFiles {
public:
    OutputFiles() = default;
    OutputFiles(const OutputFiles&) = delete;
    OutputFiles& operator=(const OutputFiles&) = delete;
    /// Removes every temporary file (and folders this run created) unless commit() succeeded.
    ~OutputFiles();

    /// Reserves `target` for the output `what` names (e.g. "--midi") and returns the path to write
    /// it to. Throws std::invalid_argument when two outputs name the same file (naming both) or
    /// the target is a folder.
    std::filesystem::path add(const std::filesystem::path& target, const std::string& what);
    /// Creates `dir` (and parents) if missing, remembering what it created so that a failed run
    /// removes it again. Throws std::runtime_error when it cannot.
    void ensureFolder(const std::filesystem::path& dir, const std::string& what);
    /// `message` with each temporary name replaced by the name of the file it stands for.
    std::string withTargetNames(std::string message) const;
    /// Renames every temporary file into place. Throws std::runtime_error naming the file.
    void commit();

private:
    struct Entry {
        std::filesystem::path target, temp;
        std::string what;
    };
    std::vector<Entry> entries_;
    std::vector<std::filesystem::path> createdFolders_;
    bool committed_ = false;
};

/// True for paths written directly rather than through a temporary name: "-" (standard output)
/// and existing targets that are not regular files.
bool writesDirectly(const std::filesystem::path& target);
/// "-" and "/dev/stdout": the output is standard output.
bool isStandardOutput(const std::filesystem::path& target);

}  // namespace soundstar::io

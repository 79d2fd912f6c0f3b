#pragma once
// Text handling for the interpreter: one tokenizer shared by the library builder, the library
// loader and the prompt reader, so a phrase in data/ and the same phrase typed by a user give
// the same tokens.
#include <string>
#include <string_view>
#include <vector>

namespace soundstar::interpret {

/// Lower-case ASCII tokens: letters, digits, '#', and inner ' and - ("lo-fi", "don't", "f#").
/// Letters and digits split ("130bpm" -> "130", "bpm"). Common emoji become words first
/// (a rain cloud -> "rain"); other non-ASCII text separates tokens. Any input is safe.
std::vector<std::string> tokenize(std::string_view text);

/// Tokens joined by single spaces.
std::string joinTokens(const std::vector<std::string>& tokens, std::size_t from = 0, std::size_t to = std::string::npos);

/// 64-bit FNV-1a of the text: the prompt's default seed.
std::uint64_t textHash(std::string_view text);

}  // namespace soundstar::interpret

// Fuzz target: the command line's number checks (core/NumberText.h) against the regular
// expressions they replaced. Property: for every text up to 64 bytes, isDecimalText and
// isDigitsText say exactly what std::regex_match says, and a decimal text strtod reads whole.
#include <cstdint>
#include <cstdlib>
#include <regex>
#include <string>

#include "FuzzCheck.h"
#include "core/NumberText.h"

using namespace soundstar;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 64) return 0;  // the regexes' cost grows with the text; 64 bytes cover every form
    const std::string text = fuzz::asText(data, size);
    static const std::regex kDecimal(R"([+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,3})?)");
    static const std::regex kDigits("[0-9]{1,20}");
    const bool decimal = core::isDecimalText(text);
    if (decimal != std::regex_match(text, kDecimal)) fuzz::finding(decimal ? "a decimal accepted that the regex refuses" : "a decimal refused that the regex accepts", text);
    if (core::isDigitsText(text) != std::regex_match(text, kDigits)) fuzz::finding("the digits check and the regex disagree", text);
    if (decimal) {
        char* end = nullptr;
        (void)std::strtod(text.c_str(), &end);
        if (end != text.c_str() + text.size()) fuzz::finding("strtod stops inside a decimal text", text);
    }
    return 0;
}

#pragma once
// Numbers as text, checked strictly and by hand: what the command line accepts for its numeric
// options. (A std::regex for the same took 0.75 ms to compile at the first use in every start.)
// A fuzz target compares them with the regular expressions they stand for (number_text).
#include <string_view>

namespace soundstar::core {

inline bool isDigitChar(char c) { return c >= '0' && c <= '9'; }

/// Decimal notation, [+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,3})?: a sign, digits with
/// an optional point (or a point and digits), an exponent of one to three digits. No "nan",
/// "inf", hexadecimal, spaces or anything after.
inline bool isDecimalText(std::string_view t) {
    std::size_t i = 0, whole = 0, fraction = 0;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
    for (; i < t.size() && isDigitChar(t[i]); ++i) ++whole;
    if (i < t.size() && t[i] == '.')
        for (++i; i < t.size() && isDigitChar(t[i]); ++i) ++fraction;
    if (whole == 0 && fraction == 0) return false;
    if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
        ++i;
        if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
        std::size_t exponent = 0;
        for (; i < t.size() && isDigitChar(t[i]); ++i) ++exponent;
        if (exponent < 1 || exponent > 3) return false;
    }
    return i == t.size();
}

/// One to `maxDigits` decimal digits and nothing else ([0-9]{1,maxDigits}).
inline bool isDigitsText(std::string_view t, std::size_t maxDigits = 20) {
    if (t.empty() || t.size() > maxDigits) return false;
    for (const char c : t)
        if (!isDigitChar(c)) return false;
    return true;
}

}  // namespace soundstar::core

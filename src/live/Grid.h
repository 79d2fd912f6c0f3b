#pragma once
namespace soundstar::live {
/// Where on the beat grid a change may start. Auto: the next bar line, or the next phrase (4
/// bars) when the key or mode changes.
enum class Grid { Auto, Now, Beat, Bar, Phrase };
}  // namespace soundstar::live

#pragma once
// Where a command's time goes: with SOUNDSTAR_TIMINGS=1 in the environment, each mark prints
// "timings: NAME  T ms (+D ms)" to standard error, T counted from this library's static
// initialisation (the dynamic loader's work before it is not counted), D since the mark before. Without the variable a mark costs one relaxed load. Control side only.
namespace soundstar::core {
void timingMark(const char* name);
/// Whether SOUNDSTAR_TIMINGS is on: for detail that costs something to gather.
bool timingsOn();
/// A detail line, "timings:   TEXT", without a time of its own (printed only when on).
void timingNote(const char* text);
}  // namespace soundstar::core

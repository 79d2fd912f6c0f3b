#!/usr/bin/env bash
# Installs Soundstar from BUILD_DIR into a temporary prefix, builds tests/consumer against it with
# find_package(Soundstar), runs the C++ and C consumers there, and reads their audio back with sox.
set -euo pipefail
build_dir=$1
flags=${2:-}  # the build's CMAKE_CXX_FLAGS (a sanitizer's), given to the consumer too
source_dir=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAILED: $*" >&2; exit 1; }

cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
for f in include/soundstar/soundstar.hpp include/soundstar/soundstar.h share/soundstar/presets share/soundstar/interpret/interpreter.bin \
         lib/cmake/Soundstar/SoundstarConfig.cmake; do
  [ -e "$work/prefix/$f" ] || fail "the install lacks $f"
done
# Internal headers stay private.
[ "$(find "$work/prefix/include" -name '*.h*' | wc -l)" = 2 ] || fail "more than the two public headers installed: $(find "$work/prefix/include" -type f)"

cmake -S "$source_dir" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_C_FLAGS="$flags" >"$work/configure.log" 2>&1 ||
  { cat "$work/configure.log"; fail "configuring the consumer"; }
cmake --build "$work/build" >"$work/build.log" 2>&1 || { cat "$work/build.log"; fail "building the consumer"; }

mkdir "$work/out"
# Run from elsewhere, without SOUNDSTAR_DATA: the library must find the installed data itself.
(cd "$work" && env -u SOUNDSTAR_DATA "$work/build/consumer" "$work/out") >"$work/cpp.log" 2>&1 || { cat "$work/cpp.log"; fail "the C++ consumer"; }
cat "$work/cpp.log"
grep -qx "data $work/prefix/share/soundstar" "$work/cpp.log" || fail "the data was not found in the prefix"
(cd "$work" && env -u SOUNDSTAR_DATA "$work/build/consumer_c" "$work/out/c.wav") >"$work/c.log" 2>&1 || { cat "$work/c.log"; fail "the C consumer"; }
cat "$work/c.log"

# Length to the sample and not silent, as sox reads them.
check_audio() {  # FILE RATE FRAMES
  local rate frames rms
  rate=$(soxi -r "$1"); frames=$(soxi -s "$1")
  [ "$rate" = "$2" ] || fail "$1: rate $rate, want $2"
  [ "$frames" = "$3" ] || fail "$1: $frames frames, want $3"
  rms=$(sox "$1" -n stat 2>&1 | awk '/^RMS +amplitude/ {print $3}')
  awk -v r="$rms" 'BEGIN { exit !(r > 0.01) }' || fail "$1 is silent (RMS $rms)"
  echo "$1: $frames frames at $rate Hz, RMS $rms"
}
check_audio "$work/out/memory.wav" 44100 176400
check_audio "$work/out/song.flac" 44100 176400
check_audio "$work/out/c.wav" 22050 66150
# The file render and the in-memory render are the same music (16-bit dither apart).
diff_rms=$(sox -m -v 1 "$work/out/memory.wav" -v -1 "$work/out/song.flac" -n stat 2>&1 | awk '/^RMS +amplitude/ {print $3}')
awk -v r="$diff_rms" 'BEGIN { exit !(r < 0.001) }' || fail "the in-memory and file renders differ (RMS of the difference $diff_rms)"
# The streams, raw floats read by sox: length to the sample, not silent.
check_raw() {  # FILE RATE FRAMES
  local frames rms
  frames=$(( $(stat -c %s "$1") / 8 ))
  [ "$frames" = "$3" ] || fail "$1: $frames frames, want $3"
  rms=$(sox -t raw -e floating-point -b 32 -r "$2" -c 2 "$1" -n stat 2>&1 | awk '/^RMS +amplitude/ {print $3}')
  awk -v r="$rms" 'BEGIN { exit !(r > 0.01) }' || fail "$1 is silent (RMS $rms)"
  echo "$1: $frames frames at $2 Hz, RMS $rms"
}
check_raw "$work/out/stream.f32" 22050 176400
check_raw "$work/out/c.wav.f32" 22050 132300
[ "$(head -c4 "$work/out/song.mid")" = MThd ] || fail "song.mid is not a MIDI file"
# The CLI as installed, run from elsewhere: it finds the prefix's data (doctor says where) and renders.
[ -x "$work/prefix/bin/soundstar" ] || fail "the install lacks bin/soundstar"
(cd "$work" && env -u SOUNDSTAR_DATA "$work/prefix/bin/soundstar" doctor) >"$work/doctor.log" 2>&1 || true
grep -q "presets in $work/prefix/share/soundstar/presets" "$work/doctor.log" || { cat "$work/doctor.log"; fail "the installed CLI did not use the prefix's data"; }
grep -q "from $work/prefix/share/soundstar/interpret/interpreter.bin" "$work/doctor.log" || { cat "$work/doctor.log"; fail "the installed CLI did not map the prefix's interpreter"; }
(cd "$work" && env -u SOUNDSTAR_DATA "$work/prefix/bin/soundstar" render "rainy night jazz" -d 2 --seed 4 -q -o "$work/out/cli.wav") ||
  fail "the installed CLI could not render"
check_audio "$work/out/cli.wav" 44100 88200
# The Python package as installed (when the build made it): imported from the prefix alone, it
# finds its library and data there and renders.
if [ -d "$work/prefix/lib/python3/dist-packages/soundstar" ]; then
  (cd "$work" && env -u SOUNDSTAR_DATA -u PYTHONPATH PYTHONPATH="$work/prefix/lib/python3/dist-packages" /usr/bin/python3 -c "
import soundstar as ss, numpy as np, sys
assert ss.__file__.startswith(sys.argv[1]), ss.__file__
a = ss.render('warm sunset over water', duration=2, seed=3)
x = np.asarray(a)
assert x.shape == (2 * a.sample_rate, 2), x.shape
assert float(np.sqrt((x ** 2).mean())) > 0.01
a.save(sys.argv[1] + '/py.wav')
print('python: rendered from the install')
" "$work/prefix") >"$work/py.log" 2>&1 || { cat "$work/py.log"; fail "the installed Python package"; }
  cat "$work/py.log"
  check_audio "$work/prefix/py.wav" 44100 88200
fi
stems=$(ls "$work/out/stems" | wc -l)
[ "$stems" -ge 2 ] || fail "$stems stems"
/usr/bin/python3 - "$work/out" <<'PY' || fail "the metadata or the interpreted config"
import json, sys
d = sys.argv[1]
meta = json.load(open(d + "/song.json"))
assert meta["config"]["seed"] == 11, meta["config"]
assert meta["arrangement"]["sections"], meta["arrangement"]
cfg = json.load(open(d + "/interpreted.json"))
assert cfg["brightness"] in ("dark", "very_dark"), cfg
PY
echo "consumer: ok"

#!/usr/bin/env python3
"""Reads a Standard MIDI File with mido (an implementation independent of Soundstar's writer) and
prints what it holds as JSON: ticks per beat, tempo, time and key signatures, and per track its
name, channels, programs and notes as [on_tick, off_tick, note, velocity], notes paired first in,
first out per channel and pitch. Unpaired note-ons or note-offs are counted, not hidden."""
import json
import sys

import mido


def main(path):
    f = mido.MidiFile(path)
    out = {"type": f.type, "ticks_per_beat": f.ticks_per_beat, "tempos": [], "time_signatures": [],
           "keys": [], "tracks": []}
    for track in f.tracks:
        tick = 0
        open_notes = {}
        t = {"name": None, "channels": [], "programs": [], "notes": [], "unmatched_offs": 0}
        for msg in track:
            tick += msg.time
            if msg.type == "track_name" and t["name"] is None:
                t["name"] = msg.name
            elif msg.type == "set_tempo":
                out["tempos"].append([tick, msg.tempo])
            elif msg.type == "time_signature":
                out["time_signatures"].append([tick, msg.numerator, msg.denominator])
            elif msg.type == "key_signature":
                out["keys"].append([tick, msg.key])
            elif msg.type == "program_change":
                t["programs"].append([msg.channel, msg.program])
            elif msg.type in ("note_on", "note_off"):
                if msg.channel not in t["channels"]:
                    t["channels"].append(msg.channel)
                key = (msg.channel, msg.note)
                if msg.type == "note_on" and msg.velocity > 0:
                    open_notes.setdefault(key, []).append((tick, msg.velocity))
                elif open_notes.get(key):
                    on, vel = open_notes[key].pop(0)
                    t["notes"].append([on, tick, msg.note, vel])
                else:
                    t["unmatched_offs"] += 1
        t["unmatched_ons"] = sum(len(v) for v in open_notes.values())
        t["notes"].sort(key=lambda n: (n[0], n[2], n[1]))  # onset, note, end
        out["tracks"].append(t)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])

#!/usr/bin/python3
"""A JACK client that listens to a set's audio and a MIDI clock on the same JACK frame clock, for
test_dj_cli: where the set's sound lands against the clock's ticks, read independently of the
set's own events (python3-jack-client).

Usage: jack_probe.py OUT.json AUDIO_PORT MIDI_PORT SECONDS
Connects its inputs to AUDIO_PORT and MIDI_PORT once they exist, touches OUT.json.ready when
connected, records for SECONDS, then writes OUT.json: every realtime MIDI message as
[frame, status], the JACK frame of the first audio sample louder than -60 dBFS, and the frame of
the first sample in OUT.f32 (the audio heard, float32 mono, a missed cycle as zeros).
"""
import json
import os
import sys
import threading
import time

import jack
import numpy

out_path, audio_src, midi_src, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
client = jack.Client("soundstar-probe", no_start_server=True)
rate = client.samplerate
audio_in = client.inports.register("audio_in")
midi_in = client.midi_inports.register("midi_in")
messages = []  # [frame, status]
blocks = []  # (first frame, samples)
lock = threading.Lock()


@client.set_process_callback
def process(frames):
    first = client.last_frame_time
    got = [[first + offset, bytes(data)[0]] for offset, data in midi_in.incoming_midi_events() if len(data) >= 1 and (bytes(data)[0] >= 0xF8 or bytes(data)[0] == 0xF2)]
    samples = numpy.array(audio_in.get_array(), dtype=numpy.float32, copy=True)
    with lock:
        messages.extend(got)
        blocks.append((first, samples))


with client:
    deadline = time.time() + 20.0
    while time.time() < deadline:
        names = [p.name for p in client.get_ports()]
        if audio_src in names and midi_src in names:
            break
        time.sleep(0.05)
    else:
        sys.exit(f"jack_probe: {audio_src} or {midi_src} never appeared")
    client.connect(audio_src, audio_in)
    client.connect(midi_src, midi_in)
    open(out_path + ".ready", "w").close()
    time.sleep(seconds)
with lock:
    first_sound = None
    for first, samples in blocks:
        loud = numpy.flatnonzero(numpy.abs(samples) > 1e-3)
        if loud.size:
            first_sound = int(first + loud[0])
            break
    origin = blocks[0][0] if blocks else 0
    end = max((first + len(samples) for first, samples in blocks), default=origin)
    audio = numpy.zeros(end - origin, dtype=numpy.float32)
    for first, samples in blocks:
        audio[first - origin : first - origin + len(samples)] = samples
    audio.tofile(out_path + ".f32")
    result = {"messages": messages, "first_sound_frame": first_sound, "audio_first_frame": origin, "sample_rate": rate}
with open(out_path + ".tmp", "w") as f:
    json.dump(result, f)
os.replace(out_path + ".tmp", out_path)

"""Streaming and steering: ``ss.stream``, ``ss.live``, ``ss.astream``, ``ss.Session``, and the
update types (``MusicConfigUpdate``, ``Step``). Everything plays through the engine's live
session (the one ``soundstar live`` runs), pulled as fast as it is asked: iterating gives numpy
chunks of float32 shaped (frames, 2); ``.play()`` sends them to an output device in real time.
"""
import asyncio
import json
import time
from dataclasses import dataclass
from typing import Optional, Union

from . import _native, _get_engine, _device, Audio, MusicConfig, render, __version__

_MAX_CHUNK_SECONDS = 600.0


class Step:
    """A relative move along a field's scale: ``Step(+2)`` is two levels up, ``Step(-1)`` one down.

    Scales saturate at their ends (nothing is brighter than ``very_bright``).
    """

    def __init__(self, steps):
        if isinstance(steps, bool) or not isinstance(steps, int) or steps == 0:
            raise ValueError(f"Step({steps!r}) is not allowed; allowed: a whole number of levels other than 0, e.g. Step(+2), Step(-1)")
        self.steps = steps

    def __str__(self):
        return f"{self.steps:+d}"

    def __repr__(self):
        return f"Step({self.steps:+d})"

    def __eq__(self, other):
        return isinstance(other, Step) and other.steps == self.steps


class MusicConfigUpdate:
    """Changes to a MusicConfig: steps (``brightness=Step(+2)``) or absolute values (``rhythm="electronic"``).

    Checked as it is made, by the same rules as ``soundstar render --update``: a field that does not
    exist or a label that is not allowed raises ValueError naming it and what is allowed.
    """

    def __init__(self, **fields):
        self._fields = {k: (str(v) if isinstance(v, Step) else v) for k, v in fields.items()}
        self._given = dict(fields)
        _native.apply_update("", self.to_json())  # raises ValueError for a bad field or value

    def to_dict(self):
        return dict(self._fields)

    def to_json(self):
        return json.dumps(self._fields)

    def apply(self, config=None):
        """The MusicConfig ``config`` (default: the defaults) with this update applied."""
        base = "" if config is None else config.to_json()
        return MusicConfig.from_json(_native.apply_update(base, self.to_json()))

    def __repr__(self):
        return "MusicConfigUpdate(" + ", ".join(f"{k}={v!r}" for k, v in self._given.items()) + ")"


@dataclass
class Streamable:
    """One vibe of a live stream: text, a MusicConfig or a MusicConfigUpdate (a change to the one
    before), held for ``duration`` seconds (0.5 to 3600) and entered over ``transition_duration``
    seconds (0.05 to 600; None: the stream's ``transition_seconds``)."""

    content: Union[str, MusicConfig, MusicConfigUpdate]
    duration: float = 60.0
    transition_duration: Optional[float] = None


def _line(content):
    """A vibe as the steering line the engine reads."""
    if isinstance(content, Streamable):
        content = content.content
    if isinstance(content, MusicConfig):
        return json.dumps({"config": content.to_dict()})
    if isinstance(content, MusicConfigUpdate):
        return json.dumps({"update": content.to_dict()})
    if isinstance(content, str):
        return content
    raise TypeError(f"a vibe must be text, a MusicConfig or a MusicConfigUpdate, not {type(content).__name__}")


def _item(value, duration, transition):
    if not isinstance(value, Streamable):
        value = Streamable(value, duration, None)
    t = transition if value.transition_duration is None else value.transition_duration
    return (_line(value.content), float(value.duration), float(t))


def _chunk_frames(chunk_seconds, sample_rate, name="chunk_seconds"):
    if not (0.001 <= float(chunk_seconds) <= _MAX_CHUNK_SECONDS):
        raise ValueError(f"{name} {chunk_seconds!r} is out of range; allowed: 0.001 to {_MAX_CHUNK_SECONDS:g} s")
    return max(1, round(float(chunk_seconds) * sample_rate))


def _seed(seed):
    if seed is not None and not (isinstance(seed, int) and 0 <= seed < 2**64):
        raise ValueError(f"seed {seed!r} is not allowed; allowed: a whole number from 0 to 2**64-1")
    return seed


def _concat(chunks, sample_rate):
    import numpy as np
    samples = np.concatenate(chunks) if chunks else np.zeros((0, 2), dtype=np.float32)
    return Audio.from_samples(samples, sample_rate)


def _play_chunks(chunks, sample_rate, device):
    player = _native.Player(float(sample_rate), _device(device))
    for chunk in chunks:
        player.write(chunk)
    player.drain()


class _Streaming:
    """What AudioStream and LiveStream share: chunks, collect, save, play."""

    sample_rate = 44100

    def chunks(self):
        raise NotImplementedError

    def __iter__(self):
        return self.chunks()

    def collect(self):
        """The whole stream as one Audio (it must end: a stream of items, or a finite generator)."""
        return _concat(list(self.chunks()), self.sample_rate)

    def save(self, path, format=""):
        """Renders the whole stream and writes it (.wav .flac .ogg .mp3)."""
        return self.collect().save(path, format)

    def play(self, device="default"):
        """Plays the stream as it is rendered, chunk by chunk, on "default" or "null"."""
        _play_chunks(self.chunks(), self.sample_rate, device)


class AudioStream(_Streaming):
    """Vibes in order, each held ``duration`` seconds and crossfaded into the next over
    ``transition`` seconds. Iterating starts it afresh each time and gives numpy chunks."""

    def __init__(self, vibes, duration, transition, chunk_seconds, seed, sample_rate, target_lufs):
        if not vibes:
            raise ValueError("give at least one vibe, e.g. ss.stream(\"morning coffee\", \"afternoon focus\")")
        self._items = [_item(v, duration, transition) for v in vibes]
        self._transition = float(transition)
        self.sample_rate = int(sample_rate)
        self._frames = _chunk_frames(chunk_seconds, self.sample_rate)
        self._seed = _seed(seed)
        self._target_lufs = float(target_lufs)
        self._events = []
        self._native_stream()  # checks every vibe and length now

    def _native_stream(self):
        return _native.Stream(_get_engine(), self._items, float(self.sample_rate), self._transition, self._seed, self._target_lufs, 1.0)

    def chunks(self):
        s = self._native_stream()
        while not s.finished:
            chunk = s.pull(self._frames)
            if len(chunk):
                yield chunk
        self._events = s.events()

    @property
    def duration(self):
        return sum(item[1] for item in self._items)

    @property
    def events(self):
        """The last run's vibes, transitions and sections, each with its sample."""
        return list(self._events)


class LiveStream(_Streaming):
    """A stream fed lazily by a generator (sync or async) of Streamables; one item is fetched ahead."""

    def __init__(self, source, chunk_seconds, transition_seconds, seed, sample_rate, target_lufs):
        self._source = source
        self._transition = float(transition_seconds)
        self.sample_rate = int(sample_rate)
        self._frames = _chunk_frames(chunk_seconds, self.sample_rate)
        self._seed = _seed(seed)
        self._target_lufs = float(target_lufs)
        self._used = False
        self.events = []

    def _start(self, first):
        return _native.Stream(_get_engine(), [_item(first, 60.0, self._transition)], float(self.sample_rate), self._transition,
                              self._seed, self._target_lufs, 1.0)

    def _take(self):
        if self._used:
            raise RuntimeError("a live stream's generator can be played once; make a new one with ss.live(...)")
        self._used = True

    def chunks(self):
        self._take()
        if hasattr(self._source, "__aiter__"):  # an async generator, driven by a private event loop
            loop = asyncio.new_event_loop()
            agen = self._source.__aiter__()

            def fetch():
                try:
                    return loop.run_until_complete(agen.__anext__())
                except StopAsyncIteration:
                    return None
            try:
                yield from self._drive(fetch)
            finally:
                loop.close()
        else:
            it = iter(self._source)
            yield from self._drive(lambda: next(it, None))

    def _drive(self, fetch):
        first = fetch()
        if first is None:
            return
        s = self._start(first)
        starts = [0.0, _item(first, 60.0, self._transition)[1]]  # where the last item starts and ends
        more = True
        while not s.finished:
            if more and s.position >= starts[0] * self.sample_rate:  # the last item has begun: fetch the next
                nxt = fetch()
                if nxt is None:
                    more = False
                else:
                    item = _item(nxt, 60.0, self._transition)
                    s.append(*item)
                    starts = [starts[1], starts[1] + item[1]]
            chunk = s.pull(self._frames)
            if len(chunk):
                yield chunk
        self.events = s.events()

    async def achunks(self):
        """The chunks without blocking the event loop: rendering runs in a worker thread."""
        self._take()
        source = self._source
        if hasattr(source, "__aiter__"):
            agen = source.__aiter__()

            async def fetch():
                try:
                    return await agen.__anext__()
                except StopAsyncIteration:
                    return None
        else:
            it = iter(source)

            async def fetch():
                return next(it, None)
        first = await fetch()
        if first is None:
            return
        s = await asyncio.to_thread(self._start, first)
        starts = [0.0, _item(first, 60.0, self._transition)[1]]
        more = True
        while not s.finished:
            if more and s.position >= starts[0] * self.sample_rate:
                nxt = await fetch()
                if nxt is None:
                    more = False
                else:
                    item = _item(nxt, 60.0, self._transition)
                    await asyncio.to_thread(s.append, *item)
                    starts = [starts[1], starts[1] + item[1]]
            chunk = await asyncio.to_thread(s.pull, self._frames)
            if len(chunk):
                yield chunk
        self.events = s.events()

    def __aiter__(self):
        return self.achunks()


class Session:
    """An endless stream of one vibe, steered by hand with the lines ``soundstar live`` reads:
    ``s.steer("+bright")``, ``"b 130"``, ``"k F minor"``, ``"s drums,bass"``, a new vibe, JSON, ``"q"``.

    ``pull(seconds)`` renders the next stretch as fast as it is asked (float32, (frames, 2)).
    """

    def __init__(self, vibe, *, transition=4.0, seed=None, sample_rate=44100, target_lufs=-14.0):
        self.sample_rate = int(sample_rate)
        self._s = _native.Stream(_get_engine(), _line(vibe), float(sample_rate), float(transition), _seed(seed), float(target_lufs), 1.0)

    def pull(self, seconds=1.0):
        """The next ``seconds`` of audio (fewer frames only once it has ended)."""
        return self._s.pull(_chunk_frames(seconds, self.sample_rate, "seconds"))

    def steer(self, line):
        """Applies a steering line now; returns what it scheduled (kind, sample, seconds, bar, bpm,
        length_seconds, label) or None for an empty line. ValueError says what is allowed."""
        return self._s.steer(_line(line))

    def fade_out(self, seconds=1.0):
        self._s.fade_out(float(seconds))

    @property
    def finished(self):
        return self._s.finished

    @property
    def position(self):
        """Frames pulled so far."""
        return self._s.position

    @property
    def config(self):
        """The MusicConfig playing (or coming in)."""
        return MusicConfig.from_json(self._s.config_json)

    @property
    def events(self):
        return self._s.events()

    def __iter__(self):
        while not self._s.finished:
            yield self.pull(1.0)


def stream(*vibes, duration=60.0, transition=5.0, chunk_seconds=1.0, seed=None, sample_rate=44100, target_lufs=-14.0):
    """Vibes in order, ``duration`` seconds each, crossfaded over ``transition`` seconds -> AudioStream.

    A vibe is text, a MusicConfig, a MusicConfigUpdate (a change to the vibe before) or a Streamable.
    """
    return AudioStream(vibes, duration, transition, chunk_seconds, seed, sample_rate, target_lufs)


def live(source, chunk_seconds=1.0, transition_seconds=3.0, seed=None, sample_rate=44100, target_lufs=-14.0):
    """A stream fed lazily by a generator (sync or async) of Streamables -> LiveStream."""
    _chunk_frames(chunk_seconds, sample_rate)
    return LiveStream(source, chunk_seconds, transition_seconds, seed, sample_rate, target_lufs)


async def astream(source, chunk_seconds=1.0, transition_seconds=3.0, seed=None, sample_rate=44100, target_lufs=-14.0):
    """``async for chunk in ss.astream(vibes())``: a live stream's chunks without blocking the loop."""
    async for chunk in live(source, chunk_seconds, transition_seconds, seed, sample_rate, target_lufs):
        yield chunk


async def arender(prompt=None, **kwargs):
    """``await ss.arender(...)``: render in a worker thread."""
    return await asyncio.to_thread(render, prompt, **kwargs)


def output_devices():
    """The audio output devices this build can see (empty: none)."""
    return list(_native.output_devices())


def doctor(verbose=True):
    """Checks the setup: version, data folder, output devices, and a one-second render. Returns a
    dict (``ok`` is False when something needed is broken) and prints it unless ``verbose=False``."""
    report = {"version": __version__, "ok": True, "problems": []}
    try:
        engine = _get_engine()
        report["data_dir"] = engine.data_dir
    except Exception as e:  # noqa: BLE001  (doctor reports whatever went wrong)
        report["ok"] = False
        report["problems"].append(f"data: {e}")
    report["output_devices"] = output_devices()
    if not report["output_devices"]:
        report["problems"].append("no audio output device: play() cannot play here (save to a file instead)")
    if report["ok"]:
        t0 = time.perf_counter()
        try:
            a = render("calm", duration=1, seed=1)
            report["render_seconds"] = round(time.perf_counter() - t0, 3)
            report["render_ok"] = len(a) == a.sample_rate
        except Exception as e:  # noqa: BLE001
            report["ok"] = False
            report["render_ok"] = False
            report["problems"].append(f"render: {e}")
    if verbose:
        for key, value in report.items():
            print(f"{key:16} {value}")
    return report


def demo(path="soundstar-demo.wav", device="default", seconds=10.0):
    """Three vibes, ``seconds`` each, crossfaded: played on ``device`` when this machine has an
    output, else written to ``path`` (returned) with a note saying so."""
    s = stream("warm sunset over water", "rainy night jazz", "bright morning dance", duration=seconds, transition=min(3.0, seconds / 2))
    if device == "null" or output_devices():
        s.play(device)
        return None
    s.save(path)
    print(f"no audio output device here: the demo was written to {path}")
    return str(path)

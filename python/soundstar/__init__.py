"""Soundstar: text to music, locally.  ``import soundstar as ss``

    audio = ss.render("warm sunset over water", duration=20, seed=7)
    audio.save("sunset.wav")
    audio.samples          # numpy float32, shape (frames, 2)
    ss.render(config=ss.MusicConfig(tempo="slow", brightness="dark"))

Bad values raise ValueError naming the field and what is allowed. Rendering releases the GIL,
so several threads may render at once.
"""
import asyncio
import json
import os
import threading

from . import _soundstar as _native

__version__ = _native.version()
__all__ = ["Audio", "AudioStream", "LiveStream", "Session", "MusicConfig", "MusicConfigUpdate", "Step", "Streamable", "render",
           "arender", "stream", "live", "astream", "interpret", "doctor", "demo", "output_devices", "DataNotFound", "set_data_dir"]

DataNotFound = _native.DataNotFound

_engine = None
_engine_lock = threading.Lock()
_data_dir = ""


def set_data_dir(path):
    """Use the data folder at ``path`` (presets/, profiles/, interpret/) instead of the installed one."""
    global _engine, _data_dir
    with _engine_lock:
        _engine = None
        _data_dir = str(path)


def _get_engine():
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = _native.Engine(_data_dir)
        return _engine


class MusicConfig:
    """The explicit parameters of a piece, e.g. ``MusicConfig(tempo="slow", brightness="dark")``.

    Every field of ``soundstar schema`` may be given; the rest keep their defaults. A field that
    does not exist or a value that is not allowed raises ValueError naming it and what is allowed.
    """

    def __init__(self, **fields):
        self._given = dict(fields)
        self._json = _native.validate_config(json.dumps(fields))

    @classmethod
    def from_json(cls, text):
        return cls(**json.loads(text))

    def to_dict(self):
        """Every field with its value (the defaults filled in)."""
        return json.loads(self._json)

    def to_json(self):
        return self._json

    def __getattr__(self, name):
        fields = json.loads(self.__dict__["_json"])
        if name in fields:
            return fields[name]
        raise AttributeError(f"MusicConfig has no field {name!r}")

    def __eq__(self, other):
        return isinstance(other, MusicConfig) and self.to_dict() == other.to_dict()

    def __repr__(self):
        return "MusicConfig(" + ", ".join(f"{k}={v!r}" for k, v in self._given.items()) + ")"


class Audio:
    """Rendered stereo audio: ``.samples`` (float32, shape (frames, 2)), ``.sample_rate``, ``.save(path)``."""

    def __init__(self, native):
        self._native = native

    @property
    def samples(self):
        return self._native.samples

    @property
    def sample_rate(self):
        return int(self._native.sample_rate)

    @property
    def duration(self):
        """Seconds."""
        return self._native.frames() / self._native.sample_rate

    @property
    def config(self):
        """The MusicConfig that was played."""
        return MusicConfig.from_json(self._native.config_json)

    @property
    def metadata(self):
        """Title, reasoning, palettes and source (an LLM's when it composed), warnings."""
        return json.loads(self._native.metadata_json)

    @property
    def loudness_lufs(self):
        return self._native.lufs if self._native.measured else None

    @property
    def warnings(self):
        return list(self._native.warnings)

    @property
    def generated(self):
        """With ``generator=``: what the generated layer is (source tempo and key, what was done), else None."""
        return self._native.generated or None

    def save(self, path, format=""):
        """Writes .wav .flac .ogg or .mp3 (or ``format``: wav, wav24, wav32f, flac, ogg, mp3)."""
        self._native.save(str(path), format)
        return self

    def play(self, device="default"):
        """Plays to the end on the default output ("default") or on "null" (keeps time, silent).

        Raises RuntimeError saying so when there is no output device (``ss.doctor()`` lists them).
        """
        _native.play(self._native, _device(device))
        return self

    @classmethod
    def from_samples(cls, samples, sample_rate):
        """An Audio of a float32 array shaped (frames, 2)."""
        return cls(_native.Audio.from_samples(samples, float(sample_rate)))

    def __array__(self, dtype=None):
        return self.samples if dtype is None else self.samples.astype(dtype)

    def __len__(self):
        return self._native.frames()

    def __repr__(self):
        return f"<soundstar.Audio {self.duration:.2f} s at {self.sample_rate} Hz>"


def _device(device):
    if device not in ("default", "null"):
        raise ValueError(f"device {device!r} is not known; allowed: 'default', 'null'")
    return device


def _as_json(value, what):
    if value is None:
        return ""
    if isinstance(value, (MusicConfig, MusicConfigUpdate)):
        return value.to_json()
    if isinstance(value, dict):
        return json.dumps(value)
    if isinstance(value, str):
        return value
    raise TypeError(f"{what} must be a MusicConfig, a dict or JSON text, not {type(value).__name__}")


def render(prompt=None, *, config=None, update=None, duration=30.0, seed=None, sample_rate=44100, master=True,
           target_lufs=-14.0, loop=False, model="embedded", llm_url=None, llm_model=None, generator=None, generator_gain=-3.0):
    """Renders ``prompt`` (and/or ``config``) to an Audio, as ``soundstar render`` would.

    duration: 1 to 3600 s; sample_rate: 8000 to 192000 Hz; model: "embedded" (the interpreter) or
    "llm" (a local OpenAI-compatible server at ``llm_url``, falling back to the interpreter).
    generator: a neural (or the procedural) model's name or folder, as ``render --generator`` takes
    it: a layer it generates from the prompt, fitted to the track's tempo, bars, key and loudness
    (``generator_gain`` dB against the score's, -30 to 12); the model stays loaded between renders.
    """
    if generator is not None and not isinstance(generator, (str, os.PathLike)):
        raise ValueError(f"generator {generator!r} is not allowed; allowed: a model's name or folder (a str or path)")
    if isinstance(prompt, MusicConfig):  # ss.render(config), as LatentScore reads it
        if config is not None:
            raise ValueError("give the MusicConfig once: as the first argument or as config=, not both")
        prompt, config = None, prompt
    if model not in ("embedded", "llm"):
        raise ValueError(f"model {model!r} is not known; allowed: 'embedded', 'llm'")
    if seed is not None and not (isinstance(seed, int) and 0 <= seed < 2**64):
        raise ValueError(f"seed {seed!r} is not allowed; allowed: a whole number from 0 to 2**64-1")
    native = _get_engine().render(prompt or "", _as_json(config, "config"), _as_json(update, "update"), float(duration), seed,
                                  float(sample_rate), bool(master), float(target_lufs), bool(loop), model == "llm",
                                  llm_url or "", llm_model or "", os.fspath(generator) if generator is not None else "",
                                  float(generator_gain))
    return Audio(native)


def interpret(prompt):
    """The MusicConfig a render of ``prompt`` would use."""
    return MusicConfig.from_json(_get_engine().interpret(prompt))


from ._streams import (  # noqa: E402  (they use the names above)
    AudioStream, LiveStream, MusicConfigUpdate, Session, Step, Streamable, arender, astream, demo, doctor, live, output_devices, stream,
)
from . import config, dx  # noqa: E402,F401

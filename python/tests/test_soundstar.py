"""The Python module against the real engine: audio read back with numpy and sox."""
import concurrent.futures
import subprocess

import numpy as np
import pytest

import soundstar as ss


def rms(samples):
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


def test_render_gives_stereo_float_audio_of_the_asked_length_and_loudness():
    audio = ss.render("warm sunset over water", duration=3, seed=4)
    assert audio.sample_rate == 44100
    assert audio.samples.shape == (3 * 44100, 2)
    assert audio.samples.dtype == np.float32
    assert np.asarray(audio).shape == (3 * 44100, 2)
    assert rms(audio.samples) > 0.02
    assert abs(audio.loudness_lufs + 14.0) < 1.0
    assert audio.metadata["prompt"] == "warm sunset over water"
    assert audio.config.seed == 4


def test_same_seed_same_samples_other_seed_other_samples():
    a = ss.render("rainy night jazz", duration=2, seed=9)
    b = ss.render("rainy night jazz", duration=2, seed=9)
    c = ss.render("rainy night jazz", duration=2, seed=10)
    assert np.array_equal(a.samples, b.samples)
    assert not np.array_equal(a.samples, c.samples)


def test_save_writes_a_file_sox_reads_back(tmp_path):
    path = tmp_path / "out.flac"
    ss.render("morning coffee", duration=2, seed=1, sample_rate=48000).save(path)
    assert subprocess.run(["soxi", "-s", str(path)], capture_output=True, text=True, check=True).stdout.strip() == str(2 * 48000)
    assert subprocess.run(["soxi", "-r", str(path)], capture_output=True, text=True, check=True).stdout.strip() == "48000"
    stat = subprocess.run(["sox", str(path), "-n", "stat"], capture_output=True, text=True).stderr
    level = float(next(line.split()[-1] for line in stat.splitlines() if line.startswith("RMS     amplitude")))
    assert level > 0.02


def test_music_config_is_what_is_played():
    config = ss.MusicConfig(tempo="slow", brightness="dark", mode="minor")
    assert config.tempo == "slow" and config.brightness == "dark"
    audio = ss.render(config=config, duration=2, seed=2)
    played = audio.config
    assert (played.tempo, played.brightness, played.mode) == ("slow", "dark", "minor")
    brighter = ss.render(config=config, update={"brightness": "+2"}, duration=2, seed=2)
    assert brighter.config.brightness == "bright"


@pytest.mark.parametrize("fields, named, allowed", [
    ({"tempo": "sloow"}, "tempo", "very_slow, slow, medium, fast, very_fast"),
    ({"brightness": 3}, "brightness", "dark"),
    ({"tempoo": "slow"}, "tempoo", "brightness"),
])
def test_bad_config_values_raise_value_error_naming_field_and_labels(fields, named, allowed):
    with pytest.raises(ValueError) as err:
        ss.MusicConfig(**fields)
    assert named in str(err.value) and allowed in str(err.value)


@pytest.mark.parametrize("kwargs, words", [
    ({"duration": 0.5}, ["duration", "1 to 3600"]),
    ({"sample_rate": 1000}, ["sample rate", "8000 to 192000"]),
    ({"seed": -1}, ["seed", "2**64"]),
    ({"model": "gpt"}, ["model", "embedded"]),
])
def test_bad_render_arguments_raise_value_error_saying_what_is_allowed(kwargs, words):
    with pytest.raises(ValueError) as err:
        ss.render("calm", **kwargs)
    for word in words:
        assert word in str(err.value)


def test_renders_from_several_threads_at_once_match_renders_one_by_one():
    prompts = ["calm ocean", "dark techno", "sunny folk", "rainy piano"]
    alone = [ss.render(p, duration=2, seed=5).samples for p in prompts]
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda p: ss.render(p, duration=2, seed=5).samples, prompts))
    for a, b in zip(alone, together):
        assert np.array_equal(a, b)


def test_interpret_reads_the_prompt():
    config = ss.interpret("very dark slow ambient")
    assert config.brightness in ("dark", "very_dark")
    assert config.tempo in ("slow", "very_slow")


def test_sizes_are_bounded_with_the_limit_named():
    with pytest.raises(ValueError, match="limit is 10000 bytes"):
        ss.render("calm " * 2001)
    with pytest.raises(ValueError, match="limit is 65536 bytes"):
        ss.MusicConfig(genre="x" * 70000)


def test_a_generator_adds_a_fitted_layer_from_a_model_and_bad_ones_say_what_is_allowed():
    # The shipped procedural model, run by a `soundstar model-worker` the Engine starts and keeps.
    # Without the master the mix is the plain sum of its layers, so the difference is the layer.
    plain = ss.render("dub chord stabs", duration=10, seed=3, master=False)
    assert plain.generated is None
    layered = ss.render("dub chord stabs", duration=10, seed=3, master=False, generator="procedural", generator_gain=0)
    assert layered.samples.shape == plain.samples.shape
    assert "bpm" in layered.generated
    layer = layered.samples - plain.samples
    assert rms(layer) > 0.01, "the generated layer is heard"
    again = ss.render("dub chord stabs", duration=10, seed=3, master=False, generator="procedural", generator_gain=0)
    assert np.array_equal(again.samples, layered.samples), "the same seed, the same layer"
    quieter = ss.render("dub chord stabs", duration=10, seed=3, master=False, generator="procedural", generator_gain=-12)
    ratio = rms(quieter.samples - plain.samples) / rms(layer)
    assert 0.2 < ratio < 0.3, f"12 dB quieter is a quarter of the level, not {ratio:.3f}"
    with pytest.raises(ValueError, match="no model folder.*procedural|no model folder"):
        ss.render("x", duration=2, generator="no-such-model")
    with pytest.raises(ValueError, match="-30 to 12"):
        ss.render("x", duration=2, generator="procedural", generator_gain=20)
    with pytest.raises(ValueError, match="a model's name or folder"):
        ss.render("x", duration=2, generator=3)

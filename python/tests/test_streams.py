"""LatentScore's README examples (stream, live, astream, MusicConfigUpdate with Step) run against
the module, with the audio checked: length to the sample, loudness (ffmpeg's EBU R128 meter), not
silent, determinism, and steering that is heard (brightness moves the spectral centroid)."""
import asyncio
import re
import subprocess
import time

import numpy as np
import pytest

import soundstar as ss
import soundstar.dx as dx
from soundstar import Audio, AudioStream, LiveStream, MusicConfig, MusicConfigUpdate, Streamable
from soundstar.config import Step

SR = 44100


def rms(samples):
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


def centroid_hz(samples, sample_rate=SR):
    mono = samples.astype(np.float64).mean(axis=1)
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(len(mono))))
    freqs = np.fft.rfftfreq(len(mono), 1.0 / sample_rate)
    return float((freqs * spectrum).sum() / spectrum.sum())


def integrated_lufs(path):
    out = subprocess.run(["ffmpeg", "-nostats", "-hide_banner", "-i", str(path), "-af", "ebur128", "-f", "null", "-"],
                         capture_output=True, text=True).stderr
    return float(re.findall(r"I:\s+(-?[\d.]+) LUFS", out)[-1])


def test_readme_stream_collect_and_save(tmp_path):
    stream: AudioStream = ss.stream("morning coffee", "afternoon focus", "evening wind-down", duration=60, transition=5.0)
    collected: Audio = stream.collect()
    assert collected.samples.shape == (180 * SR, 2) and collected.samples.dtype == np.float32
    assert rms(collected.samples) > 0.02
    for minute in range(3):  # every vibe sounds
        assert rms(collected.samples[minute * 60 * SR:(minute + 1) * 60 * SR - 3 * SR]) > 0.02
    kinds = [e["kind"] for e in stream.events]
    assert kinds.count("transition") + kinds.count("glide") == 2, kinds
    path = tmp_path / "session.wav"
    collected.save(path)
    assert subprocess.run(["soxi", "-s", str(path)], capture_output=True, text=True, check=True).stdout.strip() == str(180 * SR)
    assert abs(integrated_lufs(path) + 14.0) < 3.0  # the live leveller, not a whole-file normaliser


def test_readme_stream_save_and_chunks_are_the_same_samples(tmp_path):
    stream = ss.stream("rainy window", "thunder rolling", duration=30, transition=3.0)
    stream.save(tmp_path / "rain_to_thunder.wav")
    assert subprocess.run(["soxi", "-s", str(tmp_path / "rain_to_thunder.wav")], capture_output=True, text=True,
                          check=True).stdout.strip() == str(60 * SR)
    chunks = list(stream)
    assert len(chunks) == 60 and all(c.shape == (SR, 2) for c in chunks)
    assert np.array_equal(np.concatenate(chunks), stream.collect().samples)  # iterating again starts afresh


def test_same_seed_same_samples_other_seed_other_samples():
    a = ss.stream("calm ocean", "dark techno", duration=4, transition=2.0, seed=5).collect()
    b = ss.stream("calm ocean", "dark techno", duration=4, transition=2.0, seed=5, chunk_seconds=0.37).collect()
    c = ss.stream("calm ocean", "dark techno", duration=4, transition=2.0, seed=6).collect()
    assert np.array_equal(a.samples, b.samples)
    assert not np.array_equal(a.samples, c.samples)


def ambient_journey():
    yield Streamable(content="warm sunrise ambient", duration=30, transition_duration=3)
    yield Streamable(content=MusicConfigUpdate(brightness=Step(+2), tempo=Step(+1)), duration=30, transition_duration=3)
    yield Streamable(content="late night neon", duration=30, transition_duration=5)


def test_readme_live_sync_generator():
    live: LiveStream = dx.live(ambient_journey(), chunk_seconds=1.0, transition_seconds=3.0, seed=2)
    audio = live.collect()
    assert audio.samples.shape == (90 * SR, 2)
    assert rms(audio.samples[:88 * SR]) > 0.02
    kinds = [e["kind"] for e in live.events]
    assert "glide" in kinds and "transition" in kinds, kinds  # the step glides; the new vibe crossfades
    glide = next(e for e in live.events if e["kind"] == "glide")
    assert 27 <= glide["seconds"] <= 33, glide
    with pytest.raises(RuntimeError, match="once"):
        live.collect()


def test_live_fetches_the_generator_lazily():
    fetched = []

    def vibes():
        for i, text in enumerate(["calm piano", "dark techno", "sunny folk"]):
            fetched.append(i)
            yield Streamable(text, duration=2, transition_duration=0.5)

    chunks = iter(ss.live(vibes(), chunk_seconds=0.5))
    next(chunks)
    assert fetched == [0, 1]  # the one playing and the one after it, no further
    rest = list(chunks)
    assert fetched == [0, 1, 2] and sum(len(c) for c in rest) == 6 * SR - SR // 2


async def reactive_journey():
    yield Streamable(content="warm sunrise ambient", duration=10, transition_duration=3)
    await asyncio.sleep(0.01)
    yield Streamable(content=MusicConfigUpdate(brightness=Step(+2)), duration=10, transition_duration=3)
    await asyncio.sleep(0.01)
    yield Streamable(content=MusicConfigUpdate(brightness="very_bright", rhythm="electronic"), duration=10, transition_duration=3)


def test_readme_live_async_generator_played_synchronously():
    audio = dx.live(reactive_journey(), chunk_seconds=1.0, transition_seconds=3.0).collect()
    assert audio.samples.shape == (30 * SR, 2) and rms(audio.samples) > 0.02


def test_readme_astream():
    async def main():
        async def vibes():
            yield Streamable(content="deep ocean ambient", duration=10, transition_duration=3)
            yield Streamable(content="forest rain", duration=10, transition_duration=3)
        chunks = []
        ticks = 0

        async def ticker():  # the loop stays free while chunks render
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)
        task = asyncio.create_task(ticker())
        async for chunk in ss.astream(vibes(), chunk_seconds=1.0, transition_seconds=3.0):
            assert chunk.dtype == np.float32 and chunk.shape[1] == 2
            chunks.append(chunk)
        task.cancel()
        return chunks, ticks

    chunks, ticks = asyncio.run(main())
    assert sum(len(c) for c in chunks) == 20 * SR and rms(np.concatenate(chunks)) > 0.02
    assert ticks >= len(chunks)


def test_a_brightness_steer_raises_the_spectral_centroid():
    plain = ss.Session("calm piano", seed=3)
    steered = ss.Session("calm piano", seed=3)
    plain.pull(2.0)
    steered.pull(2.0)
    event = steered.steer("brightness +2")
    assert event["kind"] == "glide" and event["sample"] >= steered.position
    assert steered.config.brightness != plain.config.brightness
    a, b = plain.pull(8.0)[4 * SR:], steered.pull(8.0)[4 * SR:]
    assert rms(a) > 0.01 and rms(b) > 0.01
    print("centroid", centroid_hz(a), "->", centroid_hz(b))
    assert centroid_hz(b) > 1.15 * centroid_hz(a)


def test_session_steering_errors_and_quit():
    s = ss.Session("calm piano", sample_rate=22050)
    s.pull(0.5)
    assert s.steer("") is None
    with pytest.raises(ValueError, match="now"):
        s.steer('{"at": "never", "vibe": "x"}')
    assert s.steer("q")["kind"] == "fade_out"
    tail = s.pull(1.0)
    assert s.finished and len(tail) < 22050 // 5


def test_readme_music_config_update_with_steps_and_absolute_values():
    plain = ss.interpret("morning coffee shop")
    audio = ss.render("morning coffee shop", update=MusicConfigUpdate(brightness=Step(+2), space=Step(-1)), duration=2, seed=1)
    scale = ["very_dark", "dark", "medium", "bright", "very_bright"]
    assert scale.index(audio.config.brightness) == min(scale.index(plain.brightness) + 2, 4)
    update = MusicConfigUpdate(brightness="very_bright", rhythm="electronic")
    assert (update.apply().brightness, update.apply().rhythm) == ("very_bright", "electronic")
    played = ss.render("morning coffee shop", update=update, duration=2, seed=1).config
    assert (played.brightness, played.rhythm) == ("very_bright", "electronic")


def test_readme_music_config_rendered_positionally():
    config = MusicConfig(tempo="slow", brightness="dark", space="vast", density=3, bass="drone", pad="ambient_drift",
                         melody="contemplative", rhythm="minimal", texture="shimmer", echo="heavy", root="d", mode="minor")
    audio = ss.render(config, duration=2, seed=1)
    assert (audio.config.tempo, audio.config.root, audio.config.texture) == ("slow", "d", "shimmer")
    assert rms(audio.samples) > 0.02


@pytest.mark.parametrize("make, words", [
    (lambda: MusicConfigUpdate(brightness="blinding"), ["brightness", "very_bright"]),
    (lambda: MusicConfigUpdate(brightnes=Step(+1)), ["brightnes"]),
    (lambda: Step(0), ["Step(0)", "whole number"]),
    (lambda: ss.stream("calm", duration=0.1), ["length", "0.5 to 3600"]),
    (lambda: ss.stream("calm", "dark", transition=1000), ["transition", "0.05 to 600"]),
    (lambda: ss.stream(), ["at least one vibe"]),
    (lambda: ss.stream("calm", chunk_seconds=0), ["chunk_seconds", "0.001 to 600"]),
    (lambda: ss.stream("s drums"), ["asks for no music"]),
    (lambda: ss.render("calm").play(device="speaker"), ["device", "null"]),
])
def test_bad_stream_and_update_arguments_say_what_is_allowed(make, words):
    with pytest.raises(ValueError) as err:
        make()
    for word in words:
        assert word in str(err.value)


def test_play_on_the_null_device_takes_the_audio_s_length_and_without_a_device_says_so():
    audio = Audio.from_samples(np.zeros((SR // 2, 2), dtype=np.float32), SR)
    t0 = time.monotonic()
    audio.play(device="null")
    assert time.monotonic() - t0 >= 0.45
    if ss.output_devices():
        pytest.skip("this machine has an output device")
    with pytest.raises(RuntimeError, match="no audio output device"):
        audio.play()


def test_doctor_reports_data_devices_and_a_render(capsys):
    report = ss.doctor()
    assert report["ok"] and report["render_ok"] and report["data_dir"]
    assert isinstance(report["output_devices"], list)
    assert "data_dir" in capsys.readouterr().out


def test_one_session_pulled_from_two_threads_gives_every_frame_once():
    import concurrent.futures
    s = ss.Session("calm piano", sample_rate=22050)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        chunks = list(pool.map(lambda _: s.pull(0.5), range(8)))
    assert sum(len(c) for c in chunks) == 4 * 22050 == s.position
    with pytest.raises(ValueError, match="seconds 601 is out of range; allowed: 0.001 to 600 s"):
        s.pull(601)
    with pytest.raises(ValueError, match="frames .* the limit is 600 s"):
        s._s.pull(601 * 22050)  # the native limit too


def test_demo_plays_or_without_a_device_writes_a_file(tmp_path):
    if ss.output_devices():
        pytest.skip("this machine has an output device: the demo would play")
    path = ss.demo(tmp_path / "demo.wav", seconds=2)
    assert subprocess.run(["soxi", "-s", path], capture_output=True, text=True, check=True).stdout.strip() == str(6 * SR)

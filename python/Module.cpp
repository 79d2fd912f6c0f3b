// The native half of `import soundstar`: the public facade (soundstar/soundstar.hpp) for Python.
// Renders release the GIL, so several Python threads render at once. std::invalid_argument
// arrives in Python as ValueError (pybind11's translation), other errors as RuntimeError.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <mutex>
#include <optional>
#include <string>

#include <soundstar/soundstar.hpp>

namespace py = pybind11;

namespace {
// The samples as a (frames, 2) float32 array that shares the Audio's memory and keeps it alive.
py::array_t<float> samplesOf(py::object self) {
    const auto& audio = self.cast<const soundstar::Audio&>();
    const auto frames = static_cast<py::ssize_t>(audio.frames());
    return py::array_t<float>({frames, py::ssize_t{2}}, {py::ssize_t{2 * sizeof(float)}, py::ssize_t{sizeof(float)}},
                              audio.samples.data(), self);
}

soundstar::Audio render(const soundstar::Engine& engine, const std::string& prompt, const std::string& configJson,
                        const std::string& updateJson, double durationSeconds, std::optional<std::uint64_t> seed, double sampleRateHz,
                        bool master, double targetLufs, bool loop, bool useLlm, const std::string& llmUrl, const std::string& llmModel,
                        const std::string& generator, double generatorGainDb) {
    soundstar::RenderRequest r;
    r.prompt = prompt;
    r.configJson = configJson;
    r.updateJson = updateJson;
    r.durationSeconds = durationSeconds;
    r.seed = seed;
    r.sampleRateHz = sampleRateHz;
    r.master = master;
    r.targetLufs = targetLufs;
    r.loop = loop;
    r.useLlm = useLlm;
    r.llmUrl = llmUrl;
    r.llmModel = llmModel;
    r.generator = generator;
    r.generatorGainDb = generatorGainDb;
    return engine.render(r);
}
py::dict eventDict(const soundstar::StreamEvent& e) {
    py::dict d;
    d["sample"] = e.sample;
    d["seconds"] = e.seconds;
    d["kind"] = e.kind;
    d["label"] = e.label;
    d["bar"] = e.bar;
    d["bpm"] = e.bpm;
    d["length_seconds"] = e.lengthSeconds;
    return d;
}

soundstar::StreamOptions streamOptions(double sampleRateHz, double transitionSeconds, std::optional<std::uint64_t> seed, double targetLufs,
                                       double endFadeSeconds) {
    soundstar::StreamOptions o;
    o.sampleRateHz = sampleRateHz;
    o.transitionSeconds = transitionSeconds;
    o.seed = seed;
    o.targetLufs = targetLufs;
    o.endFadeSeconds = endFadeSeconds;
    return o;
}

using Item = std::tuple<std::string, double, double>;

// A stream and a lock: its calls run without the GIL, so two Python threads could otherwise use
// one stream at once (it is for one thread at a time).
struct PyStream {
    explicit PyStream(soundstar::Stream s) : stream(std::move(s)) {}
    soundstar::Stream stream;
    std::mutex m;
};

// The next `frames` of a stream as a (frames, 2) float32 array (fewer rows at the end); the
// rendering runs without the GIL.
py::array_t<float> pull(PyStream& s, std::size_t frames) {
    if (static_cast<double>(frames) > soundstar::Stream::kMaxPullSeconds * s.stream.sampleRateHz()) {
        const std::lock_guard lock(s.m);
        (void)s.stream.pull(frames);  // throws, naming the limit
    }
    py::array_t<float> out({static_cast<py::ssize_t>(frames), py::ssize_t{2}});
    float* data = out.mutable_data();
    std::size_t got = 0;
    {
        py::gil_scoped_release release;
        const std::lock_guard lock(s.m);
        got = s.stream.pull(data, frames);
    }
    if (got < frames) out.resize({static_cast<py::ssize_t>(got), py::ssize_t{2}}, false);
    return out;
}

}  // namespace

PYBIND11_MODULE(_soundstar, m) {
    m.doc() = "Soundstar's native module; use the soundstar package instead.";
    py::register_exception<soundstar::DataNotFound>(m, "DataNotFound", PyExc_RuntimeError);
    m.def("version", &soundstar::version);
    m.def("validate_config", &soundstar::validateConfig, py::arg("config_json"));
    m.def("apply_update", &soundstar::applyUpdate, py::arg("config_json"), py::arg("update_json"));
    m.def("output_devices", &soundstar::outputDevices);
    m.def("play", &soundstar::play, py::arg("audio"), py::arg("device"), py::call_guard<py::gil_scoped_release>());

    py::class_<soundstar::Audio>(m, "Audio")
        .def_property_readonly("samples", &samplesOf)
        .def_readonly("sample_rate", &soundstar::Audio::sampleRateHz)
        .def_readonly("config_json", &soundstar::Audio::configJson)
        .def_readonly("metadata_json", &soundstar::Audio::metadataJson)
        .def_readonly("measured", &soundstar::Audio::measured)
        .def_readonly("lufs", &soundstar::Audio::lufs)
        .def_readonly("true_peak_dbtp", &soundstar::Audio::truePeakDbtp)
        .def_readonly("warnings", &soundstar::Audio::warnings)
        .def_readonly("generated", &soundstar::Audio::generated)
        .def("frames", &soundstar::Audio::frames)
        .def_static("from_samples", [](py::array_t<float, py::array::c_style | py::array::forcecast> samples, double sampleRateHz) {
            if (samples.ndim() != 2 || samples.shape(1) != 2) throw std::invalid_argument("samples must have the shape (frames, 2)");
            soundstar::Audio a;
            a.samples.assign(samples.data(), samples.data() + samples.size());
            a.sampleRateHz = sampleRateHz;
            return a;
        }, py::arg("samples"), py::arg("sample_rate"))
        .def("save", &soundstar::Audio::save, py::arg("path"), py::arg("format") = std::string(),
             py::call_guard<py::gil_scoped_release>());

    py::class_<soundstar::Engine>(m, "Engine")
        .def(py::init<const std::string&>(), py::arg("data_dir") = std::string())
        .def_property_readonly("data_dir", &soundstar::Engine::dataDir)
        .def("interpret", [](const soundstar::Engine& e, const std::string& prompt) { return e.interpret(prompt); },
             py::arg("prompt"), py::call_guard<py::gil_scoped_release>())
        .def("render", &render, py::arg("prompt"), py::arg("config_json"), py::arg("update_json"), py::arg("duration"),
             py::arg("seed"), py::arg("sample_rate"), py::arg("master"), py::arg("target_lufs"), py::arg("loop"), py::arg("use_llm"),
             py::arg("llm_url"), py::arg("llm_model"), py::arg("generator") = std::string(), py::arg("generator_gain") = -3.0,
             py::call_guard<py::gil_scoped_release>());

    py::class_<soundstar::Player>(m, "Player")
        .def(py::init<double, const std::string&>(), py::arg("sample_rate"), py::arg("device"), py::call_guard<py::gil_scoped_release>())
        .def("write", [](soundstar::Player& p, py::array_t<float, py::array::c_style | py::array::forcecast> samples) {
                 if (samples.ndim() != 2 || samples.shape(1) != 2) throw std::invalid_argument("samples must have the shape (frames, 2)");
                 py::gil_scoped_release release;
                 p.write(samples.data(), static_cast<std::size_t>(samples.shape(0)));
             }, py::arg("samples"))
        .def("drain", &soundstar::Player::drain, py::call_guard<py::gil_scoped_release>())
        .def_property_readonly("device_name", &soundstar::Player::deviceName);

    py::class_<PyStream>(m, "Stream")
        .def(py::init([](const soundstar::Engine& e, const std::string& vibe, double sr, double transition, std::optional<std::uint64_t> seed,
                         double lufs, double endFade) {
                 py::gil_scoped_release release;
                 return new PyStream(soundstar::Stream(e, vibe, streamOptions(sr, transition, seed, lufs, endFade)));
             }),
             py::arg("engine"), py::arg("vibe"), py::arg("sample_rate"), py::arg("transition"), py::arg("seed"), py::arg("target_lufs"),
             py::arg("end_fade"))
        .def(py::init([](const soundstar::Engine& e, const std::vector<Item>& items, double sr, double transition, std::optional<std::uint64_t> seed,
                         double lufs, double endFade) {
                 std::vector<soundstar::StreamItem> list;
                 for (const auto& [vibe, seconds, t] : items) list.push_back({vibe, seconds, t});
                 py::gil_scoped_release release;
                 return new PyStream(soundstar::Stream(e, list, streamOptions(sr, transition, seed, lufs, endFade)));
             }),
             py::arg("engine"), py::arg("items"), py::arg("sample_rate"), py::arg("transition"), py::arg("seed"), py::arg("target_lufs"),
             py::arg("end_fade"))
        .def("pull", &pull, py::arg("frames"))
        .def("steer", [](PyStream& s, const std::string& line) -> py::object {
                 soundstar::StreamEvent e;
                 {
                     py::gil_scoped_release release;
                     const std::lock_guard lock(s.m);
                     e = s.stream.steer(line);
                 }
                 return e.kind.empty() ? py::object(py::none()) : py::object(eventDict(e));
             }, py::arg("line"))
        .def("append", [](PyStream& s, const std::string& vibe, double seconds, double transition) {
                 py::gil_scoped_release release;
                 const std::lock_guard lock(s.m);
                 s.stream.append({vibe, seconds, transition});
             }, py::arg("vibe"), py::arg("seconds"), py::arg("transition"))
        .def("fade_out", [](PyStream& s, double seconds) {
                 const std::lock_guard lock(s.m);
                 s.stream.fadeOut(seconds);
             }, py::arg("seconds"))
        .def_property_readonly("finished", [](PyStream& s) { const std::lock_guard lock(s.m); return s.stream.finished(); })
        .def_property_readonly("position", [](PyStream& s) { const std::lock_guard lock(s.m); return s.stream.position(); })
        .def_property_readonly("length", [](PyStream& s) { const std::lock_guard lock(s.m); return s.stream.length(); })
        .def_property_readonly("sample_rate", [](PyStream& s) { return s.stream.sampleRateHz(); })
        .def_property_readonly("config_json", [](PyStream& s) { const std::lock_guard lock(s.m); return s.stream.configJson(); })
        .def("events", [](PyStream& s) {
            std::vector<soundstar::StreamEvent> events;
            {
                const std::lock_guard lock(s.m);
                events = s.stream.events();
            }
            py::list out;
            for (const auto& e : events) out.append(eventDict(e));
            return out;
        })
        .def("events_json_lines", [](PyStream& s) { const std::lock_guard lock(s.m); return s.stream.eventsJsonLines(); });
}

// The native half of `import soundstar`: the public facade (soundstar/soundstar.hpp) for Python.
// Renders release the GIL, so several Python threads render at once. std::invalid_argument
// arrives in Python as ValueError (pybind11's translation), other errors as RuntimeError.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

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
                        bool master, double targetLufs, bool loop, bool useLlm, const std::string& llmUrl, const std::string& llmModel) {
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
    return engine.render(r);
}
}  // namespace

PYBIND11_MODULE(_soundstar, m) {
    m.doc() = "Soundstar's native module; use the soundstar package instead.";
    py::register_exception<soundstar::DataNotFound>(m, "DataNotFound", PyExc_RuntimeError);
    m.def("version", &soundstar::version);
    m.def("validate_config", &soundstar::validateConfig, py::arg("config_json"));

    py::class_<soundstar::Audio>(m, "Audio")
        .def_property_readonly("samples", &samplesOf)
        .def_readonly("sample_rate", &soundstar::Audio::sampleRateHz)
        .def_readonly("config_json", &soundstar::Audio::configJson)
        .def_readonly("metadata_json", &soundstar::Audio::metadataJson)
        .def_readonly("measured", &soundstar::Audio::measured)
        .def_readonly("lufs", &soundstar::Audio::lufs)
        .def_readonly("true_peak_dbtp", &soundstar::Audio::truePeakDbtp)
        .def_readonly("warnings", &soundstar::Audio::warnings)
        .def("frames", &soundstar::Audio::frames)
        .def("save", &soundstar::Audio::save, py::arg("path"), py::arg("format") = std::string(),
             py::call_guard<py::gil_scoped_release>());

    py::class_<soundstar::Engine>(m, "Engine")
        .def(py::init<const std::string&>(), py::arg("data_dir") = std::string())
        .def_property_readonly("data_dir", &soundstar::Engine::dataDir)
        .def("interpret", [](const soundstar::Engine& e, const std::string& prompt) { return e.interpret(prompt); },
             py::arg("prompt"), py::call_guard<py::gil_scoped_release>())
        .def("render", &render, py::arg("prompt"), py::arg("config_json"), py::arg("update_json"), py::arg("duration"),
             py::arg("seed"), py::arg("sample_rate"), py::arg("master"), py::arg("target_lufs"), py::arg("loop"), py::arg("use_llm"),
             py::arg("llm_url"), py::arg("llm_model"), py::call_guard<py::gil_scoped_release>());
}

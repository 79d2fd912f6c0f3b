// Soundstar's stretch module (libsoundstar_stretch.so): the only translation unit that includes
// SoundTouch and libsamplerate. Nothing throws across the module's edge.
#include "models/StretchModule.h"

#include <SoundTouch.h>
#include <samplerate.h>

#include <algorithm>

namespace {

bool stretchStereo(const float* interleaved, std::size_t frames, unsigned sampleRate, double tempoRatio, double semitones,
                   std::vector<float>* out, std::string* error) {
    try {
        soundtouch::SoundTouch st;
        st.setSampleRate(sampleRate);
        st.setChannels(2);
        st.setTempo(tempoRatio);
        st.setPitchSemiTones(semitones);
        st.setSetting(SETTING_SEQUENCE_MS, 40);
        st.setSetting(SETTING_SEEKWINDOW_MS, 15);
        st.setSetting(SETTING_OVERLAP_MS, 8);
        constexpr std::size_t kChunk = 8192;
        std::vector<float> got(2 * kChunk);
        const auto drain = [&] {
            for (unsigned n; (n = st.receiveSamples(got.data(), kChunk)) > 0;) out->insert(out->end(), got.begin(), got.begin() + 2 * n);
        };
        for (std::size_t at = 0; at < frames; at += kChunk) {
            st.putSamples(interleaved + 2 * at, static_cast<unsigned>(std::min(kChunk, frames - at)));
            drain();
        }
        st.flush();  // SoundTouch 2.x: the output starts aligned with the input; flush pads the tail
        drain();
        return true;
    } catch (const std::exception& e) {
        *error = e.what();
        return false;
    } catch (...) {  // nothing crosses the module's edge
        *error = "an unknown error in SoundTouch";
        return false;
    }
}

int resample(const float* in, long inFrames, float* out, long outFrames, double ratio, int channels, long* generated, std::string* error) {
    SRC_DATA d{};
    d.data_in = in;
    d.input_frames = inFrames;
    d.data_out = out;
    d.output_frames = outFrames;
    d.src_ratio = ratio;
    d.end_of_input = 1;
    const int err = src_simple(&d, SRC_SINC_BEST_QUALITY, channels);
    if (err != 0) *error = src_strerror(err);
    *generated = d.output_frames_gen;
    return err;
}

constexpr soundstar::models::stretch::Api kApi{stretchStereo, resample};

}  // namespace

extern "C" __attribute__((visibility("default"))) const soundstar::models::stretch::Api* soundstar_stretch_api() { return &kApi; }

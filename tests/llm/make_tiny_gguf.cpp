// Writes a tiny random-weights llama-architecture GGUF (a few hundred KB) for the LLM tests: no
// real model weights are reachable here, and none are needed to test the plumbing. Its prose is
// noise; with a JSON schema the server's grammar makes its output valid JSON all the same.
// Vocabulary: SentencePiece-style single characters plus the 256 byte tokens, so every string
// a grammar allows can be spelled. Usage: make_tiny_gguf OUT.gguf [seed]
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace {

struct Writer {
    std::vector<std::uint8_t> b;
    void u32(std::uint32_t v) { for (int i = 0; i < 4; ++i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i))); }
    void u64(std::uint64_t v) { for (int i = 0; i < 8; ++i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i))); }
    void i32(std::int32_t v) { u32(static_cast<std::uint32_t>(v)); }
    void f32(float v) {
        std::uint32_t u;
        std::memcpy(&u, &v, 4);
        u32(u);
    }
    void str(const std::string& s) {
        u64(s.size());
        b.insert(b.end(), s.begin(), s.end());
    }
};

enum : std::uint32_t { kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7, kString = 8, kArray = 9 };

}  // namespace



int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: make_tiny_gguf OUT.gguf [seed]\n");
        return 2;
    }
    const unsigned seed = argc > 2 ? static_cast<unsigned>(std::stoul(argv[2])) : 1u;
    const std::uint32_t nEmbd = 64, nHead = 4, nLayer = 2, nFf = 128, nCtx = 32768;

    std::vector<std::string> tokens{"<unk>", "<s>", "</s>"};
    std::vector<std::int32_t> types{2, 3, 3};
    for (int i = 0; i < 256; ++i) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "<0x%02X>", i);
        tokens.emplace_back(buf);
        types.push_back(6);
    }
    tokens.emplace_back("\xE2\x96\x81");  // the SentencePiece space
    types.push_back(1);
    for (int c = 0x21; c < 0x7F; ++c) {
        tokens.emplace_back(1, static_cast<char>(c));
        types.push_back(1);
    }
    const auto nVocab = static_cast<std::uint32_t>(tokens.size());

    Writer w;
    w.b.insert(w.b.end(), {'G', 'G', 'U', 'F'});
    w.u32(3);
    struct Tensor {
        std::string name;
        std::vector<std::uint64_t> dims;
        bool ones;
    };
    std::vector<Tensor> tensors{{"token_embd.weight", {nEmbd, nVocab}, false}, {"output_norm.weight", {nEmbd}, true},
                                {"output.weight", {nEmbd, nVocab}, false}};
    for (std::uint32_t l = 0; l < nLayer; ++l) {
        const std::string p = "blk." + std::to_string(l) + ".";
        tensors.push_back({p + "attn_norm.weight", {nEmbd}, true});
        tensors.push_back({p + "attn_q.weight", {nEmbd, nEmbd}, false});
        tensors.push_back({p + "attn_k.weight", {nEmbd, nEmbd}, false});
        tensors.push_back({p + "attn_v.weight", {nEmbd, nEmbd}, false});
        tensors.push_back({p + "attn_output.weight", {nEmbd, nEmbd}, false});
        tensors.push_back({p + "ffn_norm.weight", {nEmbd}, true});
        tensors.push_back({p + "ffn_gate.weight", {nEmbd, nFf}, false});
        tensors.push_back({p + "ffn_down.weight", {nFf, nEmbd}, false});
        tensors.push_back({p + "ffn_up.weight", {nEmbd, nFf}, false});
    }
    w.u64(tensors.size());
    const std::uint64_t nKv = 17;
    w.u64(nKv);
    const auto kvStr = [&](const std::string& k, const std::string& v) { w.str(k), w.u32(kString), w.str(v); };
    const auto kvU32 = [&](const std::string& k, std::uint32_t v) { w.str(k), w.u32(kU32), w.u32(v); };
    kvStr("general.architecture", "llama");
    kvStr("general.name", "soundstar-tiny-random");
    kvU32("llama.context_length", nCtx);
    kvU32("llama.embedding_length", nEmbd);
    kvU32("llama.block_count", nLayer);
    kvU32("llama.feed_forward_length", nFf);
    kvU32("llama.attention.head_count", nHead);
    kvU32("llama.attention.head_count_kv", nHead);
    kvU32("llama.rope.dimension_count", nEmbd / nHead);
    w.str("llama.attention.layer_norm_rms_epsilon"), w.u32(kF32), w.f32(1e-5f);
    kvStr("tokenizer.ggml.model", "llama");
    w.str("tokenizer.ggml.tokens"), w.u32(kArray), w.u32(kString), w.u64(nVocab);
    for (const auto& t : tokens) w.str(t);
    w.str("tokenizer.ggml.scores"), w.u32(kArray), w.u32(kF32), w.u64(nVocab);
    for (std::uint32_t i = 0; i < nVocab; ++i) w.f32(-static_cast<float>(i));
    w.str("tokenizer.ggml.token_type"), w.u32(kArray), w.u32(kI32), w.u64(nVocab);
    for (auto t : types) w.i32(t);
    kvU32("tokenizer.ggml.bos_token_id", 1);
    kvU32("tokenizer.ggml.eos_token_id", 2);
    kvU32("tokenizer.ggml.unknown_token_id", 0);

    std::uint64_t offset = 0;
    std::vector<std::uint64_t> offsets;
    for (const auto& t : tensors) {
        w.str(t.name);
        w.u32(static_cast<std::uint32_t>(t.dims.size()));
        for (auto d : t.dims) w.u64(d);
        w.u32(0);  // F32
        w.u64(offset);
        offsets.push_back(offset);
        std::uint64_t n = 1;
        for (auto d : t.dims) n *= d;
        offset += (n * 4 + 31) / 32 * 32;
    }
    while (w.b.size() % 32) w.b.push_back(0);
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 0.02f);
    const std::size_t dataStart = w.b.size();
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        while (w.b.size() < dataStart + offsets[i]) w.b.push_back(0);
        std::uint64_t n = 1;
        for (auto d : tensors[i].dims) n *= d;
        for (std::uint64_t k = 0; k < n; ++k) w.f32(tensors[i].ones ? 1.0f : normal(rng));
    }
    while (w.b.size() % 32) w.b.push_back(0);
    std::ofstream out(argv[1], std::ios::binary);
    out.write(reinterpret_cast<const char*>(w.b.data()), static_cast<std::streamsize>(w.b.size()));
    if (!out) {
        std::fprintf(stderr, "cannot write %s\n", argv[1]);
        return 1;
    }
    std::printf("%s: %zu bytes, %u tokens, %zu tensors\n", argv[1], w.b.size(), nVocab, tensors.size());
    return 0;
}

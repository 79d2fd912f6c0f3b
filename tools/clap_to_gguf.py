#!/usr/bin/python3
"""Converts AudioLDM's text encoder (CLAP's text tower, transformers' ClapTextModelWithProjection)
and its RoBERTa tokenizer from a checkpoint in the diffusers folder layout (e.g.
cvssp/audioldm-s-full-v2) to the one GGUF file Soundstar's ggml CLAP text encoder reads
(src/models/ggml/ClapTextEncoder.cpp).

    clap_to_gguf.py MODEL_DIR clap.gguf [--type f32|f16|q8_0]

It reads text_encoder/config.json with text_encoder/pytorch_model.bin or *.safetensors (the
readers of tools/audioldm_to_gguf.py), and tokenizer/vocab.json, tokenizer/merges.txt (and
tokenizer/tokenizer_config.json's model_max_length when present). The vocabulary (by id) and the
merges (by rank) go into the GGUF metadata (tokenizer.ggml.tokens, tokenizer.ggml.merges), so the
model folder needs this one file. --type quantizes the word embeddings and the projection
matrices whose rows are a multiple of 32 long; norms, biases, position and token type
embeddings stay f32. Needs python3-torch and numpy.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from audioldm_to_gguf import load_part, matrix_type  # noqa: E402
from encodec_to_gguf import GGML_F16, GGML_F32, GGML_Q8_0, write_gguf  # noqa: E402

MAX_VOCAB = 1 << 18  # src/models/ggml/BpeTokenizer.h: kMaxBpeVocab, kMaxBpeMerges, kMaxBpeTokenBytes
MAX_MERGES = 1 << 18
MAX_TOKEN_BYTES = 256
BUFFERS = ("text_model.embeddings.position_ids", "text_model.embeddings.token_type_ids")


def fail(msg):
    sys.exit(f"clap_to_gguf: {msg}")


def read_vocab(path, rows):
    if not os.path.isfile(path):
        fail(f"{path}: missing (expected the diffusers folder layout: tokenizer/vocab.json and tokenizer/merges.txt)")
    try:
        vocab = json.load(open(path, encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        fail(f"{path}: not a JSON vocabulary ({e})")
    if not isinstance(vocab, dict) or not all(isinstance(k, str) and isinstance(v, int) for k, v in vocab.items()):
        fail(f"{path}: expected an object of token -> id")
    if not 0 < len(vocab) <= MAX_VOCAB:
        fail(f"{path}: {len(vocab)} tokens; allowed 1 to {MAX_VOCAB}")
    by_id = sorted(vocab.items(), key=lambda kv: kv[1])
    if [i for _, i in by_id] != list(range(len(by_id))):
        fail(f"{path}: the ids are not 0 to {len(by_id) - 1}, each once")
    if len(by_id) != rows:
        fail(f"{path}: {len(by_id)} tokens but the text encoder's word_embeddings has {rows} rows")
    for tok, i in by_id:
        if not tok or len(tok.encode()) > MAX_TOKEN_BYTES:
            fail(f"{path}: token {i} is {len(tok.encode())} bytes; allowed 1 to {MAX_TOKEN_BYTES}")
    for special in ("<s>", "</s>", "<unk>"):
        if special not in vocab:
            fail(f"{path}: no {special} token (RoBERTa's tokenizer needs <s>, </s> and <unk>)")
    return [t for t, _ in by_id]


def read_merges(path):
    if not os.path.isfile(path):
        fail(f"{path}: missing (expected tokenizer/merges.txt beside tokenizer/vocab.json)")
    try:
        lines = open(path, encoding="utf-8").read().split("\n")
    except UnicodeDecodeError as e:
        fail(f"{path}: not UTF-8 text ({e})")
    if lines and lines[0].startswith("#version"):
        lines = lines[1:]
    merges = [ln for ln in lines if ln]
    if len(merges) > MAX_MERGES:
        fail(f"{path}: {len(merges)} merges; at most {MAX_MERGES} allowed")
    for n, m in enumerate(merges):
        parts = m.split(" ")
        if len(parts) != 2 or not all(parts) or any(len(p.encode()) > MAX_TOKEN_BYTES for p in parts):
            fail(f"{path}: merge {n} ({m[:60]!r}) is not two tokens separated by one space")
    return merges


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model_dir")
    ap.add_argument("output")
    ap.add_argument("--type", choices=["f32", "f16", "q8_0"], default="f32")
    a = ap.parse_args()
    cfg, sd = load_part(a.model_dir, "text_encoder")
    cfg = dict(cfg.get("text_config", {}), **{k: v for k, v in cfg.items() if k != "text_config"}) if "text_config" in cfg else cfg
    where = os.path.join(a.model_dir, "text_encoder")
    sd = {k: v for k, v in sd.items() if (k.startswith("text_model.") or k.startswith("text_projection.")) and k not in BUFFERS}
    word = "text_model.embeddings.word_embeddings.weight"
    if word not in sd:
        fail(f"{where}: no {word}: not a ClapTextModelWithProjection checkpoint")
    if "text_projection.linear1.weight" not in sd:
        fail(f"{where}: no text_projection.linear1.weight: the projection layer is needed (ClapTextModelWithProjection)")
    for key, want in (("hidden_act", "gelu"), ("projection_hidden_act", "relu"), ("position_embedding_type", "absolute")):
        if cfg.get(key, want) != want:
            fail(f"{where}/config.json: {key} is {cfg.get(key)!r}; this port runs {want!r}")
    hidden, rows = sd[word].shape[1], sd[word].shape[0]
    max_pos = int(sd["text_model.embeddings.position_embeddings.weight"].shape[0])
    pad = int(cfg.get("pad_token_id", 1))
    tok_dir = os.path.join(a.model_dir, "tokenizer")
    vocab = read_vocab(os.path.join(tok_dir, "vocab.json"), rows)
    merges = read_merges(os.path.join(tok_dir, "merges.txt"))
    max_tokens = max_pos - pad - 1
    tok_cfg = os.path.join(tok_dir, "tokenizer_config.json")
    if os.path.isfile(tok_cfg):
        max_tokens = min(max_tokens, int(json.load(open(tok_cfg)).get("model_max_length", max_tokens)))
    gtype = {"f32": GGML_F32, "f16": GGML_F16, "q8_0": GGML_Q8_0}[a.type]
    tensors = []
    for key in sorted(sd):
        arr = sd[key].numpy()
        quantizable = key == word or (arr.ndim == 2 and "embeddings" not in key)
        tensors.append((key, arr, matrix_type(arr, gtype) if quantizable else GGML_F32))
    meta = {
        "general.architecture": "clap_text",
        "general.name": str(cfg.get("_name_or_path", "clap-text")) or "clap-text",
        "clap.vocab_size": int(rows),
        "clap.hidden_size": int(hidden),
        "clap.num_hidden_layers": int(cfg.get("num_hidden_layers", 12)),
        "clap.num_attention_heads": int(cfg.get("num_attention_heads", 12)),
        "clap.intermediate_size": int(cfg.get("intermediate_size", 3072)),
        "clap.max_position_embeddings": max_pos,
        "clap.type_vocab_size": int(sd["text_model.embeddings.token_type_embeddings.weight"].shape[0]),
        "clap.projection_dim": int(sd["text_projection.linear2.weight"].shape[0]),
        "clap.pad_token_id": pad,
        "clap.max_tokens": int(max_tokens),
        "clap.layer_norm_eps": float(cfg.get("layer_norm_eps", 1e-12)),
        "tokenizer.ggml.model": "gpt2",
        "tokenizer.ggml.tokens": vocab,
        "tokenizer.ggml.merges": merges,
    }
    write_gguf(a.output, meta, tensors)
    print(f"{a.output}: {len(tensors)} tensors, {len(vocab)} tokens, {len(merges)} merges, {a.type}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Seed inputs for scripts/fuzz.sh's modes whose input goes with a fixed model (not committed: written at
fuzz time). Needs the PyPI gguf package and numpy (scripts/install-deps.sh).

  make_seeds.py imatrix MODEL.gguf OUT.gguf      an importance matrix for every blk.* weight of MODEL, in
                                                 llama.cpp's GGUF imatrix layout (src/quant/imatrix.hpp)
  make_seeds.py tokenizers N_VOCAB OUT_DIR       tokenizer.json files of N_VOCAB tokens: a byte-level BPE
                                                 (GPT-2 style, with added tokens) and a SentencePiece-style
                                                 BPE with byte fallback, plus a tokenizer_config.json
"""
import json
import os
import sys

import numpy as np


def imatrix(model, out):
    import gguf

    r = gguf.GGUFReader(model)
    w = gguf.GGUFWriter(out, arch="llama")  # arch is only needed by the writer; the reader ignores it
    w.add_type("imatrix")
    w.add_array("imatrix.datasets", ["fuzz seed"])
    w.add_uint32("imatrix.chunk_count", 2)
    w.add_uint32("imatrix.chunk_size", 64)
    rng = np.random.default_rng(1)
    for t in sorted(r.tensors, key=lambda t: t.name):
        if not t.name.startswith("blk.") or len(t.shape) != 2:
            continue
        n_cols = int(t.shape[0])  # ggml order: ne[0] is the row length
        w.add_tensor(t.name + ".in_sum2", (rng.random((1, n_cols)) * 100).astype(np.float32))
        w.add_tensor(t.name + ".counts", np.array([[128.0]], dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def tokenizers(n_vocab, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    vocab = {("t%d" % i) if i >= 256 else chr(ord("!") + i % 90) + str(i): i for i in range(n_vocab - 4)}
    added = [{"id": n_vocab - 4 + i, "content": c, "special": s}
             for i, (c, s) in enumerate([("<|endoftext|>", True), ("<|im_start|>", True), ("<tool>", False)])]
    bpe = {"model": {"type": "BPE", "vocab": vocab, "merges": ["t1 t2", ["a", "b"], "t300 t301"]},
           "added_tokens": added,
           "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
               {"type": "Digits", "individual_digits": True}, {"type": "ByteLevel"}]}}
    with open(os.path.join(out_dir, "bpe.tokenizer.json"), "w") as f:
        json.dump(bpe, f, ensure_ascii=False)
    sp = {"<unk>": 0, "<s>": 1, "</s>": 2}
    sp.update({"<0x%02X>" % b: 3 + b for b in range(256)})
    sp.update({"\u2581": 259, "t": 260, "\u2581t": 261, "h": 262, "\u2581th": 263})
    sp.update({"w%d" % i: i for i in range(264, n_vocab)})
    spm = {"model": {"type": "BPE", "byte_fallback": True, "unk_token": "<unk>", "vocab": sp,
                     "merges": ["\u2581 t", "\u2581t h"]},
           "added_tokens": [{"id": i, "content": c, "special": True} for i, c in enumerate(["<unk>", "<s>", "</s>"])]}
    with open(os.path.join(out_dir, "spm.tokenizer.json"), "w") as f:
        json.dump(spm, f, ensure_ascii=False)
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump({"bos_token": "<|im_start|>", "eos_token": {"content": "<|endoftext|>"}, "add_bos_token": False,
                   "chat_template": "{{ messages }}"}, f)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "imatrix":
        imatrix(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "tokenizers":
        tokenizers(int(sys.argv[2]), sys.argv[3])
    else:
        sys.exit(__doc__)

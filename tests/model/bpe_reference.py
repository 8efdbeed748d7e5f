#!/usr/bin/env python3
"""Reference encodings for lowbit's byte-level BPE tokenizer from Hugging Face `tokenizers`.

Trains a small byte-level BPE vocabulary (GPT-2 alphabet, ranked merges) on part of wiki.test.raw,
then encodes a sample of the text with three pre-tokenizer set-ups that llama.cpp names by
tokenizer.ggml.pre:
  gpt-2  : ByteLevel(use_regex=True)                        (GPT-2 regex)
  smollm : Sequence[Digits(individual), ByteLevel(regex)]   (SmolLM / StarCoder)
  llama3 : Split(Llama-3 regex, isolated) + ByteLevel(no regex), ignore_merges=True
Writes OUTDIR/vocab.json ({"tokens", "merges"}), OUTDIR/sample.txt and OUTDIR/ids_<pre>.bin
(int32 little-endian). The C++ test TokenizerBpe.HfReference reads them when LOWBIT_BPE_REF=OUTDIR.

Usage: pip install tokenizers; python3 tests/model/bpe_reference.py ../shared/data/wiki.test.raw OUTDIR
"""
import json
import os
import struct
import sys

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def main():
    src, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    text = open(src, encoding="utf-8", newline="").read()
    train_text, sample = text[: len(text) // 2], text[len(text) // 2:][:400_000]
    # A few extra cases the scanners must get right.
    sample += ("\nIt's 12345 dollars,  they'LL say: \"Ünïcödé\u00a0text\u2003here\" \t\n\r\n  x"
               " 3.14159 ٣٤٥ 𝟘𝟙𝟚 emoji 🙂🙂 <|endoftext|> tail   \n")

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=3000, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator([train_text], trainer)
    spec = json.loads(tok.to_str())
    vocab = spec["model"]["vocab"]
    tokens = [None] * len(vocab)
    for t, i in vocab.items():
        tokens[i] = t
    merges = [m if isinstance(m, str) else " ".join(m) for m in spec["model"]["merges"]]
    json.dump({"tokens": tokens, "merges": merges}, open(os.path.join(out, "vocab.json"), "w"))
    open(os.path.join(out, "sample.txt"), "w", encoding="utf-8", newline="").write(sample)

    variants = {
        "gpt-2": (pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True), False),
        "smollm": (pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)]),
                   False),
        "llama3": (pre_tokenizers.Sequence([
            pre_tokenizers.Split(pattern=__import__("tokenizers").Regex(LLAMA3_REGEX), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]), True),
    }
    for name, (pre, ignore_merges) in variants.items():
        s = json.loads(tok.to_str())
        s["pre_tokenizer"] = json.loads(pre.__getstate__() if hasattr(pre, "__getstate__") else "null")
        s["model"]["ignore_merges"] = ignore_merges
        t = Tokenizer.from_str(json.dumps(s))
        ids = t.encode(sample, add_special_tokens=False).ids
        with open(os.path.join(out, f"ids_{name}.bin"), "wb") as f:
            f.write(struct.pack(f"<{len(ids)}i", *ids))
        print(name, len(ids), "tokens")


if __name__ == "__main__":
    main()

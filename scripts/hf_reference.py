#!/usr/bin/env python3
"""Makes a real Hugging Face checkpoint of SmolLM2-135M and transformers' own reference outputs for it.

transformers (not lowbit) reads the SmolLM2 GGUF that scripts/fetch_smollm2.sh cached, de-quantizes it
and writes the standard HF layout with save_pretrained (config.json, model.safetensors,
tokenizer.json, tokenizer_config.json). It then tokenizes a text with that tokenizer.json and runs
LlamaForCausalLM on the ids, and writes reference.json: the ids, the argmax of every position and the
full logits of the last 4 positions. tests/model/hf_checkpoint_test.cpp compares lowbit against it.

usage: hf_reference.py GGUF_DIR GGUF_NAME OUT_DIR TEXT_FILE   (run by scripts/hf_reference.sh)
"""
import json
import sys

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

src_dir, gguf_name, out, text_file = sys.argv[1:5]
tok = AutoTokenizer.from_pretrained(src_dir, gguf_file=gguf_name)
model = AutoModelForCausalLM.from_pretrained(src_dir, gguf_file=gguf_name, dtype=torch.float32)
# The weights are plain float32 now; drop the GGUF quantizer marker so save_pretrained accepts them.
model.hf_quantizer = None
if hasattr(model.config, "quantization_config"):
    del model.config.quantization_config
model.save_pretrained(out, safe_serialization=True)
tok.save_pretrained(out)

text = open(text_file, encoding="utf-8").read()[:2000]
ids = tok(text, add_special_tokens=False)["input_ids"][:256]
with torch.no_grad():
    logits = model(torch.tensor([ids])).logits[0].float()
ref = {
    "text": text,
    "ids": ids,
    "argmax": logits.argmax(dim=-1).tolist(),
    "last_logits": logits[-4:].tolist(),
    "transformers": __import__("transformers").__version__,
    "torch": torch.__version__,
}
with open(f"{out}/reference.json", "w") as f:
    json.dump(ref, f)
print(f"{out}: {len(ids)} tokens, reference.json written")

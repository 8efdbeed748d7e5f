#!/usr/bin/env bash
# Builds a real Hugging Face checkpoint of SmolLM2-135M with transformers' own writer, plus
# transformers' reference tokenization and logits (scripts/hf_reference.py), in a cache outside the
# repository. Optional: it installs torch + transformers (several GB) into a private venv.
# tests/model/hf_checkpoint_test.cpp runs when LOWBIT_HF_REF points at the output directory.
#
# usage: scripts/hf_reference.sh [OUT_DIR]      (default ~/.cache/lowbit/smollm2-hf)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${LOWBIT_CACHE:-$HOME/.cache/lowbit}
OUT=${1:-$CACHE/smollm2-hf}
VENV=${HF_VENV:-$CACHE/hf-venv}
SHARED=${LOWBIT_SHARED:-$here/../shared}
GGUF_DIR=$CACHE/smollm2
GGUF_NAME=SmolLM2-135M-Instruct.Q4_1.gguf

[[ -f $GGUF_DIR/$GGUF_NAME ]] || bash "$here/scripts/fetch_smollm2.sh"
if [[ ! -x $VENV/bin/python ]]; then
    echo "creating $VENV (torch, transformers, accelerate, gguf: a large download)" >&2
    python3 -m venv "$VENV"
fi
"$VENV/bin/python" -c 'import torch, transformers, accelerate, gguf' 2>/dev/null ||
    "$VENV/bin/pip" install -q torch transformers accelerate gguf safetensors ||
    { echo "hf_reference.sh: cannot install torch/transformers from PyPI" >&2; exit 1; }
mkdir -p "$OUT"
"$VENV/bin/python" "$here/scripts/hf_reference.py" "$GGUF_DIR" "$GGUF_NAME" "$OUT" "$SHARED/data/wiki.test.raw"
echo "LOWBIT_HF_REF=$OUT"

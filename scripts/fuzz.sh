#!/usr/bin/env bash
# Fuzzes the model loaders with libFuzzer under AddressSanitizer + UBSan (fuzz/load_model_fuzz.cpp):
# a model file goes through load_model, quantize_model (FUZZ_QUANT, default q4_0; none skips it) and a
# read-back of its output, the tokenizer, llama_model and one decode, and must end in a result or a
# lowbit::error. Seeds: the GGUF models in ../shared (stories260K and its llama.cpp-quantized
# copies, the synth-llama-256 file of every ggml type), the llama2.c stories260K.bin, and stories260K as a
# Hugging Face checkpoint (model.safetensors in F32 and BF16 beside a fixed config.json, written by
# tests/io/fixtures/make_hf_fixture.py; needs numpy).
# Modes whose input is a file that goes with a fixed model (seeds from fuzz/make_seeds.py):
#   tokenizer    the llama2.c tokenizer (tok512.bin) of stories260K.bin;
#   hf-config    config.json beside the F32 checkpoint above;
#   hf-tokenizer tokenizer.json (byte-level BPE and SentencePiece-style seeds) beside it;
#   imatrix      an importance matrix (llama.cpp GGUF imatrix) for quantizing stories260K, as --imatrix.
# Builds with clang in build-fuzz/ (installs clang and libFuzzer from Debian's packages).
#
# usage: scripts/fuzz.sh [SECONDS=300] [MODE|all]   (all: SECONDS each)
#   MODE: gguf llama2c safetensors tokenizer hf-config hf-tokenizer imatrix
# Exit status 1 on a finding: the input that triggered it is kept (path printed); rerun it with
#   build-fuzz/fuzz_load_model FILE      with the mode's environment, printed with the finding.
# FUZZ_WORK=DIR keeps the corpus (default: a temporary directory, removed unless something was found).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-300} which=${2:-all}
modes="gguf llama2c safetensors tokenizer hf-config hf-tokenizer imatrix"
usage="usage: $0 [SECONDS] [${modes// /|}|all]"
[[ " $modes all " == *" $which "* ]] || { echo "$usage" >&2; exit 2; }
[[ $secs =~ ^[0-9]+$ ]] || { echo "$usage" >&2; exit 2; }
shared=${LOWBIT_SHARED:-$(cd .. && pwd)/shared}
[[ -d $shared/models/stories260K ]] || { echo "fuzz.sh: no $shared/models/stories260K (set LOWBIT_SHARED)" >&2; exit 2; }

bash scripts/install-deps.sh clang libclang-rt-14-dev
build=${LOWBIT_FUZZ_BUILD_DIR:-build-fuzz}
CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLOWBIT_BUILD_FUZZ=ON \
  -DLOWBIT_BUILD_TESTS=OFF -DLOWBIT_BUILD_TOOLS=OFF >/dev/null
cmake --build "$build" --target fuzz_load_model
fuzzer=$build/fuzz_load_model

work=${FUZZ_WORK:-$(mktemp -d)}
mkdir -p "$work"
found=0
want() { [[ $which == "$1" || $which == all ]]; }
run() {  # run NAME SEED...   (the FUZZ_* environment of the mode set on the call)
  local name=$1
  shift
  mkdir -p "$work/$name" "$work/$name-findings"
  cp -n "$@" "$work/$name/" && chmod -R u+w "$work/$name"
  echo "fuzz.sh: $name, $secs s, corpus $work/$name" >&2
  # Inputs are whole models (up to 2 MB); a leak report is a finding too.
  if ! TMPDIR=$work "$fuzzer" ${FUZZ_DICT:+-dict="$FUZZ_DICT"} -max_total_time="$secs" -timeout=60 -rss_limit_mb=4096 -max_len=2097152 \
    -print_final_stats=1 -artifact_prefix="$work/$name-findings/" "$work/$name" 2>"$work/$name.log"; then
    found=1
    tail -n 40 "$work/$name.log" >&2
    if [[ -z $(ls -A "$work/$name-findings") ]]; then  # e.g. a bad option: the harness, not an input
      echo "fuzz.sh: the fuzzer failed in $name without an input to keep (log: $work/$name.log)" >&2
      return
    fi
    echo "fuzz.sh: FINDING in $name: $(ls "$work/$name-findings")  (kept in $work/$name-findings)" >&2
    echo "fuzz.sh: rerun with: $(env | grep '^FUZZ_' | grep -v '^FUZZ_WORK=' | tr '\n' ' ')$fuzzer FILE" >&2
  else
    grep -E "^stat::number_of_executed_units|^Done" "$work/$name.log" | tr '\n' ' ' >&2
    echo >&2
  fi
}
s=$shared/models/stories260K
if want gguf; then
  seeds=("$s/stories260K-f32.gguf" "$s"/llama.cpp-quantized/*.gguf)
  for f in "$shared"/ggml-vectors/synth-llama-256-*.gguf; do
    [[ $f == *-f32.gguf || $f == *F16.gguf ]] || seeds+=("$f")  # the float ones are large and add nothing
  done
  run gguf "${seeds[@]}"
fi
if want llama2c; then
  FUZZ_TOKENIZER=$s/tok512.bin run llama2c "$s/stories260K.bin"
fi
if want tokenizer; then
  FUZZ_TOKENIZER=input FUZZ_NAME=tok512.bin FUZZ_MODEL=$s/stories260K.bin run tokenizer "$s/tok512.bin"
fi
if want safetensors || want hf-config || want hf-tokenizer; then
  for dt in F32 BF16; do
    [[ -f $work/hf-$dt/model.safetensors ]] ||
      python3 tests/io/fixtures/make_hf_fixture.py "$s/stories260K-f32.gguf" "$work/hf-$dt" --dtype $dt >/dev/null
    cp "$work/hf-$dt/model.safetensors" "$work/seed-$dt.safetensors"
  done
fi
if want safetensors; then
  FUZZ_BESIDE=$work/hf-F32 FUZZ_NAME=model.safetensors run safetensors "$work"/seed-*.safetensors
fi
if want hf-config || want hf-tokenizer; then
  # A libFuzzer dictionary for the JSON modes: JSON's own tokens and every key the readers look up.
  { printf '"{"\n"}"\n"["\n"]"\n":"\n","\n"null"\n"true"\n"false"\n"-1"\n"1e39"\n"\\\\u0000"\n'
    grep -ho '"[A-Za-z_][A-Za-z_0-9.]*"' src/io/hf_config.cpp src/io/safetensors.cpp | sort -u | sed 's/"/\\"/g; s/.*/"&"/'
  } >"$work/json.dict"
fi
if want hf-config; then
  FUZZ_DICT=$work/json.dict FUZZ_BESIDE=$work/hf-F32 FUZZ_NAME=config.json FUZZ_MODEL=model.safetensors run hf-config "$work/hf-F32/config.json"
fi
if want hf-tokenizer; then
  python3 fuzz/make_seeds.py tokenizers 512 "$work/tok-seeds"
  mkdir -p "$work/hf-tok"
  ln -sf "$work/hf-F32/model.safetensors" "$work/hf-F32/config.json" "$work/hf-tok/"
  cp "$work/tok-seeds/tokenizer_config.json" "$work/hf-tok/"
  FUZZ_DICT=$work/json.dict FUZZ_BESIDE=$work/hf-tok FUZZ_NAME=tokenizer.json FUZZ_MODEL=model.safetensors \
    run hf-tokenizer \
    "$work"/tok-seeds/*.tokenizer.json
fi
if want imatrix; then
  python3 fuzz/make_seeds.py imatrix "$s/stories260K-f32.gguf" "$work/seed-imatrix.gguf"
  FUZZ_IMATRIX=input FUZZ_NAME=imatrix.gguf FUZZ_MODEL=$s/stories260K-f32.gguf run imatrix "$work/seed-imatrix.gguf"
fi
if ((found)); then exit 1; fi
[[ -n ${FUZZ_WORK:-} ]] || rm -rf "$work"
echo "fuzz.sh: no findings" >&2

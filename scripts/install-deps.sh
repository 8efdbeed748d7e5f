#!/usr/bin/env bash
# Installs what lowbit needs to build and test on Debian 12: compilers and libraries from Debian's
# packages, and the PyPI `gguf` package (an independent GGUF implementation the tests compare with).
# Safe to rerun; does nothing that is already done. Extra Debian packages may be named as arguments
# (scripts/fuzz.sh: clang and libFuzzer).
set -euo pipefail

pkgs=(g++ cmake ninja-build ccache pkg-config libgtest-dev libgmock-dev libbenchmark-dev
      nlohmann-json3-dev libcli11-dev libfmt-dev python3 python3-pip
      libtomlplusplus-dev chromium  # toml++: recipe files; chromium: headless check of HTML reports
      libsimde-dev  # tests: the AVX-512 GEMM emulated on AVX2
      "$@")
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Python helpers for tests (an independent GGUF reader). Installed for the current python3.
if ! python3 -c "import gguf, numpy" >/dev/null 2>&1; then
  echo "install-deps: installing PyPI gguf + numpy"
  python3 -m pip install -q gguf numpy 2>/dev/null ||
    python3 -m pip install -q --break-system-packages gguf numpy
fi

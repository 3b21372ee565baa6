#!/usr/bin/env bash
# Build KenLM's lmplz and build_binary (the peers of bench/lm.py) from the kenlm sdist on PyPI, which
# carries lm/builder; needs a C++ compiler, cmake and boost (program_options, system, thread):
#   apt-get install -y libboost-program-options-dev libboost-system-dev libboost-thread-dev zlib1g-dev
# Usage: bash bench/build_kenlm.sh [DIR]   (default ../peers), then PATH="DIR/kenlm-*/build/bin:$PATH".
set -euo pipefail
dest="$(realpath -m "${1:-../peers}")"
mkdir -p "$dest"
python -m pip download --no-deps --no-build-isolation --no-binary :all: kenlm==0.3.0 -d "$dest" >&2
tar xzf "$dest"/kenlm-0.3.0.tar.gz -C "$dest"
cd "$dest/kenlm-0.3.0" && mkdir -p build && cd build
cmake .. -DCMAKE_BUILD_TYPE=Release >&2
make -j"$(nproc)" lmplz build_binary >&2
echo "$dest/kenlm-0.3.0/build/bin"

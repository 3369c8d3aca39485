#!/usr/bin/env bash
# Installs what Loom needs from Debian (only what is missing), then builds the release binaries.
# Safe to run again: it skips packages that are installed and SwiftPM rebuilds only what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(ocl-icd-opencl-dev opencl-headers libclblast-dev pocl-opencl-icd clinfo libopenblas-dev zlib1g-dev libpng-dev libturbojpeg0-dev libopenmpi-dev openmpi-bin
          dataset-fashion-mnist librsvg2-bin
          python3 python3-venv)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || { echo "setup: need root or sudo to install ${missing[*]}" >&2; exit 1; }
        sudo="sudo"
    fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
    echo "setup: Debian packages present"
fi

# Test-side checks against the real tools, from PyPI, in a venv under .build/ (scripts/test.sh
# points LOOM_PYTHON at it): sacrebleu (chrF, BLEU), safetensors and numpy (checkpoints), gensim
# (word vectors), tensorboard (event files). The suite fails in CI when one is missing.
python_packages=("sacrebleu==2.6.0" "numpy==2.4.6" "safetensors==0.8.0" "gensim==4.4.0" "tensorboard==2.21.0")
venv=.build/check-venv
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import sacrebleu, numpy, safetensors, gensim, tensorboard" 2>/dev/null; then
    echo "setup: test-side Python packages present ($venv)"
else
    echo "setup: installing ${python_packages[*]} from PyPI into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "${python_packages[@]}"
fi

if [ "${LOOM_SETUP_SKIP_BUILD:-0}" != "1" ]; then
    echo "setup: building release binaries (swift build -c release)"
    swift build -c release
    echo "setup: done; try: swift run -c release loom devices"
fi

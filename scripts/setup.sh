#!/usr/bin/env bash
# Installs what Loom needs from Debian (only what is missing), then builds the release binaries.
# Safe to run again: it skips packages that are installed and SwiftPM rebuilds only what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(ocl-icd-opencl-dev opencl-headers libclblast-dev pocl-opencl-icd clinfo libopenblas-dev zlib1g-dev libpng-dev libturbojpeg0-dev
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

# Test-side check from PyPI: the suite scores Loom's chrF and BLEU against the sacrebleu package.
# Installed for python3 when it lacks it, else into a venv under .build/ (found by scripts/test.sh).
if python3 -c "import sacrebleu" 2>/dev/null || { [ -x .build/check-venv/bin/python ] && .build/check-venv/bin/python -c "import sacrebleu" 2>/dev/null; }; then
    echo "setup: sacrebleu present"
else
    echo "setup: installing sacrebleu 2.6.0 from PyPI (the test that checks Loom's chrF and BLEU)"
    if ! python3 -m pip install --quiet --disable-pip-version-check "sacrebleu==2.6.0" 2>/dev/null; then
        python3 -m venv .build/check-venv
        .build/check-venv/bin/pip install --quiet --disable-pip-version-check "sacrebleu==2.6.0"
    fi
fi

if [ "${LOOM_SETUP_SKIP_BUILD:-0}" != "1" ]; then
    echo "setup: building release binaries (swift build -c release)"
    swift build -c release
    echo "setup: done; try: swift run -c release loom devices"
fi

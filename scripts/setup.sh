#!/usr/bin/env bash
# Installs what Loom needs from Debian (only what is missing), then builds the release binaries.
# Safe to run again: it skips packages that are installed and SwiftPM rebuilds only what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(ocl-icd-opencl-dev opencl-headers libclblast-dev pocl-opencl-icd clinfo libopenblas-dev zlib1g-dev librsvg2-bin)
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

if [ "${LOOM_SETUP_SKIP_BUILD:-0}" != "1" ]; then
    echo "setup: building release binaries (swift build -c release)"
    swift build -c release
    echo "setup: done; try: swift run -c release loom devices"
fi

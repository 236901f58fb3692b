#!/usr/bin/env bash
# System packages the tests need on Debian: headless Chromium (browser tests) and a CJK font
# (Chinese text in screenshots and printed sheets). Skips what is already installed.
set -euo pipefail
need=()
for pkg in chromium chromium-driver fonts-noto-cjk; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

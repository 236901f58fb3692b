#!/usr/bin/env bash
# System packages on Debian/Ubuntu, installed with apt-get (sudo when not root); skips what is there.
#   (no option)  everything the tests need: the app's packages plus headless Chromium (browser tests)
#                and PostgreSQL with PostGIS (the PostGIS backend's tests start a throwaway server)
#   --app        only what the app needs: Pango/HarfBuzz for WeasyPrint (printed route sheets) and a
#                CJK font (Chinese text in the sheets)
set -euo pipefail
packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk)
[ "${1:-}" = "--app" ] || packages+=(chromium chromium-driver postgresql)
need=()
for pkg in "${packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
# PostGIS for the server's own major version (postgresql-15-postgis-3 on Debian 12)
if [ "${1:-}" != "--app" ]; then
  major=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -1)
  if [ -n "$major" ] && ! dpkg -s "postgresql-$major-postgis-3" >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "postgresql-$major-postgis-3"
  fi
fi

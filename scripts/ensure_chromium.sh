#!/usr/bin/env bash
# Headless Chromium and its WebDriver for the dashboard browser test, from Debian's packages.
# Idempotent: does nothing when both are already installed. Prints the chromium binary path.
set -euo pipefail

if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
  command -v chromium
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "ensure_chromium: chromium/chromedriver missing and not root: apt-get install chromium chromium-driver" >&2
  exit 1
fi
# Serialise concurrent callers (several test processes may start at once).
exec 9>/tmp/signalflow-ensure-chromium.lock
flock 9
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
fi
command -v chromium

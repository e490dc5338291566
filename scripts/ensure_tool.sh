#!/usr/bin/env bash
# Idempotently install a Debian package that ops tests need, when its command is missing:
#   scripts/ensure_tool.sh prometheus        -> /usr/bin/prometheus (Debian's `prometheus`)
#   scripts/ensure_tool.sh docker-compose    -> /usr/bin/docker-compose (Debian's `docker-compose`)
# Fast when already installed (one `command -v`). Serialised with flock so parallel test sessions
# do not race apt. Prints the command's path on stdout; progress goes to stderr.
set -euo pipefail

tool="${1:?usage: $0 prometheus|docker-compose}"
case "$tool" in
  prometheus) package=prometheus ;;
  docker-compose) package=docker-compose ;;
  *) echo "ensure_tool: unknown tool $tool (prometheus or docker-compose)" >&2; exit 2 ;;
esac

if path="$(command -v "$tool")"; then echo "$path"; exit 0; fi

if [ "$(id -u)" -ne 0 ]; then
  echo "ensure_tool: $tool is missing and installing it needs root: apt-get install $package" >&2
  exit 1
fi

exec 9>/tmp/signalflow-apt.lock
flock 9
if ! command -v "$tool" >/dev/null; then
  echo "ensure_tool: installing Debian package $package" >&2
  # Refresh the index only when it is older than a day (or missing) to keep repeat runs fast.
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null | head -1)" ]; then
    apt-get update -qq >&2
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$package" >&2
fi
command -v "$tool"

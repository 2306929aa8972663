#!/usr/bin/env bash
# The system packages `make test` needs (Debian 12 names): installed when they are missing and this
# runs as root or with password-less sudo; otherwise one line says what to install.
set -euo pipefail

need=()
[ -x /usr/bin/chromium ] || need+=(chromium)  # the tests drive /usr/bin/chromium with Playwright
[ -x /usr/bin/firefox-esr ] || need+=(firefox-esr)  # driven by puppeteer-core on Node.js (tests/firefox)
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
command -v turnserver >/dev/null || need+=(coturn)  # a real TURN server for the relay tests
command -v caddy >/dev/null || need+=(caddy)  # the HTTPS proxy of docker/compose.yml (tests/integration/test_caddy_proxy.py)
command -v redis-server >/dev/null || need+=(redis-server)
command -v gcc >/dev/null || need+=(gcc libc6-dev)  # the forwarder's C loop
python3 -c "import sysconfig, os; assert os.path.exists(os.path.join(sysconfig.get_paths()['include'], 'Python.h'))" \
  2>/dev/null || need+=(python3-dev)
python3 -c "import venv, ensurepip" 2>/dev/null || need+=(python3-venv)
[ ${#need[@]} -eq 0 ] && exit 0

if command -v apt-get >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    as_root=(sudo)
  fi
  if [ -n "${as_root+set}" ]; then
    echo "installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    "${as_root[@]}" apt-get update -qq
    "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}"
    exit 0
  fi
fi
echo "make test needs these packages first: apt-get install ${need[*]}" >&2
exit 1

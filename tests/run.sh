#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian machine, then run it.
# Usage: bash tests/run.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

# Real components the integration tests run against (loopback only).
apt_packages=()
command -v docker-registry >/dev/null 2>&1 || apt_packages+=(docker-registry)
command -v openssl >/dev/null 2>&1 || apt_packages+=(openssl)
command -v containerd >/dev/null 2>&1 || apt_packages+=(containerd)
command -v runc >/dev/null 2>&1 || apt_packages+=(runc)
command -v curl >/dev/null 2>&1 || apt_packages+=(curl)
command -v wget >/dev/null 2>&1 || apt_packages+=(wget)
if [ ${#apt_packages[@]} -gt 0 ]; then
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
fi

# The suite skips tests whose component is missing; here, a missing component is an error instead.
for tool in docker-registry openssl containerd ctr; do
    command -v "$tool" >/dev/null 2>&1 || { echo "tests/run.sh: $tool is still missing after apt-get" >&2; exit 1; }
done

python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e . -r tests/requirements.txt
exec .venv/bin/python -m pytest "$@"

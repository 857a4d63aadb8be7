#!/usr/bin/env bash
# Prepares a fresh Debian/Ubuntu machine (as root, or with sudo) for csvagent's main job and tests:
# system packages, the Docker daemon, Xvfb for the desktop-app test, the test model, and the
# sandbox image (built offline: debootstrap + PyPI wheels, no container registry needed).
# Idempotent: rerunning skips what is already there. Writes .cache/env with the variables the
# tests need (sourced by scripts/test.sh).
#
# Usage: scripts/setup.sh [--for-tests]
#   --for-tests  compile the workspace as `cargo test` does (dev-dependency features unified) and
#                build the image with that binary, so that scripts/test.sh reuses every artifact
#                instead of compiling the dependency tree a second time (half the disk and time).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
for_tests=0
for arg in "$@"; do
  case "$arg" in
    --for-tests) for_tests=1 ;;
    *) echo "setup.sh: unknown argument \`$arg\` (valid: --for-tests)" >&2; exit 2 ;;
  esac
done
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

echo "==> system packages"
export DEBIAN_FRONTEND=noninteractive
pkgs=(docker.io debootstrap ca-certificates python3-pip xvfb xauth
      libwebkit2gtk-4.1-dev libgtk-3-dev libayatana-appindicator3-dev librsvg2-dev
      libsoup-3.0-dev libjavascriptcoregtk-4.1-dev webkit2gtk-driver pkg-config libssl-dev)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

echo "==> Docker daemon"
if ! docker info >/dev/null 2>&1; then
  $SUDO sh -c 'nohup dockerd > /var/log/csvagent-dockerd.log 2>&1 &'
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { echo "dockerd did not start; see /var/log/csvagent-dockerd.log" >&2; exit 1; }
fi

echo "==> Xvfb"
mkdir -p .cache
if ! pgrep -x Xvfb >/dev/null 2>&1; then
  nohup Xvfb :99 -screen 0 1600x1000x24 > .cache/xvfb.log 2>&1 &
  sleep 1
fi

echo "==> test model"
scripts/fetch-test-model.sh

echo "==> tauri-driver"
if ! command -v tauri-driver >/dev/null 2>&1; then
  cargo install --locked tauri-driver --version 2.1.0 >/dev/null
fi

echo "==> sandbox image"
if [ "$for_tests" -eq 1 ]; then
  cargo test --workspace --locked --no-run
  target_dir="${CARGO_TARGET_DIR:-$(cargo metadata --format-version 1 --no-deps --locked | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')}"
  "$target_dir/debug/csvagent" sandbox build --offline
else
  cargo run --quiet --locked -p csvagent -- sandbox build --offline
fi

cat > .cache/env <<ENV
export DISPLAY=:99
export CSVAGENT_TEST_MODEL="$root/.cache/models/SmolLM2-135M-Instruct.Q4_1.gguf"
ENV
echo "==> ready"

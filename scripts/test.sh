#!/usr/bin/env bash
# The test command: formatting, lints, then every test of the workspace (Docker, local-model and
# desktop-app tests included). Run scripts/setup.sh once first on a fresh machine.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
if [ -f .cache/env ]; then . .cache/env; fi
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked --no-fail-fast

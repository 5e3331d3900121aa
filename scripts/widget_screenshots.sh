#!/usr/bin/env bash
# Retake docs/widget-desktop.png, docs/widget-360.png and docs/widget-640x400.png (200% zoom) from the real demo
# page: the browser tests that take them mid-conversation, run against the real stack, writing into docs/
# instead of a temporary folder.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure_chromium.sh
WIDGET_SCREENSHOTS_DIR="$PWD/docs" RASA_TELEMETRY_ENABLED=false PYTHONPATH="$PWD" \
  .venv/bin/python -m pytest -q tests/e2e/test_widget_e2e.py -k "screening or reload or 200_percent"

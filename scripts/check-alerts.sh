#!/usr/bin/env bash
# Checks trashd's Prometheus alert rules: their syntax (promtool check rules)
# and their behaviour on input series (promtool test rules: each alert fires
# on one case and stays quiet on another). Needs no server.
set -euo pipefail
cd "$(dirname "$0")/.."

promtool=$(scripts/promtool.sh)
"$promtool" check rules ops/prometheus/alerts.yml
# promtool resolves rule_files relative to the test file.
"$promtool" test rules ops/prometheus/alerts_test.yml

#!/usr/bin/env bash
# Runs every test bgplet has: formatting and lints, unit and property
# tests, and the end-to-end tests in network namespaces against real
# BIRD, GoBGP and FRR. Needs root (namespaces, packages).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh

echo "== cargo fmt --check"
cargo fmt --all --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== build (the e2e tests start the release-less debug binary)"
cargo build --workspace --all-targets --locked

echo "== tests"
cargo nextest run --workspace --locked --no-fail-fast "$@"

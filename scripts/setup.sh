#!/usr/bin/env bash
# Installs everything bgplet's build, tests and demo need on a fresh
# Debian 12 machine. Idempotent: re-running only checks.
set -euo pipefail

packages=(bird2 gobgpd frr exabgp iproute2 iputils-ping tcpdump)

need_root() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup: installing Debian packages needs root (try sudo)" >&2
        exit 1
    fi
}

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
        || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    need_root
    echo "setup: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The Debian packages enable their daemons as system services; the lab
# and tests start their own copies inside network namespaces, so the
# host-wide ones must not hold port 179 or FRR's state directories.
for svc in bird frr gobgpd exabgp; do
    if systemctl is-active --quiet "$svc" 2>/dev/null; then
        systemctl stop "$svc" || true
        systemctl disable "$svc" >/dev/null 2>&1 || true
    fi
done

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
    echo "setup: adding the wasm32-wasip2 target"
    rustup target add wasm32-wasip2
fi

if ! cargo nextest --version >/dev/null 2>&1; then
    echo "setup: installing cargo-nextest"
    cargo install cargo-nextest --locked
fi
# Offline Kubernetes OpenAPI schemas for the deploy/ manifest tests.
if ! command -v kubernetes-validate >/dev/null 2>&1; then
    echo "setup: installing kubernetes-validate"
    python3 -m pip install --quiet kubernetes-validate==1.37.0
fi
# A real Prometheus text-format parser for the /metrics test.
if ! python3 -c "import prometheus_client" >/dev/null 2>&1; then
    echo "setup: installing prometheus-client"
    python3 -m pip install --quiet prometheus-client==0.26.0
fi
echo "setup: ok"

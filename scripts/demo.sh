#!/usr/bin/env bash
# One node and its ToR: runs bgplet as Calico node
# "node1" (examples/tor-peering.yaml) against a real BIRD 2 playing the
# top-of-rack router, each in its own network namespace, shows both
# sides' view of the sessions and routes, then cleans up.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
if [ -z "${BGPLET_BIN:-}" ]; then
    cargo build --release --locked -p bgplet
fi
BGPLET=${BGPLET_BIN:-${CARGO_TARGET_DIR:-target}/release/bgplet}

work=$(mktemp -d /tmp/bgplet-demo.XXXXXX)
node=bltdemo-node1
tor=bltdemo-tor
cleanup() {
    [ -f "$work/bgplet.pid" ] && kill "$(cat "$work/bgplet.pid")" 2>/dev/null || true
    [ -f "$work/bird.pid" ] && kill "$(cat "$work/bird.pid")" 2>/dev/null || true
    ip netns del "$node" 2>/dev/null || true
    ip netns del "$tor" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM
cleanup_stale() { ip netns del "$node" 2>/dev/null || true; ip netns del "$tor" 2>/dev/null || true; }
cleanup_stale

ip netns add "$node"
ip netns add "$tor"
ip -n "$node" link set lo up
ip -n "$tor" link set lo up
ip link add eth0 netns "$node" type veth peer name eth0 netns "$tor"
ip -n "$node" addr add 10.0.0.11/24 dev eth0
ip -n "$node" addr add fd00::11/64 dev eth0 nodad
ip -n "$tor" addr add 10.0.0.1/24 dev eth0
ip -n "$tor" addr add fd00::1/64 dev eth0 nodad
ip -n "$node" link set eth0 up
ip -n "$tor" link set eth0 up

cat > "$work/bird.conf" <<'C'
router id 10.0.0.1;
protocol device { }
protocol static tor_routes4 { ipv4; route 0.0.0.0/0 blackhole; }
protocol static tor_routes6 { ipv6; route ::/0 blackhole; }
template bgp node {
  local as 65000;
  hold time 240;
  connect retry time 2;
  multihop;
}
protocol bgp node1_v4 from node {
  local 10.0.0.1; neighbor 10.0.0.11 as 64512;
  ipv4 { import all; export where proto = "tor_routes4"; add paths on; };
}
protocol bgp node1_v6 from node {
  local fd00::1; neighbor fd00::11 as 64512;
  ipv6 { import all; export where proto = "tor_routes6"; add paths on; };
}
C
ip netns exec "$tor" bird -c "$work/bird.conf" -s "$work/bird.ctl" -P "$work/bird.pid"

ip netns exec "$node" "$BGPLET" run --resources examples/tor-peering.yaml \
    --node node1 --control-socket "$work/bgplet.ctl" --no-fib \
    --bird-socket "$work/node1-bird.ctl" \
    >"$work/bgplet.log" 2>&1 &
echo $! > "$work/bgplet.pid"

echo "waiting for both sessions to reach Established..."
for _ in $(seq 1 60); do
    if [ "$(birdc -s "$work/bird.ctl" show protocols | grep -c Established)" = 2 ]; then
        break
    fi
    sleep 0.5
done
sleep 1

echo; echo "### bgplet status (node1)"
"$BGPLET" status --control-socket "$work/bgplet.ctl"
echo; echo "### bgplet routes (node1): what the ToR sent"
"$BGPLET" routes --control-socket "$work/bgplet.ctl"
echo; echo "### birdc against bgplet's BIRD-compatible socket (what calico-node's probes read)"
birdc -s "$work/node1-bird.ctl" show protocols
echo; echo "### BIRD on the ToR: show protocols"
birdc -s "$work/bird.ctl" show protocols
echo; echo "### BIRD on the ToR: what node1 announced"
birdc -s "$work/bird.ctl" show route all protocol node1_v4
birdc -s "$work/bird.ctl" show route all protocol node1_v6
echo; echo "### bgplet log"
cat "$work/bgplet.log"

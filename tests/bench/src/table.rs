//! A synthetic, Internet-like IPv4 table, deterministic for a seed, and
//! its pre-encoded UPDATE stream.
//!
//! Shape (docs/benchmarks.md, perf-anchors.md section 8): prefix lengths
//! dominated by /24, public origin ASes drawn with a Zipf-like skew,
//! paths through a few transit ASes, some communities and MEDs, and
//! roughly one attribute set per three prefixes, so attribute interning
//! and UPDATE packing see a realistic load.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use anyhow::Result;
use bgplet_wire::{
    AfiSafi, AsPath, Community, Ipv4Prefix, NextHop, Nlri, Origin,
    PathAttributes, SessionContext, encode_announcements,
};

/// Share of each prefix length, in per mille (sums to 1000).
const LENGTHS: &[(u8, u32)] = &[
    (24, 580),
    (23, 95),
    (22, 115),
    (21, 45),
    (20, 45),
    (19, 35),
    (18, 20),
    (17, 15),
    (16, 35),
    (15, 5),
    (14, 4),
    (13, 3),
    (12, 2),
    (11, 1),
];

/// Large transit networks that appear near the start of paths.
const TRANSIT: &[u32] = &[
    174, 1299, 2914, 3257, 3356, 3491, 6453, 6461, 6762, 6939, 7018, 12956,
];

/// splitmix64: small, fast and the same on every platform.
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Zipf-like in `0..n`: small indexes are much more likely.
    fn skewed(&mut self, n: u64) -> u64 {
        let u = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        // Inverse of a power-law CDF; exponent 3 gives a heavy head.
        ((u * u * u) * n as f64) as u64 % n
    }
}

/// A public 4-octet AS number, never private or reserved, so no path can
/// contain the lab's private ASes and be dropped as a loop.
fn public_asn(rng: &mut Rng) -> u32 {
    loop {
        let x = 1000 + rng.below(400_000) as u32;
        let private = (64496..=131071).contains(&x) || x == 23456;
        if !private {
            return x;
        }
    }
}

fn prefix_length(rng: &mut Rng) -> u8 {
    let mut r = rng.below(1000) as u32;
    for &(len, share) in LENGTHS {
        if r < share {
            return len;
        }
        r -= share;
    }
    24
}

/// First octets that never carry generated prefixes: 0, private, CGN,
/// loopback, link-local, the lab's own 10/8 and multicast and above.
fn reserved(first: u32) -> bool {
    matches!(first, 0 | 10 | 100 | 127 | 169 | 172 | 192 | 198) || first >= 224
}

/// The generated table: attribute sets and the prefixes using each.
pub struct Table {
    /// `(attributes, prefixes)`; NEXT_HOP is filled in at encoding.
    pub groups: Vec<(PathAttributes, Vec<Nlri>)>,
}

impl Table {
    /// `n` distinct prefixes as sent by a peer in `peer_as`, which is the
    /// first AS of every path (eBGP, RFC 4271 6.3).
    pub fn generate(n: usize, seed: u64, peer_as: u32) -> Table {
        let mut rng = Rng::new(seed);
        let mut seen = HashSet::with_capacity(n);
        let sets = (n / 3).max(1);
        let mut groups: Vec<Vec<Nlri>> = vec![Vec::new(); sets];
        while seen.len() < n {
            let len = prefix_length(&mut rng);
            let addr = rng.next_u64() as u32 & (u32::MAX << (32 - len));
            if reserved(addr >> 24) || !seen.insert((addr, len)) {
                continue;
            }
            let Ok(p) = Ipv4Prefix::new(Ipv4Addr::from(addr), len) else {
                continue;
            };
            let set = rng.below(sets as u64) as usize;
            groups[set].push(Nlri::new(p));
        }
        let origins: Vec<u32> = (0..(sets / 4).max(1))
            .map(|_| public_asn(&mut rng))
            .collect();
        let groups = groups
            .into_iter()
            .filter(|g| !g.is_empty())
            .map(|g| (attributes(&mut rng, &origins, peer_as), g))
            .collect();
        Table { groups }
    }

    /// The whole table as back-to-back UPDATE messages for a 4-octet-AS
    /// eBGP session, packed as full as 4096-octet messages allow.
    pub fn encode(&self, next_hop: Ipv4Addr) -> Result<(Vec<u8>, usize)> {
        let ctx = SessionContext {
            four_octet_as: true,
            ..SessionContext::default()
        };
        let mut msgs = Vec::new();
        for (attrs, nlri) in &self.groups {
            encode_announcements(
                attrs,
                AfiSafi::IPV4_UNICAST,
                NextHop::V4(next_hop),
                nlri,
                &ctx,
                &mut msgs,
            )?;
        }
        let count = msgs.len();
        let mut blob = Vec::with_capacity(msgs.iter().map(|m| m.len()).sum());
        for m in msgs {
            blob.extend_from_slice(&m);
        }
        Ok((blob, count))
    }
}

fn attributes(rng: &mut Rng, origins: &[u32], peer_as: u32) -> PathAttributes {
    let origin = origins[rng.skewed(origins.len() as u64) as usize];
    let mut path = vec![peer_as];
    for _ in 0..1 + rng.below(2) {
        path.push(TRANSIT[rng.below(TRANSIT.len() as u64) as usize]);
    }
    for _ in 0..rng.below(4) {
        path.push(public_asn(rng));
    }
    path.push(origin);
    if rng.below(10) == 0 {
        // Prepending, as origins do for traffic engineering.
        for _ in 0..1 + rng.below(3) {
            path.push(origin);
        }
    }
    let communities: Vec<Community> = path
        .iter()
        .take(rng.below(4) as usize)
        .map(|asn| Community(((asn & 0xFFFF) << 16) | rng.below(65535) as u32))
        .collect();
    let med = match rng.below(4) {
        0 => None,
        k => Some([0, 10, 100][k as usize - 1]),
    };
    PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::sequence(path)),
        med,
        communities: (!communities.is_empty()).then_some(communities),
        ..PathAttributes::default()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn same_seed_gives_the_same_bytes() {
        let a = Table::generate(2000, 7, 65001).encode([10, 2, 0, 2].into());
        let b = Table::generate(2000, 7, 65001).encode([10, 2, 0, 2].into());
        assert_eq!(a.unwrap(), b.unwrap());
    }

    #[test]
    fn table_is_mostly_slash_24_with_about_one_set_per_three_prefixes() {
        let t = Table::generate(30_000, 1, 65001);
        let all: Vec<&Nlri> = t.groups.iter().flat_map(|g| &g.1).collect();
        assert_eq!(all.len(), 30_000);
        let s24 = all.iter().filter(|n| n.prefix.len() == 24).count();
        assert!((0.5..0.65).contains(&(s24 as f64 / 30_000.0)));
        let sets = t.groups.len();
        assert!((8_000..=10_000).contains(&sets), "{sets} sets");
    }
}

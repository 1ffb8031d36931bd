//! The RIB's side of the packed plugin ABI (docs/plugin-abi.md).
//!
//! Attribute sets are written to words straight from the wire types
//! rather than through `bgplet_plugin_abi::AttrSet`, which would copy
//! every list once more per batch; a test checks the words against the
//! ABI crate's parser. Edits are applied to the wire types for the same
//! reason.

use crate::attrs::Map;
use std::net::IpAddr;
use std::sync::Arc;

use bgplet_plugin_abi::{Edit, RawAttributes, Route, SourceFlags};
use bgplet_wire::attribute::{
    AsPath, Community, LargeCommunity, Origin, SegmentKind, code,
};
use bgplet_wire::{NextHop, Prefix};

use crate::attrs::AttrSet;

const F_MED: u32 = 1;
const F_LOCAL_PREF: u32 = 1 << 1;
const F_ATOMIC: u32 = 1 << 2;
const F_ORIGINATOR: u32 = 1 << 3;
const F_NH_V6: u32 = 1 << 4;
const F_NH: u32 = 1 << 5;

/// Appends one set of the attribute table.
pub(crate) fn encode_set(set: &AttrSet, out: &mut Vec<u32>) {
    let a = &set.attrs;
    let start = out.len();
    let mut flags = 0;
    flags |= if a.med.is_some() { F_MED } else { 0 };
    flags |= if a.local_pref.is_some() {
        F_LOCAL_PREF
    } else {
        0
    };
    flags |= if a.atomic_aggregate { F_ATOMIC } else { 0 };
    flags |= if a.originator_id.is_some() {
        F_ORIGINATOR
    } else {
        0
    };
    let nh = match set.next_hop {
        Some(NextHop::V4(ip)) => {
            flags |= F_NH;
            [u32::from(ip), 0, 0, 0]
        }
        Some(NextHop::V6 { global, .. }) => {
            flags |= F_NH | F_NH_V6;
            bgplet_plugin_abi::ip_to_words(IpAddr::V6(global))
        }
        None => [0; 4],
    };
    out.extend_from_slice(&[
        0,
        flags,
        a.origin.map_or(3, |o| u32::from(o.to_wire())),
        a.med.unwrap_or(0),
        a.local_pref.unwrap_or(0),
        a.originator_id.map_or(0, u32::from),
    ]);
    out.extend_from_slice(&nh);
    match &a.as_path {
        Some(path) => {
            out.push(len32(path.segments.len()));
            for s in &path.segments {
                out.push(u32::from(s.kind.to_wire()));
                out.push(len32(s.asns.len()));
                out.extend_from_slice(&s.asns);
            }
        }
        None => out.push(0),
    }
    let communities = a.communities.as_deref().unwrap_or_default();
    out.push(len32(communities.len()));
    out.extend(communities.iter().map(|c| c.0));
    let large = a.large_communities.as_deref().unwrap_or_default();
    out.push(len32(large.len()));
    for l in large {
        out.extend_from_slice(&[
            l.global_admin,
            l.local_data_1,
            l.local_data_2,
        ]);
    }
    let ext = a.ext_communities.as_deref().unwrap_or_default();
    out.push(len32(ext.len()));
    for e in ext {
        let v = u64::from_be_bytes(e.0);
        out.extend_from_slice(&[(v >> 32) as u32, v as u32]);
    }
    let clusters = a.cluster_list.as_deref().unwrap_or_default();
    out.push(len32(clusters.len()));
    out.extend(clusters.iter().map(|&c| u32::from(c)));
    out[start] = len32(out.len() - start);
}

/// Lengths come from decoded messages, far below `u32::MAX`.
fn len32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Appends one route row (stride 7).
pub(crate) fn encode_route(
    attr: u32,
    prefix: &Prefix,
    source: SourceFlags,
    path_id: u32,
    out: &mut Vec<u32>,
) {
    Route {
        attr,
        prefix: prefix.addr(),
        len: prefix.len(),
        source,
        path_id,
    }
    .encode(out);
}

/// A batch's attribute table: distinct sets (by handle) and their words.
#[derive(Default)]
pub(crate) struct Table {
    pub words: Vec<u32>,
    pub sets: Vec<Arc<AttrSet>>,
    index: Map<*const AttrSet, u32>,
}

impl Table {
    /// The index of `set`, appending it on first use. Small tables (most
    /// batches carry a handful of sets) are scanned; the map is built
    /// only past [`Table::SCAN`] sets.
    pub fn index(&mut self, set: &Arc<AttrSet>) -> u32 {
        let key = Arc::as_ptr(set);
        if self.sets.len() <= Self::SCAN {
            if let Some(i) =
                self.sets.iter().position(|s| Arc::as_ptr(s) == key)
            {
                return len32(i);
            }
        } else if let Some(&i) = self.index.get(&key) {
            return i;
        }
        let i = len32(self.sets.len());
        if self.words.capacity() == 0 {
            self.words.reserve(32);
        }
        encode_set(set, &mut self.words);
        self.sets.push(set.clone());
        if self.sets.len() > Self::SCAN {
            if self.index.is_empty() {
                for (j, s) in self.sets.iter().enumerate() {
                    self.index.insert(Arc::as_ptr(s), len32(j));
                }
            } else {
                self.index.insert(key, i);
            }
        }
        i
    }

    /// Sets looked up by a linear scan rather than the map.
    const SCAN: usize = 8;
}

impl RawAttributes for Table {
    /// The raw value of attributes the table does not carry.
    fn attribute(&self, set: u32, type_code: u8) -> Option<Vec<u8>> {
        let a = &self.sets.get(usize::try_from(set).ok()?)?.attrs;
        match type_code {
            code::ATOMIC_AGGREGATE => a.atomic_aggregate.then(Vec::new),
            code::AGGREGATOR => a.aggregator.map(|g| {
                let mut v = g.asn.to_be_bytes().to_vec();
                v.extend_from_slice(&g.address.octets());
                v
            }),
            _ => a
                .unknown
                .iter()
                .find(|u| u.code == type_code)
                .map(|u| u.value.to_vec()),
        }
    }
}

/// Applies one edit. [`Edit::NextHopSelf`] is the caller's business
/// (it needs the session's address) and is ignored here.
pub(crate) fn apply_edit(set: &mut AttrSet, edit: &Edit) {
    let a = &mut set.attrs;
    match *edit {
        Edit::SetLocalPref(v) => a.local_pref = Some(v),
        Edit::SetMed(v) => a.med = Some(v),
        Edit::RemoveMed => a.med = None,
        Edit::AddCommunity(c) => {
            let list = a.communities.get_or_insert_default();
            if !list.contains(&Community(c)) {
                list.push(Community(c));
            }
        }
        Edit::RemoveCommunity(c) => {
            if let Some(list) = &mut a.communities {
                list.retain(|x| x.0 != c);
            }
        }
        Edit::RemoveAllCommunities => a.communities = None,
        Edit::AddLargeCommunity(c) => {
            let l = large(c);
            let list = a.large_communities.get_or_insert_default();
            if !list.contains(&l) {
                list.push(l);
            }
        }
        Edit::RemoveLargeCommunity(c) => {
            if let Some(list) = &mut a.large_communities {
                list.retain(|x| *x != large(c));
            }
        }
        Edit::Prepend { asn, count } => {
            let path = a.as_path.get_or_insert_with(AsPath::default);
            for _ in 0..count {
                path.prepend(asn);
            }
        }
        Edit::SetNextHop(ip) => set.next_hop = Some(next_hop(ip)),
        Edit::SetOrigin(o) => {
            a.origin = Origin::from_wire(u8::try_from(o.code()).unwrap_or(2));
        }
        Edit::NextHopSelf => {}
    }
    normalize(set);
}

/// Empty lists become absent, so that equal sets intern equal.
pub(crate) fn normalize(set: &mut AttrSet) {
    let a = &mut set.attrs;
    if a.communities.as_ref().is_some_and(Vec::is_empty) {
        a.communities = None;
    }
    if a.large_communities.as_ref().is_some_and(Vec::is_empty) {
        a.large_communities = None;
    }
    if a.cluster_list.as_ref().is_some_and(Vec::is_empty) {
        a.cluster_list = None;
    }
}

fn large(c: [u32; 3]) -> LargeCommunity {
    LargeCommunity {
        global_admin: c[0],
        local_data_1: c[1],
        local_data_2: c[2],
    }
}

/// A next hop for an address (IPv6 without a link-local part).
pub(crate) fn next_hop(ip: IpAddr) -> NextHop {
    match ip {
        IpAddr::V4(v4) => NextHop::V4(v4),
        IpAddr::V6(global) => NextHop::V6 {
            global,
            link_local: None,
        },
    }
}

/// The AS_PATH length for selection (RFC 4271 9.1.2.2 a).
pub(crate) fn path_len(a: &AttrSet) -> u32 {
    a.attrs.as_path.as_ref().map_or(0, |p| len32(p.path_len()))
}

/// The neighbour AS: the first AS of a leading AS_SEQUENCE or AS_SET.
pub(crate) fn neighbor_as(a: &AttrSet) -> u32 {
    a.attrs
        .as_path
        .as_ref()
        .and_then(|p| p.segments.first())
        .filter(|s| matches!(s.kind, SegmentKind::Sequence | SegmentKind::Set))
        .and_then(|s| s.asns.first().copied())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use bgplet_plugin_abi::{AttrTable, Segment};
    use bgplet_wire::attribute::ExtCommunity;
    use bgplet_wire::{AsSegment, PathAttributes};

    use super::*;

    #[test]
    fn encoded_sets_parse_with_the_abi_crate_to_the_same_values() {
        let set = AttrSet {
            next_hop: Some(NextHop::V6 {
                global: "2001:db8::1".parse().unwrap(),
                link_local: None,
            }),
            attrs: PathAttributes {
                origin: Some(Origin::Egp),
                as_path: Some(AsPath {
                    segments: vec![
                        AsSegment {
                            kind: SegmentKind::Sequence,
                            asns: vec![65001, 65002],
                        },
                        AsSegment {
                            kind: SegmentKind::Set,
                            asns: vec![7],
                        },
                    ],
                }),
                med: Some(5),
                local_pref: Some(200),
                atomic_aggregate: true,
                communities: Some(vec![Community(0x0001_0002)]),
                originator_id: Some(Ipv4Addr::new(1, 2, 3, 4)),
                cluster_list: Some(vec![Ipv4Addr::new(9, 9, 9, 9)]),
                ext_communities: Some(vec![ExtCommunity::route_target(1, 2)]),
                large_communities: Some(vec![large([1, 2, 3])]),
                ..PathAttributes::default()
            },
        };
        let mut words = Vec::new();
        encode_set(&AttrSet::default(), &mut words);
        encode_set(&set, &mut words);
        let table = AttrTable::parse(&words).unwrap();
        assert_eq!(table.len(), 2);
        let got = table.get(1).unwrap().to_attr_set();
        let want = bgplet_plugin_abi::AttrSet {
            origin: Some(bgplet_plugin_abi::Origin::Egp),
            med: Some(5),
            local_pref: Some(200),
            atomic_aggregate: true,
            originator_id: Some(0x0102_0304),
            next_hop: Some("2001:db8::1".parse().unwrap()),
            as_path: vec![
                Segment {
                    kind: bgplet_plugin_abi::SegmentKind::Sequence,
                    asns: vec![65001, 65002],
                },
                Segment {
                    kind: bgplet_plugin_abi::SegmentKind::Set,
                    asns: vec![7],
                },
            ],
            communities: vec![0x0001_0002],
            large_communities: vec![[1, 2, 3]],
            ext_communities: vec![u64::from_be_bytes(
                ExtCommunity::route_target(1, 2).0,
            )],
            cluster_list: vec![0x0909_0909],
        };
        assert_eq!(got, want);
        assert_eq!(table.get(0).unwrap().origin(), None);
    }

    #[test]
    fn edits_change_the_wire_attributes_and_empty_lists_become_absent() {
        let mut set = AttrSet::default();
        apply_edit(&mut set, &Edit::AddCommunity(7));
        apply_edit(&mut set, &Edit::AddCommunity(7));
        assert_eq!(set.attrs.communities, Some(vec![Community(7)]));
        apply_edit(&mut set, &Edit::RemoveCommunity(7));
        assert_eq!(set.attrs.communities, None);
        apply_edit(&mut set, &Edit::Prepend { asn: 5, count: 2 });
        assert_eq!(set.attrs.as_path, Some(AsPath::sequence([5, 5])));
        apply_edit(&mut set, &Edit::SetNextHop("10.0.0.9".parse().unwrap()));
        assert_eq!(set.next_hop, Some(NextHop::V4(Ipv4Addr::new(10, 0, 0, 9))));
        apply_edit(
            &mut set,
            &Edit::SetOrigin(bgplet_plugin_abi::Origin::Incomplete),
        );
        assert_eq!(set.attrs.origin, Some(Origin::Incomplete));
    }
}

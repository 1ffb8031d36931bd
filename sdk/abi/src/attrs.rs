//! The attribute table (docs/plugin-abi.md, "Attribute table").

use std::net::{IpAddr, Ipv4Addr};

use crate::AbiError;
use crate::ip::{ip_from_words, ip_to_words};

/// Words before the AS_PATH section of a set (length .. next hop).
const HEADER: usize = 10;

const F_MED: u32 = 1;
const F_LOCAL_PREF: u32 = 1 << 1;
const F_ATOMIC: u32 = 1 << 2;
const F_ORIGINATOR: u32 = 1 << 3;
const F_NH_V6: u32 = 1 << 4;
const F_NH: u32 = 1 << 5;
const F_ALL: u32 = (1 << 6) - 1;

/// ORIGIN (RFC 4271 5.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Origin {
    /// IGP (0).
    Igp,
    /// EGP (1).
    Egp,
    /// INCOMPLETE (2).
    Incomplete,
}

impl Origin {
    /// The wire value.
    pub fn code(self) -> u32 {
        match self {
            Self::Igp => 0,
            Self::Egp => 1,
            Self::Incomplete => 2,
        }
    }

    /// The origin for a wire value 0-2.
    pub fn from_code(code: u32) -> Option<Self> {
        match code {
            0 => Some(Self::Igp),
            1 => Some(Self::Egp),
            2 => Some(Self::Incomplete),
            _ => None,
        }
    }
}

/// AS_PATH segment kinds (RFC 4271 4.3, RFC 5065 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum SegmentKind {
    /// AS_SET (1).
    Set,
    /// AS_SEQUENCE (2).
    Sequence,
    /// AS_CONFED_SEQUENCE (3).
    ConfedSequence,
    /// AS_CONFED_SET (4).
    ConfedSet,
}

impl SegmentKind {
    /// The wire value.
    pub fn code(self) -> u32 {
        match self {
            Self::Set => 1,
            Self::Sequence => 2,
            Self::ConfedSequence => 3,
            Self::ConfedSet => 4,
        }
    }

    /// The kind for a wire value 1-4.
    pub fn from_code(code: u32) -> Option<Self> {
        match code {
            1 => Some(Self::Set),
            2 => Some(Self::Sequence),
            3 => Some(Self::ConfedSequence),
            4 => Some(Self::ConfedSet),
            _ => None,
        }
    }
}

/// One AS_PATH segment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Segment {
    /// Segment type.
    pub kind: SegmentKind,
    /// The ASNs, 1-255 of them (RFC 4271 4.3).
    pub asns: Vec<u32>,
}

/// One attribute set, owned. What the packed table carries; anything
/// else is read through the host's `attribute` function.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct AttrSet {
    /// ORIGIN; `None` when absent.
    pub origin: Option<Origin>,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// LOCAL_PREF.
    pub local_pref: Option<u32>,
    /// ATOMIC_AGGREGATE present.
    pub atomic_aggregate: bool,
    /// ORIGINATOR_ID (RFC 4456).
    pub originator_id: Option<u32>,
    /// NEXT_HOP, or the MP_REACH next hop for IPv6.
    pub next_hop: Option<IpAddr>,
    /// AS_PATH segments in order.
    pub as_path: Vec<Segment>,
    /// COMMUNITIES (RFC 1997), `asn << 16 | value`.
    pub communities: Vec<u32>,
    /// LARGE_COMMUNITY values (RFC 8092).
    pub large_communities: Vec<[u32; 3]>,
    /// EXTENDED_COMMUNITIES (RFC 4360), 8 octets big-endian.
    pub ext_communities: Vec<u64>,
    /// CLUSTER_LIST (RFC 4456).
    pub cluster_list: Vec<u32>,
}

impl AttrSet {
    /// Appends this set's words to `out`.
    pub fn encode(&self, out: &mut Vec<u32>) {
        let start = out.len();
        let mut flags = 0;
        if self.med.is_some() {
            flags |= F_MED;
        }
        if self.local_pref.is_some() {
            flags |= F_LOCAL_PREF;
        }
        if self.atomic_aggregate {
            flags |= F_ATOMIC;
        }
        if self.originator_id.is_some() {
            flags |= F_ORIGINATOR;
        }
        match self.next_hop {
            Some(IpAddr::V4(_)) => flags |= F_NH,
            Some(IpAddr::V6(_)) => flags |= F_NH | F_NH_V6,
            None => {}
        }
        out.push(0);
        out.push(flags);
        out.push(self.origin.map_or(3, Origin::code));
        out.push(self.med.unwrap_or(0));
        out.push(self.local_pref.unwrap_or(0));
        out.push(self.originator_id.unwrap_or(0));
        out.extend_from_slice(&self.next_hop.map_or([0; 4], ip_to_words));
        out.push(len32(self.as_path.len()));
        for seg in &self.as_path {
            out.push(seg.kind.code());
            out.push(len32(seg.asns.len()));
            out.extend_from_slice(&seg.asns);
        }
        out.push(len32(self.communities.len()));
        out.extend_from_slice(&self.communities);
        out.push(len32(self.large_communities.len()));
        for lc in &self.large_communities {
            out.extend_from_slice(lc);
        }
        out.push(len32(self.ext_communities.len()));
        for ec in &self.ext_communities {
            out.push((ec >> 32) as u32);
            out.push(*ec as u32);
        }
        out.push(len32(self.cluster_list.len()));
        out.extend_from_slice(&self.cluster_list);
        out[start] = len32(out.len() - start);
    }

    /// AS_PATH length for route selection (RFC 4271 9.1.2.2 a): an
    /// AS_SET counts 1, confederation segments 0 (RFC 5065 5.3).
    pub fn as_path_len(&self) -> u32 {
        path_len(self.as_path.iter().map(|s| (s.kind, s.asns.len())))
    }
}

fn path_len(segments: impl Iterator<Item = (SegmentKind, usize)>) -> u32 {
    segments
        .map(|(kind, n)| match kind {
            SegmentKind::Sequence => len32(n),
            SegmentKind::Set => 1,
            SegmentKind::ConfedSequence | SegmentKind::ConfedSet => 0,
        })
        .fold(0u32, u32::saturating_add)
}

/// Lengths in a batch are bounded by the host's memory; a list longer
/// than `u32::MAX` items cannot be encoded and saturates (the decoder
/// then reports it).
pub(crate) fn len32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Builds an attribute table: appends sets and hands out their indices.
#[derive(Debug, Clone, Default)]
pub struct AttrTableWriter {
    words: Vec<u32>,
    count: u32,
}

impl AttrTableWriter {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends `set` and returns its index.
    pub fn push(&mut self, set: &AttrSet) -> u32 {
        set.encode(&mut self.words);
        self.count += 1;
        self.count - 1
    }

    /// Number of sets so far.
    pub fn len(&self) -> u32 {
        self.count
    }

    /// True when no set has been pushed.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The words so far.
    pub fn words(&self) -> &[u32] {
        &self.words
    }

    /// The finished table.
    pub fn finish(self) -> Vec<u32> {
        self.words
    }

    /// Empties the table, keeping its buffer.
    pub fn clear(&mut self) {
        self.words.clear();
        self.count = 0;
    }
}

/// A validated attribute table borrowing its words.
#[derive(Debug, Clone)]
pub struct AttrTable<'a> {
    words: &'a [u32],
    sets: Vec<Offsets>,
}

/// Where the sections of one set start, relative to the table.
#[derive(Debug, Clone, Copy)]
struct Offsets {
    start: usize,
    segments: usize,
    communities: usize,
    large: usize,
    ext: usize,
    cluster: usize,
    end: usize,
}

impl<'a> AttrTable<'a> {
    /// Validates every set of `words`.
    pub fn parse(words: &'a [u32]) -> Result<Self, AbiError> {
        let mut sets = Vec::new();
        let mut at = 0;
        while at < words.len() {
            let set = sets.len();
            let offsets = parse_set(words, at, set)?;
            at = offsets.end;
            sets.push(offsets);
        }
        Ok(Self { words, sets })
    }

    /// Number of sets.
    pub fn len(&self) -> usize {
        self.sets.len()
    }

    /// True when the table has no set.
    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }

    /// Set `index`, or `None` past the end.
    pub fn get(&self, index: u32) -> Option<AttrView<'a>> {
        let o = *self.sets.get(usize::try_from(index).ok()?)?;
        Some(AttrView {
            words: self.words,
            o,
        })
    }

    /// Every set in order.
    pub fn iter(&self) -> impl Iterator<Item = AttrView<'a>> + '_ {
        self.sets.iter().map(|&o| AttrView {
            words: self.words,
            o,
        })
    }
}

fn parse_set(w: &[u32], start: usize, set: usize) -> Result<Offsets, AbiError> {
    let declared = w[start];
    let avail = w.len() - start;
    let Ok(len) = usize::try_from(declared) else {
        return Err(AbiError::Truncated {
            what: "attribute set",
            at: start,
        });
    };
    if len < HEADER + 5 {
        return Err(AbiError::SetLength {
            set,
            declared,
            needed: 0,
        });
    }
    if len > avail {
        return Err(AbiError::Truncated {
            what: "attribute set",
            at: start,
        });
    }
    let s = &w[start..start + len];
    let flags = s[1];
    let nh_v6 = flags & F_NH_V6 != 0;
    let nh = flags & F_NH != 0;
    if flags & !F_ALL != 0 || (nh_v6 && !nh) {
        return Err(AbiError::Flags { set, flags });
    }
    if s[2] > 3 {
        return Err(AbiError::Origin { set, value: s[2] });
    }
    // Absent values and IPv4 padding are zero, so equal sets have equal
    // words and hosts may deduplicate by words.
    let zero_when = |present: bool, v: u32| present || v == 0;
    let padding_ok = zero_when(flags & F_MED != 0, s[3])
        && zero_when(flags & F_LOCAL_PREF != 0, s[4])
        && zero_when(flags & F_ORIGINATOR != 0, s[5])
        && (nh || s[6] == 0)
        && (nh_v6 || s[7..10].iter().all(|&x| x == 0));
    if !padding_ok {
        return Err(AbiError::Padding {
            what: "attribute set",
            index: set,
        });
    }
    let mut r = Reader {
        s,
        at: HEADER,
        start,
    };
    let segments = r.at;
    let nseg = r.word("AS_PATH segment count")?;
    for _ in 0..nseg {
        let kind = r.word("AS_PATH segment")?;
        let count = r.word("AS_PATH segment")?;
        if SegmentKind::from_code(kind).is_none() || !(1..=255).contains(&count)
        {
            return Err(AbiError::Segment { set, kind, count });
        }
        r.skip(count, 1, "AS_PATH segment")?;
    }
    let communities = r.at;
    let n = r.word("COMMUNITIES count")?;
    r.skip(n, 1, "COMMUNITIES")?;
    let large = r.at;
    let n = r.word("LARGE_COMMUNITY count")?;
    r.skip(n, 3, "LARGE_COMMUNITY")?;
    let ext = r.at;
    let n = r.word("EXTENDED_COMMUNITIES count")?;
    r.skip(n, 2, "EXTENDED_COMMUNITIES")?;
    let cluster = r.at;
    let n = r.word("CLUSTER_LIST count")?;
    r.skip(n, 1, "CLUSTER_LIST")?;
    if r.at != len {
        return Err(AbiError::SetLength {
            set,
            declared,
            needed: r.at,
        });
    }
    Ok(Offsets {
        start,
        segments: start + segments,
        communities: start + communities,
        large: start + large,
        ext: start + ext,
        cluster: start + cluster,
        end: start + len,
    })
}

/// Bounds-checked cursor inside one set.
struct Reader<'a> {
    s: &'a [u32],
    at: usize,
    start: usize,
}

impl Reader<'_> {
    fn word(&mut self, what: &'static str) -> Result<u32, AbiError> {
        let v = *self.s.get(self.at).ok_or(AbiError::Truncated {
            what,
            at: self.start + self.at,
        })?;
        self.at += 1;
        Ok(v)
    }

    fn skip(
        &mut self,
        count: u32,
        stride: usize,
        what: &'static str,
    ) -> Result<(), AbiError> {
        let err = AbiError::Truncated {
            what,
            at: self.start + self.at,
        };
        let n = usize::try_from(count)
            .ok()
            .and_then(|c| c.checked_mul(stride))
            .ok_or(err.clone())?;
        if n > self.s.len() - self.at {
            return Err(err);
        }
        self.at += n;
        Ok(())
    }
}

/// One validated attribute set, read in place.
#[derive(Debug, Clone, Copy)]
pub struct AttrView<'a> {
    words: &'a [u32],
    o: Offsets,
}

impl<'a> AttrView<'a> {
    fn w(&self, i: usize) -> u32 {
        self.words[self.o.start + i]
    }

    fn flag(&self, bit: u32) -> bool {
        self.w(1) & bit != 0
    }

    /// ORIGIN, `None` when absent.
    pub fn origin(&self) -> Option<Origin> {
        Origin::from_code(self.w(2))
    }

    /// MULTI_EXIT_DISC.
    pub fn med(&self) -> Option<u32> {
        self.flag(F_MED).then(|| self.w(3))
    }

    /// LOCAL_PREF.
    pub fn local_pref(&self) -> Option<u32> {
        self.flag(F_LOCAL_PREF).then(|| self.w(4))
    }

    /// ATOMIC_AGGREGATE present.
    pub fn atomic_aggregate(&self) -> bool {
        self.flag(F_ATOMIC)
    }

    /// ORIGINATOR_ID.
    pub fn originator_id(&self) -> Option<u32> {
        self.flag(F_ORIGINATOR).then(|| self.w(5))
    }

    /// The next hop.
    pub fn next_hop(&self) -> Option<IpAddr> {
        if !self.flag(F_NH) {
            return None;
        }
        let words = [self.w(6), self.w(7), self.w(8), self.w(9)];
        Some(if self.flag(F_NH_V6) {
            ip_from_words(6, words)
        } else {
            IpAddr::V4(Ipv4Addr::from(words[0]))
        })
    }

    /// AS_PATH segments in order.
    pub fn segments(&self) -> SegmentIter<'a> {
        let at = self.o.segments;
        SegmentIter {
            words: &self.words[at + 1..self.o.communities],
        }
    }

    /// AS_PATH length for route selection (AS_SET counts 1, confederation
    /// segments 0).
    pub fn as_path_len(&self) -> u32 {
        path_len(self.segments().map(|(k, a)| (k, a.len())))
    }

    /// The first AS of the path (the neighbor AS), if any.
    pub fn first_as(&self) -> Option<u32> {
        self.segments()
            .find(|(k, _)| {
                matches!(k, SegmentKind::Sequence | SegmentKind::Set)
            })
            .and_then(|(_, a)| a.first().copied())
    }

    /// COMMUNITIES.
    pub fn communities(&self) -> &'a [u32] {
        &self.words[self.o.communities + 1..self.o.large]
    }

    /// LARGE_COMMUNITY values.
    pub fn large_communities(
        &self,
    ) -> impl ExactSizeIterator<Item = [u32; 3]> + 'a {
        self.words[self.o.large + 1..self.o.ext]
            .chunks_exact(3)
            .map(|c| [c[0], c[1], c[2]])
    }

    /// EXTENDED_COMMUNITIES.
    pub fn ext_communities(&self) -> impl ExactSizeIterator<Item = u64> + 'a {
        self.words[self.o.ext + 1..self.o.cluster]
            .chunks_exact(2)
            .map(|c| (u64::from(c[0]) << 32) | u64::from(c[1]))
    }

    /// CLUSTER_LIST.
    pub fn cluster_list(&self) -> &'a [u32] {
        &self.words[self.o.cluster + 1..self.o.end]
    }

    /// The words of this set.
    pub fn words(&self) -> &'a [u32] {
        &self.words[self.o.start..self.o.end]
    }

    /// An owned copy.
    pub fn to_attr_set(&self) -> AttrSet {
        AttrSet {
            origin: self.origin(),
            med: self.med(),
            local_pref: self.local_pref(),
            atomic_aggregate: self.atomic_aggregate(),
            originator_id: self.originator_id(),
            next_hop: self.next_hop(),
            as_path: self
                .segments()
                .map(|(kind, asns)| Segment {
                    kind,
                    asns: asns.to_vec(),
                })
                .collect(),
            communities: self.communities().to_vec(),
            large_communities: self.large_communities().collect(),
            ext_communities: self.ext_communities().collect(),
            cluster_list: self.cluster_list().to_vec(),
        }
    }
}

/// AS_PATH segments of a validated set: `(kind, asns)`.
#[derive(Debug, Clone)]
pub struct SegmentIter<'a> {
    words: &'a [u32],
}

impl<'a> Iterator for SegmentIter<'a> {
    type Item = (SegmentKind, &'a [u32]);

    fn next(&mut self) -> Option<Self::Item> {
        let [kind, count, rest @ ..] = self.words else {
            return None;
        };
        let kind = SegmentKind::from_code(*kind)?;
        let n = usize::try_from(*count).ok()?.min(rest.len());
        let (asns, tail) = rest.split_at(n);
        self.words = tail;
        Some((kind, asns))
    }
}

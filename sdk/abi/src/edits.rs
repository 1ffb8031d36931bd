//! Filter results: verdicts and the edit program (docs/plugin-abi.md,
//! "Filter results").

use std::net::IpAddr;

use crate::AbiError;
use crate::attrs::{AttrSet, Origin, Segment, SegmentKind};
use crate::ip::{ip_from_words, ip_to_words};

/// Most ASNs one prepend edit may add.
pub const MAX_PREPEND: u8 = 32;

/// One change to a route's attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Edit {
    /// Opcode 1: set LOCAL_PREF.
    SetLocalPref(u32),
    /// Opcode 2: set MED.
    SetMed(u32),
    /// Opcode 3: remove MED.
    RemoveMed,
    /// Opcode 4: add a standard community (no duplicate).
    AddCommunity(u32),
    /// Opcode 5: remove a standard community.
    RemoveCommunity(u32),
    /// Opcode 6: add a large community (no duplicate).
    AddLargeCommunity([u32; 3]),
    /// Opcode 7: prepend `asn` `count` times (1-32).
    Prepend {
        /// The AS to prepend.
        asn: u32,
        /// How many times.
        count: u8,
    },
    /// Opcode 8: next hop self (export only).
    NextHopSelf,
    /// Opcode 9: set the next hop.
    SetNextHop(IpAddr),
    /// Opcode 10: set ORIGIN.
    SetOrigin(Origin),
    /// Opcode 11: remove every standard community.
    RemoveAllCommunities,
    /// Opcode 12: remove a large community.
    RemoveLargeCommunity([u32; 3]),
}

impl Edit {
    /// The opcode.
    pub fn opcode(&self) -> u32 {
        match self {
            Self::SetLocalPref(_) => 1,
            Self::SetMed(_) => 2,
            Self::RemoveMed => 3,
            Self::AddCommunity(_) => 4,
            Self::RemoveCommunity(_) => 5,
            Self::AddLargeCommunity(_) => 6,
            Self::Prepend { .. } => 7,
            Self::NextHopSelf => 8,
            Self::SetNextHop(_) => 9,
            Self::SetOrigin(_) => 10,
            Self::RemoveAllCommunities => 11,
            Self::RemoveLargeCommunity(_) => 12,
        }
    }

    /// Appends `[route, opcode, operands...]`.
    pub fn encode(&self, route: u32, out: &mut Vec<u32>) {
        out.push(route);
        out.push(self.opcode());
        match *self {
            Self::SetLocalPref(v)
            | Self::SetMed(v)
            | Self::AddCommunity(v)
            | Self::RemoveCommunity(v) => out.push(v),
            Self::AddLargeCommunity(c) | Self::RemoveLargeCommunity(c) => {
                out.extend_from_slice(&c);
            }
            Self::Prepend { asn, count } => {
                out.push(asn);
                out.push(u32::from(count));
            }
            Self::SetNextHop(ip) => {
                out.push(if ip.is_ipv4() { 4 } else { 6 });
                out.extend_from_slice(&ip_to_words(ip));
            }
            Self::SetOrigin(o) => out.push(o.code()),
            Self::RemoveMed
            | Self::NextHopSelf
            | Self::RemoveAllCommunities => {}
        }
    }

    /// Applies the edit to `attrs`. `self_next_hop` is the session's
    /// source address for [`Edit::NextHopSelf`] (left unchanged when
    /// `None`).
    pub fn apply(&self, attrs: &mut AttrSet, self_next_hop: Option<IpAddr>) {
        match *self {
            Self::SetLocalPref(v) => attrs.local_pref = Some(v),
            Self::SetMed(v) => attrs.med = Some(v),
            Self::RemoveMed => attrs.med = None,
            Self::AddCommunity(c) => {
                if !attrs.communities.contains(&c) {
                    attrs.communities.push(c);
                }
            }
            Self::RemoveCommunity(c) => attrs.communities.retain(|&x| x != c),
            Self::AddLargeCommunity(c) => {
                if !attrs.large_communities.contains(&c) {
                    attrs.large_communities.push(c);
                }
            }
            Self::RemoveLargeCommunity(c) => {
                attrs.large_communities.retain(|&x| x != c);
            }
            Self::Prepend { asn, count } => prepend(attrs, asn, count),
            Self::NextHopSelf => {
                if let Some(nh) = self_next_hop {
                    attrs.next_hop = Some(nh);
                }
            }
            Self::SetNextHop(nh) => attrs.next_hop = Some(nh),
            Self::SetOrigin(o) => attrs.origin = Some(o),
            Self::RemoveAllCommunities => attrs.communities.clear(),
        }
    }
}

/// Prepends into a leading AS_SEQUENCE while it has room for 255 ASNs
/// (RFC 4271 5.1.2), else starts a new segment.
fn prepend(attrs: &mut AttrSet, asn: u32, count: u8) {
    for _ in 0..count {
        match attrs.as_path.first_mut() {
            Some(seg)
                if seg.kind == SegmentKind::Sequence
                    && seg.asns.len() < 255 =>
            {
                seg.asns.insert(0, asn);
            }
            _ => attrs.as_path.insert(
                0,
                Segment {
                    kind: SegmentKind::Sequence,
                    asns: vec![asn],
                },
            ),
        }
    }
}

/// Operand words of each opcode (index = opcode).
const OPERANDS: [usize; 13] = [0, 1, 1, 0, 1, 1, 3, 2, 0, 5, 1, 0, 3];

/// One edit of a program with the route it applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EditOp {
    /// Route index in the batch.
    pub route: u32,
    /// The change.
    pub edit: Edit,
}

/// Encodes an edit program.
pub fn encode_edits(ops: &[EditOp]) -> Vec<u32> {
    let mut out = Vec::new();
    for op in ops {
        op.edit.encode(op.route, &mut out);
    }
    out
}

/// A validated edit program borrowing its words.
#[derive(Debug, Clone, Copy)]
pub struct EditProgram<'a> {
    words: &'a [u32],
}

impl<'a> EditProgram<'a> {
    /// Validates `words` against the batch's verdicts: every opcode known,
    /// every operand in range, every route index inside the batch with
    /// verdict 2.
    pub fn parse(words: &'a [u32], verdicts: &[u8]) -> Result<Self, AbiError> {
        let mut at = 0;
        while at < words.len() {
            let (op, next) = decode_op(words, at, verdicts.len())?;
            if verdicts.get(op.route as usize) != Some(&2) {
                return Err(AbiError::EditWithoutVerdict {
                    at,
                    route: op.route,
                });
            }
            at = next;
        }
        Ok(Self { words })
    }

    /// The edits in program order.
    pub fn iter(&self) -> EditIter<'a> {
        EditIter {
            words: self.words,
            at: 0,
        }
    }
}

/// The edits of a validated program.
#[derive(Debug, Clone)]
pub struct EditIter<'a> {
    words: &'a [u32],
    at: usize,
}

impl Iterator for EditIter<'_> {
    type Item = EditOp;

    fn next(&mut self) -> Option<EditOp> {
        let (op, next) = decode_op(self.words, self.at, usize::MAX).ok()?;
        self.at = next;
        Some(op)
    }
}

/// Decodes the edit at `at`; returns it and the offset of the next one.
fn decode_op(
    w: &[u32],
    at: usize,
    routes: usize,
) -> Result<(EditOp, usize), AbiError> {
    let [route, opcode, ..] = w[at.min(w.len())..] else {
        return Err(AbiError::Truncated { what: "edit", at });
    };
    if usize::try_from(route).map_or(true, |r| r >= routes) {
        return Err(AbiError::EditRoute { at, route, routes });
    }
    let n = *OPERANDS
        .get(opcode as usize)
        .filter(|_| opcode != 0)
        .ok_or(AbiError::Opcode { at, opcode })?;
    let o = w
        .get(at + 2..at + 2 + n)
        .ok_or(AbiError::Truncated { what: "edit", at })?;
    let bad = |what| AbiError::Operand { at, opcode, what };
    let edit = match opcode {
        1 => Edit::SetLocalPref(o[0]),
        2 => Edit::SetMed(o[0]),
        3 => Edit::RemoveMed,
        4 => Edit::AddCommunity(o[0]),
        5 => Edit::RemoveCommunity(o[0]),
        6 => Edit::AddLargeCommunity([o[0], o[1], o[2]]),
        7 => {
            let count = u8::try_from(o[1])
                .ok()
                .filter(|c| (1..=MAX_PREPEND).contains(c))
                .ok_or(bad("prepend count"))?;
            Edit::Prepend { asn: o[0], count }
        }
        8 => Edit::NextHopSelf,
        9 => {
            let family = match o[0] {
                4 if o[2..5].iter().all(|&x| x == 0) => 4,
                6 => 6,
                _ => return Err(bad("next hop")),
            };
            Edit::SetNextHop(ip_from_words(family, [o[1], o[2], o[3], o[4]]))
        }
        10 => Edit::SetOrigin(Origin::from_code(o[0]).ok_or(bad("origin"))?),
        11 => Edit::RemoveAllCommunities,
        _ => Edit::RemoveLargeCommunity([o[0], o[1], o[2]]),
    };
    Ok((EditOp { route, edit }, at + 2 + n))
}

/// What a filter decides for one route.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Verdict {
    /// Drop the route (verdict 0).
    Reject,
    /// Keep it unchanged (verdict 1).
    Accept,
    /// Keep it with these edits, applied in order (verdict 2).
    AcceptWith(Vec<Edit>),
}

impl Verdict {
    /// The verdict byte. `AcceptWith` of no edit is 1.
    pub fn code(&self) -> u8 {
        match self {
            Self::Reject => 0,
            Self::Accept => 1,
            Self::AcceptWith(e) if e.is_empty() => 1,
            Self::AcceptWith(_) => 2,
        }
    }

    /// True unless rejected.
    pub fn accepted(&self) -> bool {
        !matches!(self, Self::Reject)
    }

    /// The edits (empty unless `AcceptWith`).
    pub fn edits(&self) -> &[Edit] {
        match self {
            Self::AcceptWith(e) => e,
            _ => &[],
        }
    }
}

/// The answer of an import or export hook, as the WIT record carries it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct FilterResult {
    /// One byte per route: 0 reject, 1 accept, 2 accept with edits.
    pub verdicts: Vec<u8>,
    /// The packed edit program.
    pub edits: Vec<u32>,
}

impl FilterResult {
    /// Every route accepted unchanged.
    pub fn accept_all(routes: usize) -> Self {
        Self {
            verdicts: vec![1; routes],
            edits: Vec::new(),
        }
    }

    /// Packs one verdict per route.
    pub fn encode(verdicts: &[Verdict]) -> Self {
        let mut out = Self {
            verdicts: Vec::with_capacity(verdicts.len()),
            edits: Vec::new(),
        };
        for (i, v) in verdicts.iter().enumerate() {
            out.verdicts.push(v.code());
            for e in v.edits() {
                e.encode(crate::attrs::len32(i), &mut out.edits);
            }
        }
        out
    }

    /// Validates against a batch of `routes` routes and unpacks one
    /// verdict per route with its edits in program order.
    pub fn decode(&self, routes: usize) -> Result<Vec<Verdict>, AbiError> {
        if self.verdicts.len() != routes {
            return Err(AbiError::VerdictCount {
                expected: routes,
                got: self.verdicts.len(),
            });
        }
        let mut out = Vec::with_capacity(routes);
        for (route, &v) in self.verdicts.iter().enumerate() {
            out.push(match v {
                0 => Verdict::Reject,
                1 => Verdict::Accept,
                2 => Verdict::AcceptWith(Vec::new()),
                value => return Err(AbiError::Verdict { route, value }),
            });
        }
        for op in EditProgram::parse(&self.edits, &self.verdicts)?.iter() {
            if let Some(Verdict::AcceptWith(e)) = out.get_mut(op.route as usize)
            {
                e.push(op.edit);
            }
        }
        Ok(out)
    }
}

/// Checks a filter hook's answer for a batch of `routes` routes, the
/// same way in every host. Returns the unpacked verdicts.
pub fn validate_filter_result(
    routes: usize,
    result: &FilterResult,
) -> Result<Vec<Verdict>, AbiError> {
    result.decode(routes)
}

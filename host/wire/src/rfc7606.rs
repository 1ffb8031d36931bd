//! RFC 7606 revised error handling, as types: a [`ReceivedUpdate`] is
//! judged attribute by attribute into an [`UpdateOutcome`], or into an
//! [`UpdateError`] carrying the exact NOTIFICATION for a session reset.

use bytes::Bytes;

use crate::afi::AfiSafi;
use crate::attribute::{
    Aggregator, AsPath, PathAttributes, UnknownAttribute, code,
    decode as parse, flags,
};
use crate::context::SessionContext;
use crate::error::{AttrError, UpdateError};
use crate::notification::update as sub;
use crate::open::AS_TRANS;
use crate::update::{MpReach, MpUnreach, RawAttribute, ReceivedUpdate, Update};

/// What a received UPDATE means once RFC 7606 has been applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// No error: use the UPDATE as it is.
    Clean(Update),
    /// An error that poisons the attributes (RFC 7606 2
    /// "treat-as-withdraw"): every prefix the UPDATE announced is moved
    /// to its withdrawals and the attributes are cleared.
    TreatAsWithdraw {
        /// The withdrawals, including the prefixes that were announced.
        update: Update,
        /// What was wrong, one entry per attribute.
        errors: Vec<AttrError>,
    },
    /// Only harmless attributes were wrong (RFC 7606 2 "attribute
    /// discard"): they were dropped and the rest is usable.
    AttributeDiscard {
        /// The UPDATE without the discarded attributes.
        update: Update,
        /// What was dropped and why.
        errors: Vec<AttrError>,
    },
}

impl UpdateOutcome {
    /// The UPDATE to act on.
    pub fn update(&self) -> &Update {
        match self {
            Self::Clean(u)
            | Self::TreatAsWithdraw { update: u, .. }
            | Self::AttributeDiscard { update: u, .. } => u,
        }
    }

    /// The UPDATE to act on, by value.
    pub fn into_update(self) -> Update {
        match self {
            Self::Clean(u)
            | Self::TreatAsWithdraw { update: u, .. }
            | Self::AttributeDiscard { update: u, .. } => u,
        }
    }

    /// The errors found (empty when clean).
    pub fn errors(&self) -> &[AttrError] {
        match self {
            Self::Clean(_) => &[],
            Self::TreatAsWithdraw { errors, .. }
            | Self::AttributeDiscard { errors, .. } => errors,
        }
    }
}

impl ReceivedUpdate<'_> {
    /// Applies RFC 7606 (section 7 per attribute) and builds the UPDATE.
    pub fn validate(
        self,
        ctx: &SessionContext,
    ) -> Result<UpdateOutcome, UpdateError> {
        let mut v = Validator {
            ctx,
            classic_nlri: !self.nlri.is_empty(),
            attrs: PathAttributes::default(),
            mp_reach: None,
            mp_unreach: None,
            as4_path: None,
            as4_aggregator: None,
            errors: Vec::new(),
            withdraw: false,
            seen: [0; 4],
        };
        for a in &self.attributes {
            v.attribute(a)?;
        }
        v.merge_as4();
        // Unknown attributes in type-code order, the order the encoder
        // writes them: equal sets then compare (and intern) equal whatever
        // order a peer sent them in.
        v.attrs.unknown.sort_by_key(|u| u.code);
        let mut update = Update {
            withdrawn: self.withdrawn,
            attributes: std::mem::take(&mut v.attrs),
            mp_reach: v.mp_reach.take(),
            mp_unreach: v.mp_unreach.take(),
            nlri: self.nlri,
        };
        v.check_mandatory(&update);
        Ok(if v.withdraw {
            into_withdrawals(&mut update);
            UpdateOutcome::TreatAsWithdraw {
                update,
                errors: v.errors,
            }
        } else if v.errors.is_empty() {
            UpdateOutcome::Clean(update)
        } else {
            UpdateOutcome::AttributeDiscard {
                update,
                errors: v.errors,
            }
        })
    }
}

/// The flag bits (Optional, Transitive) each known attribute must have.
const WELL_KNOWN: u8 = flags::TRANSITIVE;
const OPTIONAL_TRANSITIVE: u8 = flags::OPTIONAL | flags::TRANSITIVE;
const OPTIONAL: u8 = flags::OPTIONAL;

/// What to do about one bad attribute (RFC 7606 section 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Discard,
    Withdraw,
}

struct Validator<'c> {
    ctx: &'c SessionContext,
    classic_nlri: bool,
    attrs: PathAttributes,
    mp_reach: Option<MpReach>,
    mp_unreach: Option<MpUnreach>,
    as4_path: Option<AsPath>,
    as4_aggregator: Option<Aggregator>,
    errors: Vec<AttrError>,
    withdraw: bool,
    seen: [u64; 4],
}

impl Validator<'_> {
    fn attribute(&mut self, a: &RawAttribute<'_>) -> Result<(), UpdateError> {
        let (word, bit) = (usize::from(a.code / 64), 1u64 << (a.code % 64));
        if self.seen[word] & bit != 0 {
            // RFC 7606 3(g): keep the first, except for the MP attributes
            // whose duplicates make the NLRI ambiguous.
            if matches!(a.code, code::MP_REACH_NLRI | code::MP_UNREACH_NLRI) {
                return Err(UpdateError::new(
                    AttrError::new(name(a.code), "appears more than once"),
                    sub::MALFORMED_ATTRIBUTE_LIST,
                    Bytes::new(),
                ));
            }
            self.note(
                Action::Discard,
                name(a.code),
                "duplicate attribute, keeping the first",
            );
            return Ok(());
        }
        self.seen[word] |= bit;

        let four = self.ctx.four_octet_as;
        let ibgp = self.ctx.ibgp;
        let wd = Action::Withdraw;
        let ds = Action::Discard;
        match a.code {
            code::ORIGIN => {
                self.attrs.origin =
                    self.known(a, WELL_KNOWN, wd, parse::origin);
            }
            code::AS_PATH => {
                self.attrs.as_path = self.known(a, WELL_KNOWN, wd, |v| {
                    reject_as_zero(parse::as_path(v, four)?)
                });
            }
            code::NEXT_HOP => {
                // RFC 4760 3: without classic NLRI the NEXT_HOP is to be
                // ignored, so a bad one there is only discarded.
                let act = if self.classic_nlri { wd } else { ds };
                self.attrs.next_hop = self.known(a, WELL_KNOWN, act, |v| {
                    let ip = parse::ipv4(v)?;
                    // RFC 7606 7.3 / RFC 4271 6.3: not a host address.
                    if ip.is_unspecified()
                        || ip.is_multicast()
                        || ip.is_broadcast()
                    {
                        return Err(format!("{ip} is not a valid next hop"));
                    }
                    Ok(ip)
                });
            }
            code::MED => {
                self.attrs.med = self.known(a, OPTIONAL, wd, parse::u32);
            }
            code::LOCAL_PREF if !ibgp => {
                // RFC 7606 7.5: LOCAL_PREF from an external peer.
                self.note(ds, "LOCAL_PREF", "received from an external peer");
            }
            code::LOCAL_PREF => {
                self.attrs.local_pref =
                    self.known(a, WELL_KNOWN, wd, parse::u32);
            }
            code::ATOMIC_AGGREGATE => {
                // RFC 7606 7.6: a bad ATOMIC_AGGREGATE is discarded.
                self.attrs.atomic_aggregate = self
                    .known(a, WELL_KNOWN, ds, |v| {
                        if v.is_empty() {
                            Ok(())
                        } else {
                            Err(format!("length {}, expected 0", v.len()))
                        }
                    })
                    .is_some();
            }
            code::AGGREGATOR => {
                // RFC 7606 7.7: a bad AGGREGATOR is discarded.
                self.attrs.aggregator =
                    self.known(a, OPTIONAL_TRANSITIVE, ds, |v| {
                        aggregator_not_zero(parse::aggregator(v, four)?)
                    });
            }
            code::COMMUNITIES => {
                self.attrs.communities =
                    self.known(a, OPTIONAL_TRANSITIVE, wd, parse::communities);
            }
            code::ORIGINATOR_ID | code::CLUSTER_LIST if !ibgp => {
                // RFC 7606 7.9 and 7.10: reflection attributes from an
                // external peer are discarded.
                self.note(ds, name(a.code), "received from an external peer");
            }
            code::ORIGINATOR_ID => {
                self.attrs.originator_id =
                    self.known(a, OPTIONAL, wd, parse::ipv4);
            }
            code::CLUSTER_LIST => {
                self.attrs.cluster_list =
                    self.known(a, OPTIONAL, wd, parse::cluster_list);
            }
            code::MP_REACH_NLRI => {
                self.mp_reach = self.multiprotocol(a, parse::mp_reach)?;
            }
            code::MP_UNREACH_NLRI => {
                self.mp_unreach = self.multiprotocol(a, parse::mp_unreach)?;
            }
            code::EXTENDED_COMMUNITIES => {
                self.attrs.ext_communities = self.known(
                    a,
                    OPTIONAL_TRANSITIVE,
                    wd,
                    parse::ext_communities,
                );
            }
            // RFC 6793 3: between 4-octet speakers these are meaningless
            // and are ignored.
            code::AS4_PATH | code::AS4_AGGREGATOR if four => {}
            code::AS4_PATH => {
                // RFC 6793 6 / RFC 7606 7.7: a bad AS4_PATH is discarded.
                self.as4_path = self.known(a, OPTIONAL_TRANSITIVE, ds, |v| {
                    let path = reject_as_zero(parse::as_path(v, true)?)?;
                    if path.segments.iter().any(|s| s.kind.is_confed()) {
                        return Err("contains confederation segments".into());
                    }
                    Ok(path)
                });
            }
            code::AS4_AGGREGATOR => {
                self.as4_aggregator =
                    self.known(a, OPTIONAL_TRANSITIVE, ds, |v| {
                        aggregator_not_zero(parse::aggregator(v, true)?)
                    });
            }
            code::LARGE_COMMUNITY => {
                self.attrs.large_communities = self.known(
                    a,
                    OPTIONAL_TRANSITIVE,
                    wd,
                    parse::large_communities,
                );
            }
            _ if a.flags & flags::OPTIONAL == 0 => {
                // RFC 4271 6.3: a well-known attribute we do not know.
                return Err(UpdateError::new(
                    AttrError::new(
                        "path attributes",
                        format!("unrecognized well-known type {}", a.code),
                    ),
                    sub::UNRECOGNIZED_WELL_KNOWN,
                    Bytes::copy_from_slice(a.raw),
                ));
            }
            _ => self.attrs.unknown.push(UnknownAttribute {
                flags: a.flags & !flags::EXTENDED_LENGTH,
                code: a.code,
                value: Bytes::copy_from_slice(a.value),
            }),
        }
        Ok(())
    }

    /// Checks flags, then parses; a failure is noted with `action`.
    /// RFC 7606 3(c): wrong Optional/Transitive bits make the attribute
    /// malformed.
    fn known<T>(
        &mut self,
        a: &RawAttribute<'_>,
        want: u8,
        action: Action,
        parse: impl FnOnce(&[u8]) -> Result<T, String>,
    ) -> Option<T> {
        let got = a.flags & (flags::OPTIONAL | flags::TRANSITIVE);
        let result = if got != want {
            Err(format!("flags {:#04x}, expected {want:#04x}", a.flags))
        } else {
            parse(a.value)
        };
        match result {
            Ok(value) => Some(value),
            Err(reason) => {
                self.note(action, name(a.code), reason);
                None
            }
        }
    }

    /// MP_REACH_NLRI / MP_UNREACH_NLRI: any error resets the session
    /// with 3/9 Optional Attribute Error (RFC 4760 7, RFC 7606 7.11; we do
    /// not implement "AFI/SAFI disable"). Families we do not carry are
    /// discarded.
    fn multiprotocol<T>(
        &mut self,
        a: &RawAttribute<'_>,
        parse: impl FnOnce(&[u8], &SessionContext) -> Result<Option<T>, String>,
    ) -> Result<Option<T>, UpdateError> {
        let attr = name(a.code);
        let got = a.flags & (flags::OPTIONAL | flags::TRANSITIVE);
        let result = if got != OPTIONAL {
            Err(format!("flags {:#04x}, expected {OPTIONAL:#04x}", a.flags))
        } else {
            parse(a.value, self.ctx)
        };
        match result {
            Ok(Some(value)) => Ok(Some(value)),
            Ok(None) => {
                self.note(Action::Discard, attr, "family not carried");
                Ok(None)
            }
            Err(reason) => Err(UpdateError::new(
                AttrError::new(attr, reason),
                sub::OPTIONAL_ATTRIBUTE,
                Bytes::copy_from_slice(a.raw),
            )),
        }
    }

    fn note(
        &mut self,
        action: Action,
        attr: &'static str,
        reason: impl Into<String>,
    ) {
        if action == Action::Withdraw {
            self.withdraw = true;
        }
        self.errors.push(AttrError::new(attr, reason));
    }

    /// RFC 6793 4.2.3: on a 2-octet session, rebuild the real path and
    /// aggregator from AS4_PATH and AS4_AGGREGATOR.
    fn merge_as4(&mut self) {
        let as4_path = self.as4_path.take();
        let as4_aggregator = self.as4_aggregator.take();
        if let Some(agg) = self.attrs.aggregator {
            if agg.asn != u32::from(AS_TRANS) {
                // The aggregator is a 2-octet speaker that dropped our
                // AS4 attributes' context: both are ignored.
                return;
            }
            if let Some(as4) = as4_aggregator {
                self.attrs.aggregator = Some(as4);
            }
        }
        if let (Some(path), Some(as4)) = (&self.attrs.as_path, as4_path) {
            self.attrs.as_path = Some(path.merge_as4(&as4));
        }
    }

    /// RFC 7606 3(d): a missing mandatory attribute is treat-as-withdraw.
    fn check_mandatory(&mut self, update: &Update) {
        if !update.has_announcements() {
            return;
        }
        let a = &update.attributes;
        let mut missing = Vec::new();
        if a.origin.is_none() {
            missing.push(code::ORIGIN);
        }
        if a.as_path.is_none() {
            missing.push(code::AS_PATH);
        }
        if !update.nlri.is_empty() && a.next_hop.is_none() {
            missing.push(code::NEXT_HOP);
        }
        if self.ctx.ibgp && a.local_pref.is_none() {
            missing.push(code::LOCAL_PREF);
        }
        for c in missing {
            let attr = name(c);
            if !self.errors.iter().any(|e| e.attr == attr) {
                self.note(
                    Action::Withdraw,
                    attr,
                    "missing mandatory attribute",
                );
            } else {
                self.withdraw = true;
            }
        }
    }
}

/// Turns an UPDATE into the withdrawal of everything it mentioned.
fn into_withdrawals(u: &mut Update) {
    u.attributes = PathAttributes::default();
    let mut classic = std::mem::take(&mut u.nlri);
    u.withdrawn.append(&mut classic);
    let Some(reach) = u.mp_reach.take() else {
        return;
    };
    match &mut u.mp_unreach {
        Some(un) if un.family == reach.family => {
            un.withdrawn.extend(reach.nlri);
        }
        None => {
            u.mp_unreach = Some(MpUnreach {
                family: reach.family,
                withdrawn: reach.nlri,
            });
        }
        Some(un) => {
            // Two different families: only IPv4 and IPv6 are carried,
            // so the IPv4 one moves to the classic withdrawn field.
            if reach.family == AfiSafi::IPV4_UNICAST {
                u.withdrawn.extend(reach.nlri);
            } else {
                u.withdrawn.append(&mut un.withdrawn);
                *un = MpUnreach {
                    family: reach.family,
                    withdrawn: reach.nlri,
                };
            }
        }
    }
}

/// The RFC name of an attribute type, for error messages.
pub(crate) fn name(c: u8) -> &'static str {
    match c {
        code::ORIGIN => "ORIGIN",
        code::AS_PATH => "AS_PATH",
        code::NEXT_HOP => "NEXT_HOP",
        code::MED => "MULTI_EXIT_DISC",
        code::LOCAL_PREF => "LOCAL_PREF",
        code::ATOMIC_AGGREGATE => "ATOMIC_AGGREGATE",
        code::AGGREGATOR => "AGGREGATOR",
        code::COMMUNITIES => "COMMUNITIES",
        code::ORIGINATOR_ID => "ORIGINATOR_ID",
        code::CLUSTER_LIST => "CLUSTER_LIST",
        code::MP_REACH_NLRI => "MP_REACH_NLRI",
        code::MP_UNREACH_NLRI => "MP_UNREACH_NLRI",
        code::EXTENDED_COMMUNITIES => "EXTENDED_COMMUNITIES",
        code::AS4_PATH => "AS4_PATH",
        code::AS4_AGGREGATOR => "AS4_AGGREGATOR",
        code::LARGE_COMMUNITY => "LARGE_COMMUNITY",
        _ => "unknown attribute",
    }
}

/// RFC 7607 section 2: AS 0 in AS_PATH or AS4_PATH makes the attribute
/// malformed.
fn reject_as_zero(path: AsPath) -> Result<AsPath, String> {
    if path.segments.iter().any(|s| s.asns.contains(&0)) {
        return Err("contains AS 0 (RFC 7607)".into());
    }
    Ok(path)
}

/// RFC 7607 section 2: AS 0 in AGGREGATOR or AS4_AGGREGATOR.
fn aggregator_not_zero(agg: Aggregator) -> Result<Aggregator, String> {
    if agg.asn == 0 {
        return Err("aggregator AS 0 (RFC 7607)".into());
    }
    Ok(agg)
}

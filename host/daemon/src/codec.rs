//! The session's view of the wire codec: decoded messages in the shape
//! the driver and the route store consume, and the few encodings the
//! driver needs.

use bgplet_session::WireParams;
use bgplet_wire::update::NextHop;
use bgplet_wire::{
    AfiSafi, AttrError, DecodeError, Incoming, Message, Nlri, Notification,
    Open, PathAttributes, SessionContext, UpdateOutcome,
};
use bytes::Bytes;

/// A received message, ready for the FSM and the store.
pub enum Received {
    /// OPEN.
    Open(Open),
    /// KEEPALIVE.
    Keepalive,
    /// NOTIFICATION.
    Notification(Notification),
    /// ROUTE-REFRESH for a family.
    RouteRefresh(AfiSafi),
    /// UPDATE after RFC 7606.
    Update(Box<UpdateIn>),
    /// The message is unusable and the session must be reset.
    Error(Rejected),
}

/// Which message kind failed, for the FSM event it becomes.
#[derive(Debug, Clone, Copy)]
pub enum ErrorKind {
    /// Header (event 21).
    Header,
    /// OPEN (event 22).
    Open,
    /// UPDATE or ROUTE-REFRESH (event 28).
    Update,
}

/// A message that ends the session, with the NOTIFICATION to send.
pub struct Rejected {
    /// Which kind of message.
    pub kind: ErrorKind,
    /// The NOTIFICATION to send.
    pub notification: Notification,
    /// What was wrong, naming the field.
    pub reason: String,
}

/// An UPDATE as the store uses it: prefixes to drop, prefixes to add
/// with their next hop, one attribute set.
pub struct UpdateIn {
    /// Withdrawn prefixes (treat-as-withdraw moves announcements here).
    pub withdrawn: Vec<Nlri>,
    /// Announced prefixes grouped by next hop.
    pub announced: Vec<(NextHop, Vec<Nlri>)>,
    /// The shared attributes (MP_REACH/MP_UNREACH excluded).
    pub attributes: PathAttributes,
    /// This UPDATE is an End-of-RIB marker for a family (RFC 4724).
    pub end_of_rib: Option<AfiSafi>,
    /// What RFC 7606 found, naming each attribute.
    pub errors: Vec<AttrError>,
    /// "clean", "treat-as-withdraw" or "attribute-discard".
    pub outcome: &'static str,
}

/// Decodes one framed message with the session's context.
pub fn decode(frame: &[u8], ctx: &SessionContext) -> Received {
    match Message::decode(frame, ctx) {
        Ok(Incoming::Open(open)) => Received::Open(open),
        Ok(Incoming::Keepalive) => Received::Keepalive,
        Ok(Incoming::Notification(n)) => Received::Notification(n),
        Ok(Incoming::RouteRefresh(rr)) => Received::RouteRefresh(rr.family),
        Ok(Incoming::Update(outcome)) => {
            Received::Update(Box::new(update_in(outcome)))
        }
        Err(e) => {
            let kind = match &e {
                DecodeError::Header(_) => ErrorKind::Header,
                DecodeError::Open(_) => ErrorKind::Open,
                DecodeError::Update(_) | DecodeError::RouteRefreshLength(_) => {
                    ErrorKind::Update
                }
            };
            Received::Error(Rejected {
                kind,
                notification: e.notification(),
                reason: e.to_string(),
            })
        }
    }
}

fn update_in(outcome: UpdateOutcome) -> UpdateIn {
    let (label, errors) = match &outcome {
        UpdateOutcome::Clean(_) => ("clean", Vec::new()),
        UpdateOutcome::TreatAsWithdraw { errors, .. } => {
            ("treat-as-withdraw", errors.clone())
        }
        UpdateOutcome::AttributeDiscard { errors, .. } => {
            ("attribute-discard", errors.clone())
        }
    };
    let update = outcome.into_update();
    let end_of_rib = update.end_of_rib_family();
    let mut withdrawn = Vec::new();
    for (_, nlri) in update.withdrawals() {
        withdrawn.extend_from_slice(nlri);
    }
    let announced = update
        .announcements()
        .map(|a| (a.next_hop, a.nlri.to_vec()))
        .collect();
    UpdateIn {
        withdrawn,
        announced,
        attributes: update.attributes,
        end_of_rib,
        errors,
        outcome: label,
    }
}

/// The wire context from the FSM's negotiation result.
pub fn context(p: &WireParams) -> SessionContext {
    SessionContext {
        four_octet_as: p.four_octet_as,
        add_path_rx: p.add_path_receive.iter().copied().collect(),
        add_path_tx: p.add_path_send.iter().copied().collect(),
        extended_message: p.extended_message,
        ibgp: p.ibgp,
    }
}

/// Our OPEN as bytes.
pub fn encode_open(open: &Open) -> Result<Bytes, bgplet_wire::EncodeError> {
    Message::Open(open.clone()).to_bytes(&SessionContext::default())
}

/// A NOTIFICATION as bytes.
pub fn encode_notification(n: &Notification) -> Bytes {
    // A NOTIFICATION whose data overflows the message is cut to fit:
    // the peer still learns the code and subcode.
    Message::Notification(n.clone())
        .to_bytes(&SessionContext::default())
        .unwrap_or_else(|_| {
            Message::Notification(Notification::new(
                n.code,
                n.subcode,
                Bytes::new(),
            ))
            .to_bytes(&SessionContext::default())
            .unwrap_or_default()
        })
}

/// A KEEPALIVE.
pub fn keepalive() -> Bytes {
    static KEEPALIVE: [u8; 19] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0x00, 0x13, 0x04,
    ];
    Bytes::from_static(&KEEPALIVE)
}

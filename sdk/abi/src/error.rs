//! What a malformed batch or answer looks like.

use core::fmt;

/// A word list that does not follow docs/plugin-abi.md. The host treats a
/// malformed answer from a plugin like a trap.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AbiError {
    /// A count or length points past the end of the list.
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Word offset where the read started.
        at: usize,
    },
    /// An attribute set's length word is below the fixed header or does
    /// not match the words its sections use.
    SetLength {
        /// Index of the set.
        set: usize,
        /// The declared length.
        declared: u32,
        /// The length the contents need (0 when the header is too short).
        needed: usize,
    },
    /// Reserved flag bits are set, or the next-hop flags are inconsistent.
    Flags {
        /// Index of the set.
        set: usize,
        /// The flags word.
        flags: u32,
    },
    /// ORIGIN outside 0-3.
    Origin {
        /// Index of the set.
        set: usize,
        /// The value found.
        value: u32,
    },
    /// An AS_PATH segment kind outside 1-4, or an empty or overlong
    /// segment.
    Segment {
        /// Index of the set.
        set: usize,
        /// The kind word.
        kind: u32,
        /// The ASN count.
        count: u32,
    },
    /// A padding word that must be zero is not (IPv4 next hop or prefix).
    Padding {
        /// What was being read.
        what: &'static str,
        /// Index of the set or route.
        index: usize,
    },
    /// The route list is not a multiple of 7 words.
    RouteStride {
        /// Length of the list.
        len: usize,
    },
    /// A route names an attribute set the table does not have.
    AttrIndex {
        /// Route index.
        route: usize,
        /// The set index it names.
        set: u32,
        /// How many sets the table has.
        sets: usize,
    },
    /// A route's family is not 4 or 6, its prefix length is too long for
    /// the family, or reserved bits of word 1 are set.
    RouteHeader {
        /// Route index.
        route: usize,
        /// Word 1 of the route.
        word: u32,
    },
    /// The verdict list does not have one byte per route.
    VerdictCount {
        /// Number of routes.
        expected: usize,
        /// Number of verdicts.
        got: usize,
    },
    /// A verdict byte other than 0, 1, 2.
    Verdict {
        /// Route index.
        route: usize,
        /// The byte.
        value: u8,
    },
    /// An edit opcode outside 1-12.
    Opcode {
        /// Word offset of the edit.
        at: usize,
        /// The opcode.
        opcode: u32,
    },
    /// An edit names a route past the end of the batch.
    EditRoute {
        /// Word offset of the edit.
        at: usize,
        /// The route index.
        route: u32,
        /// Number of routes.
        routes: usize,
    },
    /// An edit targets a route whose verdict is not 2.
    EditWithoutVerdict {
        /// Word offset of the edit.
        at: usize,
        /// The route index.
        route: u32,
    },
    /// An edit operand is out of range.
    Operand {
        /// Word offset of the edit.
        at: usize,
        /// The opcode.
        opcode: u32,
        /// Which operand.
        what: &'static str,
    },
    /// The candidate list does not hold 14 words per counted candidate.
    CandidateCount {
        /// Words the counts call for.
        expected: usize,
        /// Words found.
        got: usize,
    },
    /// An answer list has the wrong length.
    AnswerLength {
        /// Which answer.
        what: &'static str,
        /// Words expected.
        expected: usize,
        /// Words found.
        got: usize,
    },
    /// A selection answer is out of range: best index past the prefix's
    /// candidates, a multipath mask without the best bit, or with bits
    /// for candidates that do not exist.
    Selection {
        /// Prefix index.
        prefix: usize,
        /// The best index.
        best: u32,
        /// The multipath mask.
        mask: u32,
    },
    /// A kernel action outside 0-3.
    KernelAction {
        /// Route index.
        route: usize,
        /// The action word.
        action: u32,
    },
}

impl fmt::Display for AbiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { what, at } => {
                write!(f, "{what} at word {at} runs past the end of the list")
            }
            Self::SetLength {
                set,
                declared,
                needed,
            } => write!(
                f,
                "attribute set {set} declares {declared} words but its \
                 contents need {needed}"
            ),
            Self::Flags { set, flags } => {
                write!(f, "attribute set {set} has invalid flags {flags:#x}")
            }
            Self::Origin { set, value } => {
                write!(f, "attribute set {set} has ORIGIN {value} (0-3)")
            }
            Self::Segment { set, kind, count } => write!(
                f,
                "attribute set {set} has an AS_PATH segment of kind {kind} \
                 with {count} ASNs"
            ),
            Self::Padding { what, index } => {
                write!(f, "{what} {index} has non-zero padding words")
            }
            Self::RouteStride { len } => {
                write!(f, "route list of {len} words is not a multiple of 7")
            }
            Self::AttrIndex { route, set, sets } => {
                write!(f, "route {route} names attribute set {set} of {sets}")
            }
            Self::RouteHeader { route, word } => {
                write!(f, "route {route} has an invalid header word {word:#x}")
            }
            Self::VerdictCount { expected, got } => {
                write!(f, "{got} verdicts for {expected} routes")
            }
            Self::Verdict { route, value } => {
                write!(f, "route {route} has verdict {value} (0-2)")
            }
            Self::Opcode { at, opcode } => {
                write!(f, "edit at word {at} has unknown opcode {opcode}")
            }
            Self::EditRoute { at, route, routes } => {
                write!(f, "edit at word {at} names route {route} of {routes}")
            }
            Self::EditWithoutVerdict { at, route } => write!(
                f,
                "edit at word {at} targets route {route} whose verdict is \
                 not 2"
            ),
            Self::Operand { at, opcode, what } => write!(
                f,
                "edit at word {at} (opcode {opcode}) has an invalid {what}"
            ),
            Self::CandidateCount { expected, got } => write!(
                f,
                "candidate list has {got} words, the counts call for \
                 {expected}"
            ),
            Self::AnswerLength {
                what,
                expected,
                got,
            } => {
                write!(f, "{what} answer has {got} words, expected {expected}")
            }
            Self::Selection { prefix, best, mask } => write!(
                f,
                "selection for prefix {prefix} is invalid (best {best}, \
                 mask {mask:#x})"
            ),
            Self::KernelAction { route, action } => {
                write!(f, "kernel action {action} for route {route} (0-3)")
            }
        }
    }
}

impl std::error::Error for AbiError {}

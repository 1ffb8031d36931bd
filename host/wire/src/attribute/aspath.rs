//! AS_PATH and AS4_PATH (RFC 4271 5.1.2, RFC 5065, RFC 6793).

use std::fmt;

/// The type of an AS_PATH segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SegmentKind {
    /// 1: AS_SET, unordered.
    Set,
    /// 2: AS_SEQUENCE, ordered.
    Sequence,
    /// 3: AS_CONFED_SEQUENCE (RFC 5065).
    ConfedSequence,
    /// 4: AS_CONFED_SET (RFC 5065).
    ConfedSet,
}

impl SegmentKind {
    /// The wire value.
    pub fn to_wire(self) -> u8 {
        match self {
            Self::Set => 1,
            Self::Sequence => 2,
            Self::ConfedSequence => 3,
            Self::ConfedSet => 4,
        }
    }

    /// Parses the wire value.
    pub fn from_wire(value: u8) -> Option<Self> {
        match value {
            1 => Some(Self::Set),
            2 => Some(Self::Sequence),
            3 => Some(Self::ConfedSequence),
            4 => Some(Self::ConfedSet),
            _ => None,
        }
    }

    /// Whether this is a confederation segment.
    pub fn is_confed(self) -> bool {
        matches!(self, Self::ConfedSequence | Self::ConfedSet)
    }
}

/// One AS_PATH segment.
///
/// ```text
/// +--------------+--------------+------------------------------+
/// | type (1)     | count (1)    | count x 2 or 4 octet ASNs    |
/// +--------------+--------------+------------------------------+
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AsSegment {
    /// The segment type.
    pub kind: SegmentKind,
    /// The AS numbers, at most 255 per wire segment (longer ones are
    /// split on encode).
    pub asns: Vec<u32>,
}

/// An AS path, always holding 4-octet AS numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct AsPath {
    /// The segments, first (most recent) first.
    pub segments: Vec<AsSegment>,
}

impl AsPath {
    /// A path of one AS_SEQUENCE; empty input gives the empty path.
    pub fn sequence(asns: impl IntoIterator<Item = u32>) -> Self {
        let asns: Vec<u32> = asns.into_iter().collect();
        if asns.is_empty() {
            return Self::default();
        }
        Self {
            segments: vec![AsSegment {
                kind: SegmentKind::Sequence,
                asns,
            }],
        }
    }

    /// Puts `asn` at the front, as a speaker does when sending to eBGP.
    pub fn prepend(&mut self, asn: u32) {
        match self.segments.first_mut() {
            Some(s)
                if s.kind == SegmentKind::Sequence && s.asns.len() < 255 =>
            {
                s.asns.insert(0, asn);
            }
            _ => self.segments.insert(
                0,
                AsSegment {
                    kind: SegmentKind::Sequence,
                    asns: vec![asn],
                },
            ),
        }
    }

    /// The path length used by best-path selection (RFC 4271 9.1.2.2
    /// and RFC 5065 5.3): a set counts one, confederation segments zero.
    pub fn path_len(&self) -> usize {
        self.segments
            .iter()
            .map(|s| match s.kind {
                SegmentKind::Sequence => s.asns.len(),
                SegmentKind::Set => 1,
                SegmentKind::ConfedSequence | SegmentKind::ConfedSet => 0,
            })
            .sum()
    }

    /// The first AS of the path when it starts with an AS_SEQUENCE
    /// (the neighbour AS for MED comparison).
    pub fn first_as(&self) -> Option<u32> {
        match self.segments.first() {
            Some(s) if s.kind == SegmentKind::Sequence => {
                s.asns.first().copied()
            }
            _ => None,
        }
    }

    /// The AS that originated the route: the last AS of a final
    /// AS_SEQUENCE.
    pub fn origin_as(&self) -> Option<u32> {
        match self.segments.last() {
            Some(s) if s.kind == SegmentKind::Sequence => {
                s.asns.last().copied()
            }
            _ => None,
        }
    }

    /// Whether `asn` appears anywhere in the path (loop detection).
    pub fn contains(&self, asn: u32) -> bool {
        self.segments.iter().any(|s| s.asns.contains(&asn))
    }

    /// Whether any AS number needs 4 octets.
    pub fn has_four_octet(&self) -> bool {
        self.segments
            .iter()
            .any(|s| s.asns.iter().any(|&a| a > u32::from(u16::MAX)))
    }

    /// Merges a received AS4_PATH into this 2-octet AS_PATH (RFC 6793
    /// 4.2.3): if AS_PATH is shorter than AS4_PATH the AS4_PATH is
    /// ignored; otherwise the leading AS_PATH entries that AS4_PATH does
    /// not cover are kept and AS4_PATH supplies the rest.
    pub(crate) fn merge_as4(&self, as4: &AsPath) -> AsPath {
        let n = self.path_len();
        let m = as4.path_len();
        if n < m {
            return self.clone();
        }
        let mut keep = n - m;
        let mut segments: Vec<AsSegment> = Vec::new();
        let mut split = false;
        for seg in &self.segments {
            match seg.kind {
                SegmentKind::ConfedSequence | SegmentKind::ConfedSet => {
                    segments.push(seg.clone());
                }
                SegmentKind::Set if keep >= 1 => {
                    segments.push(seg.clone());
                    keep -= 1;
                }
                SegmentKind::Sequence if keep > 0 => {
                    let take = keep.min(seg.asns.len());
                    split = take < seg.asns.len();
                    segments.push(AsSegment {
                        kind: SegmentKind::Sequence,
                        asns: seg.asns[..take].to_vec(),
                    });
                    keep -= take;
                }
                _ => break,
            }
        }
        let mut rest = as4.segments.iter();
        // Rejoin the sequence that was split between the two attributes,
        // so that it stays one segment.
        if let (true, Some(last), Some(first)) =
            (split, segments.last_mut(), as4.segments.first())
            && first.kind == SegmentKind::Sequence
            && last.asns.len() + first.asns.len() <= 255
        {
            last.asns.extend_from_slice(&first.asns);
            rest.next();
        }
        segments.extend(rest.cloned());
        AsPath { segments }
    }

    /// The AS4_PATH to send alongside a 2-octet AS_PATH: the path
    /// without confederation segments (RFC 6793 4.2.2).
    pub(crate) fn as4_path(&self) -> AsPath {
        AsPath {
            segments: self
                .segments
                .iter()
                .filter(|s| !s.kind.is_confed())
                .cloned()
                .collect(),
        }
    }
}

impl fmt::Display for AsPath {
    /// Formats as "65001 65002 {65003,65004} (65005)"; a confederation
    /// set is "[a,b]".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.segments.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            let (open, sep, close) = match seg.kind {
                SegmentKind::Sequence => ("", " ", ""),
                SegmentKind::Set => ("{", ",", "}"),
                SegmentKind::ConfedSequence => ("(", " ", ")"),
                SegmentKind::ConfedSet => ("[", ",", "]"),
            };
            f.write_str(open)?;
            for (j, asn) in seg.asns.iter().enumerate() {
                if j > 0 {
                    f.write_str(sep)?;
                }
                write!(f, "{asn}")?;
            }
            f.write_str(close)?;
        }
        Ok(())
    }
}

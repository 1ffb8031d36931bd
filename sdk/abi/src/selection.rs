//! Selection keys and answers (docs/plugin-abi.md, "Selection keys").

use std::net::IpAddr;

use crate::AbiError;
use crate::ip::ip_to_words;

/// Words per selection key.
pub const KEY_STRIDE: usize = 14;

/// One candidate path, digested by the host (RFC 4271 9.1.2, RFC 4456 9).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct SelectionKey {
    /// 200 locally originated or elevated Calico priority, 100 BGP.
    pub preference: u32,
    /// LOCAL_PREF (100 when absent).
    pub local_pref: u32,
    /// AS_PATH length (AS_SET 1, confederation segments 0).
    pub as_path_len: u32,
    /// ORIGIN (0 IGP, 1 EGP, 2 INCOMPLETE).
    pub origin: u32,
    /// MED (0 when absent).
    pub med: u32,
    /// First AS of the path, 0 when empty.
    pub neighbor_as: u32,
    /// [`SelectionKey::EBGP`], [`SelectionKey::LOCAL`],
    /// [`SelectionKey::MED_PRESENT`], [`SelectionKey::STALE`].
    pub flags: u32,
    /// IGP cost to the next hop (0 when unknown).
    pub igp_cost: u32,
    /// ORIGINATOR_ID when present, else the peer's BGP identifier.
    pub router_id: u32,
    /// CLUSTER_LIST length.
    pub cluster_list_len: u32,
    /// Peer address words (IPv4 in word 0); see [`SelectionKey::peer`].
    pub peer_address: [u32; 4],
}

impl SelectionKey {
    /// Flag: learned over eBGP.
    pub const EBGP: u32 = 1;
    /// Flag: locally originated.
    pub const LOCAL: u32 = 1 << 1;
    /// Flag: MED present.
    pub const MED_PRESENT: u32 = 1 << 2;
    /// Flag: stale (graceful restart, RFC 4724).
    pub const STALE: u32 = 1 << 3;

    /// Address words for `ip`.
    pub fn peer(ip: IpAddr) -> [u32; 4] {
        ip_to_words(ip)
    }

    /// True when learned over eBGP.
    pub fn ebgp(&self) -> bool {
        self.flags & Self::EBGP != 0
    }

    /// True when locally originated.
    pub fn local(&self) -> bool {
        self.flags & Self::LOCAL != 0
    }

    /// True when stale.
    pub fn stale(&self) -> bool {
        self.flags & Self::STALE != 0
    }

    /// Appends the 14 words.
    pub fn encode(&self, out: &mut Vec<u32>) {
        out.extend_from_slice(&[
            self.preference,
            self.local_pref,
            self.as_path_len,
            self.origin,
            self.med,
            self.neighbor_as,
            self.flags,
            self.igp_cost,
            self.router_id,
            self.cluster_list_len,
        ]);
        out.extend_from_slice(&self.peer_address);
    }

    /// Reads one key. Every word value is legal.
    pub fn decode(w: &[u32; KEY_STRIDE]) -> Self {
        Self {
            preference: w[0],
            local_pref: w[1],
            as_path_len: w[2],
            origin: w[3],
            med: w[4],
            neighbor_as: w[5],
            flags: w[6],
            igp_cost: w[7],
            router_id: w[8],
            cluster_list_len: w[9],
            peer_address: [w[10], w[11], w[12], w[13]],
        }
    }
}

/// Encodes the candidates of every prefix and their counts.
pub fn encode_candidates(
    prefixes: &[Vec<SelectionKey>],
) -> (Vec<u32>, Vec<u32>) {
    let mut words = Vec::new();
    let mut counts = Vec::with_capacity(prefixes.len());
    for keys in prefixes {
        counts.push(crate::attrs::len32(keys.len()));
        for k in keys {
            k.encode(&mut words);
        }
    }
    (words, counts)
}

/// A validated candidate list borrowing its words.
#[derive(Debug, Clone, Copy)]
pub struct Candidates<'a> {
    words: &'a [u32],
    counts: &'a [u32],
}

impl<'a> Candidates<'a> {
    /// Checks that `candidates` holds 14 words per counted candidate.
    pub fn parse(
        candidates: &'a [u32],
        counts: &'a [u32],
    ) -> Result<Self, AbiError> {
        let total = counts
            .iter()
            .try_fold(0usize, |acc, &c| acc.checked_add(c as usize))
            .and_then(|n| n.checked_mul(KEY_STRIDE));
        if total != Some(candidates.len()) {
            return Err(AbiError::CandidateCount {
                expected: total.unwrap_or(usize::MAX),
                got: candidates.len(),
            });
        }
        Ok(Self {
            words: candidates,
            counts,
        })
    }

    /// Number of prefixes.
    pub fn len(&self) -> usize {
        self.counts.len()
    }

    /// True when there is no prefix.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// The keys of each prefix, in order.
    pub fn prefixes(&self) -> impl Iterator<Item = KeyIter<'a>> + 'a {
        let words = self.words;
        self.counts.iter().scan(0usize, move |at, &c| {
            let n = c as usize * KEY_STRIDE;
            let slice = &words[*at..*at + n];
            *at += n;
            Some(KeyIter { words: slice })
        })
    }
}

/// The keys of one prefix.
#[derive(Debug, Clone)]
pub struct KeyIter<'a> {
    words: &'a [u32],
}

impl Iterator for KeyIter<'_> {
    type Item = SelectionKey;

    fn next(&mut self) -> Option<SelectionKey> {
        let (head, rest) = self.words.split_first_chunk::<KEY_STRIDE>()?;
        self.words = rest;
        Some(SelectionKey::decode(head))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.words.len() / KEY_STRIDE;
        (n, Some(n))
    }
}

impl ExactSizeIterator for KeyIter<'_> {}

/// The selection answer for one prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Selection {
    /// Index of the best candidate within its prefix.
    pub best: u32,
    /// Multipath set: bit i = candidate i, the best included.
    pub multipath: u32,
}

impl Selection {
    /// Best path `best`, no other multipath member.
    pub fn single(best: u32) -> Self {
        Self {
            best,
            multipath: 1u32.checked_shl(best).unwrap_or(0),
        }
    }
}

/// Encodes one answer per prefix.
pub fn encode_selections(answers: &[Selection]) -> Vec<u32> {
    answers.iter().flat_map(|s| [s.best, s.multipath]).collect()
}

/// Checks a selection answer against the counts, the same way in every
/// host: two words per prefix, best in range, the mask holds the best
/// (when it is below 32) and no bit past the candidates.
pub fn validate_selection(
    counts: &[u32],
    answer: &[u32],
) -> Result<Vec<Selection>, AbiError> {
    if answer.len() != counts.len() * 2 {
        return Err(AbiError::AnswerLength {
            what: "selection",
            expected: counts.len() * 2,
            got: answer.len(),
        });
    }
    let mut out = Vec::with_capacity(counts.len());
    for (prefix, (&count, pair)) in
        counts.iter().zip(answer.chunks_exact(2)).enumerate()
    {
        let (best, mask) = (pair[0], pair[1]);
        let best_bit = 1u32.checked_shl(best).unwrap_or(0);
        let allowed = 1u32.checked_shl(count).map_or(u32::MAX, |b| b - 1);
        let ok = best < count
            && (best >= 32 || mask & best_bit != 0)
            && mask & !allowed == 0;
        if !ok {
            return Err(AbiError::Selection { prefix, best, mask });
        }
        out.push(Selection {
            best,
            multipath: mask,
        });
    }
    Ok(out)
}

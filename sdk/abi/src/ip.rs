//! Addresses as words: big-endian, IPv4 in the first word.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The four words of an address (IPv4 in word 0, words 1-3 zero).
pub fn ip_to_words(ip: IpAddr) -> [u32; 4] {
    match ip {
        IpAddr::V4(a) => [u32::from(a), 0, 0, 0],
        IpAddr::V6(a) => {
            let v = u128::from(a);
            [
                (v >> 96) as u32,
                (v >> 64) as u32,
                (v >> 32) as u32,
                v as u32,
            ]
        }
    }
}

/// The address of `family` (4 or 6; anything else reads as 6) in `words`.
pub fn ip_from_words(family: u8, words: [u32; 4]) -> IpAddr {
    if family == 4 {
        return IpAddr::V4(Ipv4Addr::from(words[0]));
    }
    let v = words
        .iter()
        .fold(0u128, |acc, &w| (acc << 32) | u128::from(w));
    IpAddr::V6(Ipv6Addr::from(v))
}

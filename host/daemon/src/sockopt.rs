//! Socket options the standard library and tokio do not expose: TCP-MD5
//! signatures (RFC 2385) and the TTL checks of GTSM (RFC 5082).
//!
//! This is the one module of the workspace allowed to use `unsafe`: each
//! block is a single `setsockopt` call on a descriptor we own, with a
//! buffer whose size we pass alongside it.
#![allow(unsafe_code)]

use std::io;
use std::mem;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;

/// Linux `TCP_MD5SIG_MAXKEYLEN`.
pub const MD5_MAX_KEY_LEN: usize = 80;

/// Linux `struct tcp_md5sig` (include/uapi/linux/tcp.h).
#[repr(C)]
struct TcpMd5Sig {
    addr: libc::sockaddr_storage,
    flags: u8,
    prefix_len: u8,
    key_len: u16,
    ifindex: libc::c_int,
    key: [u8; MD5_MAX_KEY_LEN],
}

/// Installs (or, with an empty key, removes) the TCP-MD5 key used for
/// segments to and from `peer` on this socket. On a listening socket the
/// key is inherited by connections accepted from that peer.
pub fn set_tcp_md5(
    socket: &impl AsRawFd,
    peer: IpAddr,
    key: &[u8],
) -> io::Result<()> {
    if key.len() > MD5_MAX_KEY_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "TCP-MD5 password is {} bytes, the kernel allows {}",
                key.len(),
                MD5_MAX_KEY_LEN
            ),
        ));
    }
    // SAFETY: sockaddr_storage and the integer fields are plain data for
    // which all-zero bytes are a valid value.
    let mut sig: TcpMd5Sig = unsafe { mem::zeroed() };
    write_sockaddr(&mut sig.addr, socket_family(socket)?, peer);
    sig.key_len = key.len() as u16;
    sig.key[..key.len()].copy_from_slice(key);
    // SAFETY: `sig` lives across the call and its exact size is passed.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_MD5SIG,
            (&raw const sig).cast(),
            mem::size_of::<TcpMd5Sig>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// GTSM (RFC 5082): send with TTL 255 and drop anything that arrived with
/// a TTL below `256 - hops`. `hops` is Calico's `ttlSecurity`.
pub fn set_ttl_security(
    socket: &impl AsRawFd,
    family_v6: bool,
    hops: u8,
) -> io::Result<()> {
    let min = 256 - i32::from(hops.max(1));
    if family_v6 {
        set_int(socket, libc::IPPROTO_IPV6, libc::IPV6_UNICAST_HOPS, 255)?;
        set_int(socket, libc::IPPROTO_IPV6, libc::IPV6_MINHOPCOUNT, min)
    } else {
        set_int(socket, libc::IPPROTO_IP, libc::IP_TTL, 255)?;
        set_int(socket, libc::IPPROTO_IP, libc::IP_MINTTL, min)
    }
}

/// Outgoing TTL for multihop sessions without GTSM (BIRD's `multihop`
/// uses 64).
pub fn set_ttl(
    socket: &impl AsRawFd,
    family_v6: bool,
    ttl: u8,
) -> io::Result<()> {
    if family_v6 {
        set_int(
            socket,
            libc::IPPROTO_IPV6,
            libc::IPV6_UNICAST_HOPS,
            i32::from(ttl),
        )
    } else {
        set_int(socket, libc::IPPROTO_IP, libc::IP_TTL, i32::from(ttl))
    }
}

/// Lets a listener bind an address that is not (yet) configured locally,
/// as BIRD does for `bindMode: NodeIP` during start-up.
pub fn set_freebind(socket: &impl AsRawFd, family_v6: bool) -> io::Result<()> {
    if family_v6 {
        set_int(socket, libc::IPPROTO_IPV6, libc::IPV6_FREEBIND, 1)
    } else {
        set_int(socket, libc::IPPROTO_IP, libc::IP_FREEBIND, 1)
    }
}

fn set_int(
    socket: &impl AsRawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: i32,
) -> io::Result<()> {
    let value: libc::c_int = value;
    // SAFETY: a c_int on the stack, with its size.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            (&raw const value).cast(),
            mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The address family of the socket itself: an IPv6 socket needs the
/// peer written as a v4-mapped IPv6 address when the peer is IPv4.
fn socket_family(socket: &impl AsRawFd) -> io::Result<libc::c_int> {
    // SAFETY: all-zero is a valid sockaddr_storage.
    let mut storage: libc::sockaddr_storage = unsafe { mem::zeroed() };
    let mut len = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: storage and len are valid for writes of `len` bytes.
    let rc = unsafe {
        libc::getsockname(
            socket.as_raw_fd(),
            (&raw mut storage).cast(),
            &raw mut len,
        )
    };
    if rc == 0 {
        Ok(libc::c_int::from(storage.ss_family))
    } else {
        Err(io::Error::last_os_error())
    }
}

fn write_sockaddr(
    out: &mut libc::sockaddr_storage,
    socket_family: libc::c_int,
    peer: IpAddr,
) {
    let peer = match (socket_family, peer) {
        (libc::AF_INET6, IpAddr::V4(v4)) => IpAddr::V6(v4.to_ipv6_mapped()),
        _ => peer,
    };
    match SocketAddr::new(peer, 0) {
        SocketAddr::V4(v4) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: 0,
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(v4.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for
            // sockaddr_in; we write one whole value into it.
            unsafe {
                std::ptr::write(
                    (&raw mut *out).cast::<libc::sockaddr_in>(),
                    sin,
                )
            };
        }
        SocketAddr::V6(v6) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: 0,
                sin6_flowinfo: 0,
                sin6_addr: libc::in6_addr {
                    s6_addr: v6.ip().octets(),
                },
                sin6_scope_id: 0,
            };
            // SAFETY: as above, for sockaddr_in6.
            unsafe {
                std::ptr::write(
                    (&raw mut *out).cast::<libc::sockaddr_in6>(),
                    sin6,
                )
            };
        }
    }
}

//! Behaviour of the session FSM, one test per RFC 4271 section 8.2.2
//! transition that matters, plus negotiation, collisions and config.

// House rule: tests may unwrap; a failure there is the test failing.
#![allow(clippy::unwrap_used)]

mod active;
mod collision;
mod config;
mod connect;
mod established;
mod helpers;
mod idle;
mod negotiate;
mod open_confirm;
mod open_sent;
mod restart;

//! Session state machine (being written).

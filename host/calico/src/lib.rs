//! Calico resources (being written).

//! MCAP message logs (being written).

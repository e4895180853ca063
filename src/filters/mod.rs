//! The message_filters connection model (being written).

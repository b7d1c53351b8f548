//! Kafka's own state topics, decoded from their records' keys and values.
//!
//! - [`wire`]: the protocol primitives Kafka's JSON message schemas are made
//!   of (ints, varints, strings, bytes, arrays, tagged fields), a
//!   bounds-checked [`wire::Reader`] and a matching [`wire::Writer`].

pub mod wire;

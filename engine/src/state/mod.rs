//! Kafka's own state topics, decoded from their records' keys and values.
//!
//! - [`wire`]: the protocol primitives Kafka's JSON message schemas are made
//!   of (ints, varints, strings, bytes, arrays, tagged fields), a
//!   bounds-checked [`wire::Reader`] and a matching [`wire::Writer`].
//! - [`cluster_metadata`]: KRaft's `__cluster_metadata` records and control
//!   records, typed.
//! - [`metadata_image`]: the cluster's topics, partitions and configs, built
//!   by replaying `__cluster_metadata` from its latest snapshot.

pub mod cluster_metadata;
pub mod metadata_image;
pub mod wire;

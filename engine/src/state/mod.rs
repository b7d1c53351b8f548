//! Kafka's own state, read offline from its internal topics.
//!
//! - [`cluster_metadata`]: KRaft's `__cluster_metadata` records and control
//!   records, typed.
//! - [`metadata_image`]: the cluster's topics, partitions and configs, built
//!   by replaying `__cluster_metadata` from its latest snapshot.

pub mod cluster_metadata;
pub mod metadata_image;

//! Chained setters for the engine's configuration types.
//!
//! The configuration structs are `#[non_exhaustive]`, so a field added later
//! breaks no caller: outside the crate they are built from `Default` (or
//! `ConsumerConfig::new`) and then changed field by field, or with these
//! `with_*` setters, one per field:
//!
//! ```
//! use kreplay::{ReadOptions, ReadStrategy};
//!
//! let options = ReadOptions::default()
//!     .with_strategy(ReadStrategy::Read)
//!     .with_check_crcs(false);
//! assert!(!options.check_crcs);
//! ```

use std::path::PathBuf;

use crate::compression::Compression;
use crate::mmap::ReadStrategy;
use crate::partition::ReadOptions;
use crate::record::TimestampType;
use crate::verify::VerifyOptions;
use crate::writer::{GenConfig, Partitioner, WriterOptions};

/// `with_<field>(self, value) -> Self` for each listed `setter => field`.
macro_rules! setters {
    ($type:ty { $($setter:ident => $field:ident: $value:ty),+ $(,)? }) => {
        impl $type {
            $(
                #[doc = concat!("Sets [`", stringify!($field), "`](Self::", stringify!($field), ").")]
                #[must_use]
                pub fn $setter(mut self, $field: $value) -> Self {
                    self.$field = $field;
                    self
                }
            )+
        }
    };
}

setters!(ReadOptions {
    with_strategy => strategy: ReadStrategy,
    with_check_crcs => check_crcs: bool,
    with_max_inflated_bytes => max_inflated_bytes: usize,
    with_use_indexes => use_indexes: bool,
});

setters!(VerifyOptions {
    with_strategy => strategy: ReadStrategy,
    with_max_inflated_bytes => max_inflated_bytes: usize,
    with_check_indexes => check_indexes: bool,
});

setters!(WriterOptions {
    with_compression => compression: Compression,
    with_segment_bytes => segment_bytes: u32,
    with_index_interval_bytes => index_interval_bytes: u32,
    with_max_index_bytes => max_index_bytes: u32,
    with_start_offset => start_offset: i64,
    with_partition_leader_epoch => partition_leader_epoch: Option<i32>,
    with_timestamp_type => timestamp_type: TimestampType,
    with_coordinator_epoch => coordinator_epoch: i32,
    with_preallocate_indexes => preallocate_indexes: bool,
    with_append => append: bool,
});

setters!(GenConfig {
    with_log_dir => log_dir: PathBuf,
    with_topics => topics: Vec<String>,
    with_partitions => partitions: i32,
    with_records_per_topic => records_per_topic: u64,
    with_partitioner => partitioner: Partitioner,
    with_hosts => hosts: u32,
    with_key_size => key_size: Option<usize>,
    with_value_size => value_size: usize,
    with_compression => compression: Compression,
    with_records_per_batch => records_per_batch: usize,
    with_segment_bytes => segment_bytes: u32,
    with_index_interval_bytes => index_interval_bytes: u32,
    with_transactional_ratio => transactional_ratio: f64,
    with_abort_ratio => abort_ratio: f64,
    with_start_offset => start_offset: i64,
    with_seed => seed: u64,
});

//! A file named on the command line that is not named like a Kafka segment
//! (`<20-digit base offset>.log`): its base offset and partition cannot come
//! from its name, so `dump` and `verify` refuse it unless told to read it
//! anyway (`--any-file-name`), and then say so. A KRaft snapshot
//! (`<20-digit end offset>-<10-digit epoch>.checkpoint`) is a file of record
//! batches too, and is read under its own name.

use std::path::Path;

use kreplay::base_offset_from_file_name;
use kreplay::state::metadata_image::snapshot_id_from_file_name;

use crate::shared_args::SegmentNames;
use crate::status::Diagnostics;

/// Whether to read `file`: true for a segment or snapshot name, or any name under
/// `SegmentNames::Any` (with a warning); false (after an error) otherwise.
pub fn accept(file: &Path, names: SegmentNames, diagnostics: &Diagnostics) -> bool {
    if base_offset_from_file_name(file).is_some() || snapshot_id_from_file_name(file).is_some() {
        return true;
    }
    match names {
        SegmentNames::Kafka => {
            diagnostics.error(format_args!(
                "{}: not a Kafka segment name (<20-digit base offset>.log); \
                 --any-file-name reads it anyway",
                file.display()
            ));
            false
        }
        SegmentNames::Any => {
            diagnostics.warning(format_args!(
                "{}: not a Kafka segment name (<20-digit base offset>.log): its base offset is \
                 taken from its first batch, its topic and partition from its directory",
                file.display()
            ));
            true
        }
    }
}

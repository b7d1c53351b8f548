//! What the `cluster_metadata` target does with its input (kept apart from
//! `checks.rs`, which the other state decoders extend).
//!
//! The first byte picks the path: even, the rest is one `__cluster_metadata`
//! record value; odd, the rest is a metadata segment (or snapshot) file read
//! through `read_entries`, the path `MetadataImage::load` takes. Decoding
//! must never panic; a value the engine types must encode back to bytes
//! that decode to the same record; a control record value likewise.

use kreplay::state::cluster_metadata::{
    decode_control_record, decode_metadata_value, MetadataValue,
};
use kreplay::state::metadata_image::{read_entries, MetadataImage};
use kreplay::{ControlRecordType, Mapping, ReadOptions, Segment};

pub fn cluster_metadata(data: &[u8]) {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    if first % 2 == 0 {
        if let Ok(MetadataValue::Record(record)) = decode_metadata_value(rest) {
            // Compared as bytes: a float field may hold NaN, which is not
            // equal to itself.
            let bytes = record.encode();
            match decode_metadata_value(&bytes) {
                Ok(MetadataValue::Record(again)) => assert_eq!(again.encode(), bytes, "{rest:?}"),
                other => panic!("re-encoded record does not decode as one: {other:?} ({rest:?})"),
            }
            let _ = record.to_json();
        }
        for t in 0..8 {
            let control_type =
                ControlRecordType::parse(&[0, 0, 0, t]).unwrap_or(ControlRecordType::Unknown(-1));
            if let Ok(control) = decode_control_record(control_type, Some(rest)) {
                let again = decode_control_record(control_type, Some(&control.encode()));
                assert_eq!(again, Ok(control.clone()));
                let _ = control.to_json();
            }
        }
    } else {
        let segment = Segment::from_mapping("fuzz.checkpoint", 0, Mapping::from_vec(rest.to_vec()));
        let mut problems = Vec::new();
        let mut image = MetadataImage::default();
        read_entries(
            &segment,
            ReadOptions::default(),
            true,
            &mut problems,
            |_, entry| {
                if let kreplay::state::metadata_image::MetadataEntry::Metadata(
                    MetadataValue::Record(r),
                ) = entry
                {
                    image.replay(&r);
                }
            },
        );
        for p in &problems {
            let _ = p.to_string();
        }
    }
}

//! The zero-copy `binary_view` columns hold exactly what the copying
//! `binary` columns hold, on every conformance case (compressed, legacy,
//! transactional, compacted, broker-written), with record batches cut
//! mid-batch; and they copy nothing but headers and values of up to 12
//! bytes (which Arrow keeps inside their views).
#![cfg(feature = "arrow")]

mod common;

use std::time::Duration;

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch as ArrowBatch};
use common::*;
use kreplay::arrow::{schema_with, ArrowRecordBuilder, BinaryLayout};
use kreplay::{Consumer, ConsumerConfig, IsolationLevel};

/// Rows per record batch cut: small, so that cuts fall inside batches.
const CUT_ROWS: usize = 7;

/// Key or value column `column` of `batch`, row by row.
fn values(batch: &ArrowBatch, column: usize) -> Vec<Option<Vec<u8>>> {
    let array = batch.column(column);
    match array.data_type() {
        arrow_schema::DataType::Binary => array
            .as_binary::<i32>()
            .iter()
            .map(|v| v.map(<[u8]>::to_vec))
            .collect(),
        arrow_schema::DataType::BinaryView => array
            .as_binary_view()
            .iter()
            .map(|v| v.map(<[u8]>::to_vec))
            .collect(),
        other => panic!("column {column} is {other}"),
    }
}

struct Built {
    batches: Vec<ArrowBatch>,
    rows: usize,
    copied: usize,
    /// What a view column must have copied: header bytes and small values.
    inline_and_headers: usize,
}

/// Every record of `case` through both layouts, cut every [`CUT_ROWS`].
fn build_both(case: &std::path::Path, isolation: IsolationLevel) -> (Built, Built) {
    let mut copied = Built {
        batches: Vec::new(),
        rows: 0,
        copied: 0,
        inline_and_headers: 0,
    };
    let mut viewed = Built {
        batches: Vec::new(),
        rows: 0,
        copied: 0,
        inline_and_headers: 0,
    };
    let mut binary = ArrowRecordBuilder::with_layout(BinaryLayout::Binary);
    let mut view = ArrowRecordBuilder::with_layout(BinaryLayout::View);
    let mut config = ConsumerConfig::new([case]);
    config.isolation_level = isolation;
    let mut consumer = Consumer::new(config).unwrap();
    let partitions: Vec<_> = consumer.partitions().cloned().collect();
    consumer.assign(&partitions).unwrap();
    consumer.seek_to_beginning(&partitions).unwrap();
    let cut = |builder: &mut ArrowRecordBuilder, into: &mut Built| {
        into.copied += builder.copied_bytes();
        into.rows += builder.len();
        into.batches.push(builder.finish());
    };
    loop {
        let polled = consumer.poll(Duration::from_secs(5)).unwrap();
        let empty = polled.is_empty();
        for batch in polled.batches() {
            let batch = batch.unwrap();
            for record in batch.records() {
                let record = record.unwrap();
                binary.append(&batch, &record);
                view.append(&batch, &record);
                let small =
                    |v: Option<&[u8]>| v.map_or(0, |v| if v.len() <= 12 { v.len() } else { 0 });
                viewed.inline_and_headers += small(record.key()) + small(record.value());
                for header in record.headers().iter() {
                    viewed.inline_and_headers +=
                        header.key.len() + header.value.map_or(0, <[u8]>::len);
                }
                if view.len() == CUT_ROWS {
                    cut(&mut binary, &mut copied);
                    cut(&mut view, &mut viewed);
                }
            }
        }
        if empty && consumer.at_end() {
            break;
        }
    }
    cut(&mut binary, &mut copied);
    cut(&mut view, &mut viewed);
    (copied, viewed)
}

#[test]
fn view_columns_equal_binary_columns_on_every_case() {
    let mut checked = 0;
    let mut rows = 0;
    let mut viewed_buffers = 0;
    for root in corpus_roots("corpus") {
        for case in cases_under(&root) {
            for isolation in [
                IsolationLevel::ReadUncommitted,
                IsolationLevel::ReadCommitted,
            ] {
                let (copied, viewed) = build_both(&case, isolation);
                let name = format!("{} ({isolation:?})", case.display());
                assert_eq!(copied.rows, viewed.rows, "{name}");
                assert_eq!(copied.batches.len(), viewed.batches.len(), "{name}");
                for (a, b) in copied.batches.iter().zip(&viewed.batches) {
                    assert_eq!(b.schema(), schema_with(BinaryLayout::View), "{name}");
                    for column in [5, 6] {
                        // What the builder's unchecked construction skips.
                        b.column(column).to_data().validate_full().unwrap();
                        assert_eq!(
                            values(a, column),
                            values(b, column),
                            "{name}: column {column}"
                        );
                    }
                    // Every other column is built the same way.
                    for column in (0..a.num_columns()).filter(|c| ![5, 6].contains(c)) {
                        assert_eq!(
                            a.column(column),
                            b.column(column),
                            "{name}: column {column}"
                        );
                    }
                }
                assert_eq!(viewed.copied, viewed.inline_and_headers, "{name}");
                rows += viewed.rows;
                viewed_buffers += viewed
                    .batches
                    .iter()
                    .flat_map(|b| [5, 6].map(|c| b.column(c).as_binary_view().data_buffers().len()))
                    .sum::<usize>();
            }
            checked += 1;
        }
    }
    assert!(checked >= 26, "only {checked} cases found");
    assert!(rows > 0);
    // Values longer than a view's inline bytes exist in the corpus, and
    // were viewed in place (the copy accounting above says none was copied).
    assert!(viewed_buffers > 0);
    eprintln!("{checked} cases, {rows} rows, {viewed_buffers} view buffers");
}

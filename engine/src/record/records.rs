//! [`Record`], the borrowed view of one record, and [`Records`], the
//! iterator over one batch's records: the v2 record decoder (the hot loop),
//! where an iteration stands ([`ResumePoint`]), and the dispatch to
//! `legacy` for magic 0 and 1.

use super::headers::{validate_headers, Headers};
use super::legacy::LegacyInner;
use super::primitives::{nullable_at, uvarint32_at, uvarint64_at, zigzag32, zigzag64, Cursor};
use super::{ControlRecordType, TimestampType};
use crate::error::Corruption;

/// One record: a borrowed view, valid while the batch's bytes (or the
/// inflater's buffer) are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    pub(super) offset: i64,
    pub(super) timestamp: Option<i64>,
    pub(super) timestamp_type: Option<TimestampType>,
    pub(super) key: Option<&'a [u8]>,
    pub(super) value: Option<&'a [u8]>,
    pub(super) headers: Headers<'a>,
    pub(super) is_control: bool,
}

impl<'a> Record<'a> {
    /// The record's offset.
    #[inline]
    pub fn offset(&self) -> i64 {
        self.offset
    }

    /// The timestamp; `None` for magic 0 messages, which have none.
    #[inline]
    pub fn timestamp(&self) -> Option<i64> {
        self.timestamp
    }

    /// The timestamp type; `None` for magic 0.
    #[inline]
    pub fn timestamp_type(&self) -> Option<TimestampType> {
        self.timestamp_type
    }

    /// The key: `None` when null, `Some(&[])` when empty.
    #[inline]
    pub fn key(&self) -> Option<&'a [u8]> {
        self.key
    }

    /// The value: `None` when null (a tombstone), `Some(&[])` when empty.
    #[inline]
    pub fn value(&self) -> Option<&'a [u8]> {
        self.value
    }

    /// The headers (always empty before magic 2).
    #[inline]
    pub fn headers(&self) -> Headers<'a> {
        self.headers
    }

    /// Whether this is a control record (a transaction marker or a KRaft
    /// control record), never data for a consumer.
    #[inline]
    pub fn is_control(&self) -> bool {
        self.is_control
    }

    /// The control record's type, for control records.
    pub fn control_type(&self) -> Option<ControlRecordType> {
        if self.is_control {
            self.key.and_then(ControlRecordType::parse)
        } else {
            None
        }
    }
}

/// Iterator over the records of one batch; yields an error at most once and
/// then stops.
///
/// The records of a v2 batch are decoded by the state in `v2`, checked
/// first on every call (the hot path); a legacy batch keeps `v2` empty and
/// iterates through `legacy`.
#[derive(Debug)]
pub struct Records<'s> {
    pub(super) v2: V2Records<'s>,
    pub(super) legacy: Legacy<'s>,
    /// The next item when it does not come from the v2 fast path (a legacy
    /// record, an error, the end), put here by out-of-line code so that the
    /// fast path's record never goes through memory.
    pub(super) slow: Option<Result<Record<'s>, Corruption>>,
}

/// The legacy part of [`Records`].
#[derive(Debug)]
pub(super) enum Legacy<'s> {
    /// A v2 batch.
    None,
    /// An uncompressed legacy message: its one record, until taken.
    Single(Option<Record<'s>>),
    /// The inner messages of a compressed legacy wrapper.
    Inner(LegacyInner<'s>),
}

/// Where an iteration over a batch's records stands, so a later iteration
/// can continue there without decoding the records before it again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResumePoint {
    /// Byte position of the next record in the records area.
    position: usize,
    /// Records already passed.
    consumed: u32,
}

impl ResumePoint {
    /// Records passed before this point.
    pub fn consumed(&self) -> u32 {
        self.consumed
    }
}

impl<'s> Records<'s> {
    /// An iteration over no records.
    pub(crate) const EMPTY: Records<'static> = Records {
        v2: V2Records::EMPTY,
        legacy: Legacy::None,
        slow: None,
    };

    /// Where this iteration stands.
    pub fn resume_point(&self) -> ResumePoint {
        match &self.legacy {
            Legacy::None => ResumePoint {
                position: self.v2.cursor.position(),
                consumed: self.v2.consumed,
            },
            Legacy::Single(one) => ResumePoint {
                position: 0,
                consumed: u32::from(one.is_none()),
            },
            Legacy::Inner(inner) => ResumePoint {
                position: inner.cursor.position(),
                consumed: inner.consumed,
            },
        }
    }

    /// Continues from `point`, taken by [`resume_point`](Self::resume_point)
    /// on an iteration over the same batch and bytes.
    pub fn resume(mut self, point: ResumePoint) -> Self {
        match &mut self.legacy {
            Legacy::None => {
                let v2 = &mut self.v2;
                v2.cursor.position = point.position;
                v2.remaining = v2.remaining.saturating_sub(point.consumed);
                v2.consumed = point.consumed;
            }
            Legacy::Single(one) => {
                if point.consumed > 0 {
                    *one = None;
                }
            }
            Legacy::Inner(inner) => {
                inner.cursor.position = point.position;
                inner.consumed = point.consumed;
            }
        }
        self
    }
}

impl<'s> Iterator for Records<'s> {
    type Item = Result<Record<'s>, Corruption>;

    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        if self.v2.remaining > 0 {
            let v2 = &mut self.v2;
            v2.remaining -= 1;
            v2.consumed += 1;
            match decode_v2_record(v2.cursor.bytes, v2.cursor.position, &v2.batch) {
                Ok((record, next)) => {
                    v2.cursor.position = next;
                    return Some(Ok(record));
                }
                Err(detail) => self.fail(detail),
            }
        } else {
            self.next_past_v2();
        }
        self.slow.take()
    }

    /// Internal iteration (`for_each`, `sum`, `count`, ...): a v2 batch's
    /// records are decoded with the iteration state in locals (see
    /// `fold_v2`); a record that does not decode, the end
    /// and legacy batches go through `next`.
    fn fold<B, F>(mut self, init: B, mut f: F) -> B
    where
        F: FnMut(B, Self::Item) -> B,
    {
        let (mut acc, _) = self.fold_v2(u32::MAX, init, |acc, record| f(acc, Ok(record)));
        for item in self.by_ref() {
            acc = f(acc, item);
        }
        acc
    }
}

impl<'s> Records<'s> {
    /// Passes up to `limit` records of a v2 batch to `f`, decoded with the
    /// iteration state in locals (so in registers, not reloaded and stored
    /// for every record as `next` must), and returns how many it passed.
    /// It stops early at a record that does not decode, leaving it for
    /// `next` to report; legacy batches pass nothing.
    #[inline(always)]
    pub(crate) fn fold_v2<B>(
        &mut self,
        limit: u32,
        mut acc: B,
        mut f: impl FnMut(B, Record<'s>) -> B,
    ) -> (B, u32) {
        if !matches!(self.legacy, Legacy::None) {
            return (acc, 0);
        }
        let bytes = self.v2.cursor.bytes;
        let batch = self.v2.batch;
        let mut position = self.v2.cursor.position;
        let todo = self.v2.remaining.min(limit);
        let mut left = todo;
        while left > 0 {
            let Ok((record, next)) = decode_v2_record(bytes, position, &batch) else {
                break;
            };
            position = next;
            left -= 1;
            acc = f(acc, record);
        }
        let passed = todo - left;
        let v2 = &mut self.v2;
        v2.remaining -= passed;
        v2.consumed += passed;
        v2.cursor.position = position;
        (acc, passed)
    }

    /// Puts the next item past a v2 batch's records in `slow`: the end (or
    /// an error for bytes left over), or a legacy batch's next record.
    #[inline(never)]
    fn next_past_v2(&mut self) {
        self.slow = match &mut self.legacy {
            Legacy::None => self.v2.end(),
            Legacy::Single(one) => one.take().map(Ok),
            Legacy::Inner(inner) => inner.next_record(),
        };
    }

    /// Ends the iteration on a v2 record that does not decode (the
    /// position stays at that record), with the error in `slow`.
    #[cold]
    #[inline(never)]
    fn fail(&mut self, detail: &'static str) {
        let v2 = &mut self.v2;
        v2.failed = true;
        v2.remaining = 0;
        self.slow = Some(Err(Corruption::malformed("record", detail)));
    }
}

#[derive(Debug)]
pub(super) struct V2Records<'s> {
    pub(super) cursor: Cursor<'s>,
    pub(super) remaining: u32,
    pub(super) consumed: u32,
    pub(super) batch: BatchContext,
    pub(super) failed: bool,
}

/// The batch fields every record of a v2 batch needs.
#[derive(Debug, Clone, Copy)]
pub(super) struct BatchContext {
    pub(super) base_offset: i64,
    pub(super) base_timestamp: i64,
    pub(super) max_timestamp: i64,
    pub(super) timestamp_type: TimestampType,
    pub(super) is_control: bool,
}

impl<'s> V2Records<'s> {
    /// No records (the v2 part of a legacy batch's [`Records`]).
    pub(super) const EMPTY: V2Records<'static> = V2Records {
        cursor: Cursor {
            bytes: &[],
            position: 0,
        },
        remaining: 0,
        consumed: 0,
        batch: BatchContext {
            base_offset: 0,
            base_timestamp: -1,
            max_timestamp: -1,
            timestamp_type: TimestampType::CreateTime,
            is_control: false,
        },
        failed: false,
    };

    /// Past the declared records: bytes left over are an error (once).
    #[cold]
    fn end(&mut self) -> Option<Result<Record<'s>, Corruption>> {
        if self.failed || self.cursor.remaining() == 0 {
            return None;
        }
        self.failed = true;
        Some(Err(Corruption::malformed(
            "batch",
            format!(
                "{} bytes remain after the declared records",
                self.cursor.remaining()
            ),
        )))
    }
}

/// How far ahead of the record being decoded [`decode_v2_record`] prefetches,
/// in bytes (see [`crate::mmap::prefetch`]). `kreplay consume --format text`
/// over 100 B records, 10 M of them: no prefetch 0.30 s, 256 B 0.25 s,
/// 1 KiB 0.22 s, 2 KiB and 4 KiB 0.21 s (README, Performance, issue 10,
/// fifth pass).
const PREFETCH_AHEAD: usize = 2048;

/// Decodes the record at `at` of a v2 batch's records area (Kafka's
/// `DefaultRecord.readFrom`) and returns it with the position of the next
/// record. Every field is checked against the record's declared length, and
/// the record's length against the area. It first asks for the bytes
/// [`PREFETCH_AHEAD`] further on, so both record loops (`next` and
/// `fold_v2`) prefetch through this one call.
#[inline(always)]
fn decode_v2_record<'s>(
    area: &'s [u8],
    at: usize,
    batch: &BatchContext,
) -> Result<(Record<'s>, usize), &'static str> {
    crate::mmap::prefetch(area, at.saturating_add(PREFETCH_AHEAD));
    let (raw, body_start) = uvarint32_at(area, at)?;
    let length = zigzag32(raw);
    if length < 0 {
        return Err("negative record length");
    }
    // Cannot wrap (a position in a slice plus at most 2^31); a wrapped end
    // would be refused by `get` anyway.
    let next = body_start.wrapping_add(length as usize);
    let body = area
        .get(body_start..next)
        .ok_or("record length past the end of the batch")?;
    // The attributes byte (unused by any Kafka version) comes first.
    if body.is_empty() {
        return Err("record shorter than its attributes");
    }
    let (raw, p) = uvarint64_at(body, 1)?;
    let timestamp_delta = zigzag64(raw);
    let (raw, p) = uvarint32_at(body, p)?;
    let offset_delta = zigzag32(raw);
    let (raw, p) = uvarint32_at(body, p)?;
    let (key, p) = nullable_at(body, p, zigzag32(raw)).ok_or("key past the end of the record")?;
    let (raw, p) = uvarint32_at(body, p)?;
    let (value, p) =
        nullable_at(body, p, zigzag32(raw)).ok_or("value past the end of the record")?;
    let (raw, p) = uvarint32_at(body, p)?;
    let header_count = zigzag32(raw);
    let headers = if header_count == 0 {
        if p != body.len() {
            return Err("record length does not match its fields");
        }
        Headers::EMPTY
    } else {
        validate_headers(body, p, header_count)?
    };
    let timestamp = match batch.timestamp_type {
        TimestampType::LogAppendTime => batch.max_timestamp,
        TimestampType::CreateTime => batch.base_timestamp.wrapping_add(timestamp_delta),
    };
    Ok((
        Record {
            offset: batch.base_offset.wrapping_add(i64::from(offset_delta)),
            timestamp: Some(timestamp),
            timestamp_type: Some(batch.timestamp_type),
            key,
            value,
            headers,
            is_control: batch.is_control,
        },
        next,
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use crate::record::headers::read_header;
    use crate::record::primitives::{write_varint, write_varlong};
    use proptest::prelude::*;

    /// Naive oracle for `decode_v2_record`: the obvious decoder over a
    /// `Cursor`, one field after the other, as the record layout reads.
    fn naive_decode_v2_record<'s>(
        cursor: &mut Cursor<'s>,
        batch: &BatchContext,
    ) -> Result<Record<'s>, &'static str> {
        let length = cursor.varint()?;
        if length < 0 {
            return Err("negative record length");
        }
        let body = cursor
            .take(length as usize)
            .ok_or("record length past the end of the batch")?;
        let mut c = Cursor::new(body);
        c.byte().ok_or("record shorter than its attributes")?;
        let timestamp_delta = c.varlong()?;
        let offset_delta = c.varint()?;
        let key_len = c.varint()?;
        let key = c
            .nullable_bytes(key_len)
            .map_err(|_| "key past the end of the record")?;
        let value_len = c.varint()?;
        let value = c
            .nullable_bytes(value_len)
            .map_err(|_| "value past the end of the record")?;
        let header_count = c.varint()?;
        if header_count < 0 {
            return Err("negative header count");
        }
        let headers_start = c.position();
        if header_count as usize > c.remaining() {
            return Err("header count larger than the record");
        }
        for _ in 0..header_count {
            read_header(&mut c)?;
        }
        if c.remaining() != 0 {
            return Err("record length does not match its fields");
        }
        Ok(Record {
            offset: batch.base_offset.wrapping_add(i64::from(offset_delta)),
            timestamp: Some(match batch.timestamp_type {
                TimestampType::LogAppendTime => batch.max_timestamp,
                TimestampType::CreateTime => batch.base_timestamp.wrapping_add(timestamp_delta),
            }),
            timestamp_type: Some(batch.timestamp_type),
            key,
            value,
            headers: Headers {
                bytes: &body[headers_start..],
                count: header_count as u32,
            },
            is_control: batch.is_control,
        })
    }

    type HeaderSpec = (Vec<u8>, Option<Vec<u8>>);

    /// Encodes one v2 record (any field values, so long varints too).
    fn encode_record(
        timestamp_delta: i64,
        offset_delta: i32,
        key: &Option<Vec<u8>>,
        value: &Option<Vec<u8>>,
        headers: &[HeaderSpec],
        out: &mut Vec<u8>,
    ) {
        fn nullable(field: &Option<Vec<u8>>, out: &mut Vec<u8>) {
            match field {
                None => write_varint(-1, out),
                Some(b) => {
                    write_varint(b.len() as i32, out);
                    out.extend_from_slice(b);
                }
            }
        }
        let mut body = vec![0u8];
        write_varlong(timestamp_delta, &mut body);
        write_varint(offset_delta, &mut body);
        nullable(key, &mut body);
        nullable(value, &mut body);
        write_varint(headers.len() as i32, &mut body);
        for (k, v) in headers {
            nullable(&Some(k.clone()), &mut body);
            nullable(v, &mut body);
        }
        write_varint(body.len() as i32, out);
        out.extend_from_slice(&body);
    }

    fn record_area() -> impl Strategy<Value = Vec<u8>> {
        let bytes = || proptest::option::of(proptest::collection::vec(any::<u8>(), 0..150));
        let header = (proptest::collection::vec(any::<u8>(), 0..4), bytes());
        let record = (
            prop_oneof![any::<i64>(), -3000i64..3000],
            prop_oneof![any::<i32>(), -3000i32..3000],
            bytes(),
            bytes(),
            proptest::collection::vec(header, 0..3),
        );
        (
            proptest::collection::vec(record, 0..6),
            proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..3),
            any::<prop::sample::Index>(),
            any::<bool>(),
        )
            .prop_map(|(records, flips, cut, truncate)| {
                let mut area = Vec::new();
                for (ts, od, key, value, headers) in &records {
                    encode_record(*ts, *od, key, value, headers, &mut area);
                }
                if !area.is_empty() {
                    for (at, byte) in flips {
                        let i = at.index(area.len());
                        area[i] = byte;
                    }
                    if truncate {
                        area.truncate(cut.index(area.len()));
                    }
                }
                area
            })
    }

    proptest! {
        /// The fast record decoder agrees with the naive oracle on valid
        /// records (long varints included) and on corrupted ones: the same
        /// records, the same positions, the same errors.
        #[test]
        fn decode_matches_naive_oracle(area in record_area(), log_append_time in any::<bool>()) {
            let batch = BatchContext {
                base_offset: 1_000,
                base_timestamp: 5,
                max_timestamp: 9,
                timestamp_type: if log_append_time {
                    TimestampType::LogAppendTime
                } else {
                    TimestampType::CreateTime
                },
                is_control: false,
            };
            let mut naive = Cursor::new(&area);
            let mut at = 0;
            while naive.remaining() > 0 {
                let expected = naive_decode_v2_record(&mut naive, &batch);
                let got = decode_v2_record(&area, at, &batch);
                match (expected, got) {
                    (Ok(e), Ok((g, next))) => {
                        prop_assert_eq!(e, g);
                        prop_assert_eq!(
                            e.headers().iter().collect::<Vec<_>>(),
                            g.headers().iter().collect::<Vec<_>>()
                        );
                        prop_assert_eq!(naive.position(), next);
                        at = next;
                    }
                    (Err(e), Err(g)) => {
                        prop_assert_eq!(e, g);
                        break;
                    }
                    (e, g) => prop_assert!(false, "naive {:?}, fast {:?}", e, g),
                }
            }
        }

        /// Internal iteration (`fold`) yields what `next` does, from the
        /// start or after some records, errors and trailing bytes included.
        #[test]
        fn fold_equals_next(area in record_area(), count in 0u32..8, first in 0usize..3) {
            let records = || Records {
                v2: V2Records {
                    cursor: Cursor::new(&area),
                    remaining: count,
                    consumed: 0,
                    batch: V2Records::EMPTY.batch,
                    failed: false,
                },
                legacy: Legacy::None,
                slow: None,
            };
            let expected: Vec<String> = records().map(|r| format!("{r:?}")).collect();
            let mut iter = records();
            let mut got: Vec<String> = iter.by_ref().take(first).map(|r| format!("{r:?}")).collect();
            iter.for_each(|r| got.push(format!("{r:?}")));
            prop_assert_eq!(got, expected);
        }
    }
}

//! Unit tests of `wire` (beside it to keep `wire.rs` short).

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use super::*;

#[test]
fn fixed_width_round_trip() {
    let mut w = Writer::new();
    w.i8(-3)
        .i16(-300)
        .u16(65000)
        .i32(-70000)
        .i64(i64::MIN)
        .bool(true);
    w.uuid(&[7; 16]);
    let bytes = w.finish().unwrap();
    let mut r = Reader::new(&bytes);
    assert_eq!(r.i8("a").unwrap(), -3);
    assert_eq!(r.i16("b").unwrap(), -300);
    assert_eq!(r.u16("c").unwrap(), 65000);
    assert_eq!(r.i32("d").unwrap(), -70000);
    assert_eq!(r.i64("e").unwrap(), i64::MIN);
    assert!(r.bool("f").unwrap());
    assert_eq!(r.uuid("g").unwrap(), [7; 16]);
    r.finish("end").unwrap();
}

#[test]
fn varints_round_trip_at_their_edges() {
    for v in [0u32, 1, 127, 128, 16383, 16384, u32::MAX] {
        let bytes = Writer::new().uvarint(v).clone().finish().unwrap();
        assert_eq!(Reader::new(&bytes).uvarint("v").unwrap(), v);
    }
    for v in [0i32, -1, 1, i32::MIN, i32::MAX] {
        let bytes = Writer::new().varint(v).clone().finish().unwrap();
        assert_eq!(Reader::new(&bytes).varint("v").unwrap(), v);
    }
    for v in [0i64, -1, i64::MIN, i64::MAX] {
        let bytes = Writer::new().varlong(v).clone().finish().unwrap();
        assert_eq!(Reader::new(&bytes).varlong("v").unwrap(), v);
    }
}

#[test]
fn varint_too_long_or_truncated() {
    let e = Reader::new(&[0xff; 6]).uvarint("count").unwrap_err();
    assert_eq!(e.kind, WireErrorKind::VarintTooLong);
    // 5 bytes whose value exceeds 32 bits.
    let e = Reader::new(&[0xff, 0xff, 0xff, 0xff, 0x7f])
        .uvarint("n")
        .unwrap_err();
    assert_eq!(e.kind, WireErrorKind::VarintTooLong);
    let e = Reader::new(&[0x80, 0x80]).uvarint("n").unwrap_err();
    assert!(
        matches!(e.kind, WireErrorKind::Truncated { needed: 3, .. }),
        "{e}"
    );
}

#[test]
fn strings_both_encodings_and_null() {
    let mut w = Writer::new();
    w.string("a", "héllo")
        .nullable_string_as("b", None, false)
        .compact_string("c", "")
        .nullable_string_as("d", None, true)
        .bytes_as("e", b"\0\x01", false)
        .nullable_bytes_as("f", None, true);
    let bytes = w.finish().unwrap();
    let mut r = Reader::new(&bytes);
    assert_eq!(r.string("a").unwrap(), "héllo");
    assert_eq!(r.nullable_string("b").unwrap(), None);
    assert_eq!(r.compact_string("c").unwrap(), "");
    assert_eq!(r.compact_nullable_string("d").unwrap(), None);
    assert_eq!(r.bytes("e").unwrap(), b"\0\x01");
    assert_eq!(r.compact_nullable_bytes("f").unwrap(), None);
    assert!(r.is_empty());
}

#[test]
fn null_where_not_nullable_is_an_error() {
    let e = Reader::new(&[0xff, 0xff]).string("group").unwrap_err();
    assert_eq!(
        (e.field, e.position, e.kind),
        ("group", 0, WireErrorKind::InvalidLength(-1))
    );
    let e = Reader::new(&[0xff, 0xfe])
        .nullable_string("group")
        .unwrap_err();
    assert_eq!(e.kind, WireErrorKind::InvalidLength(-2));
}

#[test]
fn truncated_string_names_field_and_position() {
    let mut r = Reader::new(&[0, 1, 0, 5, b'a', b'b']);
    r.i16("version").unwrap();
    let e = r.string("group").unwrap_err();
    assert_eq!(e.field, "group");
    assert_eq!(e.position, 2);
    assert_eq!(
        e.kind,
        WireErrorKind::Truncated {
            needed: 5,
            available: 2
        }
    );
    assert_eq!(
        e.to_string(),
        "field group at byte 2: truncated: needs 5 bytes, 2 left"
    );
}

#[test]
fn absurd_lengths_are_rejected_before_allocating() {
    let mut r = Reader::new(&[0x7f, 0xff, 0xff, 0xff, 0]);
    let e = r.array_of("members", false, 1, |r| r.i8("x")).unwrap_err();
    assert!(matches!(
        e.kind,
        WireErrorKind::Truncated {
            needed: 2147483647,
            ..
        }
    ));
    let e = Reader::new(&[0xff, 0xff, 0xff, 0xff, 0x0f])
        .compact_bytes("b")
        .unwrap_err();
    assert!(matches!(e.kind, WireErrorKind::Truncated { .. }));
    let e = Reader::new(&[0xff, 0xff, 0xff, 0xff, 0x0f])
        .tagged_fields("_tagged")
        .unwrap_err();
    assert!(matches!(e.kind, WireErrorKind::Truncated { .. }));
    let e = Reader::new(&[0x80, 0, 0, 0]).bytes("b").unwrap_err();
    assert_eq!(e.kind, WireErrorKind::InvalidLength(i64::from(i32::MIN)));
}

#[test]
fn tagged_fields_round_trip_with_positions() {
    let mut w = Writer::new();
    w.i8(1).tagged_fields("_tagged", &[(0, b"ab"), (300, b"")]);
    let bytes = w.finish().unwrap();
    let mut r = Reader::new(&bytes);
    r.i8("x").unwrap();
    let fields = r.tagged_fields("_tagged").unwrap();
    assert_eq!(fields.len(), 2);
    assert_eq!(
        (fields[0].tag, fields[0].data, fields[0].position),
        (0, &b"ab"[..], 4)
    );
    assert_eq!(fields[1].tag, 300);
    assert_eq!(fields[0].reader().position(), 4);
    assert_eq!(fields[0].reader().i16("t").unwrap(), 0x6162);
    r.finish("end").unwrap();
    assert_eq!(
        Writer::new().no_tagged_fields().clone().finish().unwrap(),
        [0]
    );
}

#[test]
fn invalid_bool_utf8_and_trailing_bytes() {
    assert_eq!(
        Reader::new(&[2]).bool("b").unwrap_err().kind,
        WireErrorKind::InvalidBool(2)
    );
    assert_eq!(
        Reader::new(&[0, 1, 0xff]).string("s").unwrap_err().kind,
        WireErrorKind::InvalidUtf8
    );
    let mut r = Reader::new(&[0, 0, 9]);
    r.i16("v").unwrap();
    assert_eq!(
        r.finish("end").unwrap_err().kind,
        WireErrorKind::TrailingBytes(1)
    );
    assert_eq!(r.rest(), [9]);
}

#[test]
fn writer_reports_lengths_over_their_prefix() {
    let long = "x".repeat(40_000);
    let e = Writer::new()
        .string("group", &long)
        .clone()
        .finish()
        .unwrap_err();
    assert_eq!((e.field, e.kind), ("group", WireErrorKind::TooLong(40_000)));
}

#[test]
fn every_truncation_of_a_record_is_an_error_not_a_panic() {
    let mut w = Writer::new();
    w.i16(3)
        .compact_string("g", "group")
        .i64(42)
        .tagged_fields("t", &[(1, b"x")]);
    let bytes = w.finish().unwrap();
    for n in 0..bytes.len() {
        let mut r = Reader::new(&bytes[..n]);
        let result = (|| {
            r.i16("v")?;
            r.compact_string("g")?;
            r.i64("o")?;
            r.tagged_fields("t")
        })();
        assert!(result.is_err(), "prefix of {n} bytes");
    }
}

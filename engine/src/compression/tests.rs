//! Tests of the codecs through `Decompressor` and `compress`: round trips,
//! the cap, reused buffers, damaged input, and other producers' output.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation
)]

use proptest::prelude::*;

use super::buffer::MIN_GROWTH;
use super::lz4::{lz4_header_checksum, LZ4_HEADER, LZ4_MAX_RATIO, LZ4_UNCOMPRESSED};
use super::snappy::XERIAL_HEADER;
use super::test_support::{inflate, lz4_frame, noise, packed, payload, zstd_streamed, NO_CAP};
use super::zstandard::ZSTD_PLAUSIBLE_RATIO;
use super::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// compress → decompress is the identity for every codec, through one
    /// reused `Decompressor` and output buffer; compress appends.
    #[test]
    fn round_trip(data in payload(200 * 1024)) {
        let mut decompressor = Decompressor::new();
        let mut out = Vec::new();
        for codec in Compression::ALL {
            let mut compressed = b"prefix".to_vec();
            compress(codec, &data, &mut compressed).unwrap();
            prop_assert_eq!(&compressed[..6], b"prefix");
            decompressor
                .decompress(codec, &compressed[6..], &mut out, NO_CAP, false)
                .unwrap();
            prop_assert!(out == data, "{} round trip", codec);
        }
    }

    /// A buffer that still holds an earlier, larger or smaller, output
    /// (lz4 and snappy write over it instead of zeroing) gives exactly
    /// the new output, for every codec in any order, and a failing input
    /// leaves it empty.
    #[test]
    fn reused_buffer_holds_only_the_new_output(
        sizes in prop::collection::vec((0usize..5, any::<u8>(), 0usize..150 * 1024), 1..8),
    ) {
        let mut decompressor = Decompressor::new();
        let mut out = vec![0xa5; 300 * 1024];
        for (codec, seed, len) in sizes {
            let codec = Compression::ALL[codec];
            let data: Vec<u8> = (0..len)
                .map(|i| (i / 7) as u8 ^ seed.wrapping_mul((i % 251) as u8))
                .collect();
            let compressed = packed(codec, &data);
            decompressor
                .decompress(codec, &compressed, &mut out, NO_CAP, false)
                .unwrap();
            prop_assert!(out == data, "{} after a reused buffer", codec);
            if codec != Compression::None && compressed.len() > 8 {
                let cut = &compressed[..compressed.len() / 2];
                prop_assert!(decompressor
                    .decompress(codec, cut, &mut out, NO_CAP, false)
                    .is_err());
                prop_assert!(out.is_empty());
                out.resize(len / 2, 0x5a);
            }
        }
    }

    /// The cap is exact: output of `len` bytes passes with a cap of `len`
    /// and is `InflatedTooLarge` below it, and a fresh buffer never grows
    /// past the cap plus one byte.
    #[test]
    fn cap_is_exact(
        data in payload(40 * 1024),
        cut in 0usize..3,
        fraction in 0.0f64..1.0,
    ) {
        let len = data.len();
        let below = len.saturating_sub(cut + 1);
        let caps = [len, len + 1, below, (len as f64 * fraction) as usize];
        for codec in Compression::ALL {
            let compressed = packed(codec, &data);
            for cap in caps {
                let mut out = Vec::new();
                let result =
                    Decompressor::new().decompress(codec, &compressed, &mut out, cap, false);
                if len <= cap {
                    prop_assert_eq!(result, Ok(()));
                    prop_assert!(out == data);
                } else {
                    let too_large = Corruption::InflatedTooLarge { codec, cap };
                    prop_assert_eq!(result, Err(too_large));
                    prop_assert!(out.is_empty());
                }
                let (capacity, limit) = (out.capacity(), cap + 1);
                prop_assert!(capacity <= limit, "{}: capacity {} > {}", codec, capacity, limit);
            }
        }
    }

    /// Random bytes, alone or behind each codec's magic: an error or some
    /// output, never a panic; errors are lower case.
    #[test]
    fn garbage_never_panics(
        prefix in prop::sample::select(vec![
            &[][..],
            &[0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 0xff][..],
            &[0x1f, 0x8b, 0x08, 0x1e][..],
            &XERIAL_HEADER[..],
            &LZ4_HEADER[..],
            &[0x04, 0x22, 0x4d, 0x18, 0x48, 0x70][..],
            &[0x28, 0xb5, 0x2f, 0xfd][..],
        ]),
        tail in prop::collection::vec(any::<u8>(), 0..4096),
        legacy_lz4 in any::<bool>(),
    ) {
        let input = [prefix, &tail[..]].concat();
        let mut decompressor = Decompressor::new();
        let mut out = Vec::new();
        for codec in Compression::ALL {
            match decompressor.decompress(codec, &input, &mut out, 1 << 20, legacy_lz4) {
                Ok(()) => {}
                Err(Corruption::Decompress { reason, .. }) => {
                    prop_assert_eq!(reason.to_lowercase(), reason);
                }
                Err(Corruption::InflatedTooLarge { .. }) => {}
                Err(other) => prop_assert!(false, "unexpected {:?}", other),
            }
        }
    }

    /// Valid payloads cut short or with a byte changed: never a panic, and
    /// a truncated payload never decodes to the whole input.
    #[test]
    fn damaged_input_never_panics(
        data in payload(16 * 1024),
        at in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let mut decompressor = Decompressor::new();
        let mut out = Vec::new();
        for codec in Compression::ALL {
            let compressed = packed(codec, &data);
            if compressed.is_empty() {
                continue; // nothing to damage (none, empty data)
            }
            let at = at.index(compressed.len());
            let truncated = &compressed[..at];
            let result = decompressor.decompress(codec, truncated, &mut out, NO_CAP, false);
            if codec != Compression::None {
                prop_assert!(result.is_err() || out != data, "{} truncated at {}", codec, at);
            }
            let mut flipped = compressed.clone();
            flipped[at] ^= flip;
            let _ = decompressor.decompress(codec, &flipped, &mut out, NO_CAP, false);
            let _ = decompressor.decompress(codec, &flipped, &mut out, NO_CAP, true);
        }
    }
}

/// 64 MiB of zeros in every framing we know, read with a 1 MiB cap: each
/// stops at the cap without the buffer growing past it, and a size
/// declared up front is refused before anything is allocated.
#[test]
fn bombs_stop_at_the_cap() {
    let zeros = vec![0u8; 64 << 20];
    let cap = 1 << 20;
    let lz4_big = lz4_frame(
        &zeros,
        lz4_flex::frame::FrameInfo::new()
            .block_size(lz4_flex::frame::BlockSize::Max4MB)
            .block_mode(lz4_flex::frame::BlockMode::Linked),
    );
    let lz4_sized = lz4_frame(
        &zeros,
        lz4_flex::frame::FrameInfo::new().content_size(Some(zeros.len() as u64)),
    );
    let bombs = [
        (Compression::None, zeros.clone(), true),
        (Compression::Gzip, packed(Compression::Gzip, &zeros), false),
        (
            Compression::Snappy,
            packed(Compression::Snappy, &zeros),
            false,
        ),
        (
            Compression::Snappy,
            snap::raw::Encoder::new().compress_vec(&zeros).unwrap(),
            true,
        ),
        (Compression::Lz4, packed(Compression::Lz4, &zeros), false),
        (Compression::Lz4, lz4_big, false),
        (Compression::Lz4, lz4_sized, true),
        (Compression::Zstd, packed(Compression::Zstd, &zeros), true),
        (Compression::Zstd, zstd_streamed(&zeros, false), false),
    ];
    drop(zeros);
    let mut decompressor = Decompressor::new();
    for (i, (codec, bomb, declared)) in bombs.into_iter().enumerate() {
        let mut out = Vec::new();
        let result = decompressor.decompress(codec, &bomb, &mut out, cap, false);
        assert_eq!(
            result,
            Err(Corruption::InflatedTooLarge { codec, cap }),
            "bomb {i}"
        );
        assert!(out.is_empty());
        assert!(
            out.capacity() <= cap + 1,
            "bomb {i}: capacity {}",
            out.capacity()
        );
        if declared {
            assert_eq!(out.capacity(), 0, "bomb {i} declares its size");
        }
    }
}

#[test]
fn output_buffer_is_reused_and_never_shrinks() {
    let big = packed(Compression::Zstd, &[7u8; 100_000]);
    let small = packed(Compression::Zstd, b"small");
    let mut decompressor = Decompressor::new();
    let mut out = Vec::new();
    decompressor
        .decompress(Compression::Zstd, &big, &mut out, NO_CAP, false)
        .unwrap();
    let capacity = out.capacity();
    let address = out.as_ptr();
    for codec in Compression::ALL {
        let small = if codec == Compression::Zstd {
            small.clone()
        } else {
            packed(codec, b"small")
        };
        decompressor
            .decompress(codec, &small, &mut out, NO_CAP, false)
            .unwrap();
        assert_eq!(out, b"small");
        assert_eq!(
            (out.capacity(), out.as_ptr()),
            (capacity, address),
            "{codec}"
        );
    }
}

#[test]
fn decompressor_is_send() {
    fn assert_send<T: Send>() {}
    assert_send::<Decompressor>();
}

#[test]
fn none_is_a_bounded_copy() {
    assert_eq!(inflate(Compression::None, b"abc", 3).unwrap(), b"abc");
    assert_eq!(
        inflate(Compression::None, b"abc", 2),
        Err(Corruption::InflatedTooLarge {
            codec: Compression::None,
            cap: 2
        })
    );
}

/// A size declared under the cap is not reserved when the input cannot
/// hold that much.
#[test]
fn implausible_declared_sizes_are_not_reserved() {
    let cap = 1 << 30;
    // An lz4 frame claiming 1 GiB of content, holding 5 bytes.
    let mut lz4 = vec![0x04, 0x22, 0x4d, 0x18, 0x68, 0x40];
    lz4.extend_from_slice(&(1u64 << 30).to_le_bytes());
    lz4.push(lz4_header_checksum(&lz4[4..]));
    lz4.extend_from_slice(&(5 | LZ4_UNCOMPRESSED).to_le_bytes());
    lz4.extend_from_slice(b"hello");
    lz4.extend_from_slice(&[0, 0, 0, 0]);
    let mut out = Vec::new();
    let result = Decompressor::new().decompress(Compression::Lz4, &lz4, &mut out, cap, false);
    assert!(
        matches!(result, Err(Corruption::Decompress { .. })),
        "{result:?}"
    );
    assert!(out.capacity() <= (lz4.len() * LZ4_MAX_RATIO).max(MIN_GROWTH));

    // A genuine zstd frame with a ratio past the plausible one: streamed.
    let zeros = vec![0u8; 8 << 20];
    let zstd = packed(Compression::Zstd, &zeros);
    assert!(zstd.len() * ZSTD_PLAUSIBLE_RATIO < zeros.len());
    assert_eq!(inflate(Compression::Zstd, &zstd, cap).unwrap(), zeros);
}

/// What kafka-python 3.0.12 (`kafka.codec`, with python-snappy, lz4 and
/// zstandard from `/work/shared/conformance/requirements.lock`) writes for
/// [`KP_TEXT`]: `gzip_encode`, `snappy_encode` (xerial, xerial with
/// 64-byte blocks, raw), `lz4_encode`, `lz4_encode_old_kafka` and
/// `zstd_encode`.
mod kafka_python {
    pub const KP_TEXT: &[u8] =
        b"kreplay cross-check: the quick brown fox jumps over the lazy dog. \
        kreplay cross-check: the quick brown fox jumps over the lazy dog. \
        kreplay cross-check: the quick brown fox jumps over the lazy dog. \
        0123456789";
    pub const KP_GZIP: &[u8] = b"\
      \x1f\x8b\x08\x00\xc5\x45\x07\x6b\x02\xff\xcb\x2e\x4a\x2d\xc8\x49\xac\x54\x48\x2e\
      \xca\x2f\x2e\xd6\x4d\xce\x48\x4d\xce\xb6\x52\x28\xc9\x48\x55\x28\x2c\xcd\x4c\xce\
      \x56\x48\x2a\xca\x2f\xcf\x53\x48\xcb\xaf\x50\xc8\x2a\xcd\x2d\x28\x56\xc8\x2f\x4b\
      \x2d\x02\x4b\xe7\x24\x56\x55\x2a\xa4\xe4\xa7\xeb\x29\x64\x0f\x02\x13\x0c\x0c\x8d\
      \x8c\x4d\x4c\xcd\xcc\x2d\x2c\x01\x29\xbd\x33\x0a\xd0\x00\x00\x00";
    pub const KP_SNAPPY_XERIAL: &[u8] = b"\
      \x82\x53\x4e\x41\x50\x50\x59\x00\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x56\
      \xd0\x01\xc8\x6b\x72\x65\x70\x6c\x61\x79\x20\x63\x72\x6f\x73\x73\x2d\x63\x68\x65\
      \x63\x6b\x3a\x20\x74\x68\x65\x20\x71\x75\x69\x63\x6b\x20\x62\x72\x6f\x77\x6e\x20\
      \x66\x6f\x78\x20\x6a\x75\x6d\x70\x73\x20\x6f\x76\x65\x72\x05\x1f\x24\x6c\x61\x7a\
      \x79\x20\x64\x6f\x67\x2e\x20\xfe\x42\x00\xfe\x42\x00\x01\x42\x24\x30\x31\x32\x33\
      \x34\x35\x36\x37\x38\x39";
    pub const KP_SNAPPY_XERIAL_SMALL_BLOCKS: &[u8] = b"\
      \x82\x53\x4e\x41\x50\x50\x59\x00\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x43\
      \x40\xf0\x3f\x6b\x72\x65\x70\x6c\x61\x79\x20\x63\x72\x6f\x73\x73\x2d\x63\x68\x65\
      \x63\x6b\x3a\x20\x74\x68\x65\x20\x71\x75\x69\x63\x6b\x20\x62\x72\x6f\x77\x6e\x20\
      \x66\x6f\x78\x20\x6a\x75\x6d\x70\x73\x20\x6f\x76\x65\x72\x20\x74\x68\x65\x20\x6c\
      \x61\x7a\x79\x20\x64\x6f\x67\x00\x00\x00\x43\x40\xf0\x3f\x2e\x20\x6b\x72\x65\x70\
      \x6c\x61\x79\x20\x63\x72\x6f\x73\x73\x2d\x63\x68\x65\x63\x6b\x3a\x20\x74\x68\x65\
      \x20\x71\x75\x69\x63\x6b\x20\x62\x72\x6f\x77\x6e\x20\x66\x6f\x78\x20\x6a\x75\x6d\
      \x70\x73\x20\x6f\x76\x65\x72\x20\x74\x68\x65\x20\x6c\x61\x7a\x79\x20\x64\x00\x00\
      \x00\x43\x40\xf0\x3f\x6f\x67\x2e\x20\x6b\x72\x65\x70\x6c\x61\x79\x20\x63\x72\x6f\
      \x73\x73\x2d\x63\x68\x65\x63\x6b\x3a\x20\x74\x68\x65\x20\x71\x75\x69\x63\x6b\x20\
      \x62\x72\x6f\x77\x6e\x20\x66\x6f\x78\x20\x6a\x75\x6d\x70\x73\x20\x6f\x76\x65\x72\
      \x20\x74\x68\x65\x20\x6c\x61\x7a\x79\x00\x00\x00\x12\x10\x3c\x20\x64\x6f\x67\x2e\
      \x20\x30\x31\x32\x33\x34\x35\x36\x37\x38\x39";
    pub const KP_SNAPPY_RAW: &[u8] = b"\
      \xd0\x01\xc8\x6b\x72\x65\x70\x6c\x61\x79\x20\x63\x72\x6f\x73\x73\x2d\x63\x68\x65\
      \x63\x6b\x3a\x20\x74\x68\x65\x20\x71\x75\x69\x63\x6b\x20\x62\x72\x6f\x77\x6e\x20\
      \x66\x6f\x78\x20\x6a\x75\x6d\x70\x73\x20\x6f\x76\x65\x72\x05\x1f\x24\x6c\x61\x7a\
      \x79\x20\x64\x6f\x67\x2e\x20\xfe\x42\x00\xfe\x42\x00\x01\x42\x24\x30\x31\x32\x33\
      \x34\x35\x36\x37\x38\x39";
    pub const KP_LZ4: &[u8] = b"\
      \x04\x22\x4d\x18\x68\x40\xd0\x00\x00\x00\x00\x00\x00\x00\x2d\x50\x00\x00\x00\xf1\
      \x24\x6b\x72\x65\x70\x6c\x61\x79\x20\x63\x72\x6f\x73\x73\x2d\x63\x68\x65\x63\x6b\
      \x3a\x20\x74\x68\x65\x20\x71\x75\x69\x63\x6b\x20\x62\x72\x6f\x77\x6e\x20\x66\x6f\
      \x78\x20\x6a\x75\x6d\x70\x73\x20\x6f\x76\x65\x72\x1f\x00\xaf\x6c\x61\x7a\x79\x20\
      \x64\x6f\x67\x2e\x20\x42\x00\x71\xa0\x30\x31\x32\x33\x34\x35\x36\x37\x38\x39\x00\
      \x00\x00\x00";
    pub const KP_LZ4_OLD_KAFKA: &[u8] = b"\
      \x04\x22\x4d\x18\x60\x40\x1a\x50\x00\x00\x00\xf1\x24\x6b\x72\x65\x70\x6c\x61\x79\
      \x20\x63\x72\x6f\x73\x73\x2d\x63\x68\x65\x63\x6b\x3a\x20\x74\x68\x65\x20\x71\x75\
      \x69\x63\x6b\x20\x62\x72\x6f\x77\x6e\x20\x66\x6f\x78\x20\x6a\x75\x6d\x70\x73\x20\
      \x6f\x76\x65\x72\x1f\x00\xaf\x6c\x61\x7a\x79\x20\x64\x6f\x67\x2e\x20\x42\x00\x71\
      \xa0\x30\x31\x32\x33\x34\x35\x36\x37\x38\x39\x00\x00\x00\x00";
    pub const KP_ZSTD: &[u8] = b"\
      \x28\xb5\x2f\xfd\x20\xd0\x95\x02\x00\x74\x04\x6b\x72\x65\x70\x6c\x61\x79\x20\x63\
      \x72\x6f\x73\x73\x2d\x63\x68\x65\x63\x6b\x3a\x20\x74\x68\x65\x20\x71\x75\x69\x63\
      \x6b\x20\x62\x72\x6f\x77\x6e\x20\x66\x6f\x78\x20\x6a\x75\x6d\x70\x73\x20\x6f\x76\
      \x65\x72\x6c\x61\x7a\x79\x20\x64\x6f\x67\x2e\x20\x30\x31\x32\x33\x34\x35\x36\x37\
      \x38\x39\x02\x00\x81\x22\x10\x1a\xd1\x2a\x28";
}

#[test]
fn reads_kafka_python_output() {
    use kafka_python::*;
    let cases = [
        (Compression::Gzip, KP_GZIP),
        (Compression::Snappy, KP_SNAPPY_XERIAL),
        (Compression::Snappy, KP_SNAPPY_XERIAL_SMALL_BLOCKS),
        (Compression::Snappy, KP_SNAPPY_RAW),
        (Compression::Lz4, KP_LZ4),
        (Compression::Zstd, KP_ZSTD),
    ];
    let mut decompressor = Decompressor::new();
    let mut out = Vec::new();
    for (i, (codec, input)) in cases.into_iter().enumerate() {
        for legacy_lz4 in [false, true] {
            decompressor
                .decompress(codec, input, &mut out, KP_TEXT.len(), legacy_lz4)
                .unwrap_or_else(|e| panic!("case {i}: {e}"));
            assert_eq!(out, KP_TEXT, "case {i}");
        }
    }
    // The broken header checksum of Kafka 0.8/0.9: only for magic 0.
    decompressor
        .decompress(Compression::Lz4, KP_LZ4_OLD_KAFKA, &mut out, NO_CAP, true)
        .unwrap();
    assert_eq!(out, KP_TEXT);
    assert_eq!(
        decompressor.decompress(Compression::Lz4, KP_LZ4_OLD_KAFKA, &mut out, NO_CAP, false),
        Err(Corruption::Decompress {
            codec: Compression::Lz4,
            reason: "lz4 frame header checksum mismatch".into()
        })
    );
    // It is the KAFKA-3160 checksum: over the magic number and the descriptor.
    assert_eq!(
        lz4_header_checksum(&KP_LZ4_OLD_KAFKA[..6]),
        KP_LZ4_OLD_KAFKA[6]
    );
}

/// Writes `compress()` output for every codec to `$KREPLAY_CODEC_DUMP_DIR`
/// (`<codec>.bin`, plus `input.bin`) for a check with other decoders, e.g.
/// kafka-python's `kafka.codec` `*_decode` functions.
#[test]
#[ignore = "writes files; set KREPLAY_CODEC_DUMP_DIR"]
fn dump_for_other_decoders() {
    let dir = std::path::PathBuf::from(
        std::env::var_os("KREPLAY_CODEC_DUMP_DIR").expect("KREPLAY_CODEC_DUMP_DIR"),
    );
    let input: Vec<u8> = (0..300_000u32)
        .flat_map(|i| format!("record {i} value {}\n", i % 977).into_bytes())
        .chain(noise(70_000))
        .collect();
    std::fs::write(dir.join("input.bin"), &input).unwrap();
    for codec in Compression::ALL {
        std::fs::write(dir.join(format!("{codec}.bin")), packed(codec, &input)).unwrap();
    }
    std::fs::write(dir.join("empty-input.bin"), b"").unwrap();
    for codec in Compression::ALL {
        std::fs::write(dir.join(format!("empty-{codec}.bin")), packed(codec, b"")).unwrap();
    }
}

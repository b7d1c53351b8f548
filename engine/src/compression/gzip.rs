//! gzip (RFC 1952) around raw deflate: the member framing parsed here, the
//! deflate stream inflated through the `Decompressor`'s reused state.

use super::buffer::make_room;
use super::{Fault, Inflated};

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const GZIP_METHOD_DEFLATE: u8 = 8;
const GZIP_FHCRC: u8 = 0x02;
const GZIP_FEXTRA: u8 = 0x04;
const GZIP_FNAME: u8 = 0x08;
const GZIP_FCOMMENT: u8 = 0x10;

pub(super) fn gunzip(
    inflate: &mut flate2::Decompress,
    input: &[u8],
    out: &mut Vec<u8>,
    max_bytes: usize,
) -> Inflated {
    let limit = max_bytes.saturating_add(1);
    let mut rest = input;
    let mut first = true;
    loop {
        let body = match gzip_header(rest) {
            Ok(body) => body,
            // GZIPInputStream reads what follows a member as another member
            // only if it has a valid header, and stops quietly otherwise.
            Err(_) if !first => return Ok(()),
            Err(reason) => return Err(Fault::bad(reason)),
        };
        first = false;
        let member_start = out.len();
        let used = inflate_member(inflate, body, out, limit)?;
        if out.len() > max_bytes {
            return Err(Fault::TooLarge);
        }
        let (trailer, after) = body
            .get(used..)
            .and_then(<[u8]>::split_first_chunk::<8>)
            .ok_or_else(|| Fault::bad("truncated gzip trailer"))?;
        let [c0, c1, c2, c3, s0, s1, s2, s3] = *trailer;
        let member = out.get(member_start..).unwrap_or_default();
        if crc32fast::hash(member) != u32::from_le_bytes([c0, c1, c2, c3]) {
            return Err(Fault::bad("gzip crc mismatch"));
        }
        // ISIZE is the member's size modulo 2^32.
        if member.len() as u64 & u64::from(u32::MAX)
            != u64::from(u32::from_le_bytes([s0, s1, s2, s3]))
        {
            return Err(Fault::bad("gzip size mismatch"));
        }
        if after.is_empty() {
            return Ok(());
        }
        rest = after;
    }
}

/// Parses a gzip member header, returning what follows it (the deflate data).
fn gzip_header(input: &[u8]) -> Result<&[u8], &'static str> {
    const TRUNCATED: &str = "truncated gzip header";
    let (fixed, mut rest) = input.split_first_chunk::<10>().ok_or(TRUNCATED)?;
    let [id1, id2, method, flags, ..] = *fixed;
    if [id1, id2] != GZIP_MAGIC {
        return Err("not in gzip format");
    }
    if method != GZIP_METHOD_DEFLATE {
        return Err("unsupported gzip compression method");
    }
    if flags & GZIP_FEXTRA != 0 {
        let (xlen, tail) = rest.split_first_chunk::<2>().ok_or(TRUNCATED)?;
        rest = tail
            .get(usize::from(u16::from_le_bytes(*xlen))..)
            .ok_or(TRUNCATED)?;
    }
    for flag in [GZIP_FNAME, GZIP_FCOMMENT] {
        if flags & flag != 0 {
            // A zero-terminated string.
            let nul = rest.iter().position(|&b| b == 0).ok_or(TRUNCATED)?;
            rest = rest.get(nul.saturating_add(1)..).ok_or(TRUNCATED)?;
        }
    }
    if flags & GZIP_FHCRC != 0 {
        let header = input
            .get(..input.len().saturating_sub(rest.len()))
            .ok_or(TRUNCATED)?;
        let (stored, tail) = rest.split_first_chunk::<2>().ok_or(TRUNCATED)?;
        if (crc32fast::hash(header) & 0xffff) as u16 != u16::from_le_bytes(*stored) {
            return Err("gzip header crc mismatch");
        }
        rest = tail;
    }
    Ok(rest)
}

/// Inflates one member's deflate stream into `out`, returning how many bytes
/// of `body` it took.
fn inflate_member(
    inflate: &mut flate2::Decompress,
    body: &[u8],
    out: &mut Vec<u8>,
    limit: usize,
) -> Result<usize, Fault> {
    inflate.reset(false);
    let used =
        |inflate: &flate2::Decompress| usize::try_from(inflate.total_in()).unwrap_or(usize::MAX);
    loop {
        let before = (used(inflate), out.len());
        if !make_room(out, limit) {
            return Err(Fault::TooLarge);
        }
        let pending = body.get(before.0..).unwrap_or_default();
        let status = inflate
            .decompress_vec(pending, out, flate2::FlushDecompress::None)
            .map_err(Fault::bad)?;
        if status == flate2::Status::StreamEnd {
            return Ok(used(inflate));
        }
        if (used(inflate), out.len()) == before {
            // Room to write and nothing written: the input ran out.
            return Err(Fault::bad("truncated deflate stream"));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects,
        clippy::cast_possible_truncation
    )]

    use std::io::{Read, Write};

    use proptest::prelude::*;

    use super::*;
    use crate::compression::test_support::{inflate, payload, reason, NO_CAP};
    use crate::compression::Compression;

    fn gzip_member(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Naive oracle: flate2's `MultiGzDecoder` on concatenated members
        /// with optional header fields.
        #[test]
        fn gzip_matches_multi_gz_decoder(
            members in prop::collection::vec(
                (payload(20 * 1024), any::<bool>(), any::<bool>(), any::<bool>()),
                1..4,
            ),
        ) {
            let mut input = Vec::new();
            let mut expected = Vec::new();
            for (data, name, comment, extra) in &members {
                let mut builder = flate2::GzBuilder::new();
                if *name {
                    builder = builder.filename("batch.bin");
                }
                if *comment {
                    builder = builder.comment("a comment");
                }
                if *extra {
                    builder = builder.extra(vec![1, 2, 3, 4]);
                }
                let mut encoder = builder.write(Vec::new(), flate2::Compression::default());
                encoder.write_all(data).unwrap();
                input.extend(encoder.finish().unwrap());
                expected.extend_from_slice(data);
            }
            let mut theirs = Vec::new();
            flate2::read::MultiGzDecoder::new(&input[..]).read_to_end(&mut theirs).unwrap();
            prop_assert!(theirs == expected);
            prop_assert!(inflate(Compression::Gzip, &input, NO_CAP).unwrap() == expected);
        }
    }

    #[test]
    fn gzip_reads_concatenated_members_and_ignores_trailing_bytes_like_java() {
        let mut input = [gzip_member(b"hello, "), gzip_member(b"world")].concat();
        assert_eq!(
            inflate(Compression::Gzip, &input, NO_CAP).unwrap(),
            b"hello, world"
        );
        input.extend_from_slice(b"not a gzip member");
        assert_eq!(
            inflate(Compression::Gzip, &input, NO_CAP).unwrap(),
            b"hello, world"
        );
        // A valid header after a member starts a member that must be whole.
        input.truncate(input.len() - 17);
        input.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff]);
        assert!(inflate(Compression::Gzip, &input, NO_CAP).is_err());
        // Garbage on its own is not gzip.
        assert_eq!(
            reason(inflate(Compression::Gzip, b"not gzip at all", NO_CAP)),
            "not in gzip format"
        );
        assert_eq!(
            reason(inflate(Compression::Gzip, b"", NO_CAP)),
            "truncated gzip header"
        );
    }

    #[test]
    fn gzip_checks_trailer_and_header_crc() {
        let member = gzip_member(b"some bytes to check");
        let n = member.len();
        let mut bad_crc = member.clone();
        bad_crc[n - 8] ^= 1;
        assert_eq!(
            reason(inflate(Compression::Gzip, &bad_crc, NO_CAP)),
            "gzip crc mismatch"
        );
        let mut bad_size = member.clone();
        bad_size[n - 1] ^= 1;
        assert_eq!(
            reason(inflate(Compression::Gzip, &bad_size, NO_CAP)),
            "gzip size mismatch"
        );
        assert_eq!(
            reason(inflate(Compression::Gzip, &member[..n - 3], NO_CAP)),
            "truncated gzip trailer"
        );
        assert_eq!(
            reason(inflate(Compression::Gzip, &member[..n - 12], NO_CAP)),
            "truncated deflate stream"
        );

        // FHCRC: the low 16 bits of the header's crc-32 follow the header.
        let mut with_hcrc = member[..10].to_vec();
        with_hcrc[3] |= GZIP_FHCRC;
        let header_crc = (crc32fast::hash(&with_hcrc) & 0xffff) as u16;
        with_hcrc.extend_from_slice(&header_crc.to_le_bytes());
        with_hcrc.extend_from_slice(&member[10..]);
        assert_eq!(
            inflate(Compression::Gzip, &with_hcrc, NO_CAP).unwrap(),
            b"some bytes to check"
        );
        with_hcrc[10] ^= 1;
        assert_eq!(
            reason(inflate(Compression::Gzip, &with_hcrc, NO_CAP)),
            "gzip header crc mismatch"
        );
    }
}

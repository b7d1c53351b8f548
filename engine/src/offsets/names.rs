//! Group ids as directory names and the percent-encoding of the offsets
//! file's fields (see [`OffsetStore`](super::OffsetStore)), and `short`,
//! a name cut for error messages.

use crate::error::{Error, Result};

/// The longest encoded group id, in bytes, that [`OffsetStore`](super::OffsetStore) accepts as a
/// directory name.
pub const MAX_GROUP_DIR_NAME_LEN: usize = 200;

/// At most 40 characters of a name, for error messages.
pub(crate) fn short(name: &str) -> String {
    let mut chars = name.chars();
    let head: String = chars.by_ref().take(40).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

fn is_group_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

pub(super) fn is_field_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')
}

pub(crate) fn percent_encode(text: &str, keep: fn(u8) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    for &b in text.as_bytes() {
        if keep(b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(hex_digit(b >> 4));
            out.push(hex_digit(b & 0x0f));
        }
    }
    out
}

fn hex_digit(nibble: u8) -> char {
    char::from_digit(u32::from(nibble), 16)
        .map(|c| c.to_ascii_uppercase())
        .unwrap_or('0')
}

/// Decodes `%XX` escapes (either case); other bytes stand for themselves.
/// `None` for a bad escape or a result that is not UTF-8.
pub(crate) fn percent_decode(text: &str) -> Option<String> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let high = bytes.next().and_then(hex_value)?;
            let low = bytes.next().and_then(hex_value)?;
            out.push(high << 4 | low);
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).ok()
}

fn hex_value(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// The directory name of a group id (see the module docs).
pub(super) fn encode_group_id(group: &str) -> Result<String> {
    if group.is_empty() {
        return Err(Error::Config(
            "group id must not be empty (kafka refuses empty group ids)".into(),
        ));
    }
    let encoded = percent_encode(group, is_group_byte);
    if encoded.len() > MAX_GROUP_DIR_NAME_LEN {
        return Err(Error::Config(format!(
            "group id {:?} is too long: encoded as a directory name it takes {} bytes, \
             over the limit of {MAX_GROUP_DIR_NAME_LEN} bytes",
            short(group),
            encoded.len()
        )));
    }
    Ok(encoded)
}

/// The group id a directory name encodes, if it is the canonical encoding
/// of one.
pub(super) fn decode_group_dir_name(name: &str) -> Option<String> {
    let group = percent_decode(name)?;
    (!group.is_empty() && percent_encode(&group, is_group_byte) == name).then_some(group)
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]

    use std::collections::BTreeMap;
    use std::fs;

    use super::*;
    use crate::offsets::test_support::{one, store, tp};
    use crate::offsets::{OffsetAndMetadata, GROUPS_DIR};

    #[test]
    fn offsets_hostile_group_names() {
        let (dir, store) = store();
        let groups_dir = store.state_dir().join(GROUPS_DIR);
        let long = "x".repeat(10_000);
        let accepted = [
            "../x",
            "/etc/passwd",
            ".",
            "..",
            "a/b",
            "a\0b",
            "\n",
            "😀",
            "%41",
            "-",
            "_",
            "CON",
            "g%",
            " ",
            "\\..\\x",
            "a.b",
        ];
        for group in accepted {
            let offsets = one(tp("t", 0), OffsetAndMetadata::new(1));
            store.commit(group, &offsets).unwrap();
            let path = store.group_dir(group).unwrap();
            assert_eq!(path.parent(), Some(groups_dir.as_path()), "{group:?}");
            let name = path.file_name().unwrap().to_str().unwrap();
            assert!(
                name.bytes().all(|b| is_group_byte(b) || b == b'%'),
                "{name}"
            );
            assert_eq!(store.committed_all(group).unwrap(), offsets, "{group:?}");
        }
        let mut expected: Vec<String> = accepted.iter().map(|g| g.to_string()).collect();
        expected.sort();
        assert_eq!(store.groups().unwrap(), expected);
        // Nothing escaped: the temp dir holds only the state dir.
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["state"]);

        let err = store.commit("", &BTreeMap::new()).unwrap_err().to_string();
        assert!(err.contains("group id must not be empty"), "{err}");
        for long in [long.clone(), "é".repeat(40), ".".repeat(67)] {
            let err = store.committed_all(&long).unwrap_err().to_string();
            assert!(err.contains("over the limit of 200 bytes"), "{err}");
            assert!(err.len() < 400, "{err}");
        }
        // The longest accepted name.
        let max = "y".repeat(MAX_GROUP_DIR_NAME_LEN);
        store
            .commit(&max, &one(tp("t", 0), OffsetAndMetadata::new(1)))
            .unwrap();
        assert!(store.groups().unwrap().contains(&max));
    }

    #[test]
    fn offsets_group_dir_names_are_canonical() {
        for name in ["a", "%41", "a%2e", "%2E%2E", "a%2", "%C3", "a.b", ""] {
            let decoded = decode_group_dir_name(name);
            match name {
                "a" => assert_eq!(decoded.as_deref(), Some("a")),
                "%2E%2E" => assert_eq!(decoded.as_deref(), Some("..")),
                _ => assert_eq!(decoded, None, "{name}"),
            }
        }
    }
}

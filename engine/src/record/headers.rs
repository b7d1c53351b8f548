//! Record headers (v2 only): [`Headers`], checked once when their record is
//! decoded, then iterated lazily as [`Header`]s.

use super::primitives::Cursor;

/// The headers of a record: validated at decode time, iterated lazily.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Headers<'a> {
    pub(super) bytes: &'a [u8],
    pub(super) count: u32,
}

impl<'a> Headers<'a> {
    pub(super) const EMPTY: Headers<'static> = Headers {
        bytes: &[],
        count: 0,
    };

    /// The number of headers.
    #[inline]
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// Whether there are none.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Iterates the headers in order (duplicates kept).
    pub fn iter(&self) -> HeaderIter<'a> {
        HeaderIter {
            cursor: Cursor::new(self.bytes),
            remaining: self.count,
        }
    }
}

impl<'a> IntoIterator for Headers<'a> {
    type Item = Header<'a>;
    type IntoIter = HeaderIter<'a>;

    fn into_iter(self) -> HeaderIter<'a> {
        self.iter()
    }
}

/// One record header. The key is UTF-8 when the producer followed the
/// protocol; it is exposed as bytes because disks hold what they hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    /// The header key.
    pub key: &'a [u8],
    /// The header value; `None` when null.
    pub value: Option<&'a [u8]>,
}

/// Iterator over [`Headers`].
#[derive(Debug, Clone)]
pub struct HeaderIter<'a> {
    cursor: Cursor<'a>,
    remaining: u32,
}

impl<'a> Iterator for HeaderIter<'a> {
    type Item = Header<'a>;

    fn next(&mut self) -> Option<Header<'a>> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        // Validated when the record was decoded: these cannot fail.
        read_header(&mut self.cursor).ok()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining as usize, Some(self.remaining as usize))
    }
}

#[inline]
pub(super) fn read_header<'a>(c: &mut Cursor<'a>) -> Result<Header<'a>, &'static str> {
    let key_len = c.varint()?;
    if key_len < 0 {
        return Err("negative header key length");
    }
    let key = c
        .take(key_len as usize)
        .ok_or("header key past the end of the record")?;
    let value_len = c.varint()?;
    let value = c
        .nullable_bytes(value_len)
        .map_err(|_| "header value past the end of the record")?;
    Ok(Header { key, value })
}

/// Checks the `count` headers at `at`, which must end the record `body`,
/// and returns them (iterated lazily later, without checks).
#[inline(never)]
pub(super) fn validate_headers(
    body: &[u8],
    at: usize,
    count: i32,
) -> Result<Headers<'_>, &'static str> {
    if count < 0 {
        return Err("negative header count");
    }
    let mut c = Cursor {
        bytes: body,
        position: at,
    };
    if count as usize > c.remaining() {
        return Err("header count larger than the record");
    }
    for _ in 0..count {
        read_header(&mut c)?;
    }
    if c.remaining() != 0 {
        return Err("record length does not match its fields");
    }
    Ok(Headers {
        bytes: body.get(at..).unwrap_or_default(),
        count: count as u32,
    })
}

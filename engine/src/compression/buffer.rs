//! The output buffer of the decoders: bounded geometric growth, and
//! `Reused`, which writes over the bytes an earlier batch left in it
//! instead of zeroing them.

/// Capacity `out` first grows to when a codec does not declare its size.
pub(super) const MIN_GROWTH: usize = 16 * 1024;

/// Makes room for `additional` more bytes in `out`, growing geometrically but
/// never past `limit` bytes of capacity, unless `len + additional` alone is.
pub(super) fn reserve_bounded(out: &mut Vec<u8>, additional: usize, limit: usize) {
    let needed = out.len().saturating_add(additional);
    if needed <= out.capacity() {
        return;
    }
    let target = out
        .capacity()
        .saturating_mul(2)
        .max(MIN_GROWTH)
        .min(limit)
        .max(needed);
    out.reserve_exact(target.saturating_sub(out.len()));
}

/// The output of the decoders that need an initialized `&mut [u8]` to write
/// into (lz4 and snappy). The bytes the buffer held before the call (from an
/// earlier batch: the fetcher and [`Inflater`](crate::Inflater) reuse their
/// buffers) are overwritten in place, and only growth past them is zeroed.
/// Zeroing each 64 KiB lz4 block's room before decoding into it was 15 % of
/// the fetcher's time on lz4 batches. Dropping it cuts the buffer to what
/// was written.
pub(super) struct Reused<'a> {
    bytes: &'a mut Vec<u8>,
    /// How much of `bytes` this call has written; the rest is stale.
    filled: usize,
}

impl<'a> Reused<'a> {
    pub(super) fn new(bytes: &'a mut Vec<u8>) -> Self {
        Reused { bytes, filled: 0 }
    }

    /// How many bytes this call has written.
    pub(super) fn len(&self) -> usize {
        self.filled
    }

    /// The bytes written so far.
    pub(super) fn written(&self) -> &[u8] {
        self.bytes.get(..self.filled).unwrap_or_default()
    }

    /// Capacity for `additional` more bytes, as [`reserve_bounded`] grows it.
    pub(super) fn reserve(&mut self, additional: usize, limit: usize) {
        let end = self.filled.saturating_add(additional);
        reserve_bounded(self.bytes, end.saturating_sub(self.bytes.len()), limit);
    }

    /// The bytes written so far and, after them, `room` bytes to write into
    /// (stale or zeroed, never uninitialized).
    pub(super) fn split_room(&mut self, room: usize, limit: usize) -> (&[u8], &mut [u8]) {
        let end = self.filled.saturating_add(room);
        if self.bytes.len() < end {
            self.reserve(room, limit);
            self.bytes.resize(end, 0);
        }
        let (before, after) = self.bytes.split_at_mut(self.filled);
        (before, after.get_mut(..room).unwrap_or_default())
    }

    /// Counts `written` more bytes of the room as written.
    pub(super) fn advance(&mut self, written: usize) {
        self.filled = self.filled.saturating_add(written).min(self.bytes.len());
    }

    /// Appends `data`.
    pub(super) fn push(&mut self, data: &[u8], limit: usize) {
        let (_, room) = self.split_room(data.len(), limit);
        if let Some(room) = room.get_mut(..data.len()) {
            room.copy_from_slice(data);
            self.advance(data.len());
        }
    }
}

impl Drop for Reused<'_> {
    fn drop(&mut self) {
        self.bytes.truncate(self.filled);
    }
}

/// Makes sure `out` has spare capacity for a streaming decoder to write into,
/// without growing its capacity past `limit`. False when `out` already holds
/// `limit` bytes.
pub(super) fn make_room(out: &mut Vec<u8>, limit: usize) -> bool {
    if out.len() >= limit {
        return false;
    }
    reserve_bounded(out, 1, limit);
    true
}

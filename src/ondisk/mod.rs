//! PostgreSQL's stored forms of numeric and jsonb, printed in plain Rust
//! (no pgrx): the callbacks hand over the bytes after the varlena header,
//! these modules print the text the types' output functions would, or say
//! the bytes are not something they know (then the output function runs).

pub mod jsonb;
pub mod numeric;

#[cfg(test)]
mod jsonb_tests;

/// Text printed for one change's values: an arena of chunks whose bytes
/// never move once handed out (values borrow them until `reset`). A value is
/// printed into a scratch buffer, then copied to the end of the current
/// chunk, so a 10-million-element numeric array costs its text, not ten
/// million buffers; after the change only `RETAINED_CHUNK` bytes are kept.
#[derive(Default)]
pub struct RenderedText {
    chunks: Vec<Vec<u8>>,
    scratch: Vec<u8>,
}

/// The chunk size, and what stays allocated between changes (one chunk).
const RETAINED_CHUNK: usize = 64 << 10;

impl RenderedText {
    /// Runs `print` on an empty buffer and keeps what it wrote, or returns
    /// None if it declines (returns false).
    ///
    /// # Safety
    /// The slice borrows the arena with an unbounded lifetime: it must not be
    /// used after `reset` (the end of the change) or after `self` is dropped.
    pub unsafe fn print<'a>(&mut self, print: impl FnOnce(&mut Vec<u8>) -> bool) -> Option<&'a [u8]> {
        self.scratch.clear();
        if !print(&mut self.scratch) {
            return None;
        }
        let len = self.scratch.len();
        let fits = self.chunks.last().is_some_and(|c| c.capacity() - c.len() >= len);
        if !fits {
            self.chunks.push(Vec::with_capacity(len.max(RETAINED_CHUNK)));
        }
        let chunk = self.chunks.last_mut().expect("a chunk was just ensured");
        let start = chunk.len();
        // Within capacity: the chunk never reallocates, earlier slices stay valid.
        chunk.extend_from_slice(&self.scratch);
        if self.scratch.capacity() > RETAINED_CHUNK {
            self.scratch = Vec::new();
        }
        // SAFETY: the bytes stay in place until reset (the caller's contract).
        Some(unsafe { std::slice::from_raw_parts(chunk.as_ptr().add(start), len) })
    }

    /// Forgets every printed value (what borrowed them must be gone), keeping
    /// one chunk of `RETAINED_CHUNK` bytes for the next change.
    pub fn reset(&mut self) {
        self.chunks.retain(|c| c.capacity() == RETAINED_CHUNK);
        self.chunks.truncate(1);
        if let Some(chunk) = self.chunks.first_mut() {
            chunk.clear();
        }
    }

    /// Bytes held, for tests of the retention bound.
    pub fn allocated(&self) -> usize {
        self.chunks.iter().map(Vec::capacity).sum::<usize>() + self.scratch.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_values_stay_in_place_until_reset_and_memory_is_released() {
        let mut text = RenderedText::default();
        // SAFETY: the slices are used before the reset only.
        let (a, b) = unsafe {
            let a = text
                .print(|b| {
                    b.extend_from_slice(b"one");
                    true
                })
                .unwrap();
            let b = text
                .print(|b| {
                    b.extend_from_slice(b"two");
                    true
                })
                .unwrap();
            (a, b)
        };
        // SAFETY: as above.
        assert!(unsafe { text.print(|_| false) }.is_none());
        // Many values (an array's elements): earlier ones are not moved.
        let many: Vec<&[u8]> = (0..100_000)
            .map(|i| {
                unsafe {
                    text.print(|b| {
                        b.extend_from_slice(format!("{i}").as_bytes());
                        true
                    })
                }
                .unwrap()
            })
            .collect();
        assert_eq!((a, b), (&b"one"[..], &b"two"[..]));
        assert_eq!(many[99_999], b"99999");
        assert_eq!(many[12_345], b"12345");
        assert!(text.allocated() < 1 << 20, "the text, not a buffer per value");
        // A huge value gets its own chunk, released at reset.
        unsafe {
            text.print(|b| {
                b.resize(10 << 20, b'x');
                true
            })
        }
        .unwrap();
        text.reset();
        assert!(
            text.allocated() <= 2 * RETAINED_CHUNK,
            "kept {} bytes",
            text.allocated()
        );
    }
}

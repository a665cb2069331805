//! PostgreSQL's stored forms of numeric and jsonb, printed in plain Rust
//! (no pgrx): the callbacks hand over the bytes after the varlena header,
//! these modules print the text the types' output functions would, or say
//! the bytes are not something they know (then the output function runs).

pub mod jsonb;
pub mod numeric;

#[cfg(test)]
mod jsonb_tests;

/// Text printed for one change's values, in buffers reused from change to
/// change (values borrow it until `reset`; no allocation per value once
/// the buffers have grown).
#[derive(Default)]
pub struct RenderedText {
    buffers: Vec<Vec<u8>>,
    used: usize,
}

/// A buffer that grew past this for one huge value is not kept.
const MAX_RETAINED: usize = 1 << 20;

impl RenderedText {
    /// An empty buffer that nothing else uses until the next `reset`.
    pub fn next_buffer(&mut self) -> &mut Vec<u8> {
        if self.used == self.buffers.len() {
            self.buffers.push(Vec::with_capacity(64));
        }
        let buffer = &mut self.buffers[self.used];
        self.used += 1;
        buffer.clear();
        buffer
    }

    /// Every buffer may be reused (what borrowed them must be gone).
    pub fn reset(&mut self) {
        for buffer in &mut self.buffers[..self.used] {
            if buffer.capacity() > MAX_RETAINED {
                *buffer = Vec::new();
            }
        }
        self.used = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_distinct_until_reset_then_reused() {
        let mut text = RenderedText::default();
        let a = text.next_buffer();
        a.extend_from_slice(b"one");
        let a_ptr = a.as_ptr();
        let b = text.next_buffer();
        b.extend_from_slice(b"two");
        assert_ne!(a_ptr, b.as_ptr());
        text.reset();
        let again = text.next_buffer();
        assert!(again.is_empty());
        assert_eq!(again.as_ptr(), a_ptr, "the first buffer is reused, not reallocated");
    }
}

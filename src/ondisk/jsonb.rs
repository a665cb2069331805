//! jsonb's stored form (PostgreSQL 15, utils/jsonb.h) printed as compact
//! JSON, or exactly as jsonb_out prints it, without calling jsonb_out
//! (which, with the compaction of its output, was 10% of W1's decoding time).
//!
//! A container is a u32 header (count in the low 28 bits; `0x1000_0000`
//! scalar, `0x2000_0000` object, `0x4000_0000` array), then one u32 JEntry
//! per child (an object: all keys, then all values), then the children's
//! data. A JEntry holds a type (`0x7000_0000`) and either the child's length
//! or, every 32nd child (`0x8000_0000` set), its end offset; numerics and
//! nested containers start at the next 4-byte boundary of the data.

use crate::encode::json_text::push_string;
use crate::ondisk::numeric::Numeric;

const COUNT_MASK: u32 = 0x0FFF_FFFF;
const IS_SCALAR: u32 = 0x1000_0000;
const IS_OBJECT: u32 = 0x2000_0000;
const IS_ARRAY: u32 = 0x4000_0000;
const OFFLEN_MASK: u32 = 0x0FFF_FFFF;
const TYPE_MASK: u32 = 0x7000_0000;
const HAS_OFFSET: u32 = 0x8000_0000;
const STRING: u32 = 0x0000_0000;
const NUMERIC: u32 = 0x1000_0000;
const FALSE: u32 = 0x2000_0000;
const TRUE: u32 = 0x3000_0000;
const NULL: u32 = 0x4000_0000;
const CONTAINER: u32 = 0x5000_0000;

/// Deeper documents go to jsonb_out (the recursion here is bounded, so a
/// pathological document cannot overflow the stack; PostgreSQL itself
/// accepts any depth its stack allows).
const MAX_DEPTH: usize = 64;

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(bytes.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

fn int_align(offset: usize) -> usize {
    (offset + 3) & !3
}

/// The bytes of a numeric stored with its own varlena header (4-byte, or
/// 1-byte if it was ever packed), without that header.
fn varlena_payload(bytes: &[u8]) -> Option<&[u8]> {
    let first = *bytes.first()?;
    let one_byte_header = if cfg!(target_endian = "little") {
        first & 0x01 == 0x01
    } else {
        first & 0x80 == 0x80
    };
    if one_byte_header {
        let size = if cfg!(target_endian = "little") {
            first >> 1
        } else {
            first & 0x7F
        } as usize;
        return bytes.get(1..size);
    }
    let header = u32_at(bytes, 0)?;
    let (compressed, size) = if cfg!(target_endian = "little") {
        (header & 0x03 != 0, (header >> 2) as usize)
    } else {
        (header & 0xC000_0000 != 0, (header & 0x3FFF_FFFF) as usize)
    };
    if compressed {
        return None;
    }
    bytes.get(4..size)
}

/// How a document is printed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Style {
    /// No whitespace; strings escaped as `json_text::push_string` escapes
    /// them (also DEL and C1 controls).
    Compact,
    /// As jsonb_out: `", "` and `": "` separators, strings escaped as
    /// PostgreSQL's escape_json does (only C0 controls, `"` and `\`).
    JsonbOut,
}

impl Style {
    fn string(self, out: &mut Vec<u8>, text: &[u8]) {
        match self {
            Style::Compact => push_string(out, text),
            Style::JsonbOut => escape_json(out, text),
        }
    }

    fn separator(self, out: &mut Vec<u8>, byte: u8) {
        out.push(byte);
        if self == Style::JsonbOut {
            out.push(b' ');
        }
    }
}

/// PostgreSQL 15's escape_json (utils/adt/json.c): runs of bytes that need
/// nothing are copied in one go.
fn escape_json(out: &mut Vec<u8>, text: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let mut start = 0;
    for (i, &byte) in text.iter().enumerate() {
        let escaped: &[u8] = match byte {
            b'\x08' => b"\\b",
            b'\x0c' => b"\\f",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0..=0x1f => &[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(byte >> 4) as usize],
                HEX[(byte & 0xf) as usize],
            ],
            _ => continue,
        };
        out.extend_from_slice(&text[start..i]);
        out.extend_from_slice(escaped);
        start = i + 1;
    }
    out.extend_from_slice(&text[start..]);
    out.push(b'"');
}

/// One container's children.
struct Container<'a> {
    count: usize,
    header: u32,
    entries: &'a [u8],
    data: &'a [u8],
}

impl<'a> Container<'a> {
    fn parse(bytes: &'a [u8]) -> Option<Container<'a>> {
        let header = u32_at(bytes, 0)?;
        let count = (header & COUNT_MASK) as usize;
        let children = if header & IS_OBJECT != 0 {
            count.checked_mul(2)?
        } else {
            count
        };
        let data_start = 4usize.checked_add(children.checked_mul(4)?)?;
        Some(Container {
            count,
            header,
            entries: bytes.get(4..data_start)?,
            data: bytes.get(data_start..)?,
        })
    }

    fn entry(&self, index: usize) -> Option<u32> {
        u32_at(self.entries, index * 4)
    }

    /// Where child `index`'s data starts (getJsonbOffset).
    fn offset(&self, index: usize) -> Option<usize> {
        let mut offset = 0usize;
        for i in (0..index).rev() {
            let entry = self.entry(i)?;
            offset = offset.checked_add((entry & OFFLEN_MASK) as usize)?;
            if entry & HAS_OFFSET != 0 {
                break;
            }
        }
        Some(offset)
    }

    /// Child `index`: its JEntry and its data; a numeric's or container's
    /// data starts after the padding to the next 4-byte boundary.
    fn child(&self, index: usize) -> Option<(u32, &'a [u8])> {
        let entry = self.entry(index)?;
        let start = self.offset(index)?;
        let end = if entry & HAS_OFFSET != 0 {
            (entry & OFFLEN_MASK) as usize
        } else {
            start.checked_add((entry & OFFLEN_MASK) as usize)?
        };
        let start = match entry & TYPE_MASK {
            NUMERIC | CONTAINER => int_align(start),
            _ => start,
        };
        Some((entry, self.data.get(start..end)?))
    }
}

/// Appends the document stored in `stored` (the bytes after the varlena
/// header) as compact JSON, strings escaped as `push_string` escapes them;
/// None (with `out` possibly partly written) if the bytes are not a
/// well-formed jsonb of depth at most 64.
pub fn write_compact(stored: &[u8], out: &mut Vec<u8>) -> Option<()> {
    write(stored, out, Style::Compact)
}

/// Appends the document as `style` prints it; None as for `write_compact`.
pub fn write(stored: &[u8], out: &mut Vec<u8>, style: Style) -> Option<()> {
    let root = Container::parse(stored)?;
    if root.header & IS_SCALAR != 0 {
        // A scalar document is stored as a one-element array.
        let (entry, data) = root.child(0)?;
        return write_child(entry, data, out, 0, style);
    }
    write_container(&root, out, 0, style)
}

fn write_container(container: &Container, out: &mut Vec<u8>, depth: usize, style: Style) -> Option<()> {
    if depth >= MAX_DEPTH {
        return None;
    }
    if container.header & IS_OBJECT != 0 {
        out.push(b'{');
        for i in 0..container.count {
            if i > 0 {
                style.separator(out, b',');
            }
            let (key_entry, key) = container.child(i)?;
            if key_entry & TYPE_MASK != STRING {
                return None;
            }
            style.string(out, key);
            style.separator(out, b':');
            let (entry, data) = container.child(container.count + i)?;
            write_child(entry, data, out, depth, style)?;
        }
        out.push(b'}');
    } else if container.header & IS_ARRAY != 0 {
        out.push(b'[');
        for i in 0..container.count {
            if i > 0 {
                style.separator(out, b',');
            }
            let (entry, data) = container.child(i)?;
            write_child(entry, data, out, depth, style)?;
        }
        out.push(b']');
    } else {
        return None;
    }
    Some(())
}

fn write_child(entry: u32, data: &[u8], out: &mut Vec<u8>, depth: usize, style: Style) -> Option<()> {
    match entry & TYPE_MASK {
        STRING => style.string(out, data),
        NUMERIC => {
            let stored = varlena_payload(data)?;
            Numeric::parse(stored)?.write_text(out);
        }
        FALSE => out.extend_from_slice(b"false"),
        TRUE => out.extend_from_slice(b"true"),
        NULL => out.extend_from_slice(b"null"),
        CONTAINER => {
            let nested = Container::parse(data)?;
            write_container(&nested, out, depth + 1, style)?;
        }
        _ => return None,
    }
    Some(())
}

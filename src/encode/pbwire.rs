//! Protobuf wire encoding written straight into the output buffer (no
//! message structs, so no allocation per change). Field numbers come from
//! `fields`, generated from the published schema by build.rs.
//!
//! proto3 rules followed: scalar fields equal to their default are left out;
//! members of a `oneof` are always written (they have presence); repeated
//! numbers are packed.

/// `<MESSAGE>_<FIELD>` constants for every field of proto/wal2any/v1.
#[allow(dead_code)]
pub mod fields {
    include!(concat!(env!("OUT_DIR"), "/wire_fields.rs"));
}

const WIRE_VARINT: u32 = 0;
const WIRE_FIXED64: u32 = 1;
const WIRE_LEN: u32 = 2;
const WIRE_FIXED32: u32 = 5;

/// Longest varint: 64 bits in 7-bit groups.
const MAX_VARINT_LEN: usize = 10;

#[inline]
pub fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

#[inline]
fn tag(out: &mut Vec<u8>, field: u32, wire: u32) {
    varint(out, u64::from(field << 3 | wire));
}

/// The tag of a length-delimited field (its length and bytes follow).
#[inline]
pub fn tag_len(out: &mut Vec<u8>, field: u32) {
    tag(out, field, WIRE_LEN);
}

/// The tag of a varint field (its value follows).
#[inline]
pub fn tag_varint(out: &mut Vec<u8>, field: u32) {
    tag(out, field, WIRE_VARINT);
}

/// Zigzag encoding (protobuf's sint, Avro's int and long).
#[inline]
pub fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

/// A `uint32`/`uint64`/`bool`-as-integer field (left out when 0).
#[inline]
pub fn uint(out: &mut Vec<u8>, field: u32, value: u64) {
    if value != 0 {
        tag(out, field, WIRE_VARINT);
        varint(out, value);
    }
}

/// A field that is written even when 0 (oneof members).
#[inline]
pub fn uint_always(out: &mut Vec<u8>, field: u32, value: u64) {
    tag(out, field, WIRE_VARINT);
    varint(out, value);
}

/// `int32`/`int64` (negative numbers take 10 bytes, as protobuf specifies).
#[inline]
pub fn int_always(out: &mut Vec<u8>, field: u32, value: i64) {
    uint_always(out, field, value as u64);
}

#[inline]
pub fn sint(out: &mut Vec<u8>, field: u32, value: i64) {
    uint(out, field, zigzag(value));
}

#[inline]
pub fn sint_always(out: &mut Vec<u8>, field: u32, value: i64) {
    uint_always(out, field, zigzag(value));
}

#[inline]
pub fn float_always(out: &mut Vec<u8>, field: u32, value: f32) {
    tag(out, field, WIRE_FIXED32);
    out.extend_from_slice(&value.to_bits().to_le_bytes());
}

#[inline]
pub fn double_always(out: &mut Vec<u8>, field: u32, value: f64) {
    tag(out, field, WIRE_FIXED64);
    out.extend_from_slice(&value.to_bits().to_le_bytes());
}

/// A `bytes` field, or a `string` field whose bytes are known to be UTF-8.
#[inline]
pub fn bytes_always(out: &mut Vec<u8>, field: u32, value: &[u8]) {
    tag(out, field, WIRE_LEN);
    varint(out, value.len() as u64);
    out.extend_from_slice(value);
}

/// A `string` field. Protobuf strings must be UTF-8 (decoders reject
/// anything else), so invalid sequences, possible only in a SQL_ASCII
/// database, become U+FFFD.
#[inline]
pub fn string_always(out: &mut Vec<u8>, field: u32, value: &[u8]) {
    bytes_always(out, field, &super::valid_utf8(value));
}

/// A `string` field, left out when empty.
#[inline]
pub fn string(out: &mut Vec<u8>, field: u32, value: &[u8]) {
    if !value.is_empty() {
        string_always(out, field, value);
    }
}

/// Puts the varint length of `out[start..]` (plus `extra`) in front of it.
pub fn prefix_length(out: &mut Vec<u8>, start: usize, extra: usize) {
    insert_varint(out, start, (out.len() - start + extra) as u64);
}

/// Inserts `value` as a varint at `at` (a length known only after the
/// bytes it measures were written).
pub fn insert_varint(out: &mut Vec<u8>, at: usize, value: u64) {
    replace_with_varint(out, at..at, value);
}

/// Replaces `out[range]` with `value` as a varint (one move of the tail).
fn replace_with_varint(out: &mut Vec<u8>, range: std::ops::Range<usize>, mut value: u64) {
    let mut prefix = [0u8; MAX_VARINT_LEN];
    let mut n = 0;
    while value >= 0x80 {
        prefix[n] = value as u8 | 0x80;
        value >>= 7;
        n += 1;
    }
    prefix[n] = value as u8;
    out.splice(range, prefix[..=n].iter().copied());
}

/// An embedded message: tag, length, then what `body` writes. The length is
/// reserved as one byte and widened afterwards only for bodies of 128 bytes
/// or more (a move of the body, cheaper than encoding twice).
#[inline]
pub fn message(out: &mut Vec<u8>, field: u32, body: impl FnOnce(&mut Vec<u8>)) {
    tag(out, field, WIRE_LEN);
    let at = out.len();
    out.push(0);
    body(out);
    let len = out.len() - at - 1;
    if len < 0x80 {
        out[at] = len as u8;
    } else {
        // The reserved byte becomes the whole varint.
        replace_with_varint(out, at..at + 1, len as u64);
    }
}

/// A packed `repeated uint32` field (left out when empty).
pub fn packed_uints(out: &mut Vec<u8>, field: u32, values: impl Iterator<Item = u64>) {
    let mut values = values.peekable();
    if values.peek().is_some() {
        message(out, field, |o| values.for_each(|v| varint(o, v)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_zigzag_match_the_protobuf_spec() {
        let enc = |v: u64| {
            let mut o = Vec::new();
            varint(&mut o, v);
            o
        };
        assert_eq!(enc(0), [0]);
        assert_eq!(enc(1), [1]);
        assert_eq!(enc(150), [0x96, 0x01]);
        assert_eq!(enc(u64::MAX).len(), MAX_VARINT_LEN);
        assert_eq!(zigzag(0), 0);
        assert_eq!(zigzag(-1), 1);
        assert_eq!(zigzag(1), 2);
        assert_eq!(zigzag(i64::MIN), u64::MAX);
    }

    #[test]
    fn long_embedded_messages_get_a_wider_length() {
        for len in [0usize, 1, 127, 128, 300, 20_000] {
            let mut out = vec![0xAA];
            message(&mut out, 2, |o| o.extend(std::iter::repeat_n(7u8, len)));
            let mut expected = vec![0xAA, 2 << 3 | 2];
            varint(&mut expected, len as u64);
            expected.extend(std::iter::repeat_n(7u8, len));
            assert_eq!(out, expected, "body of {len} bytes");
        }
    }

    #[test]
    fn defaults_are_left_out_but_oneof_members_are_not() {
        let mut out = Vec::new();
        uint(&mut out, 1, 0);
        string(&mut out, 2, b"");
        assert!(out.is_empty());
        uint_always(&mut out, 1, 0);
        assert_eq!(out, [1 << 3, 0]);
    }

    #[test]
    fn invalid_utf8_becomes_replacement_characters() {
        let mut out = Vec::new();
        string_always(&mut out, 1, b"a\xffb");
        assert_eq!(out, [10, 5, b'a', 0xEF, 0xBF, 0xBD, b'b']);
    }
}

//! jsonb printing checked on documents built the way PostgreSQL's
//! convertToJsonb lays them out (offsets every 32nd child, padding before
//! numerics and containers), against serde_json and the expected text.

use super::jsonb::write_compact;

enum Doc {
    Null,
    Bool(bool),
    /// A short-form numeric: base-10000 digits, weight, display scale.
    Num(Vec<u16>, i32, u16),
    Str(&'static str),
    Arr(Vec<Doc>),
    Obj(Vec<(&'static str, Doc)>),
}

fn pad(buf: &mut Vec<u8>) -> usize {
    let before = buf.len();
    while !buf.len().is_multiple_of(4) {
        buf.push(0);
    }
    buf.len() - before
}

fn scalar_numeric(buf: &mut Vec<u8>, digits: &[u16], weight: i32, scale: u16) {
    let weight_bits = if weight < 0 {
        0x40 | ((weight + 64) as u16 & 0x3F)
    } else {
        weight as u16
    };
    let mut body = (0x8000u16 | (scale << 7) | weight_bits).to_ne_bytes().to_vec();
    body.extend(digits.iter().flat_map(|d| d.to_ne_bytes()));
    buf.extend((((body.len() + 4) as u32) << 2).to_ne_bytes()); // 4-byte varlena header
    buf.extend(body);
}

/// Writes `doc` at the end of `buf` (whose length is the absolute offset);
/// returns its JEntry type and length, padding included.
fn convert(buf: &mut Vec<u8>, doc: &Doc) -> (u32, u32) {
    let start = buf.len();
    match doc {
        Doc::Null => (0x4000_0000, 0),
        Doc::Bool(b) => (if *b { 0x3000_0000 } else { 0x2000_0000 }, 0),
        Doc::Str(s) => {
            buf.extend_from_slice(s.as_bytes());
            (0, s.len() as u32)
        }
        Doc::Num(d, w, s) => {
            pad(buf);
            scalar_numeric(buf, d, *w, *s);
            (0x1000_0000, (buf.len() - start) as u32)
        }
        Doc::Arr(items) => {
            pad(buf);
            container(buf, 0x4000_0000, items.len(), items.iter().collect());
            (0x5000_0000, (buf.len() - start) as u32)
        }
        Doc::Obj(pairs) => {
            pad(buf);
            let keys: Vec<Doc> = pairs.iter().map(|(k, _)| Doc::Str(k)).collect();
            let children: Vec<&Doc> = keys.iter().chain(pairs.iter().map(|(_, v)| v)).collect();
            container(buf, 0x2000_0000, pairs.len(), children);
            (0x5000_0000, (buf.len() - start) as u32)
        }
    }
}

fn container(buf: &mut Vec<u8>, kind: u32, count: usize, children: Vec<&Doc>) {
    buf.extend((kind | count as u32).to_ne_bytes());
    let entries_at = buf.len();
    buf.resize(entries_at + 4 * children.len(), 0);
    let mut total = 0u32;
    for (i, child) in children.iter().enumerate() {
        let (kind, len) = convert(buf, child);
        total += len;
        let entry = if i % 32 == 0 {
            kind | total | 0x8000_0000
        } else {
            kind | len
        };
        buf[entries_at + 4 * i..entries_at + 4 * i + 4].copy_from_slice(&entry.to_ne_bytes());
    }
}

/// The bytes after the varlena header (which is 4 bytes: offsets and
/// padding count from the varlena's start, as in PostgreSQL).
fn jsonb(doc: &Doc) -> Vec<u8> {
    let mut buf = vec![0u8; 4];
    match doc {
        Doc::Arr(_) | Doc::Obj(_) => {
            convert(&mut buf, doc);
        }
        scalar => container(&mut buf, 0x4000_0000 | 0x1000_0000, 1, vec![scalar]),
    }
    buf.split_off(4)
}

fn compact(doc: &Doc) -> String {
    let mut out = Vec::new();
    write_compact(&jsonb(doc), &mut out).expect("well-formed");
    String::from_utf8(out).unwrap()
}

#[test]
fn documents_print_compactly_in_stored_order() {
    let doc = Doc::Obj(vec![
        ("a", Doc::Num(vec![1, 2500], 0, 2)),
        (
            "b",
            Doc::Arr(vec![
                Doc::Null,
                Doc::Bool(true),
                Doc::Bool(false),
                Doc::Str("x\"\n\u{7f}"),
            ]),
        ),
        ("cc", Doc::Obj(vec![])),
        ("dd", Doc::Arr(vec![])),
        ("eee", Doc::Obj(vec![("k", Doc::Num(vec![], 0, 0))])),
    ]);
    assert_eq!(
        compact(&doc),
        r#"{"a":1.25,"b":[null,true,false,"x\"\n\u007f"],"cc":{},"dd":[],"eee":{"k":0}}"#
    );
}

#[test]
fn scalar_documents() {
    assert_eq!(compact(&Doc::Str("é")), "\"é\"");
    assert_eq!(compact(&Doc::Num(vec![12], -1, 4)), "0.0012");
    assert_eq!(compact(&Doc::Null), "null");
    assert_eq!(compact(&Doc::Bool(false)), "false");
}

#[test]
fn offsets_every_32nd_child_and_padding_are_followed() {
    let items: Vec<Doc> = (0..100)
        .map(|i| match i % 3 {
            0 => Doc::Num(vec![i as u16], 0, 0),
            1 => Doc::Str(if i % 2 == 0 { "ab" } else { "abc" }),
            _ => Doc::Arr(vec![Doc::Num(vec![i as u16], 0, 1)]),
        })
        .collect();
    let text = compact(&Doc::Arr(items));
    let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
    let array = parsed.as_array().unwrap();
    assert_eq!(array.len(), 100);
    assert_eq!(array[99], serde_json::json!(99));
    assert_eq!(array[98], serde_json::json!([98.0]));
    assert_eq!(array[97], serde_json::json!("abc"));
    assert!(text.contains("[98.0]"), "display scale kept: {text}");
}

#[test]
fn malformed_or_too_deep_is_refused() {
    let mut out = Vec::new();
    assert!(write_compact(&[], &mut out).is_none());
    let mut truncated = jsonb(&Doc::Arr(vec![Doc::Str("abcdef")]));
    truncated.truncate(truncated.len() - 2);
    assert!(write_compact(&truncated, &mut out).is_none());
    let mut deep = Doc::Null;
    for _ in 0..100 {
        deep = Doc::Arr(vec![deep]);
    }
    assert!(write_compact(&jsonb(&deep), &mut out).is_none());
    let mut shallow = Doc::Null;
    for _ in 0..60 {
        shallow = Doc::Arr(vec![shallow]);
    }
    out.clear();
    assert!(write_compact(&jsonb(&shallow), &mut out).is_some());
}

#[test]
fn jsonb_out_style_spaces_separators_and_escapes_only_c0() {
    use super::jsonb::{write, Style};
    let doc = Doc::Obj(vec![
        (
            "a",
            Doc::Arr(vec![Doc::Num(vec![1], 0, 0), Doc::Str("x\u{7f}\u{85}\t\u{1}\"\\")]),
        ),
        ("b", Doc::Obj(vec![])),
    ]);
    let mut out = Vec::new();
    write(&jsonb(&doc), &mut out, Style::JsonbOut).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "{\"a\": [1, \"x\u{7f}\u{85}\\t\\u0001\\\"\\\\\"], \"b\": {}}"
    );
}

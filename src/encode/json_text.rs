//! Low-level JSON text writing: string escaping, embedding json/jsonb values,
//! and pretty-printing. Everything writes into a caller-owned buffer.

const HEX: &[u8; 16] = b"0123456789abcdef";

fn push_unicode_escape(out: &mut Vec<u8>, c: u32) {
    out.extend_from_slice(b"\\u");
    for shift in [12, 8, 4, 0] {
        out.push(HEX[((c >> shift) & 0xf) as usize]);
    }
}

/// What each byte is to the escaping below.
const PLAIN: u8 = 0;
/// `"`, `\`, C0 controls and DEL.
const ESCAPED: u8 = 1;
/// 0xC2: the lead byte of a possible C1 control (U+0080..U+009F is 0xC2
/// 0x80..=0x9F in UTF-8).
const C1_LEAD: u8 = 2;
/// Any other byte of a multi-byte UTF-8 sequence (or, in SQL_ASCII, not UTF-8).
const NON_ASCII: u8 = 3;

static BYTE_CLASS: [u8; 256] = {
    let mut table = [PLAIN; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = match b {
            0x00..=0x1f | 0x22 | 0x5c | 0x7f => ESCAPED,
            0xc2 => C1_LEAD,
            0x80..=0xff => NON_ASCII,
            _ => PLAIN,
        };
        b += 1;
    }
    table
};

fn push_escape(out: &mut Vec<u8>, code: u32) {
    match code {
        0x22 => out.extend_from_slice(b"\\\""),
        0x5c => out.extend_from_slice(b"\\\\"),
        0x0a => out.extend_from_slice(b"\\n"),
        0x0d => out.extend_from_slice(b"\\r"),
        0x09 => out.extend_from_slice(b"\\t"),
        0x08 => out.extend_from_slice(b"\\b"),
        0x0c => out.extend_from_slice(b"\\f"),
        _ => push_unicode_escape(out, code),
    }
}

/// Writes `s` as a JSON string body (no quotes), escaping `"`, `\` and every
/// control character: C0, DEL and C1 (U+0080..U+009F). Runs of bytes that
/// need nothing are copied in one go (the common case: the whole string).
fn push_escaped_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match BYTE_CLASS[bytes[i] as usize] {
            PLAIN | NON_ASCII => i += 1,
            C1_LEAD if !matches!(bytes.get(i + 1), Some(0x80..=0x9f)) => i += 1,
            class => {
                out.extend_from_slice(&bytes[start..i]);
                let (code, len) = if class == C1_LEAD {
                    (bytes[i + 1] as u32, 2)
                } else {
                    (bytes[i] as u32, 1)
                };
                push_escape(out, code);
                i += len;
                start = i;
            }
        }
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Writes bytes as a quoted JSON string. Invalid UTF-8 (possible only in a
/// SQL_ASCII database) becomes U+FFFD, so the output is always valid UTF-8.
/// ASCII (most data) is escaped and copied in one pass; validation starts
/// at the first non-ASCII byte.
pub fn push_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    let mut start = 0;
    for (i, &byte) in bytes.iter().enumerate() {
        match BYTE_CLASS[byte as usize] {
            PLAIN => {}
            ESCAPED => {
                out.extend_from_slice(&bytes[start..i]);
                push_escape(out, byte as u32);
                start = i + 1;
            }
            _ => {
                out.extend_from_slice(&bytes[start..i]);
                push_utf8(out, &bytes[i..]);
                out.push(b'"');
                return;
            }
        }
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// A string body that may hold any UTF-8 (or, in SQL_ASCII, invalid bytes).
fn push_utf8(out: &mut Vec<u8>, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(text) => push_escaped_str(out, text),
        Err(_) => push_lossy(out, bytes),
    }
}

fn push_lossy(out: &mut Vec<u8>, bytes: &[u8]) {
    for chunk in bytes.utf8_chunks() {
        push_escaped_str(out, chunk.valid());
        if !chunk.invalid().is_empty() {
            out.extend_from_slice("\u{FFFD}".as_bytes());
        }
    }
}

/// Embeds a json/jsonb value (already valid JSON, checked by PostgreSQL's
/// input function) as nested JSON on one line: whitespace outside strings is
/// dropped, and strings are re-escaped so control characters stay escaped.
pub fn push_embedded_json(out: &mut Vec<u8>, json: &[u8]) {
    let mut i = 0;
    while i < json.len() {
        match json[i] {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'"' => i = copy_json_string(out, json, i),
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
}

/// Copies the JSON string starting at `json[start] == '"'`; returns the index
/// after its closing quote. Escape sequences are kept as they are; raw
/// characters go through `push_escaped_str` (DEL and C1 get escaped).
fn copy_json_string(out: &mut Vec<u8>, json: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    let mut raw_start = i;
    out.push(b'"');
    while i < json.len() {
        match json[i] {
            b'\\' => {
                push_utf8(out, &json[raw_start..i]);
                let end = (i + 2).min(json.len());
                out.extend_from_slice(&json[i..end]);
                i = end;
                raw_start = i;
            }
            b'"' => {
                push_utf8(out, &json[raw_start..i]);
                out.push(b'"');
                return i + 1;
            }
            _ => i += 1,
        }
    }
    // Unterminated (cannot come from PostgreSQL): close it so output stays valid.
    push_utf8(out, &json[raw_start..]);
    out.push(b'"');
    json.len()
}

/// Re-indents compact JSON (as produced by this module) with two spaces.
pub fn pretty_print(compact: &[u8], out: &mut Vec<u8>) {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let newline = |out: &mut Vec<u8>, depth: usize| {
        out.push(b'\n');
        out.extend(std::iter::repeat_n(b' ', depth * 2));
    };
    for (i, &b) in compact.iter().enumerate() {
        if in_string {
            out.push(b);
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                out.push(b);
            }
            b'{' | b'[' => {
                out.push(b);
                // Keep empty containers on one line.
                if !matches!(compact.get(i + 1), Some(b'}' | b']')) {
                    depth += 1;
                    newline(out, depth);
                }
            }
            b'}' | b']' => {
                if !matches!(compact.get(i.wrapping_sub(1)), Some(b'{' | b'[')) {
                    depth = depth.saturating_sub(1);
                    newline(out, depth);
                }
                out.push(b);
            }
            b',' => {
                out.push(b);
                newline(out, depth);
            }
            b':' => out.extend_from_slice(b": "),
            _ => out.push(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(bytes: &[u8]) -> String {
        let mut out = Vec::new();
        push_string(&mut out, bytes);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn escapes_quotes_backslashes_and_every_control_character() {
        assert_eq!(string(b"a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(string(b"\n\r\t\x08\x0c"), r#""\n\r\t\b\f""#);
        assert_eq!(string(b"\x00\x01\x1f\x7f"), r#""\u0000\u0001\u001f\u007f""#);
        assert_eq!(string("\u{85}x\u{9f}".as_bytes()), r#""\u0085x\u009f""#);
        assert_eq!(string("é€😀".as_bytes()), "\"é€😀\"");
        for c in 0u32..0x2000 {
            let ch = char::from_u32(c).unwrap();
            let json = string(ch.to_string().as_bytes());
            let parsed: String = serde_json::from_str(&json).unwrap();
            assert_eq!(parsed, ch.to_string());
            assert!(!json.chars().any(|c| c.is_control()), "{c:#x} left raw");
        }
    }

    #[test]
    fn invalid_utf8_becomes_replacement_character() {
        assert_eq!(string(b"a\xffb\xc3"), "\"a\u{FFFD}b\u{FFFD}\"");
    }

    fn embed(json: &str) -> String {
        let mut out = Vec::new();
        push_embedded_json(&mut out, json.as_bytes());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn embedded_json_is_compact_and_keeps_strings() {
        assert_eq!(
            embed("{\"a\": [1, 2,\n 3], \"b c\": \"x y\\\"z\"}"),
            r#"{"a":[1,2,3],"b c":"x y\"z"}"#
        );
        assert_eq!(embed(" 42 "), "42");
        assert_eq!(embed("\"\\u0000\""), "\"\\u0000\"");
        assert_eq!(embed("\"a\u{7f}\""), "\"a\\u007f\"");
        assert_eq!(embed("\"\\\\\""), "\"\\\\\"");
        let v: serde_json::Value = serde_json::from_str(&embed("{\"k\" : {\"n\" : null, \"t\": true}}")).unwrap();
        assert_eq!(v["k"]["t"], serde_json::Value::Bool(true));
    }

    #[test]
    fn pretty_print_indents_and_stays_equal() {
        let compact = br#"{"a":[1,{"b":"x,{}:"}],"e":{},"f":[]}"#;
        let mut out = Vec::new();
        pretty_print(compact, &mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("\n  \"a\": [\n    1,"), "{text}");
        assert!(text.contains("\"e\": {}"), "{text}");
        let a: serde_json::Value = serde_json::from_slice(compact).unwrap();
        let b: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(a, b);
    }
}

//! JSON Pointers (RFC 6901) to json/jsonb values that are the JSON literal
//! null: the JSON format writes them `null`, as SQL NULL is, and lists them
//! in `json_null` so a consumer can tell the two apart.

use super::json_text::push_string;
use crate::model::{Value, ValueType};

/// Whether a column's values can be json/jsonb (or arrays of them).
pub fn holds_json(value_type: &ValueType) -> bool {
    match value_type {
        ValueType::Json => true,
        ValueType::Array(element) => holds_json(element),
        _ => false,
    }
}

/// Whether a json/jsonb text is the JSON literal null (json keeps the
/// whitespace it was given).
fn is_json_null(json: &[u8]) -> bool {
    json.trim_ascii() == b"null"
}

/// Appends to `list` (a JSON list body) the JSON Pointer (RFC 6901) of
/// every json/jsonb value in `value` that is the JSON literal null: it is
/// written as `null`, as SQL NULL is, and the list tells them apart.
pub fn note_json_nulls(list: &mut Vec<u8>, column: &str, value: &Value) {
    let mut pointer = String::with_capacity(column.len() + 1);
    pointer.push('/');
    // RFC 6901: `~` is `~0` and `/` is `~1` in a reference token.
    pointer.push_str(&column.replace('~', "~0").replace('/', "~1"));
    match value {
        Value::Json(json) | Value::CompactJson(json) if is_json_null(json) => push_pointer(list, &pointer),
        Value::Array(array) => {
            for (index, element) in array.elements.iter().enumerate() {
                if matches!(element, Value::Json(j) | Value::CompactJson(j) if is_json_null(j)) {
                    push_pointer(list, &array_pointer(&pointer, &array.dims, index));
                }
            }
        }
        _ => {}
    }
}

/// The pointer of element `index` (row-major) of an array with `dims`:
/// one reference token per dimension, outermost first.
fn array_pointer(column: &str, dims: &[usize], mut index: usize) -> String {
    let mut tokens = vec![0; dims.len()];
    for (token, len) in tokens.iter_mut().zip(dims).rev() {
        *token = index % len.max(&1);
        index /= len.max(&1);
    }
    tokens.iter().fold(column.to_owned(), |p, t| format!("{p}/{t}"))
}

fn push_pointer(list: &mut Vec<u8>, pointer: &str) {
    if !list.is_empty() {
        list.push(b',');
    }
    push_string(list, pointer.as_bytes());
}

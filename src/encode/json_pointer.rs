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
    // Checked first: rows almost never hold a JSON null, and the pointer
    // costs allocations (this runs for every json/jsonb value).
    let is_null = |v: &Value| matches!(v, Value::Json(j) | Value::CompactJson(j) if is_json_null(j));
    match value {
        Value::Json(_) | Value::CompactJson(_) if is_null(value) => push_pointer(list, &column_pointer(column)),
        Value::Array(array) if array.elements.iter().any(is_null) => {
            let pointer = column_pointer(column);
            for (index, element) in array.elements.iter().enumerate() {
                if is_null(element) {
                    push_pointer(list, &array_pointer(&pointer, &array.dims, index));
                }
            }
        }
        _ => {}
    }
}

/// `/column`, with RFC 6901's escapes: `~` is `~0` and `/` is `~1`.
fn column_pointer(column: &str) -> String {
    format!("/{}", column.replace('~', "~0").replace('/', "~1"))
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

//! Prints the row changes in a file that pg_recvlogical wrote with
//! `-o format=protobuf -o framing=varint-newline`:
//! `cargo run --example consume_protobuf -- FILE`. The types come from
//! proto/wal2any/v1/wal2any.proto, compiled by build.rs (prost + protox).
use prost::Message;
use std::collections::HashMap;

mod pb {
    include!(concat!(env!("OUT_DIR"), "/wal2any.v1.rs"));
}
use pb::event::Event as E;

fn show(value: &pb::Value) -> String {
    use pb::value::Kind as K;
    match &value.kind {
        Some(K::Null(_)) | None => "NULL".into(),
        Some(K::Int32(i)) => i.to_string(),
        Some(K::Int64(i)) => i.to_string(),
        Some(K::Text(s) | K::Numeric(s) | K::Json(s)) => s.clone(),
        Some(K::UnchangedToast(_)) => "(unchanged TOAST)".into(),
        Some(K::Array(a)) => format!("[{}]", a.elements.iter().map(show).collect::<Vec<_>>().join(", ")),
        Some(other) => format!("{other:?}"),
    }
}

/// `BeginPrepare` -> `begin_prepare`, the schema's field name.
fn snake_case(variant: &str) -> String {
    let mut name = String::new();
    for (i, c) in variant.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            name.push('_');
        }
        name.push(c.to_ascii_lowercase());
    }
    name
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: consume_protobuf FILE")?;
    let data = std::fs::read(path)?;
    let mut buf = data.as_slice();
    let mut relations: HashMap<u32, pb::Relation> = HashMap::new();
    while !buf.is_empty() {
        // The newline pg_recvlogical adds is inside each frame (field 15).
        let event = pb::Event::decode_length_delimited(&mut buf)?;
        let (kind, change) = match event.event {
            Some(E::Relation(rel)) => {
                relations.insert(rel.oid, rel);
                continue;
            }
            Some(E::Insert(c)) => ("insert", c),
            Some(E::Update(c)) => ("update", c),
            Some(E::Delete(c)) => ("delete", c),
            Some(other) => {
                // begin, commit, truncate, message, stream and two-phase events
                println!("{}", snake_case(format!("{other:?}").split('(').next().unwrap_or("")));
                continue;
            }
            None => continue,
        };
        let rel = &relations[&change.relation_oid];
        let (columns, row): (Vec<_>, _) = match &change.new {
            Some(new) => (rel.columns.iter().collect(), new),
            None => (
                rel.columns.iter().filter(|c| c.is_key).collect(),
                change.key.as_ref().ok_or("no key")?,
            ),
        };
        let values: Vec<String> = columns
            .iter()
            .zip(&row.values)
            .map(|(c, v)| format!("{}={}", c.name, show(v)))
            .collect();
        println!("{kind} {}.{} {}", rel.schema, rel.table, values.join(" "));
    }
    Ok(())
}

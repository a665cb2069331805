//! Avro schemas: the fixed event schemas published in `avro/*.avsc`, and one
//! change-event schema per relation generated from its columns (README "Avro
//! format"). apache-avro parses every schema (so an invalid one is caught
//! when built, never sent) and gives its CRC-64-AVRO fingerprint.

use super::json_text::push_string;
use crate::model::{RelationMeta, ValueType};
use apache_avro::Schema;

pub const TRANSACTION: &str = include_str!("../../avro/Transaction.avsc");
pub const STREAM: &str = include_str!("../../avro/Stream.avsc");
pub const TRUNCATE: &str = include_str!("../../avro/Truncate.avsc");
pub const MESSAGE: &str = include_str!("../../avro/Message.avsc");
pub const SCHEMA_EVENT: &str = include_str!("../../avro/SchemaEvent.avsc");
pub const OMITTED_MESSAGE: &str = include_str!("../../avro/OmittedMessage.avsc");

/// A writer schema: its JSON and fingerprint (little-endian, as the
/// single-object encoding carries it).
#[derive(Debug, Clone, PartialEq)]
pub struct WriterSchema {
    pub json: String,
    pub fingerprint: [u8; 8],
}

impl WriterSchema {
    /// Parses `json` with apache-avro; `Err` names what is wrong.
    pub fn parse(json: &str) -> Result<WriterSchema, String> {
        let schema = Schema::parse_str(json).map_err(|e| e.to_string())?;
        let canonical = reduce_primitives(&schema.canonical_form());
        Ok(WriterSchema {
            json: json.to_owned(),
            fingerprint: crc64_avro(canonical.as_bytes()).to_le_bytes(),
        })
    }
}

/// The specification's Parsing Canonical Form reduces `{"type":"long"}` to
/// `"long"` ([PRIMITIVES]) and keeps no decimal precision or scale ([STRIP]);
/// apache-avro 0.22 leaves `{"type":"long"}` where a logical type was
/// stripped and keeps `"precision"`/`"scale"`, which would give fingerprints
/// no other implementation computes (tests compare with fastavro's). In
/// canonical form such object text can only come from these (named types
/// and fields start with "name"), and their attribute values are integers.
fn reduce_primitives(canonical: &str) -> String {
    const DECIMAL: &str = r#"{"type":"bytes","precision":"#;
    let mut out = canonical.to_owned();
    while let Some(start) = out.find(DECIMAL) {
        let end = start + out[start..].find('}').expect("a closed object");
        out.replace_range(start..=end, r#""bytes""#);
    }
    for primitive in ["null", "boolean", "int", "long", "float", "double", "bytes", "string"] {
        out = out.replace(&format!(r#"{{"type":"{primitive}"}}"#), &format!(r#""{primitive}""#));
    }
    out
}

/// CRC-64-AVRO (the Rabin fingerprint of the Avro specification).
pub fn crc64_avro(bytes: &[u8]) -> u64 {
    const EMPTY: u64 = 0xc15d_213a_a4d7_a795;
    static TABLE: std::sync::OnceLock<[u64; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut table = [0u64; 256];
        for (i, entry) in table.iter_mut().enumerate() {
            let mut fp = i as u64;
            for _ in 0..8 {
                fp = (fp >> 1) ^ (EMPTY & (fp & 1).wrapping_neg());
            }
            *entry = fp;
        }
        table
    });
    bytes
        .iter()
        .fold(EMPTY, |fp, b| (fp >> 8) ^ table[((fp ^ u64::from(*b)) & 0xff) as usize])
}

/// Where each kind of value goes in a column's union: branch 0 is always
/// `null`, branch 1 the type's main form.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnPlan {
    pub value_type: ValueType,
    /// The `string` branch for what the main form cannot hold (NaN,
    /// infinities, years outside 1-9999, 24:00:00, multi-dimensional arrays).
    pub string_branch: Option<u32>,
    /// The `wal2any.Unchanged` branch (variable-length types only).
    pub unchanged_branch: Option<u32>,
    /// Arrays: the plan of their items.
    pub items: Option<Box<ColumnPlan>>,
    /// numeric(p,s) written as Avro decimal: the scale.
    pub decimal_scale: Option<u16>,
}

/// A relation's change-event schema and how to write each column.
#[derive(Debug, Clone, PartialEq)]
pub struct RelationSchema {
    pub writer: WriterSchema,
    pub columns: Vec<ColumnPlan>,
    /// Avro field names, in column order.
    pub names: Vec<String>,
    /// Avro field names of the replica identity key columns.
    pub key: Vec<String>,
}

/// An Avro name (`[A-Za-z_][A-Za-z0-9_]*`) for any identifier.
pub fn avro_name(identifier: &str) -> String {
    let mut name: String = identifier
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        name.insert(0, '_');
    }
    name
}

/// Field names, made unique after `avro_name` (`a b` and `a_b` both exist).
pub fn field_names(rel: &RelationMeta) -> Vec<String> {
    let mut names: Vec<String> = Vec::with_capacity(rel.columns.len());
    for col in &rel.columns {
        let base = avro_name(&col.name);
        let mut name = base.clone();
        let mut n = 2;
        while names.contains(&name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        names.push(name);
    }
    names
}

/// The main Avro type of a value type (JSON), and whether it needs a
/// `string` branch beside it.
fn main_type(value_type: &ValueType) -> (String, bool) {
    let logical = |base: &str, logical: &str| format!(r#"{{"type":"{base}","logicalType":"{logical}"}}"#);
    match value_type {
        ValueType::Bool => ("\"boolean\"".into(), false),
        ValueType::Int32 => ("\"int\"".into(), false),
        ValueType::Int64 | ValueType::Oid => ("\"long\"".into(), false),
        ValueType::Float4 => ("\"float\"".into(), false),
        ValueType::Float8 => ("\"double\"".into(), false),
        ValueType::Numeric {
            precision_scale: Some((p, s)),
        } if *s >= 0 && (*s as u16) <= *p && *p > 0 => (
            format!(r#"{{"type":"bytes","logicalType":"decimal","precision":{p},"scale":{s}}}"#),
            true,
        ),
        ValueType::Bytea => ("\"bytes\"".into(), false),
        ValueType::Uuid => (logical("string", "uuid"), false),
        ValueType::Date => (logical("int", "date"), true),
        ValueType::Time => (logical("long", "time-micros"), true),
        ValueType::Timestamp => (logical("long", "local-timestamp-micros"), true),
        ValueType::TimestampTz => (logical("long", "timestamp-micros"), true),
        ValueType::Array(element) => {
            let (items, _) = union(element, false, &mut false);
            (format!(r#"{{"type":"array","items":{items}}}"#), true)
        }
        ValueType::Numeric { .. }
        | ValueType::Text
        | ValueType::Json
        | ValueType::TimeTz
        | ValueType::Interval
        | ValueType::Other => ("\"string\"".into(), false),
    }
}

/// A nullable union for values of `value_type` (JSON) and its plan.
/// `unchanged_defined` tracks whether `wal2any.Unchanged` was defined
/// already in this schema (a named type is defined once, then referenced).
fn union(value_type: &ValueType, toastable: bool, unchanged_defined: &mut bool) -> (String, ColumnPlan) {
    let (main, needs_string) = main_type(value_type);
    let mut branches = vec!["\"null\"".to_owned(), main];
    let mut plan = ColumnPlan {
        value_type: value_type.clone(),
        string_branch: None,
        unchanged_branch: None,
        items: None,
        decimal_scale: None,
    };
    if needs_string {
        plan.string_branch = Some(branches.len() as u32);
        branches.push("\"string\"".into());
    }
    if toastable {
        plan.unchanged_branch = Some(branches.len() as u32);
        branches.push(if std::mem::replace(unchanged_defined, true) {
            "\"wal2any.Unchanged\"".into()
        } else {
            r#"{"type":"enum","name":"Unchanged","namespace":"wal2any","symbols":["UNCHANGED_TOAST","OMITTED"]}"#.into()
        });
    }
    if let ValueType::Array(element) = value_type {
        plan.items = Some(Box::new(union(element, false, &mut false).1));
    }
    if let (
        ValueType::Numeric {
            precision_scale: Some((_, s)),
        },
        true,
    ) = (value_type, needs_string)
    {
        plan.decimal_scale = Some(*s as u16);
    }
    (format!("[{}]", branches.join(",")), plan)
}

fn json_string(value: &str) -> String {
    let mut out = Vec::new();
    push_string(&mut out, value.as_bytes());
    String::from_utf8(out).expect("push_string writes UTF-8")
}

const SOURCE: &str = r#"{"type":"record","name":"Source","namespace":"wal2any","fields":[{"name":"lsn","type":"long"},{"name":"xid","type":"long"},{"name":"subxid","type":"long"},{"name":"commit_time","type":["null",{"type":"long","logicalType":"timestamp-micros"}]},{"name":"origin","type":["null","string"]},{"name":"schema","type":"string"},{"name":"table","type":"string"}]}"#;

/// The change-event schema of `rel`:
/// `wal2any.<database>.<schema>.<table>.Envelope`.
pub fn relation_schema(rel: &RelationMeta) -> Result<RelationSchema, String> {
    let names = field_names(rel);
    let mut unchanged_defined = false;
    let mut fields = Vec::with_capacity(rel.columns.len());
    let mut columns = Vec::with_capacity(rel.columns.len());
    for (col, name) in rel.columns.iter().zip(&names) {
        let (union, plan) = union(&col.value_type, col.toastable, &mut unchanged_defined);
        fields.push(format!(
            r#"{{"name":"{name}","type":{union},"pg_name":{},"pg_type":{}}}"#,
            json_string(&col.name),
            json_string(&col.type_name)
        ));
        columns.push(plan);
    }
    let namespace = [&rel.database, &rel.schema, &rel.table]
        .iter()
        .map(|part| avro_name(part))
        .collect::<Vec<_>>()
        .join(".");
    // The Parsing Canonical Form (and so the fingerprint) ignores logical
    // types, decimal precision and scale: numeric(12,2) -> numeric(12,4)
    // would keep the fingerprint and consumers would decode with the old
    // schema. Naming the row record after a hash of its full definition
    // puts those into the fingerprint.
    let fields = fields.join(",");
    let value_name = format!("Value_{:016x}", crc64_avro(fields.as_bytes()));
    let json = format!(
        concat!(
            r#"{{"type":"record","name":"Envelope","namespace":"wal2any.{ns}","fields":["#,
            r#"{{"name":"op","type":{{"type":"enum","name":"Op","namespace":"wal2any","symbols":["insert","update","delete"]}}}},"#,
            r#"{{"name":"before","type":["null",{{"type":"record","name":"{value}","fields":[{fields}]}}]}},"#,
            r#"{{"name":"after","type":["null","{value}"]}},"#,
            r#"{{"name":"unchanged_toast","type":{{"type":"array","items":"string"}}}},"#,
            r#"{{"name":"source","type":{source}}}]}}"#
        ),
        ns = namespace,
        value = value_name,
        fields = fields,
        source = SOURCE
    );
    let key = rel
        .columns
        .iter()
        .zip(&names)
        .filter(|(c, _)| c.is_key)
        .map(|(_, n)| n.clone())
        .collect();
    Ok(RelationSchema {
        writer: WriterSchema::parse(&json)?,
        columns,
        names,
        key,
    })
}

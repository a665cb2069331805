//! `format=avro`: every message is one Avro datum in the single-object
//! encoding (`C3 01`, the writer schema's 8-byte fingerprint, the binary
//! datum). Writer schemas: the fixed event schemas of `avro/*.avsc` and one
//! generated per relation (`avro_schema`), announced in the stream by schema
//! events. The binary encoding is written here directly into the output
//! buffer; apache-avro is the test oracle (avro_tests.rs).

use super::avro_schema::{self, ColumnPlan, RelationSchema, WriterSchema};
use super::json::{push_uuid, JsonEncoder};
use super::pbwire::{insert_varint, varint, zigzag};
use super::{valid_utf8, Described};
use crate::idmap::IdMap;
use crate::model::{EventPosition, RelationMeta, ReplicaIdentity, RowChange, RowKey, Value, ValueType};
use crate::options::Options;
use crate::pgtime;
use std::collections::HashSet;

/// 0001-01-01 and 9999-12-31 in days since 1970: the dates Avro libraries
/// convert (Python's datetime, Java's LocalDate print them all).
const FIRST_DAY: i64 = -719_162;
const LAST_DAY: i64 = 2_932_896;
const MICROS_PER_DAY: i64 = 86_400_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaEvents {
    /// Before a relation's first row in the session (and in each streamed
    /// transaction), and again when its schema changes.
    Auto,
    /// Each distinct schema once per session, for consumers with a registry.
    Once,
}

pub(super) struct Fingerprints {
    pub(super) transaction: [u8; 8],
    pub(super) stream: [u8; 8],
    pub(super) truncate: [u8; 8],
    pub(super) message: [u8; 8],
    pub(super) schema_event: [u8; 8],
    pub(super) omitted_message: [u8; 8],
}

/// A relation's schema and where the session has announced it.
pub(super) struct Announced {
    pub(super) version: u64,
    pub(super) schema: RelationSchema,
    pub(super) sent: Described,
}

/// The transaction the next changes belong to (for their source block).
#[derive(Default)]
pub(super) struct CurrentTxn {
    pub(super) xid: u32,
    pub(super) commit_time: Option<i64>,
    pub(super) origin: Option<String>,
}

pub struct AvroEncoder {
    pub(super) options: Options,
    pub(super) schema_events: SchemaEvents,
    pub(super) fixed: Fingerprints,
    pub(super) relations: IdMap<u32, Announced>,
    /// `SchemaEvents::Once`: fingerprints already sent.
    /// With `schema-events=once`: the (schema, key columns) announced.
    pub(super) announced_fingerprints: HashSet<([u8; 8], Vec<String>)>,
    pub(super) current: CurrentTxn,
    /// Renders multi-dimensional arrays as JSON text.
    json: JsonEncoder,
}

fn fingerprint(avsc: &str) -> [u8; 8] {
    WriterSchema::parse(avsc)
        .expect("avro/*.avsc are valid schemas")
        .fingerprint
}

pub(super) fn long(out: &mut Vec<u8>, value: i64) {
    varint(out, zigzag(value));
}

pub(super) fn bytes(out: &mut Vec<u8>, value: &[u8]) {
    long(out, value.len() as i64);
    out.extend_from_slice(value);
}

pub(super) fn string(out: &mut Vec<u8>, value: &[u8]) {
    bytes(out, &valid_utf8(value));
}

/// A string whose text `write` appends; its length goes in front after.
fn string_with(out: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    write(out);
    insert_varint(out, start, zigzag((out.len() - start) as i64));
}

pub(super) fn optional_string(out: &mut Vec<u8>, value: Option<&[u8]>) {
    match value {
        None => long(out, 0),
        Some(v) => {
            long(out, 1);
            string(out, v);
        }
    }
}

pub(super) fn boolean(out: &mut Vec<u8>, value: bool) {
    out.push(value as u8);
}

/// The unscaled value of a decimal text with exactly `scale` fraction
/// digits, as big-endian two's complement (Avro's decimal bytes).
pub fn decimal_bytes(text: &str, scale: u16, out: &mut Vec<u8>) -> bool {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let fraction = digits.split_once('.').map_or(0, |(_, f)| f.len());
    if fraction != scale as usize || digits.is_empty() {
        return false;
    }
    // Little-endian base-256 magnitude, built digit by digit.
    let mut magnitude: Vec<u8> = Vec::with_capacity(digits.len() / 2 + 1);
    for d in digits.bytes().filter(|b| *b != b'.') {
        if !d.is_ascii_digit() {
            return false;
        }
        let mut carry = u32::from(d - b'0');
        for byte in magnitude.iter_mut() {
            let v = u32::from(*byte) * 10 + carry;
            *byte = v as u8;
            carry = v >> 8;
        }
        if carry > 0 {
            magnitude.push(carry as u8);
        }
    }
    if negative {
        // Two's complement: invert, add one.
        let mut carry = 1u16;
        for byte in magnitude.iter_mut() {
            let v = u16::from(!*byte) + carry;
            *byte = v as u8;
            carry = v >> 8;
        }
        if magnitude.last().is_none_or(|b| b & 0x80 == 0) {
            magnitude.push(0xff);
        }
    } else if magnitude.last().is_none_or(|b| b & 0x80 != 0) {
        magnitude.push(0);
    }
    magnitude.reverse();
    bytes(out, &magnitude);
    true
}

impl AvroEncoder {
    pub fn new(options: &Options) -> Self {
        AvroEncoder {
            options: options.clone(),
            schema_events: if options.schema_events_once {
                SchemaEvents::Once
            } else {
                SchemaEvents::Auto
            },
            fixed: Fingerprints {
                transaction: fingerprint(avro_schema::TRANSACTION),
                stream: fingerprint(avro_schema::STREAM),
                truncate: fingerprint(avro_schema::TRUNCATE),
                message: fingerprint(avro_schema::MESSAGE),
                schema_event: fingerprint(avro_schema::SCHEMA_EVENT),
                omitted_message: fingerprint(avro_schema::OMITTED_MESSAGE),
            },
            relations: IdMap::default(),
            announced_fingerprints: HashSet::new(),
            current: CurrentTxn::default(),
            json: JsonEncoder::new(options),
        }
    }

    pub(super) fn xid(&self, at: EventPosition) -> i64 {
        if self.options.include_xids || at.streamed {
            at.xid.into()
        } else {
            0
        }
    }

    pub(super) fn lsn(&self, lsn: u64) -> i64 {
        if self.options.include_lsn {
            lsn as i64
        } else {
            0
        }
    }

    /// Writes one value into its column's union.
    fn value(&self, out: &mut Vec<u8>, plan: &ColumnPlan, value: &Value) {
        let special = |out: &mut Vec<u8>, write: &dyn Fn(&mut Vec<u8>)| match plan.string_branch {
            Some(branch) => {
                long(out, branch.into());
                string_with(out, |o| write(o));
            }
            None => long(out, 0),
        };
        match (value, &plan.value_type) {
            (Value::Null, _) => long(out, 0),
            // The `wal2any.Unchanged` enum: UNCHANGED_TOAST 0, OMITTED 1 (only
            // variable-length columns have the branch, and only their values
            // are large enough to be omitted).
            (Value::UnchangedToast | Value::Omitted, _) => match plan.unchanged_branch {
                Some(branch) => {
                    long(out, branch.into());
                    long(out, i64::from(*value == Value::Omitted));
                }
                None => long(out, 0),
            },
            (Value::Numeric(n), ValueType::Numeric { .. }) if plan.decimal_scale.is_some() => {
                let at = out.len();
                long(out, 1);
                if !decimal_bytes(n, plan.decimal_scale.unwrap_or(0), out) {
                    out.truncate(at);
                    special(out, &|o| o.extend_from_slice(n.as_bytes()));
                }
            }
            (Value::Date(d), _) => match i64::from(pgtime::unix_days(*d)) {
                days if (FIRST_DAY..=LAST_DAY).contains(&days) => {
                    long(out, 1);
                    long(out, days);
                }
                _ => special(out, &|o| pgtime::push_date(o, *d)),
            },
            (Value::Time(t), _) if *t >= MICROS_PER_DAY => special(out, &|o| pgtime::push_time(o, *t)),
            (Value::Timestamp(t) | Value::TimestampTz(t), _) => {
                let utc = matches!(value, Value::TimestampTz(_));
                match pgtime::unix_micros(*t) {
                    Some(m) if (FIRST_DAY * MICROS_PER_DAY..(LAST_DAY + 1) * MICROS_PER_DAY).contains(&m) => {
                        long(out, 1);
                        long(out, m);
                    }
                    _ => special(out, &|o| pgtime::push_timestamp(o, *t, utc)),
                }
            }
            (Value::Array(array), ValueType::Array(_)) => match (&plan.items, array.dims.len()) {
                (Some(items), 0 | 1) => {
                    long(out, 1);
                    if !array.elements.is_empty() {
                        long(out, array.elements.len() as i64);
                        for element in &array.elements {
                            self.value(out, items, element);
                        }
                    }
                    long(out, 0);
                }
                _ => special(out, &|o| self.json.push_value(o, value)),
            },
            _ => {
                long(out, 1);
                self.main_form(out, value);
            }
        }
    }

    /// Values whose main form is their only form.
    fn main_form(&self, out: &mut Vec<u8>, value: &Value) {
        match value {
            Value::Bool(b) => boolean(out, *b),
            Value::Int(i) | Value::BigInt(i) => long(out, *i),
            Value::Float4(f) => out.extend_from_slice(&f.to_le_bytes()),
            Value::Float8(f) => out.extend_from_slice(&f.to_le_bytes()),
            Value::Numeric(n) => bytes(out, n.as_bytes()),
            Value::Text(t) | Value::Other(t) | Value::Json(t) | Value::CompactJson(t) => string(out, t),
            Value::Bytea(b) => bytes(out, b),
            Value::Uuid(u) => string_with(out, |o| push_uuid(o, u)),
            Value::Time(t) => long(out, *t),
            Value::TimeTz(t, zone) => string_with(out, |o| pgtime::push_timetz(o, *t, *zone)),
            Value::Interval { micros, days, months } => {
                string_with(out, |o| pgtime::push_interval(o, *micros, *days, *months))
            }
            // Handled by `value`; never reached with a consistent ValueType.
            _ => debug_assert!(false, "no main form for {value:?}"),
        }
    }

    fn row(&self, out: &mut Vec<u8>, schema: &RelationSchema, rel: &RelationMeta, values: &[Value], key_only: bool) {
        let full = rel.identity == ReplicaIdentity::Full;
        for ((col, plan), value) in rel.columns.iter().zip(&schema.columns).zip(values) {
            if key_only && !full && !col.is_key {
                long(out, 0);
            } else {
                self.value(out, plan, value);
            }
        }
    }

    pub(super) fn change(&self, out: &mut Vec<u8>, at: EventPosition, rel: &RelationMeta, change: &RowChange) {
        let Some(announced) = self.relations.get(&rel.oid) else {
            return;
        };
        let schema = &announced.schema;
        single_object(out, &schema.writer.fingerprint);
        let (op, key, new) = match *change {
            RowChange::Insert { new } => (0, None, Some(new)),
            RowChange::Update { key, new } => (1, Some(key), Some(new)),
            RowChange::Delete { key } => (2, Some(key), None),
        };
        long(out, op);
        match key {
            Some(RowKey::Old(values) | RowKey::New(values)) => {
                long(out, 1);
                self.row(out, schema, rel, values, true);
            }
            _ => long(out, 0),
        }
        match new {
            Some(values) => {
                long(out, 1);
                self.row(out, schema, rel, values, false);
            }
            None => long(out, 0),
        }
        Self::unchanged_list(out, schema, new.unwrap_or(&[]));
        self.source(out, at, rel);
    }

    /// The Avro field names of the unchanged TOAST columns of `values`.
    fn unchanged_list(out: &mut Vec<u8>, schema: &RelationSchema, values: &[Value]) {
        let unchanged = || {
            schema
                .names
                .iter()
                .zip(values)
                .filter(|(_, v)| **v == Value::UnchangedToast)
        };
        let count = unchanged().count();
        if count > 0 {
            long(out, count as i64);
            for (name, _) in unchanged() {
                string(out, name.as_bytes());
            }
        }
        long(out, 0);
    }

    fn source(&self, out: &mut Vec<u8>, at: EventPosition, rel: &RelationMeta) {
        long(out, self.lsn(at.lsn.0));
        long(out, self.xid(at));
        long(out, at.subxid.into());
        let current = (self.current.xid == at.xid && !at.streamed).then_some(&self.current);
        match current.and_then(|c| c.commit_time) {
            Some(t) => {
                long(out, 1);
                long(out, t);
            }
            None => long(out, 0),
        }
        optional_string(out, current.and_then(|c| c.origin.as_deref()).map(str::as_bytes));
        string(out, rel.schema.as_bytes());
        string(out, rel.table.as_bytes());
    }
}

/// The single-object encoding's header: marker `C3 01` and the fingerprint.
pub(super) fn single_object(out: &mut Vec<u8>, fingerprint: &[u8; 8]) {
    out.extend_from_slice(&[0xC3, 0x01]);
    out.extend_from_slice(fingerprint);
}

#[cfg(test)]
#[path = "avro_tests.rs"]
mod tests;

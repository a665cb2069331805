//! `format=json`: one JSON document per event (see README "JSON format").

use super::json_pointer::{holds_json, note_json_nulls};
use super::json_text::{pretty_print, push_embedded_json, push_string};
use super::{Encoder, Profile};
use crate::model::{
    ArrayValue, ColumnMeta, Event, EventPosition, Lsn, Message, RelationMeta, ReplicaIdentity, RowChange, RowKey,
    StreamEvent, Truncate, TxnEvent, TxnInfo, Value,
};
use crate::options::Options;
use crate::pgtime;

/// Relation OID -> (relation version, each column's escaped key).
type ColumnKeys = crate::idmap::IdMap<u32, (u64, Vec<Box<[u8]>>)>;

pub struct JsonEncoder {
    options: Options,
    column_keys: std::cell::RefCell<ColumnKeys>,
    /// The `json_null` pointers of the row being written (list body).
    json_nulls: std::cell::RefCell<Vec<u8>>,
    /// Compact output before re-indenting, used only with pretty-print.
    pretty_scratch: Vec<u8>,
}

/// Writes `"name":` pairs with commas between them.
struct Fields<'o> {
    out: &'o mut Vec<u8>,
    first: bool,
}

impl<'o> Fields<'o> {
    fn open(out: &'o mut Vec<u8>) -> Self {
        out.push(b'{');
        Fields { out, first: true }
    }

    /// A key known to need no escaping (this encoder's own field names).
    fn key(&mut self, name: &'static str) -> &mut Vec<u8> {
        self.escaped_key(name.as_bytes(), true)
    }

    /// A key from data (column names), escaped.
    fn data_key(&mut self, name: &str) -> &mut Vec<u8> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        push_string(self.out, name.as_bytes());
        self.out.push(b':');
        self.out
    }

    /// `key` is already escaped; `quote` adds the quotes and colon, else it
    /// carries them (`"name":`, cached per column).
    fn escaped_key(&mut self, key: &[u8], quote: bool) -> &mut Vec<u8> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        if quote {
            self.out.push(b'"');
            self.out.extend_from_slice(key);
            self.out.extend_from_slice(b"\":");
        } else {
            self.out.extend_from_slice(key);
        }
        self.out
    }

    fn raw(&mut self, name: &'static str, raw: &[u8]) {
        self.key(name).extend_from_slice(raw);
    }

    fn string(&mut self, name: &'static str, value: &[u8]) {
        let out = self.key(name);
        push_string(out, value);
    }

    fn bool(&mut self, name: &'static str, value: bool) {
        self.raw(name, if value { b"true" } else { b"false" });
    }

    fn uint(&mut self, name: &'static str, value: u64) {
        self.raw(name, itoa::Buffer::new().format(value).as_bytes());
    }

    fn display(&mut self, name: &'static str, value: impl std::fmt::Display) {
        use std::io::Write;
        let out = self.key(name);
        out.push(b'"');
        let _ = write!(out, "{value}");
        out.push(b'"');
    }

    fn close(self) {
        self.out.push(b'}');
    }
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn push_base64(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (*b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(BASE64[(n >> (18 - 6 * i) & 63) as usize]);
            } else {
                out.push(b'=');
            }
        }
    }
    out.push(b'"');
}

fn push_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(HEX[(b >> 4) as usize]);
        out.push(HEX[(b & 15) as usize]);
    }
}

/// A uuid as text: `a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11`.
pub fn push_uuid(out: &mut Vec<u8>, u: &[u8; 16]) {
    for (i, part) in [&u[0..4], &u[4..6], &u[6..8], &u[8..10], &u[10..16]].iter().enumerate() {
        if i > 0 {
            out.push(b'-');
        }
        push_hex(out, part);
    }
}

fn push_float(out: &mut Vec<u8>, value: f64, shortest: impl FnOnce(&mut ryu::Buffer) -> &str) {
    if value.is_nan() {
        out.extend_from_slice(b"\"NaN\"");
    } else if value.is_infinite() {
        out.extend_from_slice(if value > 0.0 { b"\"Infinity\"" } else { b"\"-Infinity\"" });
    } else {
        out.extend_from_slice(shortest(&mut ryu::Buffer::new()).as_bytes());
    }
}

/// `"name":`, escaped once per column rather than once per row.
fn escaped_key(name: &str) -> Box<[u8]> {
    let mut key = Vec::with_capacity(name.len() + 3);
    push_string(&mut key, name.as_bytes());
    key.push(b':');
    key.into_boxed_slice()
}

/// The field names of a row and of its lists.
#[derive(Clone, Copy)]
struct RowName {
    row: &'static str,
    unchanged_toast: &'static str,
    omitted: &'static str,
    json_null: &'static str,
}

const NEW: RowName = RowName {
    row: "new",
    unchanged_toast: "unchanged_toast",
    omitted: "omitted",
    json_null: "json_null",
};
const KEY: RowName = RowName {
    row: "key",
    unchanged_toast: "key_unchanged_toast",
    omitted: "key_omitted",
    json_null: "key_json_null",
};

/// Which values a row left out.
#[derive(Default)]
struct LeftOut {
    unchanged: bool,
    omitted: bool,
}

fn quoted(out: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>)) {
    out.push(b'"');
    write(out);
    out.push(b'"');
}

impl JsonEncoder {
    pub fn new(options: &Options) -> Self {
        JsonEncoder {
            options: options.clone(),
            column_keys: Default::default(),
            json_nulls: Default::default(),
            pretty_scratch: Vec::new(),
        }
    }

    /// Writes one value as JSON (also used by the in-server tests).
    pub fn push_value(&self, out: &mut Vec<u8>, value: &Value<'_>) {
        match value {
            Value::Null => out.extend_from_slice(b"null"),
            Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Value::Int(i) => out.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()),
            Value::BigInt(i) if self.options.int8_as_string => {
                quoted(out, |o| o.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()))
            }
            Value::BigInt(i) => out.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()),
            Value::Float4(f) => push_float(out, *f as f64, |b| b.format_finite(*f)),
            Value::Float8(f) => push_float(out, *f, |b| b.format_finite(*f)),
            Value::Numeric(n) => {
                let special = matches!(*n, "NaN" | "Infinity" | "-Infinity");
                if special || self.options.numeric_as_string {
                    push_string(out, n.as_bytes());
                } else {
                    out.extend_from_slice(n.as_bytes());
                }
            }
            Value::Text(t) | Value::Other(t) => push_string(out, t),
            Value::Bytea(b) => quoted(out, |o| {
                o.extend_from_slice(b"\\\\x");
                push_hex(o, b);
            }),
            Value::Json(j) => push_embedded_json(out, j),
            Value::CompactJson(j) => out.extend_from_slice(j),
            Value::Uuid(u) => quoted(out, |o| push_uuid(o, u)),
            Value::Date(d) => quoted(out, |o| pgtime::push_date(o, *d)),
            Value::Time(t) => quoted(out, |o| pgtime::push_time(o, *t)),
            Value::TimeTz(t, z) => quoted(out, |o| pgtime::push_timetz(o, *t, *z)),
            Value::Timestamp(t) => quoted(out, |o| pgtime::push_timestamp(o, *t, false)),
            Value::TimestampTz(t) => quoted(out, |o| pgtime::push_timestamp(o, *t, true)),
            Value::Interval { micros, days, months } => {
                quoted(out, |o| pgtime::push_interval(o, *micros, *days, *months))
            }
            Value::Array(a) => self.push_array(out, a, 0, &a.elements),
            Value::UnchangedToast => match &self.options.unchanged_toast_placeholder {
                Some(p) => push_string(out, p.as_bytes()),
                None => out.extend_from_slice(b"null"),
            },
            // Rows leave omitted values out (listed in `omitted`).
            Value::Omitted => out.extend_from_slice(b"null"),
        }
    }

    /// Writes one dimension of a (possibly multi-dimensional) array.
    fn push_array(&self, out: &mut Vec<u8>, array: &ArrayValue<'_>, dim: usize, elements: &[Value<'_>]) {
        out.push(b'[');
        if let Some(&len) = array.dims.get(dim) {
            let stride = elements.len().checked_div(len).unwrap_or(0);
            for i in 0..len {
                if i > 0 {
                    out.push(b',');
                }
                let part = &elements[i * stride..(i + 1) * stride];
                if dim + 1 < array.dims.len() {
                    self.push_array(out, array, dim + 1, part);
                } else {
                    self.push_value(out, &part[0]);
                }
            }
        }
        out.push(b']');
    }

    fn position(&self, f: &mut Fields, at: EventPosition) {
        if (self.options.include_xids || at.streamed) && at.xid != 0 {
            f.uint("xid", at.xid.into());
        }
        if at.subxid != 0 {
            f.uint("subxid", at.subxid.into());
        }
        // Zero: no position exists (a stream block's boundaries).
        if self.options.include_lsn && at.lsn != Lsn(0) {
            f.display("lsn", at.lsn);
        }
    }

    /// Transaction events: the commit (or prepare) LSN and time; closing
    /// events add `end_lsn`, opening ones the origin; two-phase ones the GID.
    fn transaction(&self, out: &mut Vec<u8>, kind: TxnEvent, txn: &TxnInfo) {
        let mut f = Fields::open(out);
        quoted(f.key("action"), |o| o.extend_from_slice(kind.action().as_bytes()));
        let at = EventPosition {
            xid: txn.xid,
            lsn: txn.commit_lsn,
            streamed: kind == TxnEvent::StreamCommit,
            subxid: 0,
        };
        self.position(&mut f, at);
        if let Some(gid) = txn.gid {
            f.string("gid", gid);
        }
        if self.options.include_lsn && !kind.opens() {
            f.display("end_lsn", txn.end_lsn);
        }
        if self.options.include_timestamp {
            let name = if kind == TxnEvent::Prepare || kind == TxnEvent::StreamPrepare {
                "prepare_time"
            } else {
                "commit_time"
            };
            quoted(f.key(name), |o| pgtime::push_timestamp(o, txn.commit_time, true));
        }
        if let (true, true, Some(origin)) = (kind.opens(), self.options.include_origin, &txn.origin) {
            f.string("origin", origin.name.as_bytes());
            f.display("origin_lsn", origin.lsn);
        }
        f.close();
    }

    /// Stream block boundaries always carry the toplevel xid.
    fn stream(&self, out: &mut Vec<u8>, kind: StreamEvent, at: EventPosition) {
        let mut f = Fields::open(out);
        quoted(f.key("action"), |o| o.extend_from_slice(kind.action().as_bytes()));
        self.position(&mut f, EventPosition { streamed: true, ..at });
        match kind {
            StreamEvent::Start { first_segment } => f.bool("first_segment", first_segment),
            StreamEvent::Abort { subxid: Some(subxid) } => f.uint("subxid", subxid.into()),
            _ => {}
        }
        f.close();
    }

    fn relation_name(&self, f: &mut Fields, rel: &RelationMeta) {
        if self.options.include_schemas {
            f.string("schema", rel.schema.as_bytes());
        }
        f.string("table", rel.table.as_bytes());
    }

    /// Writes `{"col":value,...}` for the chosen columns, leaving out
    /// unchanged TOAST values unless a placeholder is set and omitted
    /// values, and notes the JSON Pointers of json/jsonb values that are
    /// the JSON literal null in `self.json_nulls`; returns what was left out.
    fn push_row(
        &self,
        out: &mut Vec<u8>,
        rel: &RelationMeta,
        values: &[Value],
        pick: fn(&ColumnMeta) -> bool,
    ) -> LeftOut {
        let mut f = Fields::open(out);
        let mut left_out = LeftOut::default();
        let mut cache = self.column_keys.borrow_mut();
        let keys = cache.entry(rel.oid).or_default();
        if keys.0 != rel.version || keys.1.len() != rel.columns.len() {
            *keys = (rel.version, rel.columns.iter().map(|c| escaped_key(&c.name)).collect());
        }
        let mut json_nulls = self.json_nulls.borrow_mut();
        json_nulls.clear();
        let columns = rel.columns.iter().zip(values).zip(keys.1.iter());
        for ((column, value), key) in columns.filter(|((c, _), _)| pick(c)) {
            match value {
                Value::UnchangedToast => {
                    left_out.unchanged = true;
                    if self.options.unchanged_toast_placeholder.is_none() {
                        continue;
                    }
                }
                Value::Omitted => {
                    left_out.omitted = true;
                    continue;
                }
                _ => {}
            }
            if holds_json(&column.value_type) {
                note_json_nulls(&mut json_nulls, &column.name, value);
            }
            let out = f.escaped_key(key, false);
            self.push_value(out, value);
        }
        f.close();
        left_out
    }

    /// `"name":[...]`: the chosen columns whose value is `marker`.
    fn push_column_list(
        f: &mut Fields,
        name: &'static str,
        rel: &RelationMeta,
        values: &[Value],
        pick: fn(&ColumnMeta) -> bool,
        marker: Value,
    ) {
        let out = f.key(name);
        out.push(b'[');
        let listed = rel.columns.iter().zip(values).filter(|(c, v)| pick(c) && **v == marker);
        for (i, (col, _)) in listed.enumerate() {
            if i > 0 {
                out.push(b',');
            }
            push_string(out, col.name.as_bytes());
        }
        out.push(b']');
    }

    /// A row (`new` or `key`), then its `*unchanged_toast`, `*omitted` and
    /// `*json_null` lists.
    fn row_field(
        &self,
        f: &mut Fields,
        name: RowName,
        rel: &RelationMeta,
        values: &[Value],
        pick: fn(&ColumnMeta) -> bool,
    ) {
        let left_out = self.push_row(f.key(name.row), rel, values, pick);
        if left_out.unchanged {
            Self::push_column_list(f, name.unchanged_toast, rel, values, pick, Value::UnchangedToast);
        }
        if left_out.omitted {
            Self::push_column_list(f, name.omitted, rel, values, pick, Value::Omitted);
        }
        let json_nulls = self.json_nulls.borrow();
        if !json_nulls.is_empty() {
            let out = f.key(name.json_null);
            out.push(b'[');
            out.extend_from_slice(&json_nulls);
            out.push(b']');
        }
    }

    fn key_field(&self, f: &mut Fields, rel: &RelationMeta, key: RowKey) {
        match key {
            RowKey::Missing => f.raw("key", b"null"),
            RowKey::Old(values) | RowKey::New(values) => {
                let pick: fn(&ColumnMeta) -> bool = if rel.identity == ReplicaIdentity::Full {
                    |_| true
                } else {
                    |c| c.is_key
                };
                self.row_field(f, KEY, rel, values, pick);
            }
        }
    }

    fn schema_info(&self, f: &mut Fields, rel: &RelationMeta) {
        if self.options.include_types {
            let mut types = Fields::open(f.key("types"));
            for col in &rel.columns {
                let name = if self.options.include_typmod {
                    col.type_name.as_bytes()
                } else {
                    &col.type_name_no_typmod
                };
                push_string(types.data_key(&col.name), name);
            }
            types.close();
        }
        if self.options.include_type_oids {
            let mut oids = Fields::open(f.key("type_oids"));
            for col in &rel.columns {
                let mut digits = itoa::Buffer::new();
                let oid = digits.format(col.type_oid).as_bytes();
                oids.data_key(&col.name).extend_from_slice(oid);
            }
            oids.close();
        }
        if self.options.include_pk {
            let out = f.key("pk");
            out.push(b'[');
            for (i, col) in rel.columns.iter().filter(|c| c.is_primary_key).enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                push_string(out, col.name.as_bytes());
            }
            out.push(b']');
        }
    }

    fn change(&self, out: &mut Vec<u8>, at: EventPosition, rel: &RelationMeta, change: &RowChange) {
        let mut f = Fields::open(out);
        let action: &[u8] = match change {
            RowChange::Insert { .. } => b"\"insert\"",
            RowChange::Update { .. } => b"\"update\"",
            RowChange::Delete { .. } => b"\"delete\"",
        };
        f.raw("action", action);
        self.position(&mut f, at);
        self.relation_name(&mut f, rel);
        match *change {
            RowChange::Insert { new } => self.row_field(&mut f, NEW, rel, new, |_| true),
            RowChange::Update { key, new } => {
                self.key_field(&mut f, rel, key);
                self.row_field(&mut f, NEW, rel, new, |_| true);
            }
            RowChange::Delete { key } => self.key_field(&mut f, rel, key),
        }
        self.schema_info(&mut f, rel);
        f.close();
    }

    fn truncate(&self, out: &mut Vec<u8>, at: EventPosition, truncate: &Truncate) {
        let mut f = Fields::open(out);
        f.raw("action", b"\"truncate\"");
        self.position(&mut f, at);
        let list = f.key("relations");
        list.push(b'[');
        for (i, rel) in truncate.relations.iter().enumerate() {
            if i > 0 {
                list.push(b',');
            }
            let mut r = Fields::open(list);
            self.relation_name(&mut r, rel);
            r.close();
        }
        list.push(b']');
        f.bool("cascade", truncate.cascade);
        f.bool("restart_identity", truncate.restart_identity);
        f.close();
    }

    fn message(&self, out: &mut Vec<u8>, at: EventPosition, message: &Message) {
        let mut f = Fields::open(out);
        f.raw("action", b"\"message\"");
        self.position(&mut f, at);
        f.bool("transactional", message.transactional);
        f.string("prefix", message.prefix);
        if let Some(size) = message.content_omitted {
            f.raw("content", b"null");
            f.uint("content_omitted", size as u64);
        } else if std::str::from_utf8(message.content).is_ok() {
            f.string("content", message.content);
        } else {
            push_base64(f.key("content"), message.content);
            f.raw("content_encoding", b"\"base64\"");
        }
        f.close();
    }

    fn encode_compact(&self, event: &Event<'_, '_>, out: &mut Vec<u8>) {
        match event {
            Event::Transaction { kind, txn } => self.transaction(out, *kind, txn),
            Event::Stream { kind, at } => self.stream(out, *kind, *at),
            Event::Change { at, relation, change } => self.change(out, *at, relation, change),
            Event::Truncate { at, truncate } => self.truncate(out, *at, truncate),
            Event::Message { at, message } => self.message(out, *at, message),
        }
    }
}

impl Encoder for JsonEncoder {
    fn profile(&self) -> Profile {
        Profile {
            binary: false,
            session_text: false,
            messages_open_transactions: true,
            skip_prepare_gids_containing: None,
            receive_rewrites: false,
            streamed_rows: true,
        }
    }

    fn encode(&mut self, event: &Event<'_, '_>, out: &mut Vec<u8>) {
        if !self.options.pretty_print {
            self.encode_compact(event, out);
            return;
        }
        let mut compact = std::mem::take(&mut self.pretty_scratch);
        compact.clear();
        self.encode_compact(event, &mut compact);
        pretty_print(&compact, out);
        // Kept for the next event unless one huge event grew it (8 MB).
        if compact.capacity() <= 8 << 20 {
            self.pretty_scratch = compact;
        }
    }
}

#[cfg(test)]
#[path = "json_tests.rs"]
mod tests;

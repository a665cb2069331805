//! `format=protobuf`: one `wal2any.v1.Event` per message (README "Protobuf
//! format"), written with `pbwire` straight into the output buffer.

use super::pbwire::{self as wire, fields as f};
use super::{ends_streamed_transaction, frame, Described, Encoder, Profile};
use crate::idmap::IdMap;
use crate::model::{
    ArrayValue, ColumnMeta, Event, EventPosition, Lsn, Message, RelationMeta, ReplicaIdentity, RowChange, RowKey,
    StreamEvent, Truncate, TxnEvent, TxnInfo, Value,
};
use crate::options::{Framing, Options};
use crate::pgtime;

/// A relation's description in this session, for the relation version it
/// describes.
#[derive(Default)]
struct RelationDescribed {
    version: u64,
    sent: Described,
}

pub struct ProtobufEncoder {
    options: Options,
    described: IdMap<u32, RelationDescribed>,
}

fn identity_number(identity: ReplicaIdentity) -> u64 {
    match identity {
        ReplicaIdentity::Default => 0,
        ReplicaIdentity::Nothing => 1,
        ReplicaIdentity::Full => 2,
        ReplicaIdentity::Index => 3,
    }
}

fn timestamp(out: &mut Vec<u8>, field: u32, pg_micros: i64, utc: bool) {
    match pgtime::unix_micros(pg_micros) {
        Some(micros) => wire::sint_always(out, field, micros),
        None => {
            wire::tag_len(out, f::VALUE_TEXT);
            let start = out.len();
            pgtime::push_timestamp(out, pg_micros, utc);
            wire::prefix_length(out, start, 0);
        }
    }
}

/// The `Value` message body for one value.
fn value_body(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => wire::uint_always(out, f::VALUE_NULL, 1),
        Value::Bool(b) => wire::uint_always(out, f::VALUE_BOOL, *b as u64),
        Value::Int(i) => match i32::try_from(*i) {
            Ok(small) => wire::int_always(out, f::VALUE_INT32, small.into()),
            // oid above 2^31-1
            Err(_) => wire::int_always(out, f::VALUE_INT64, *i),
        },
        Value::BigInt(i) => wire::int_always(out, f::VALUE_INT64, *i),
        Value::Float4(x) => wire::float_always(out, f::VALUE_FLOAT, *x),
        Value::Float8(x) => wire::double_always(out, f::VALUE_DOUBLE, *x),
        Value::Numeric(n) => wire::bytes_always(out, f::VALUE_NUMERIC, n.as_bytes()),
        Value::Text(t) | Value::Other(t) => wire::string_always(out, f::VALUE_TEXT, t),
        Value::Bytea(b) => wire::bytes_always(out, f::VALUE_BYTES, b),
        Value::Json(j) | Value::CompactJson(j) => wire::string_always(out, f::VALUE_JSON, j),
        Value::Uuid(u) => wire::bytes_always(out, f::VALUE_UUID, u),
        Value::Date(d) => wire::sint_always(out, f::VALUE_DATE, pgtime::unix_days(*d).into()),
        Value::Time(t) => wire::int_always(out, f::VALUE_TIME, *t),
        Value::TimeTz(t, zone_west) => wire::message(out, f::VALUE_TIMETZ, |o| {
            wire::uint(o, f::TIME_TZ_MICROS, *t as u64);
            wire::sint(o, f::TIME_TZ_OFFSET_SECONDS, -i64::from(*zone_west));
        }),
        Value::Timestamp(t) => timestamp(out, f::VALUE_TIMESTAMP, *t, false),
        Value::TimestampTz(t) => timestamp(out, f::VALUE_TIMESTAMPTZ, *t, true),
        Value::Interval { micros, days, months } => wire::message(out, f::VALUE_INTERVAL, |o| {
            wire::uint(o, f::INTERVAL_MONTHS, i64::from(*months) as u64);
            wire::uint(o, f::INTERVAL_DAYS, i64::from(*days) as u64);
            wire::uint(o, f::INTERVAL_MICROS, *micros as u64);
        }),
        Value::Array(a) => wire::message(out, f::VALUE_ARRAY, |o| array_body(o, a)),
        Value::UnchangedToast => wire::uint_always(out, f::VALUE_UNCHANGED_TOAST, 1),
        Value::Omitted => wire::uint_always(out, f::VALUE_OMITTED, 1),
    }
}

fn array_body(out: &mut Vec<u8>, array: &ArrayValue) {
    wire::packed_uints(out, f::ARRAY_DIMS, array.dims.iter().map(|d| *d as u64));
    for element in &array.elements {
        wire::message(out, f::ARRAY_ELEMENTS, |o| value_body(o, element));
    }
}

impl ProtobufEncoder {
    pub fn new(options: &Options) -> Self {
        ProtobufEncoder {
            options: options.clone(),
            described: IdMap::default(),
        }
    }

    /// The fields every event shares.
    fn position(&self, out: &mut Vec<u8>, at: EventPosition) {
        if self.options.include_xids || at.streamed {
            wire::uint(out, f::EVENT_XID, at.xid.into());
        }
        if self.options.include_lsn {
            wire::uint(out, f::EVENT_LSN, at.lsn.0);
        }
        wire::uint(out, f::EVENT_SUBXID, at.subxid.into());
    }

    fn transaction(&self, out: &mut Vec<u8>, kind: TxnEvent, txn: &TxnInfo) {
        let field = match kind {
            TxnEvent::Begin => f::EVENT_BEGIN,
            TxnEvent::Commit => f::EVENT_COMMIT,
            TxnEvent::BeginPrepare => f::EVENT_BEGIN_PREPARE,
            TxnEvent::Prepare => f::EVENT_PREPARE,
            TxnEvent::CommitPrepared => f::EVENT_COMMIT_PREPARED,
            TxnEvent::RollbackPrepared => f::EVENT_ROLLBACK_PREPARED,
            TxnEvent::StreamCommit => f::EVENT_STREAM_COMMIT,
            TxnEvent::StreamPrepare => f::EVENT_STREAM_PREPARE,
        };
        let options = &self.options;
        wire::message(out, field, |o| {
            if options.include_lsn && !kind.opens() {
                wire::uint(o, f::TRANSACTION_END_LSN, txn.end_lsn.0);
            }
            if options.include_timestamp {
                let micros = pgtime::unix_micros(txn.commit_time).unwrap_or(i64::MAX);
                wire::uint(o, f::TRANSACTION_COMMIT_TIME, micros as u64);
            }
            if let (true, true, Some(origin)) = (kind.opens(), options.include_origin, &txn.origin) {
                wire::message(o, f::TRANSACTION_ORIGIN, |o| {
                    wire::string(o, f::ORIGIN_NAME, origin.name.as_bytes());
                    wire::uint(o, f::ORIGIN_LSN, origin.lsn.0);
                });
            }
            if let Some(gid) = txn.gid {
                wire::string(o, f::TRANSACTION_GID, gid);
            }
        });
        let at = EventPosition {
            xid: txn.xid,
            lsn: txn.commit_lsn,
            streamed: kind == TxnEvent::StreamCommit || kind == TxnEvent::StreamPrepare,
            subxid: 0,
        };
        self.position(out, at);
    }

    fn stream(&self, out: &mut Vec<u8>, kind: StreamEvent, at: EventPosition) {
        match kind {
            StreamEvent::Start { first_segment } => wire::message(out, f::EVENT_STREAM_START, |o| {
                wire::uint(o, f::STREAM_START_FIRST_SEGMENT, first_segment as u64)
            }),
            StreamEvent::Stop => wire::message(out, f::EVENT_STREAM_STOP, |_| {}),
            StreamEvent::Abort { .. } => wire::message(out, f::EVENT_STREAM_ABORT, |_| {}),
        }
        let subxid = match kind {
            StreamEvent::Abort { subxid } => subxid.unwrap_or(0),
            _ => 0,
        };
        self.position(
            out,
            EventPosition {
                streamed: true,
                subxid,
                ..at
            },
        );
    }

    /// A `Row`: the values of the columns `pick` chooses, with names and
    /// type OIDs when rows describe themselves.
    fn row(&self, out: &mut Vec<u8>, field: u32, rel: &RelationMeta, values: &[Value], pick: fn(&ColumnMeta) -> bool) {
        let names = self.options.include_column_names;
        wire::message(out, field, |o| {
            let picked = || rel.columns.iter().zip(values).filter(|(c, _)| pick(c));
            for (_, value) in picked() {
                wire::message(o, f::ROW_VALUES, |o| value_body(o, value));
            }
            if names {
                for (col, _) in picked() {
                    wire::string_always(o, f::ROW_NAMES, col.name.as_bytes());
                }
                wire::packed_uints(o, f::ROW_TYPE_OIDS, picked().map(|(c, _)| c.type_oid.into()));
            }
        });
    }

    fn change(&self, out: &mut Vec<u8>, at: EventPosition, rel: &RelationMeta, change: &RowChange) {
        let field = match change {
            RowChange::Insert { .. } => f::EVENT_INSERT,
            RowChange::Update { .. } => f::EVENT_UPDATE,
            RowChange::Delete { .. } => f::EVENT_DELETE,
        };
        wire::message(out, field, |o| {
            wire::uint(o, f::CHANGE_RELATION_OID, rel.oid.into());
            let (key, new) = match *change {
                RowChange::Insert { new } => (None, Some(new)),
                RowChange::Update { key, new } => (Some(key), Some(new)),
                RowChange::Delete { key } => (Some(key), None),
            };
            if let Some(new) = new {
                self.row(o, f::CHANGE_NEW, rel, new, |_| true);
            }
            if let Some(RowKey::Old(values) | RowKey::New(values)) = key {
                let pick: fn(&ColumnMeta) -> bool = if rel.identity == ReplicaIdentity::Full {
                    |_| true
                } else {
                    |c| c.is_key
                };
                self.row(o, f::CHANGE_KEY, rel, values, pick);
            }
            if self.options.include_column_names {
                wire::string(o, f::CHANGE_SCHEMA, rel.schema.as_bytes());
                wire::string(o, f::CHANGE_TABLE, rel.table.as_bytes());
            }
        });
        self.position(out, at);
    }

    fn relation(&self, out: &mut Vec<u8>, rel: &RelationMeta) {
        wire::message(out, f::EVENT_RELATION, |o| {
            wire::uint(o, f::RELATION_OID, rel.oid.into());
            wire::string(o, f::RELATION_SCHEMA, rel.schema.as_bytes());
            wire::string(o, f::RELATION_TABLE, rel.table.as_bytes());
            wire::uint(o, f::RELATION_REPLICA_IDENTITY, identity_number(rel.identity));
            for col in &rel.columns {
                wire::message(o, f::RELATION_COLUMNS, |o| {
                    wire::string(o, f::COLUMN_NAME, col.name.as_bytes());
                    wire::uint(o, f::COLUMN_TYPE_OID, col.type_oid.into());
                    wire::string(o, f::COLUMN_TYPE_NAME, col.type_name.as_bytes());
                    wire::uint(o, f::COLUMN_IS_KEY, col.is_key as u64);
                    wire::uint(o, f::COLUMN_IS_PRIMARY_KEY, col.is_primary_key as u64);
                });
            }
        });
    }

    fn truncate(&self, out: &mut Vec<u8>, at: EventPosition, truncate: &Truncate) {
        wire::message(out, f::EVENT_TRUNCATE, |o| {
            for rel in &truncate.relations {
                wire::message(o, f::TRUNCATE_RELATIONS, |o| {
                    wire::uint(o, f::TABLE_NAME_OID, rel.oid.into());
                    wire::string(o, f::TABLE_NAME_SCHEMA, rel.schema.as_bytes());
                    wire::string(o, f::TABLE_NAME_TABLE, rel.table.as_bytes());
                });
            }
            wire::uint(o, f::TRUNCATE_CASCADE, truncate.cascade as u64);
            wire::uint(o, f::TRUNCATE_RESTART_IDENTITY, truncate.restart_identity as u64);
        });
        self.position(out, at);
    }

    fn message(&self, out: &mut Vec<u8>, at: EventPosition, message: &Message) {
        wire::message(out, f::EVENT_MESSAGE, |o| {
            wire::uint(o, f::LOGICAL_MESSAGE_TRANSACTIONAL, message.transactional as u64);
            wire::string(o, f::LOGICAL_MESSAGE_PREFIX, message.prefix);
            if !message.content.is_empty() {
                wire::bytes_always(o, f::LOGICAL_MESSAGE_CONTENT, message.content);
            }
            wire::uint(
                o,
                f::LOGICAL_MESSAGE_CONTENT_OMITTED,
                message.content_omitted.unwrap_or(0) as u64,
            );
        });
        self.position(out, at);
    }

    /// Frames one event that `write` appends to `out`.
    fn framed(&self, out: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>)) {
        let start = out.len();
        write(out);
        if self.options.framing == Framing::VarintNewline {
            // Field 15's tag; pg_recvlogical's newline (10) is its value.
            wire::tag_varint(out, f::EVENT_RECORD_SEPARATOR);
        }
        frame(out, start, self.options.framing);
    }

    /// Whether `rel` must be described (again) before a row at `at`;
    /// records that it now is.
    fn needs_description(&mut self, rel: &RelationMeta, at: EventPosition) -> bool {
        let described = self.described.entry(rel.oid).or_default();
        if described.version != rel.version {
            *described = RelationDescribed {
                version: rel.version,
                sent: Described::default(),
            };
        }
        described.sent.needed_before(at)
    }
}

impl Encoder for ProtobufEncoder {
    fn profile(&self) -> Profile {
        Profile::BINARY
    }

    fn preamble(&mut self, event: &Event<'_, '_>, out: &mut Vec<u8>) -> bool {
        let Event::Change { at, relation, .. } = event else {
            return false;
        };
        if self.options.include_column_names || !self.needs_description(relation, *at) {
            return false;
        }
        // The description belongs to the toplevel transaction, never to a
        // subtransaction a stream_abort could discard.
        let at = EventPosition {
            subxid: 0,
            lsn: Lsn(0),
            ..*at
        };
        self.framed(out, |o| {
            self.relation(o, relation);
            self.position(o, at);
        });
        true
    }

    fn encode(&mut self, event: &Event<'_, '_>, out: &mut Vec<u8>) {
        if let Some(xid) = ends_streamed_transaction(event) {
            for described in self.described.values_mut() {
                described.sent.forget_stream(xid);
            }
        }
        self.framed(out, |o| match event {
            Event::Transaction { kind, txn } => self.transaction(o, *kind, txn),
            Event::Stream { kind, at } => self.stream(o, *kind, *at),
            Event::Change { at, relation, change } => self.change(o, *at, relation, change),
            Event::Truncate { at, truncate } => self.truncate(o, *at, truncate),
            Event::Message { at, message } => self.message(o, *at, message),
        });
    }
}

#[cfg(test)]
#[path = "protobuf_tests.rs"]
mod tests;

//! The event and value model shared by the callbacks (which fill it) and the
//! encoders (which serialise it). Plain Rust, no pgrx.
//!
//! Values borrow from memory that lives for one change (PostgreSQL's
//! per-change memory context), hence the `'a` lifetimes.

use std::fmt;

/// A WAL position, shown as PostgreSQL shows it (`0/16B3748`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Lsn(pub u64);

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xffff_ffff)
    }
}

/// A column value, typed as the encoders need it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    /// int2, int4, oid
    Int(i64),
    /// int8 (separate so it can be rendered as a string for JavaScript)
    BigInt(i64),
    Float4(f32),
    Float8(f64),
    /// numeric as PostgreSQL prints it: digits, or `NaN`, `Infinity`, `-Infinity`
    Numeric(&'a str),
    /// Text in UTF-8 (bytes, because a SQL_ASCII database can hold anything;
    /// encoders replace invalid sequences).
    Text(&'a [u8]),
    Bytea(&'a [u8]),
    /// json/jsonb text, already valid JSON.
    Json(&'a [u8]),
    /// jsonb printed from its stored form: compact JSON (no whitespace) whose
    /// strings are escaped as `json_text::push_string` escapes them, so the
    /// JSON format copies it as it is.
    CompactJson(&'a [u8]),
    Uuid([u8; 16]),
    /// Days since 2000-01-01 (PostgreSQL's DateADT).
    Date(i32),
    /// Microseconds since midnight.
    Time(i64),
    /// Microseconds since midnight and the zone in seconds *west* of UTC.
    TimeTz(i64, i32),
    /// Microseconds since 2000-01-01 00:00 (no zone).
    Timestamp(i64),
    /// Microseconds since 2000-01-01 00:00 UTC.
    TimestampTz(i64),
    Interval {
        micros: i64,
        days: i32,
        months: i32,
    },
    Array(Box<ArrayValue<'a>>),
    /// The type's text output (enums, composites, ranges, geometric, ...).
    Other(&'a [u8]),
    /// An unchanged TOAST value: not in the WAL record, never detoasted.
    UnchangedToast,
    /// A value left out because the event would pass PostgreSQL's 1 GB
    /// message limit (see `omit_largest`): never written truncated.
    Omitted,
}

impl Value<'_> {
    /// Bytes the value holds (its text, bytes or elements): what leaving it
    /// out saves, give or take the format's escaping.
    pub fn size(&self) -> usize {
        match self {
            Value::Numeric(n) => n.len(),
            Value::Text(b) | Value::Bytea(b) | Value::Json(b) | Value::CompactJson(b) | Value::Other(b) => b.len(),
            Value::Array(array) => array.elements.iter().map(|e| e.size() + 1).sum(),
            // Nothing to leave out.
            Value::Null | Value::UnchangedToast | Value::Omitted => 0,
            _ => 8,
        }
    }
}

/// Replaces the largest value of `rows` (rows of `columns`) with
/// `Value::Omitted` and returns its column index; None when nothing is left
/// to leave out. Largest first: an event past 1 GB usually owes it to one
/// or two huge values, but 1,600 columns of old and new rows can add up to
/// it too. Only values of variable-length columns are left out (the only
/// ones whose size can matter, and the ones every format can mark so).
pub fn omit_largest(rows: &mut [&mut Vec<Value<'_>>], columns: &[ColumnMeta]) -> Option<usize> {
    let (row, column, _) = rows
        .iter()
        .enumerate()
        .flat_map(|(r, values)| values.iter().enumerate().map(move |(c, v)| (r, c, v.size())))
        .filter(|(_, c, size)| *size > 0 && columns.get(*c).is_some_and(|col| col.toastable))
        .max_by_key(|(_, _, size)| *size)?;
    rows[row][column] = Value::Omitted;
    Some(column)
}

/// An array with its dimensions (outermost first) and elements in row-major order.
#[derive(Debug, Clone, PartialEq)]
pub struct ArrayValue<'a> {
    pub dims: Vec<usize>,
    pub elements: Vec<Value<'a>>,
}

/// What values of a column will be, known before any row is read (for
/// formats whose schemas are built from the table: Avro). Domains are
/// resolved to their base type.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ValueType {
    Bool,
    /// smallint, integer
    Int32,
    /// bigint
    Int64,
    Oid,
    Float4,
    Float8,
    /// numeric; `precision_scale` when the column declares them.
    Numeric {
        precision_scale: Option<(u16, i16)>,
    },
    Text,
    Bytea,
    Json,
    Uuid,
    Date,
    Time,
    TimeTz,
    Timestamp,
    TimestampTz,
    Interval,
    /// Arrays (also int2vector, oidvector), of any number of dimensions.
    Array(Box<ValueType>),
    /// Any other type: its text output.
    #[default]
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReplicaIdentity {
    #[default]
    Default,
    Nothing,
    Full,
    Index,
}

/// One column of a relation (dropped columns are never listed).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ColumnMeta {
    pub name: String,
    /// SQL type name, with type modifier (`character varying(20)`).
    pub type_name: String,
    /// SQL type name without type modifier, in the output's text encoding
    /// (see `sql_name`).
    pub type_name_no_typmod: Vec<u8>,
    pub type_oid: u32,
    /// The name as SQL writes it (`quote_identifier`), for the test_decoding
    /// format, in the output's text encoding: the database encoding for that
    /// format (as test_decoding writes it), UTF-8 for the others.
    pub sql_name: Vec<u8>,
    /// Part of the replica identity key (with FULL, every column is).
    pub is_key: bool,
    pub is_primary_key: bool,
    pub value_type: ValueType,
    /// A variable-length type: its values can be unchanged TOAST.
    pub toastable: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct RelationMeta {
    pub oid: u32,
    pub schema: String,
    pub table: String,
    pub identity: ReplicaIdentity,
    pub columns: Vec<ColumnMeta>,
    /// `schema.table` as SQL writes it (`quote_qualified_identifier`), in
    /// the output's text encoding (see `ColumnMeta::sql_name`).
    pub sql_name: Vec<u8>,
    /// Different after every rebuild of the cached entry (an invalidation:
    /// ALTER TABLE, REPLICA IDENTITY, ...): formats that describe a relation
    /// once (Protobuf's relation message) describe it again.
    pub version: u64,
    /// The database the relation is in (Avro schema namespaces).
    pub database: String,
}

impl RelationMeta {
    /// Whether UPDATE/DELETE can say which row they touched.
    pub fn has_identity_key(&self) -> bool {
        self.columns.iter().any(|c| c.is_key)
    }
}

/// Transaction-level facts for begin and commit.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TxnInfo<'a> {
    pub xid: u32,
    /// The commit record's LSN.
    pub commit_lsn: Lsn,
    /// End of the commit record: where a consumer confirms up to.
    pub end_lsn: Lsn,
    /// Microseconds since 2000-01-01 UTC (PostgreSQL's TimestampTz).
    pub commit_time: i64,
    pub origin: Option<OriginInfo<'a>>,
    /// Two-phase events: the prepared transaction's GID.
    pub gid: Option<&'a [u8]>,
    /// The commit (or prepare) time as the session prints timestamptz, for
    /// formats that ask for it (test_decoding).
    pub commit_time_text: Option<&'a [u8]>,
}

/// Transaction-level events; all carry `TxnInfo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnEvent {
    Begin,
    Commit,
    /// Two-phase: the start and end of a prepared transaction's changes.
    BeginPrepare,
    Prepare,
    CommitPrepared,
    RollbackPrepared,
    /// Streaming: the end of a streamed transaction.
    StreamCommit,
    StreamPrepare,
}

impl TxnEvent {
    pub fn action(self) -> &'static str {
        match self {
            TxnEvent::Begin => "begin",
            TxnEvent::Commit => "commit",
            TxnEvent::BeginPrepare => "begin_prepare",
            TxnEvent::Prepare => "prepare",
            TxnEvent::CommitPrepared => "commit_prepared",
            TxnEvent::RollbackPrepared => "rollback_prepared",
            TxnEvent::StreamCommit => "stream_commit",
            TxnEvent::StreamPrepare => "stream_prepare",
        }
    }

    /// Whether the event opens a block of changes (begin-like).
    pub fn opens(self) -> bool {
        matches!(self, TxnEvent::Begin | TxnEvent::BeginPrepare)
    }
}

/// Boundaries of a streamed block of an in-progress transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEvent {
    Start {
        first_segment: bool,
    },
    Stop,
    /// The transaction, or only its subtransaction `subxid`, rolled back.
    Abort {
        subxid: Option<u32>,
    },
}

impl StreamEvent {
    pub fn action(self) -> &'static str {
        match self {
            StreamEvent::Start { .. } => "stream_start",
            StreamEvent::Stop => "stream_stop",
            StreamEvent::Abort { .. } => "stream_abort",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct OriginInfo<'a> {
    pub name: &'a str,
    pub lsn: Lsn,
}

/// Which row an UPDATE or DELETE touched, as the replica identity gives it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RowKey<'v, 'a> {
    /// The old tuple the WAL carries: the key columns (other columns NULL),
    /// or with REPLICA IDENTITY FULL the whole old row.
    Old(&'v [Value<'a>]),
    /// No old tuple because the key did not change: the key is in the new row.
    New(&'v [Value<'a>]),
    /// REPLICA IDENTITY NOTHING, or DEFAULT without a primary key.
    Missing,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RowChange<'v, 'a> {
    Insert { new: &'v [Value<'a>] },
    Update { key: RowKey<'v, 'a>, new: &'v [Value<'a>] },
    Delete { key: RowKey<'v, 'a> },
}

/// Facts common to every event after begin.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct EventPosition {
    /// Toplevel transaction id, 0 when there is none (non-transactional message).
    pub xid: u32,
    pub lsn: Lsn,
    /// Inside a streamed block: consumers need the xid to buffer by transaction.
    pub streamed: bool,
    /// Inside a streamed block, the subtransaction the change belongs to (0:
    /// the toplevel one), so a `stream_abort` of that subxid can discard it.
    pub subxid: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Message<'a> {
    pub transactional: bool,
    pub prefix: &'a [u8],
    pub content: &'a [u8],
    /// The content's size when it was left out (empty `content`): the event
    /// would pass PostgreSQL's 1 GB message limit.
    pub content_omitted: Option<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Truncate<'r> {
    pub relations: Vec<&'r RelationMeta>,
    pub cascade: bool,
    pub restart_identity: bool,
}

/// Everything an encoder is asked to encode.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Event<'e, 'a> {
    Transaction {
        kind: TxnEvent,
        txn: &'e TxnInfo<'a>,
    },
    Stream {
        kind: StreamEvent,
        at: EventPosition,
    },
    Change {
        at: EventPosition,
        relation: &'e RelationMeta,
        change: RowChange<'e, 'a>,
    },
    Truncate {
        at: EventPosition,
        truncate: &'e Truncate<'e>,
    },
    Message {
        at: EventPosition,
        message: &'e Message<'a>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsn_prints_like_postgres() {
        assert_eq!(Lsn(0x16B3748).to_string(), "0/16B3748");
        assert_eq!(Lsn(0x1_0000_00FF).to_string(), "1/FF");
        assert_eq!(Lsn(0).to_string(), "0/0");
    }

    #[test]
    fn the_largest_variable_length_value_is_omitted_first() {
        let column = |toastable| ColumnMeta {
            toastable,
            ..ColumnMeta::default()
        };
        let columns = [column(false), column(true), column(true)];
        let big = vec![b'x'; 3 << 20];
        let bigger = vec![b'y'; 5 << 20];
        let mut old = vec![Value::Int(1), Value::Text(&big)];
        let mut new = vec![Value::Int(1), Value::Bytea(&bigger), Value::Text(b"small")];
        assert_eq!(omit_largest(&mut [&mut old, &mut new], &columns), Some(1));
        assert_eq!(new[1], Value::Omitted);
        assert_eq!(omit_largest(&mut [&mut old, &mut new], &columns), Some(1));
        assert_eq!(old[1], Value::Omitted);
        // Then whatever is largest, however small; never a fixed-size column.
        assert_eq!(omit_largest(&mut [&mut old, &mut new], &columns), Some(2));
        assert_eq!(new[2], Value::Omitted);
        assert_eq!(omit_largest(&mut [&mut old, &mut new], &columns), None);
        assert_eq!((old[0].clone(), new[0].clone()), (Value::Int(1), Value::Int(1)));
    }

    #[test]
    fn identity_key_presence() {
        let col = |is_key| ColumnMeta {
            name: "c".into(),
            sql_name: b"c".to_vec(),
            type_name: "integer".into(),
            type_name_no_typmod: b"integer".to_vec(),
            type_oid: 23,
            is_key,
            is_primary_key: is_key,
            value_type: ValueType::Int32,
            toastable: false,
        };
        let mut rel = RelationMeta {
            oid: 1,
            schema: "s".into(),
            table: "t".into(),
            identity: ReplicaIdentity::Default,
            columns: vec![col(false)],
            sql_name: b"s.t".to_vec(),
            version: 1,
            database: "db".into(),
        };
        assert!(!rel.has_identity_key());
        rel.columns.push(col(true));
        assert!(rel.has_identity_key());
    }
}

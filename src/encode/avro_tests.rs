//! The hand-written Avro encoding decoded by apache-avro (the oracle) with
//! the writer schema found by fingerprint, as a consumer does.

use super::*;
use crate::encode::avro_schema::WriterSchema;
use crate::encode::Encoder;
use crate::model::{ArrayValue, ColumnMeta, Event, Lsn, Message, StreamEvent, Truncate, TxnEvent, TxnInfo};
use crate::options;
use apache_avro::types::Value as A;
#[allow(deprecated)] // the one-call reader; GenericDatumReader needs more set-up
use apache_avro::{from_avro_datum, Schema};
use std::collections::HashMap;

fn col(name: &str, value_type: ValueType, is_key: bool) -> ColumnMeta {
    ColumnMeta {
        name: name.into(),
        type_name: "t".into(),
        type_name_no_typmod: b"t".to_vec(),
        type_oid: 25,
        sql_name: name.as_bytes().to_vec(),
        is_key,
        is_primary_key: is_key,
        toastable: matches!(value_type, ValueType::Text | ValueType::Array(_)),
        value_type,
    }
}

fn rel(columns: Vec<ColumnMeta>, version: u64) -> RelationMeta {
    RelationMeta {
        oid: 16384,
        schema: "public".into(),
        table: "Mixed \"Case\"".into(),
        identity: ReplicaIdentity::Default,
        sql_name: Vec::new(),
        columns,
        version,
        database: "app db".into(),
    }
}

fn encoder(opts: &[(&'static str, Option<&'static str>)]) -> AvroEncoder {
    let mut pairs = vec![("format", Some("avro"))];
    pairs.extend_from_slice(opts);
    AvroEncoder::new(&options::parse(pairs).unwrap())
}

/// A consumer: schemas by fingerprint, from the fixed files and schema events.
struct Consumer {
    schemas: HashMap<[u8; 8], Schema>,
}

impl Consumer {
    fn new() -> Self {
        let mut schemas = HashMap::new();
        for avsc in [
            avro_schema::TRANSACTION,
            avro_schema::STREAM,
            avro_schema::TRUNCATE,
            avro_schema::MESSAGE,
            avro_schema::SCHEMA_EVENT,
            avro_schema::OMITTED_MESSAGE,
        ] {
            schemas.insert(
                WriterSchema::parse(avsc).unwrap().fingerprint,
                Schema::parse_str(avsc).unwrap(),
            );
        }
        Consumer { schemas }
    }

    /// Decodes one single-object message; registers announced schemas.
    fn read(&mut self, message: &[u8]) -> Vec<(String, A)> {
        assert_eq!(message[..2], [0xC3, 0x01]);
        let fingerprint: [u8; 8] = message[2..10].try_into().unwrap();
        let schema = self
            .schemas
            .get(&fingerprint)
            .expect("writer schema announced before use");
        #[allow(deprecated)]
        let A::Record(fields) = from_avro_datum(schema, &mut &message[10..], None).unwrap() else {
            panic!()
        };
        if let Some((_, A::String(json))) = fields.iter().find(|(n, _)| n == "avro_schema") {
            let parsed = Schema::parse_str(json).unwrap();
            let A::Fixed(8, announced) = &fields[3].1 else {
                panic!("{fields:?}")
            };
            let computed = WriterSchema::parse(json).unwrap().fingerprint;
            assert_eq!(announced[..], computed[..], "announced fingerprint is the schema's");
            self.schemas.insert(computed, parsed);
        }
        fields
    }
}

fn field<'a>(fields: &'a [(String, A)], name: &str) -> &'a A {
    &fields
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("{name} in {fields:?}"))
        .1
}

/// The callbacks' sequence for one event: preamble (if any), then the event.
fn send(enc: &mut AvroEncoder, consumer: &mut Consumer, event: &Event) -> Vec<Vec<(String, A)>> {
    let mut out = Vec::new();
    let mut decoded = Vec::new();
    if enc.preamble(event, &mut out) {
        decoded.push(consumer.read(&out));
        out.clear();
    }
    enc.encode(event, &mut out);
    decoded.push(consumer.read(&out));
    decoded
}

fn union_value(value: &A) -> &A {
    match value {
        A::Union(_, inner) => inner,
        other => other,
    }
}

#[test]
fn row_values_decode_with_logical_types_and_special_branches() {
    let numeric = ValueType::Numeric {
        precision_scale: Some((10, 2)),
    };
    let columns = vec![
        col("id", ValueType::Int64, true),
        col("amount", numeric.clone(), false),
        col("nan", numeric, false),
        col("big", ValueType::Numeric { precision_scale: None }, false),
        col("day", ValueType::Date, false),
        col("forever", ValueType::TimestampTz, false),
        col("at", ValueType::TimestampTz, false),
        col("wall", ValueType::Timestamp, false),
        col("midnight", ValueType::Time, false),
        col("u", ValueType::Uuid, false),
        col("tags", ValueType::Array(Box::new(ValueType::Text)), false),
        col("grid", ValueType::Array(Box::new(ValueType::Int32)), false),
        col("notes", ValueType::Text, false),
        col("a b", ValueType::Float4, false),
        col("a_b", ValueType::Interval, false),
    ];
    let relation = rel(columns, 1);
    let grid = ArrayValue {
        dims: vec![2, 1],
        elements: vec![Value::Int(1), Value::Int(2)],
    };
    let tags = ArrayValue {
        dims: vec![2],
        elements: vec![Value::Text(b"x"), Value::Null],
    };
    let values = [
        Value::BigInt(7),
        Value::Numeric("-1234.50"),
        Value::Numeric("NaN"),
        Value::Numeric("3.14159265358979323846264338327950288419716939937510"),
        Value::Date(0),
        Value::TimestampTz(i64::MAX),
        Value::TimestampTz(1),
        Value::Timestamp(-pgtime::UNIX_EPOCH_OFFSET_MICROS),
        Value::Time(MICROS_PER_DAY),
        Value::Uuid([0xab; 16]),
        Value::Array(Box::new(tags)),
        Value::Array(Box::new(grid)),
        Value::UnchangedToast,
        Value::Float4(1.5),
        Value::Interval {
            micros: 1,
            days: 2,
            months: 3,
        },
    ];
    let (mut enc, mut consumer) = (encoder(&[]), Consumer::new());
    let event = Event::Change {
        at: EventPosition::default(),
        relation: &relation,
        change: RowChange::Update {
            key: RowKey::New(&values),
            new: &values,
        },
    };
    let decoded = send(&mut enc, &mut consumer, &event);
    assert_eq!(decoded.len(), 2, "schema event, then the change");
    assert_eq!(field(&decoded[0], "key"), &A::Array(vec![A::String("id".into())]));
    let change = &decoded[1];
    assert_eq!(field(change, "op"), &A::Enum(1, "update".into()));
    let A::Record(after) = union_value(field(change, "after")) else {
        panic!()
    };
    let got: Vec<&A> = after.iter().map(|(_, v)| union_value(v)).collect();
    assert_eq!(
        after.last().map(|(n, _)| n.as_str()),
        Some("a_b_2"),
        "names made unique"
    );
    assert_eq!(got[0], &A::Long(7));
    let A::Decimal(amount) = got[1] else {
        panic!("{:?}", got[1])
    };
    assert_eq!(
        Vec::<u8>::try_from(amount.clone()).unwrap(),
        (-123_450i32).to_be_bytes()[1..].to_vec()
    );
    assert_eq!(got[2], &A::String("NaN".into()));
    assert_eq!(
        got[3],
        &A::String("3.14159265358979323846264338327950288419716939937510".into())
    );
    assert_eq!(got[4], &A::Date(10_957));
    assert_eq!(got[5], &A::String("infinity".into()));
    assert_eq!(got[6], &A::TimestampMicros(pgtime::UNIX_EPOCH_OFFSET_MICROS + 1));
    assert_eq!(got[7], &A::LocalTimestampMicros(0));
    assert_eq!(got[8], &A::String("24:00:00.000000".into()));
    assert_eq!(
        got[9],
        &A::Uuid("abababab-abab-abab-abab-abababababab".parse().unwrap())
    );
    assert_eq!(
        got[10],
        &A::Array(vec![
            A::Union(1, Box::new(A::String("x".into()))),
            A::Union(0, Box::new(A::Null))
        ])
    );
    assert_eq!(got[11], &A::String("[[1],[2]]".into()), "multi-dimensional: JSON text");
    assert_eq!(got[12], &A::Enum(0, "UNCHANGED_TOAST".into()));
    assert_eq!(got[13], &A::Float(1.5));
    assert_eq!(got[14], &A::String("P3M2DT0.000001S".into()));
    assert_eq!(
        field(change, "unchanged_toast"),
        &A::Array(vec![A::String("notes".into())])
    );
    let A::Record(before) = union_value(field(change, "before")) else {
        panic!()
    };
    assert_eq!(union_value(&before[0].1), &A::Long(7));
    assert!(
        before[1..].iter().all(|(_, v)| union_value(v) == &A::Null),
        "only the key"
    );
    let A::Record(source) = field(change, "source") else {
        panic!()
    };
    assert_eq!(field(source, "table"), &A::String("Mixed \"Case\"".into()));
}

#[test]
fn schemas_are_announced_once_per_shape_and_per_streamed_transaction() {
    let v1 = rel(vec![col("id", ValueType::Int32, true)], 1);
    let values = [Value::Int(1), Value::Text(b"x")];
    let insert = |relation, at| Event::Change {
        at,
        relation,
        change: RowChange::Insert { new: &values },
    };
    let main = EventPosition::default();
    let streamed = EventPosition {
        xid: 9,
        streamed: true,
        ..main
    };
    let (mut enc, mut consumer) = (encoder(&[]), Consumer::new());
    assert_eq!(send(&mut enc, &mut consumer, &insert(&v1, main)).len(), 2);
    assert_eq!(send(&mut enc, &mut consumer, &insert(&v1, main)).len(), 1);
    let in_stream = send(&mut enc, &mut consumer, &insert(&v1, streamed));
    assert_eq!((in_stream.len(), field(&in_stream[0], "xid")), (2, &A::Long(9)));
    // An invalidation that changes nothing keeps the announcement.
    let same = rel(vec![col("id", ValueType::Int32, true)], 2);
    assert_eq!(send(&mut enc, &mut consumer, &insert(&same, main)).len(), 1);
    let added = rel(
        vec![col("id", ValueType::Int32, true), col("b", ValueType::Text, false)],
        3,
    );
    let after_alter = send(&mut enc, &mut consumer, &insert(&added, main));
    assert_eq!(after_alter.len(), 2, "a new shape is announced");
    // REPLICA IDENTITY FULL: the same row schema, other key columns.
    let mut full = added.clone();
    full.version = 4;
    full.identity = ReplicaIdentity::Full;
    full.columns.iter_mut().for_each(|c| c.is_key = true);
    let after_identity = send(&mut enc, &mut consumer, &insert(&full, main));
    assert_eq!(after_identity.len(), 2, "a new key is announced");
    let keys = A::Array(vec![A::String("id".into()), A::String("b".into())]);
    assert_eq!(field(&after_identity[0], "key"), &keys);

    let (mut enc, mut consumer) = (encoder(&[("schema-events", Some("once"))]), Consumer::new());
    assert_eq!(send(&mut enc, &mut consumer, &insert(&v1, main)).len(), 2);
    assert_eq!(
        send(&mut enc, &mut consumer, &insert(&v1, streamed)).len(),
        1,
        "once per schema"
    );
    let mut v1_full = v1.clone();
    v1_full.version = 2;
    v1_full.columns.iter_mut().for_each(|c| c.is_key = true);
    v1_full.identity = ReplicaIdentity::Full;
    assert_eq!(
        send(&mut enc, &mut consumer, &insert(&v1_full, main)).len(),
        1,
        "same key: once"
    );
}

#[test]
fn fixed_events_decode_with_the_published_schemas() {
    let (mut enc, mut consumer) = (
        encoder(&[("include-lsn", None), ("include-timestamp", None)]),
        Consumer::new(),
    );
    let txn = TxnInfo {
        xid: 5,
        commit_lsn: Lsn(100),
        end_lsn: Lsn(200),
        gid: Some(b"g"),
        ..TxnInfo::default()
    };
    let commit = send(
        &mut enc,
        &mut consumer,
        &Event::Transaction {
            kind: TxnEvent::CommitPrepared,
            txn: &txn,
        },
    );
    assert_eq!(field(&commit[0], "event"), &A::Enum(4, "commit_prepared".into()));
    assert_eq!(
        (field(&commit[0], "lsn"), field(&commit[0], "end_lsn")),
        (&A::Long(100), &A::Long(200))
    );
    assert_eq!(
        union_value(field(&commit[0], "commit_time")),
        &A::TimestampMicros(pgtime::UNIX_EPOCH_OFFSET_MICROS)
    );
    assert_eq!(union_value(field(&commit[0], "gid")), &A::String("g".into()));
    let at = EventPosition {
        xid: 5,
        subxid: 6,
        ..EventPosition::default()
    };
    let abort = send(
        &mut enc,
        &mut consumer,
        &Event::Stream {
            kind: StreamEvent::Abort { subxid: Some(6) },
            at,
        },
    );
    assert_eq!(
        (field(&abort[0], "event"), field(&abort[0], "subxid")),
        (&A::Enum(2, "stream_abort".into()), &A::Long(6))
    );
    let relation = rel(vec![col("id", ValueType::Int32, true)], 1);
    let truncate = Truncate {
        relations: vec![&relation],
        cascade: false,
        restart_identity: true,
    };
    let decoded = send(
        &mut enc,
        &mut consumer,
        &Event::Truncate {
            at,
            truncate: &truncate,
        },
    );
    assert_eq!(field(&decoded[0], "restart_identity"), &A::Boolean(true));
    let message = Message {
        transactional: true,
        prefix: b"p",
        content: b"\xff",
        content_omitted: None,
    };
    let decoded = send(&mut enc, &mut consumer, &Event::Message { at, message: &message });
    assert_eq!(field(&decoded[0], "content"), &A::Bytes(vec![0xff]));
}

#[test]
fn decimals_are_big_endian_twos_complement() {
    let enc = |text: &str, scale| {
        let mut out = Vec::new();
        assert!(decimal_bytes(text, scale, &mut out), "{text}");
        out[1..].to_vec() // after the length
    };
    assert_eq!(enc("0.00", 2), [0]);
    assert_eq!(enc("1.28", 2), [0x00, 0x80]);
    assert_eq!(enc("-1.28", 2), [0x80]);
    assert_eq!(enc("-1.29", 2), [0xff, 0x7f]);
    assert_eq!(enc("127", 0), [0x7f]);
    assert_eq!(enc("-128", 0), [0x80]);
    let big = "-170141183460469231731687303715884105728"; // i128::MIN
    assert_eq!(enc(big, 0), i128::MIN.to_be_bytes());
    assert!(!decimal_bytes("1.5", 2, &mut Vec::new()), "scale must match");
}
#[test]
fn fingerprints_follow_the_specification() {
    // fastavro's CRC-64-AVRO of avro/Transaction.avsc (an independent
    // implementation; apache-avro 0.22's canonical form keeps logical-type
    // primitives as objects, which the specification reduces).
    let fingerprint = WriterSchema::parse(avro_schema::TRANSACTION).unwrap().fingerprint;
    assert_eq!(fingerprint, [0x50, 0xf5, 0x4b, 0xae, 0xb3, 0x03, 0x05, 0x64]);
    // The specification's test vector: the empty string.
    assert_eq!(avro_schema::crc64_avro(b""), 0xc15d_213a_a4d7_a795);
}

#[test]
fn decimal_attributes_are_not_part_of_the_canonical_form() {
    let with = |p: u32| {
        let json = format!(r#"{{"type":"bytes","logicalType":"decimal","precision":{p},"scale":2}}"#);
        WriterSchema::parse(&json).unwrap().fingerprint
    };
    assert_eq!(with(10), with(12));
    assert_eq!(with(10), WriterSchema::parse(r#""bytes""#).unwrap().fingerprint);
}

#[test]
fn a_change_of_decimal_scale_changes_the_fingerprint_and_is_announced() {
    let numeric = |scale| ValueType::Numeric {
        precision_scale: Some((12, scale)),
    };
    let scale2 = rel(
        vec![col("id", ValueType::Int32, true), col("amount", numeric(2), false)],
        1,
    );
    let scale4 = rel(
        vec![col("id", ValueType::Int32, true), col("amount", numeric(4), false)],
        2,
    );
    let fingerprint = |r: &RelationMeta| avro_schema::relation_schema(r).unwrap().writer.fingerprint;
    assert_ne!(fingerprint(&scale2), fingerprint(&scale4));
    let values = [Value::Int(1), Value::Numeric("1.2345")];
    let (mut enc, mut consumer) = (encoder(&[]), Consumer::new());
    for relation in [&scale2, &scale4] {
        let event = Event::Change {
            at: EventPosition::default(),
            relation,
            change: RowChange::Insert { new: &values[..] },
        };
        let decoded = send(&mut enc, &mut consumer, &event);
        assert_eq!(decoded.len(), 2, "each scale announces its schema");
    }
}

#[test]
fn omitted_values_and_message_content_are_marked_never_empty() {
    let relation = rel(
        vec![col("id", ValueType::Int64, true), col("doc", ValueType::Text, false)],
        1,
    );
    let values = [Value::BigInt(1), Value::Omitted];
    let (mut enc, mut consumer) = (encoder(&[]), Consumer::new());
    let event = Event::Change {
        at: EventPosition::default(),
        relation: &relation,
        change: RowChange::Insert { new: &values },
    };
    let decoded = send(&mut enc, &mut consumer, &event);
    let A::Record(after) = union_value(field(&decoded[1], "after")) else {
        panic!()
    };
    assert_eq!(union_value(&after[1].1), &A::Enum(1, "OMITTED".into()));
    let message = Message {
        transactional: true,
        prefix: b"p",
        content: b"",
        content_omitted: Some(1 << 30),
    };
    let decoded = send(
        &mut enc,
        &mut consumer,
        &Event::Message {
            at: EventPosition::default(),
            message: &message,
        },
    );
    assert_eq!(field(&decoded[0], "content_size"), &A::Long(1 << 30));
    assert_eq!(field(&decoded[0], "prefix"), &A::String("p".into()));
}

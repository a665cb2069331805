//! The hand-written wire encoding decoded by prost types generated from the
//! published schema: field numbers, types and framing must agree with it.

use super::*;
use crate::model::{ArrayValue, ColumnMeta, OriginInfo, RelationMeta, ReplicaIdentity};
use crate::options;
use prost::Message as _;

#[allow(clippy::all, dead_code)]
mod pb {
    include!(concat!(env!("OUT_DIR"), "/wal2any.v1.rs"));
}
use pb::event::Event as E;
use pb::value::Kind as K;

fn col(name: &str, oid: u32, is_key: bool) -> ColumnMeta {
    ColumnMeta {
        name: name.into(),
        type_name: format!("type{oid}"),
        type_name_no_typmod: format!("type{oid}").into_bytes(),
        type_oid: oid,
        sql_name: name.as_bytes().to_vec(),
        is_key,
        is_primary_key: is_key,
        value_type: crate::model::ValueType::Other,
        toastable: true,
    }
}

fn rel(identity: ReplicaIdentity, version: u64) -> RelationMeta {
    RelationMeta {
        oid: 16384,
        schema: "public".into(),
        table: "t".into(),
        identity,
        sql_name: b"public.t".to_vec(),
        columns: vec![col("id", 20, true), col("doc", 25, false), col("at", 1184, false)],
        version,
        database: "db".into(),
    }
}

fn encoder(opts: &[(&'static str, Option<&'static str>)]) -> ProtobufEncoder {
    let mut pairs = vec![("format", Some("protobuf"))];
    pairs.extend_from_slice(opts);
    ProtobufEncoder::new(&options::parse(pairs).unwrap())
}

/// Encodes `event` as the callbacks do: the preamble (if any), then the event.
fn messages(enc: &mut ProtobufEncoder, event: &Event) -> Vec<pb::Event> {
    let mut out = Vec::new();
    let mut decoded = Vec::new();
    if enc.preamble(event, &mut out) {
        decoded.push(pb::Event::decode(out.as_slice()).unwrap());
        out.clear();
    }
    enc.encode(event, &mut out);
    decoded.push(pb::Event::decode(out.as_slice()).unwrap());
    decoded
}

fn insert<'e>(relation: &'e RelationMeta, new: &'e [Value<'e>], at: EventPosition) -> Event<'e, 'e> {
    Event::Change {
        at,
        relation,
        change: RowChange::Insert { new },
    }
}

fn kinds(row: &pb::Row) -> Vec<K> {
    row.values.iter().map(|v| v.kind.clone().unwrap()).collect()
}

#[test]
fn every_value_kind_decodes_as_the_schema_says() {
    let array = ArrayValue {
        dims: vec![2, 2],
        elements: vec![Value::Int(1), Value::Null, Value::Int(-3), Value::Int(4)],
    };
    let values = [
        Value::Null,
        Value::Bool(false),
        Value::Int(-7),
        Value::Int(4_000_000_000),
        Value::BigInt(-9_000_000_000),
        Value::Float4(f32::NAN),
        Value::Float8(-0.5),
        Value::Numeric("-12.3400"),
        Value::Text(b"h\xc3\xa9"),
        Value::Other(b"(1,2)"),
        Value::Bytea(&[0, 255]),
        Value::Json(br#"{"a": [1]}"#),
        Value::Uuid([7; 16]),
        Value::Date(0),
        Value::Date(i32::MAX),
        Value::Time(3_600_000_001),
        Value::TimeTz(1, -19_800),
        Value::Timestamp(0),
        Value::TimestampTz(i64::MIN),
        Value::TimestampTz(9_223_371_331_199_999_999),
        Value::Interval {
            micros: -1,
            days: -2,
            months: 14,
        },
        Value::Array(Box::new(array)),
        Value::UnchangedToast,
    ];
    let mut relation = rel(ReplicaIdentity::Default, 1);
    relation.columns = (0..values.len()).map(|i| col(&format!("c{i}"), 25, i == 0)).collect();
    let mut enc = encoder(&[]);
    let decoded = messages(&mut enc, &insert(&relation, &values, EventPosition::default()));
    let Some(E::Insert(change)) = &decoded[1].event else {
        panic!("{decoded:?}")
    };
    let got = kinds(change.new.as_ref().unwrap());
    let expected_prefix = [
        K::Null(true),
        K::Bool(false),
        K::Int32(-7),
        K::Int64(4_000_000_000),
        K::Int64(-9_000_000_000),
    ];
    assert_eq!(got[..5], expected_prefix);
    assert!(matches!(got[5], K::Float(x) if x.is_nan()));
    let expected_rest = [
        K::Double(-0.5),
        K::Numeric("-12.3400".into()),
        K::Text("hé".into()),
        K::Text("(1,2)".into()),
        K::Bytes(vec![0, 255]),
        K::Json(r#"{"a": [1]}"#.into()),
        K::Uuid(vec![7; 16]),
        K::Date(10_957),
        K::Date(i32::MAX),
        K::Time(3_600_000_001),
        K::Timetz(pb::TimeTz {
            micros: 1,
            offset_seconds: 19_800,
        }),
        K::Timestamp(946_684_800_000_000),
        K::Timestamptz(i64::MIN),
        // Beyond i64 once shifted to the Unix epoch: the ISO text instead.
        K::Text("+294276-12-31T23:59:59.999999Z".into()),
        K::Interval(pb::Interval {
            months: 14,
            days: -2,
            micros: -1,
        }),
    ];
    assert_eq!(got[6..21], expected_rest);
    let K::Array(array) = &got[21] else {
        panic!("{:?}", got[21])
    };
    assert_eq!(array.dims, [2, 2]);
    let elements: Vec<K> = array.elements.iter().map(|v| v.kind.clone().unwrap()).collect();
    assert_eq!(elements, [K::Int32(1), K::Null(true), K::Int32(-3), K::Int32(4)]);
    assert_eq!(got[22], K::UnchangedToast(true));
}

#[test]
fn relation_is_described_once_per_session_version_and_streamed_transaction() {
    let relation = rel(ReplicaIdentity::Default, 1);
    let values = [Value::BigInt(1), Value::Text(b"x"), Value::Null];
    let mut enc = encoder(&[]);
    let main = EventPosition::default();
    let first = messages(&mut enc, &insert(&relation, &values, main));
    assert_eq!(first.len(), 2);
    let Some(E::Relation(described)) = &first[0].event else {
        panic!("{first:?}")
    };
    assert_eq!(described.oid, 16384);
    assert_eq!((described.schema.as_str(), described.table.as_str()), ("public", "t"));
    let columns: Vec<_> = described
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.type_oid, c.is_key))
        .collect();
    assert_eq!(columns, [("id", 20, true), ("doc", 25, false), ("at", 1184, false)]);
    assert_eq!(messages(&mut enc, &insert(&relation, &values, main)).len(), 1);

    let streamed = EventPosition {
        xid: 900,
        streamed: true,
        subxid: 901,
        ..main
    };
    let in_stream = messages(&mut enc, &insert(&relation, &values, streamed));
    assert_eq!(
        in_stream.len(),
        2,
        "each streamed transaction carries its own description"
    );
    assert_eq!((in_stream[0].xid, in_stream[0].subxid), (900, 0));
    assert_eq!((in_stream[1].xid, in_stream[1].subxid), (900, 901));
    assert_eq!(messages(&mut enc, &insert(&relation, &values, streamed)).len(), 1);

    let changed = rel(ReplicaIdentity::Full, 2);
    assert_eq!(messages(&mut enc, &insert(&changed, &values, main)).len(), 2);
    assert_eq!(messages(&mut enc, &insert(&changed, &values, main)).len(), 1);
}

#[test]
fn keys_follow_replica_identity_and_column_names_make_rows_self_describing() {
    let values = [Value::BigInt(1), Value::Text(b"x"), Value::Null];
    let full = rel(ReplicaIdentity::Full, 1);
    let mut enc = encoder(&[("include-column-names", None)]);
    let delete = Event::Change {
        at: EventPosition::default(),
        relation: &full,
        change: RowChange::Delete {
            key: RowKey::Old(&values),
        },
    };
    let decoded = messages(&mut enc, &delete);
    assert_eq!(decoded.len(), 1, "no relation message with include-column-names");
    let Some(E::Delete(change)) = &decoded[0].event else {
        panic!()
    };
    let key = change.key.as_ref().unwrap();
    assert_eq!(key.names, ["id", "doc", "at"]);
    assert_eq!(key.type_oids, [20, 25, 1184]);
    assert_eq!((change.schema.as_str(), change.table.as_str()), ("public", "t"));

    let default = rel(ReplicaIdentity::Default, 1);
    let mut enc = encoder(&[]);
    let update = |key| Event::Change {
        at: EventPosition::default(),
        relation: &default,
        change: RowChange::Update { key, new: &values },
    };
    let decoded = messages(&mut enc, &update(RowKey::New(&values)));
    let Some(E::Update(change)) = &decoded[1].event else {
        panic!()
    };
    assert_eq!(kinds(change.key.as_ref().unwrap()), [K::Int64(1)]);
    assert!(change.key.as_ref().unwrap().names.is_empty());
    let decoded = messages(&mut enc, &update(RowKey::Missing));
    let Some(E::Update(change)) = &decoded[0].event else {
        panic!()
    };
    assert!(change.key.is_none(), "no key: the field is absent");
}

#[test]
fn transactions_streams_truncate_and_messages() {
    let txn = TxnInfo {
        xid: 77,
        commit_lsn: Lsn(0x100),
        end_lsn: Lsn(0x180),
        commit_time: 0,
        origin: Some(OriginInfo {
            name: "node_b",
            lsn: Lsn(5),
        }),
        gid: Some(b"g1"),
        commit_time_text: None,
    };
    let opts = [
        ("include-lsn", None),
        ("include-timestamp", None),
        ("include-origin", None),
    ];
    let mut enc = encoder(&opts);
    let decoded = messages(
        &mut enc,
        &Event::Transaction {
            kind: TxnEvent::BeginPrepare,
            txn: &txn,
        },
    );
    assert_eq!((decoded[0].xid, decoded[0].lsn), (77, 0x100));
    let Some(E::BeginPrepare(t)) = &decoded[0].event else {
        panic!()
    };
    assert_eq!(t.commit_time, 946_684_800_000_000);
    assert_eq!(t.origin.as_ref().unwrap().name, "node_b");
    assert_eq!((t.gid.as_str(), t.end_lsn), ("g1", 0));
    let decoded = messages(
        &mut enc,
        &Event::Transaction {
            kind: TxnEvent::Commit,
            txn: &txn,
        },
    );
    let Some(E::Commit(t)) = &decoded[0].event else {
        panic!()
    };
    assert_eq!((t.end_lsn, t.origin.is_none()), (0x180, true));

    let at = EventPosition {
        xid: 77,
        ..EventPosition::default()
    };
    let abort = Event::Stream {
        kind: StreamEvent::Abort { subxid: Some(78) },
        at,
    };
    let decoded = messages(&mut enc, &abort);
    assert!(matches!(decoded[0].event, Some(E::StreamAbort(_))));
    assert_eq!((decoded[0].xid, decoded[0].subxid), (77, 78));

    let relation = rel(ReplicaIdentity::Default, 1);
    let truncate = Truncate {
        relations: vec![&relation],
        cascade: true,
        restart_identity: false,
    };
    let decoded = messages(
        &mut enc,
        &Event::Truncate {
            at,
            truncate: &truncate,
        },
    );
    let Some(E::Truncate(t)) = &decoded[0].event else {
        panic!()
    };
    assert_eq!(
        (t.relations[0].oid, t.relations[0].table.as_str(), t.cascade),
        (16384, "t", true)
    );

    let message = Message {
        transactional: false,
        prefix: b"p",
        content: b"\xff\x00",
        content_omitted: None,
    };
    let decoded = messages(&mut enc, &Event::Message { at, message: &message });
    let Some(E::Message(m)) = &decoded[0].event else {
        panic!()
    };
    assert_eq!((m.prefix.as_str(), m.content.as_slice()), ("p", &b"\xff\x00"[..]));
}

#[test]
fn framing_makes_concatenated_output_splittable() {
    let relation = rel(ReplicaIdentity::Default, 1);
    let big = "x".repeat(300);
    let values = [Value::BigInt(1), Value::Text(big.as_bytes()), Value::Null];
    for (framing, separator) in [("varint", &b""[..]), ("varint-newline", &b"\n"[..])] {
        let mut enc = encoder(&[("framing", Some(framing))]);
        // What pg_recvlogical writes: each message, then `separator`.
        let mut file = Vec::new();
        for _ in 0..2 {
            let mut out = Vec::new();
            let event = insert(&relation, &values, EventPosition::default());
            if enc.preamble(&event, &mut out) {
                file.extend_from_slice(&out);
                file.extend_from_slice(separator);
                out.clear();
            }
            enc.encode(&event, &mut out);
            file.extend_from_slice(&out);
            file.extend_from_slice(separator);
        }
        let mut buf = file.as_slice();
        let mut events = Vec::new();
        while !buf.is_empty() {
            events.push(pb::Event::decode_length_delimited(&mut buf).unwrap());
        }
        assert_eq!(events.len(), 3, "{framing}");
        assert!(matches!(events[0].event, Some(E::Relation(_))));
        assert!(matches!(events[2].event, Some(E::Insert(_))));
        let expected_separator = if separator.is_empty() { 0 } else { 10 };
        assert!(events.iter().all(|e| e.record_separator == expected_separator));
    }
}

#[test]
fn omitted_values_and_message_content_are_marked() {
    let relation = rel(ReplicaIdentity::Default, 1);
    let values = [Value::BigInt(1), Value::Omitted, Value::Null];
    let decoded = messages(&mut encoder(&[]), &insert(&relation, &values, EventPosition::default()));
    let Some(E::Insert(change)) = &decoded[1].event else {
        panic!("{decoded:?}")
    };
    assert_eq!(kinds(change.new.as_ref().unwrap())[1], K::Omitted(true));
    let message = Message {
        transactional: true,
        prefix: b"p",
        content: b"",
        content_omitted: Some(1 << 30),
    };
    let at = EventPosition::default();
    let decoded = messages(&mut encoder(&[]), &Event::Message { at, message: &message });
    let Some(E::Message(m)) = &decoded[0].event else {
        panic!()
    };
    assert_eq!((m.content.len(), m.content_omitted), (0, 1 << 30));
}

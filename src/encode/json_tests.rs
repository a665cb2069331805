use super::*;
use crate::model::{ColumnMeta, Lsn, OriginInfo, RelationMeta, ReplicaIdentity, StreamEvent, TxnEvent};
use crate::options;
use serde_json::{json, Value as J};

fn col(name: &str, type_name: &str, oid: u32, is_key: bool) -> ColumnMeta {
    ColumnMeta {
        name: name.into(),
        type_name: type_name.into(),
        type_name_no_typmod: type_name.split('(').next().unwrap().as_bytes().to_vec(),
        type_oid: oid,
        sql_name: name.as_bytes().to_vec(),
        is_key,
        is_primary_key: is_key,
        value_type: crate::model::ValueType::Other,
        toastable: true,
    }
}

fn rel(identity: ReplicaIdentity) -> RelationMeta {
    RelationMeta {
        oid: 16384,
        schema: "public".into(),
        table: "Mixed \"Case\"".into(),
        identity,
        sql_name: b"public.\"Mixed \"\"Case\"\"\"".to_vec(),
        columns: vec![
            col("id", "bigint", 20, true),
            col("name", "character varying(20)", 1043, false),
            col("doc", "text", 25, false),
        ],
        version: 1,
        database: "db".into(),
    }
}

fn encoder(opts: &[(&'static str, Option<&'static str>)]) -> JsonEncoder {
    JsonEncoder::new(&options::parse(opts.iter().copied()).unwrap())
}

fn encode(enc: &mut JsonEncoder, event: &Event) -> J {
    let mut out = Vec::new();
    enc.encode(event, &mut out);
    serde_json::from_slice(&out).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out)))
}

fn change<'e>(relation: &'e RelationMeta, change: RowChange<'e, 'e>) -> Event<'e, 'e> {
    Event::Change {
        at: EventPosition {
            xid: 7,
            lsn: Lsn(0x10),
            streamed: false,
            subxid: 0,
        },
        relation,
        change,
    }
}

#[test]
fn insert_with_typed_values_and_raw_identifiers() {
    let r = rel(ReplicaIdentity::Default);
    let values = [Value::BigInt(9_007_199_254_740_993), Value::Text(b"a\nb"), Value::Null];
    let got = encode(&mut encoder(&[]), &change(&r, RowChange::Insert { new: &values }));
    assert_eq!(
        got,
        json!({"action":"insert","xid":7,"schema":"public","table":"Mixed \"Case\"",
               "new":{"id":9_007_199_254_740_993_i64,"name":"a\nb","doc":null}})
    );
}

#[test]
fn int8_and_numeric_as_strings_on_request() {
    let r = rel(ReplicaIdentity::Default);
    let values = [
        Value::BigInt(-5),
        Value::Numeric("123456789012345678901234567890.000001"),
        Value::Numeric("NaN"),
    ];
    let mut out = Vec::new();
    encoder(&[]).encode(&change(&r, RowChange::Insert { new: &values }), &mut out);
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains(r#""name":123456789012345678901234567890.000001,"doc":"NaN""#),
        "{text}"
    );
    let got = encode(
        &mut encoder(&[("int8-as-string", None), ("numeric-as-string", None)]),
        &change(&r, RowChange::Insert { new: &values }),
    );
    assert_eq!(
        got["new"],
        json!({"id":"-5","name":"123456789012345678901234567890.000001","doc":"NaN"})
    );
}

#[test]
fn update_lists_unchanged_toast_and_never_nulls_it() {
    let r = rel(ReplicaIdentity::Default);
    let new = [Value::BigInt(1), Value::Text(b"x"), Value::UnchangedToast];
    let got = encode(
        &mut encoder(&[("include-xids", Some("off"))]),
        &change(
            &r,
            RowChange::Update {
                key: RowKey::New(&new),
                new: &new,
            },
        ),
    );
    assert_eq!(
        got,
        json!({"action":"update","schema":"public","table":"Mixed \"Case\"","key":{"id":1},
               "new":{"id":1,"name":"x"},"unchanged_toast":["doc"]})
    );
    let got = encode(
        &mut encoder(&[("unchanged-toast-placeholder", Some("__toast__"))]),
        &change(
            &r,
            RowChange::Update {
                key: RowKey::New(&new),
                new: &new,
            },
        ),
    );
    assert_eq!(got["new"]["doc"], json!("__toast__"));
    assert_eq!(got["unchanged_toast"], json!(["doc"]));
}

#[test]
fn delete_key_follows_replica_identity() {
    let full = rel(ReplicaIdentity::Full);
    let old = [Value::BigInt(1), Value::Text(b"x"), Value::Text(b"y")];
    let got = encode(
        &mut encoder(&[]),
        &change(&full, RowChange::Delete { key: RowKey::Old(&old) }),
    );
    assert_eq!(got["key"], json!({"id":1,"name":"x","doc":"y"}));
    let default = rel(ReplicaIdentity::Default);
    let got = encode(
        &mut encoder(&[]),
        &change(&default, RowChange::Delete { key: RowKey::Old(&old) }),
    );
    assert_eq!(got["key"], json!({"id":1}));
    let got = encode(
        &mut encoder(&[]),
        &change(&default, RowChange::Delete { key: RowKey::Missing }),
    );
    assert_eq!(got["key"], J::Null);
    assert_eq!(got["action"], "delete");
}

#[test]
fn schema_information_on_request() {
    let r = rel(ReplicaIdentity::Default);
    let values = [Value::BigInt(1), Value::Null, Value::Null];
    let opts = [
        ("include-types", None),
        ("include-type-oids", None),
        ("include-pk", None),
        ("include-schemas", Some("false")),
    ];
    let got = encode(&mut encoder(&opts), &change(&r, RowChange::Insert { new: &values }));
    assert_eq!(
        got["types"],
        json!({"id":"bigint","name":"character varying(20)","doc":"text"})
    );
    assert_eq!(got["type_oids"], json!({"id":20,"name":1043,"doc":25}));
    assert_eq!(got["pk"], json!(["id"]));
    assert!(got.get("schema").is_none());
    let got = encode(
        &mut encoder(&[("include-types", None), ("include-typmod", Some("0"))]),
        &change(&r, RowChange::Insert { new: &values }),
    );
    assert_eq!(got["types"]["name"], "character varying");
}

#[test]
fn value_rendering() {
    let enc = encoder(&[]);
    let render = |v: Value| {
        let mut out = Vec::new();
        enc.push_value(&mut out, &v);
        String::from_utf8(out).unwrap()
    };
    assert_eq!(render(Value::Float8(0.1)), "0.1");
    assert_eq!(render(Value::Float8(1e300)), "1e300");
    assert_eq!(render(Value::Float8(f64::NAN)), "\"NaN\"");
    assert_eq!(render(Value::Float8(f64::NEG_INFINITY)), "\"-Infinity\"");
    assert_eq!(render(Value::Float4(0.1)), "0.1");
    assert_eq!(
        render(Value::Float8(f64::MIN_POSITIVE)).parse::<f64>().unwrap(),
        f64::MIN_POSITIVE
    );
    assert_eq!(render(Value::Bytea(&[0xde, 0xad, 0x00])), r#""\\xdead00""#);
    assert_eq!(
        render(Value::Json(b"{\"a\": [1, {\"b\": null}]}")),
        r#"{"a":[1,{"b":null}]}"#
    );
    // Already compact (jsonb printed from its stored form): copied as it is.
    assert_eq!(render(Value::CompactJson(br#"{"a":"x\u007f"}"#)), r#"{"a":"x\u007f"}"#);
    assert_eq!(
        render(Value::Uuid([
            0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38, 0x0a, 0x11
        ])),
        r#""a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11""#
    );
    assert_eq!(render(Value::TimestampTz(0)), r#""2000-01-01T00:00:00.000000Z""#);
    assert_eq!(
        render(Value::Interval {
            micros: 0,
            days: 1,
            months: 0
        }),
        r#""P1D""#
    );
    let matrix = Value::Array(Box::new(ArrayValue {
        dims: vec![2, 2],
        elements: vec![Value::Int(1), Value::Null, Value::Int(3), Value::Int(4)],
    }));
    assert_eq!(render(matrix), "[[1,null],[3,4]]");
    let empty = Value::Array(Box::new(ArrayValue {
        dims: vec![],
        elements: vec![],
    }));
    assert_eq!(render(empty), "[]");
}

#[test]
fn begin_and_commit_carry_requested_transaction_facts() {
    let txn = TxnInfo {
        xid: 42,
        commit_lsn: Lsn(0x16B3748),
        end_lsn: Lsn(0x16B3778),
        commit_time: 0,
        origin: Some(OriginInfo {
            name: "node_b",
            lsn: Lsn(0x99),
        }),
        gid: None,
        commit_time_text: None,
    };
    let mut enc = encoder(&[
        ("include-lsn", None),
        ("include-timestamp", None),
        ("include-origin", None),
    ]);
    assert_eq!(
        encode(
            &mut enc,
            &Event::Transaction {
                kind: TxnEvent::Begin,
                txn: &txn
            }
        ),
        json!({"action":"begin","xid":42,"lsn":"0/16B3748","commit_time":"2000-01-01T00:00:00.000000Z",
               "origin":"node_b","origin_lsn":"0/99"})
    );
    assert_eq!(
        encode(
            &mut enc,
            &Event::Transaction {
                kind: TxnEvent::Commit,
                txn: &txn
            }
        ),
        json!({"action":"commit","xid":42,"lsn":"0/16B3748","end_lsn":"0/16B3778","commit_time":"2000-01-01T00:00:00.000000Z"})
    );
    assert_eq!(
        encode(
            &mut encoder(&[("include-xids", Some("no"))]),
            &Event::Transaction {
                kind: TxnEvent::Begin,
                txn: &txn
            }
        ),
        json!({"action":"begin"})
    );
}

#[test]
fn truncate_and_messages() {
    let a = rel(ReplicaIdentity::Default);
    let t = Truncate {
        relations: vec![&a, &a],
        cascade: true,
        restart_identity: false,
    };
    let got = encode(
        &mut encoder(&[]),
        &Event::Truncate {
            at: EventPosition {
                xid: 3,
                lsn: Lsn(1),
                streamed: false,
                subxid: 0,
            },
            truncate: &t,
        },
    );
    assert_eq!(got["relations"].as_array().unwrap().len(), 2);
    assert_eq!(
        (got["cascade"].clone(), got["restart_identity"].clone()),
        (json!(true), json!(false))
    );
    let text = Message {
        transactional: false,
        prefix: b"p",
        content: b"hello\x01",
        content_omitted: None,
    };
    let got = encode(
        &mut encoder(&[]),
        &Event::Message {
            at: EventPosition::default(),
            message: &text,
        },
    );
    assert_eq!(
        got,
        json!({"action":"message","transactional":false,"prefix":"p","content":"hello\u{1}"})
    );
    let binary = Message {
        transactional: true,
        prefix: b"bin",
        content: &[0xff, 0x00, 0x10, 0x80],
        content_omitted: None,
    };
    let got = encode(
        &mut encoder(&[]),
        &Event::Message {
            at: EventPosition {
                xid: 5,
                lsn: Lsn(2),
                streamed: false,
                subxid: 0,
            },
            message: &binary,
        },
    );
    assert_eq!(got["content"], "/wAQgA==");
    assert_eq!(got["content_encoding"], "base64");
}

#[test]
fn pretty_print_spans_lines_with_the_same_document() {
    let r = rel(ReplicaIdentity::Default);
    let values = [Value::BigInt(1), Value::Text(b"x"), Value::Null];
    let mut out = Vec::new();
    encoder(&[("pretty-print", None)]).encode(&change(&r, RowChange::Insert { new: &values }), &mut out);
    let text = String::from_utf8(out).unwrap();
    assert!(text.lines().count() > 5, "{text}");
    assert_eq!(serde_json::from_str::<J>(&text).unwrap()["new"]["name"], "x");
}

#[test]
fn stream_and_two_phase_events_always_say_which_transaction() {
    let mut enc = encoder(&[("include-xids", Some("off"))]);
    let at = EventPosition {
        xid: 900,
        lsn: Lsn(0x40),
        streamed: true,
        subxid: 0,
    };
    let start = Event::Stream {
        kind: StreamEvent::Start { first_segment: true },
        at,
    };
    assert_eq!(
        encode(&mut enc, &start),
        json!({"action":"stream_start","xid":900,"first_segment":true})
    );
    let abort = Event::Stream {
        kind: StreamEvent::Abort { subxid: Some(901) },
        at,
    };
    assert_eq!(
        encode(&mut enc, &abort),
        json!({"action":"stream_abort","xid":900,"subxid":901})
    );
    let r = rel(ReplicaIdentity::Default);
    let values = [Value::BigInt(1), Value::Null, Value::Null];
    let streamed_insert = Event::Change {
        at,
        relation: &r,
        change: RowChange::Insert { new: &values },
    };
    assert_eq!(encode(&mut enc, &streamed_insert)["xid"], 900);
    let txn = TxnInfo {
        xid: 900,
        gid: Some(b"tx-1"),
        ..Default::default()
    };
    let prepare = Event::Transaction {
        kind: TxnEvent::Prepare,
        txn: &txn,
    };
    assert_eq!(encode(&mut enc, &prepare), json!({"action":"prepare","gid":"tx-1"}));
    let commit = Event::Transaction {
        kind: TxnEvent::StreamCommit,
        txn: &txn,
    };
    assert_eq!(encode(&mut enc, &commit)["xid"], 900);
}

#[test]
fn json_null_documents_are_told_apart_from_sql_null_by_pointers() {
    let json_col = |name: &str, value_type| ColumnMeta {
        value_type,
        ..col(name, "jsonb", 3802, false)
    };
    let mut r = rel(ReplicaIdentity::Full);
    r.columns = vec![
        col("id", "bigint", 20, true),
        json_col("a/b~c", crate::model::ValueType::Json),
        json_col("sql", crate::model::ValueType::Json),
        json_col("nested", crate::model::ValueType::Json),
        json_col(
            "m",
            crate::model::ValueType::Array(Box::new(crate::model::ValueType::Json)),
        ),
    ];
    for column in &mut r.columns {
        column.is_key = true;
    }
    let grid = ArrayValue {
        dims: vec![2, 2],
        elements: vec![
            Value::CompactJson(b"1"),
            Value::Null,
            Value::Json(b" null "),
            Value::CompactJson(b"null"),
        ],
    };
    let values = [
        Value::BigInt(1),
        Value::Json(b"\tnull\n"),
        Value::Null,
        Value::CompactJson(br#"{"x":null}"#),
        Value::Array(Box::new(grid)),
    ];
    let update = RowChange::Update {
        key: RowKey::Old(&values),
        new: &values,
    };
    let got = encode(&mut encoder(&[("include-xids", Some("0"))]), &change(&r, update));
    assert_eq!(got["new"]["a/b~c"], J::Null);
    assert_eq!(got["new"]["sql"], J::Null);
    assert_eq!(got["new"]["m"], json!([[1, null], [null, null]]));
    // SQL NULL (the column `sql`, the element m[0][1]) is never listed.
    assert_eq!(got["json_null"], json!(["/a~1b~0c", "/m/1/0", "/m/1/1"]));
    assert_eq!(got["key_json_null"], json!(["/a~1b~0c", "/m/1/0", "/m/1/1"]));
    // Rows without a JSON null carry no list.
    let plain = [
        Value::BigInt(2),
        Value::Null,
        Value::Null,
        Value::CompactJson(b"[]"),
        Value::Null,
    ];
    let got = encode(&mut encoder(&[]), &change(&r, RowChange::Insert { new: &plain }));
    assert!(got.get("json_null").is_none(), "{got}");
}

#[test]
fn omitted_values_and_message_content_are_listed_not_written_empty() {
    let r = rel(ReplicaIdentity::Full);
    let old = [Value::BigInt(1), Value::Text(b"a"), Value::Omitted];
    let new = [Value::BigInt(1), Value::Omitted, Value::UnchangedToast];
    let update = RowChange::Update {
        key: RowKey::Old(&old),
        new: &new,
    };
    let got = encode(&mut encoder(&[("include-xids", Some("0"))]), &change(&r, update));
    assert_eq!(got["new"], json!({"id": 1}));
    assert_eq!(got["omitted"], json!(["name"]));
    assert_eq!(got["unchanged_toast"], json!(["doc"]));
    assert_eq!(got["key"], json!({"id": 1, "name": "a"}));
    assert_eq!(got["key_omitted"], json!(["doc"]));
    let message = Message {
        transactional: true,
        prefix: b"p",
        content: b"",
        content_omitted: Some(1 << 30),
    };
    let at = EventPosition::default();
    let got = encode(&mut encoder(&[]), &Event::Message { at, message: &message });
    assert_eq!((&got["content"], &got["content_omitted"]), (&J::Null, &json!(1 << 30)));
}

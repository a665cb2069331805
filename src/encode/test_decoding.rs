//! `format=test_decoding`: PostgreSQL's test_decoding plugin's text output,
//! byte for byte (checked by a differential test against test_decoding on
//! the same WAL). Values arrive as their session-formatted text output
//! (`Profile::session_text`); this module only lays the text out.

use super::{Encoder, Profile};
use crate::model::{
    ColumnMeta, Event, EventPosition, Message, RelationMeta, RowChange, RowKey, StreamEvent, Truncate, TxnEvent,
    TxnInfo, Value,
};
use crate::options::Options;
use std::io::Write;

/// Type OIDs test_decoding's `print_literal` prints without quotes.
const UNQUOTED: &[u32] = &[21, 23, 20, 26, 700, 701, 1700]; // int2 int4 int8 oid float4 float8 numeric
const BIT_STRINGS: &[u32] = &[1560, 1562]; // bit varbit
const BOOL: u32 = 16;

pub struct TestDecodingEncoder {
    include_xids: bool,
    include_timestamp: bool,
    force_binary: bool,
    include_rewrites: bool,
}

/// `quote_literal_cstr`: quotes doubled, and an `E` prefix with doubled
/// backslashes when there is a backslash.
fn push_quote_literal(out: &mut Vec<u8>, text: &[u8]) {
    if text.contains(&b'\\') {
        out.push(b'E');
    }
    out.push(b'\'');
    for &b in text {
        if b == b'\'' || b == b'\\' {
            out.push(b);
        }
        out.push(b);
    }
    out.push(b'\'');
}

/// test_decoding's `print_literal`: numbers bare, bit strings as `B'..'`,
/// booleans as true/false, everything else quoted with `'` doubled.
fn push_literal(out: &mut Vec<u8>, type_oid: u32, text: &[u8]) {
    if UNQUOTED.contains(&type_oid) {
        out.extend_from_slice(text);
    } else if BIT_STRINGS.contains(&type_oid) {
        out.extend_from_slice(b"B'");
        out.extend_from_slice(text);
        out.push(b'\'');
    } else if type_oid == BOOL {
        out.extend_from_slice(if text == b"t" { b"true" } else { b"false" });
    } else {
        out.push(b'\'');
        if !text.contains(&b'\'') {
            // Most values: one copy (`contains` on bytes is memchr).
            out.extend_from_slice(text);
            out.push(b'\'');
            return;
        }
        // Runs between quotes in one copy each.
        let mut runs = text.split(|b| *b == b'\'');
        if let Some(first) = runs.next() {
            out.extend_from_slice(first);
        }
        for run in runs {
            out.extend_from_slice(b"''");
            out.extend_from_slice(run);
        }
        out.push(b'\'');
    }
}

fn push_value(out: &mut Vec<u8>, column: &ColumnMeta, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::UnchangedToast => out.extend_from_slice(b"unchanged-toast-datum"),
        // wal2any's own marker: test_decoding itself fails on such an event.
        Value::Omitted => out.extend_from_slice(b"omitted-datum"),
        Value::Other(text) | Value::Text(text) => push_literal(out, column.type_oid, text),
        // Only text values reach this format (Profile::session_text).
        other => push_literal(out, column.type_oid, format!("{other:?}").as_bytes()),
    }
}

/// test_decoding's `tuple_to_stringinfo`.
fn push_tuple(out: &mut Vec<u8>, relation: &RelationMeta, values: &[Value], skip_nulls: bool) {
    for (column, value) in relation.columns.iter().zip(values) {
        if skip_nulls && *value == Value::Null {
            continue;
        }
        out.push(b' ');
        out.extend_from_slice(&column.sql_name);
        out.push(b'[');
        out.extend_from_slice(&column.type_name_no_typmod);
        out.extend_from_slice(b"]:");
        push_value(out, column, value);
    }
}

impl TestDecodingEncoder {
    pub fn new(options: &Options) -> Self {
        TestDecodingEncoder {
            include_xids: options.include_xids,
            include_timestamp: options.include_timestamp,
            force_binary: options.force_binary,
            include_rewrites: options.include_rewrites,
        }
    }

    fn push_time(&self, out: &mut Vec<u8>, txn: &TxnInfo) {
        if let (true, Some(text)) = (self.include_timestamp, txn.commit_time_text) {
            out.extend_from_slice(b" (at ");
            out.extend_from_slice(text);
            out.push(b')');
        }
    }

    fn transaction(&self, out: &mut Vec<u8>, kind: TxnEvent, txn: &TxnInfo) {
        let gid = txn.gid.unwrap_or_default();
        let xids = self.include_xids;
        match kind {
            TxnEvent::Begin | TxnEvent::BeginPrepare if xids => _ = write!(out, "BEGIN {}", txn.xid),
            TxnEvent::Begin | TxnEvent::BeginPrepare => out.extend_from_slice(b"BEGIN"),
            TxnEvent::Commit if xids => _ = write!(out, "COMMIT {}", txn.xid),
            TxnEvent::Commit => out.extend_from_slice(b"COMMIT"),
            TxnEvent::StreamCommit if xids => _ = write!(out, "committing streamed transaction TXN {}", txn.xid),
            TxnEvent::StreamCommit => out.extend_from_slice(b"committing streamed transaction"),
            TxnEvent::StreamPrepare => {
                out.extend_from_slice(if xids {
                    b"preparing streamed transaction TXN "
                } else {
                    b"preparing streamed transaction "
                });
                push_quote_literal(out, gid);
                if xids {
                    _ = write!(out, ", txid {}", txn.xid);
                }
            }
            TxnEvent::Prepare | TxnEvent::CommitPrepared | TxnEvent::RollbackPrepared => {
                out.extend_from_slice(match kind {
                    TxnEvent::Prepare => b"PREPARE TRANSACTION ",
                    TxnEvent::CommitPrepared => b"COMMIT PREPARED ",
                    _ => b"ROLLBACK PREPARED ",
                });
                push_quote_literal(out, gid);
                if xids {
                    _ = write!(out, ", txid {}", txn.xid);
                }
            }
        }
        if !kind.opens() {
            self.push_time(out, txn);
        }
    }

    fn stream(&self, out: &mut Vec<u8>, kind: StreamEvent, at: EventPosition) {
        let (text, xid): (&[u8], u32) = match kind {
            StreamEvent::Start { .. } => (b"opening a streamed block for transaction", at.xid),
            StreamEvent::Stop => (b"closing a streamed block for transaction", at.xid),
            StreamEvent::Abort { subxid } => (b"aborting streamed (sub)transaction", subxid.unwrap_or(at.xid)),
        };
        out.extend_from_slice(text);
        if self.include_xids {
            _ = write!(out, " TXN {xid}");
        }
    }

    /// In a stream test_decoding shows only that something happened.
    fn streamed(&self, out: &mut Vec<u8>, what: &str, at: EventPosition) {
        if self.include_xids {
            _ = write!(out, "streaming {what} for TXN {}", at.xid);
        } else {
            _ = write!(out, "streaming {what} for transaction");
        }
    }

    fn change(&self, out: &mut Vec<u8>, relation: &RelationMeta, change: &RowChange) {
        out.extend_from_slice(b"table ");
        out.extend_from_slice(&relation.sql_name);
        out.push(b':');
        match *change {
            RowChange::Insert { new } => {
                out.extend_from_slice(b" INSERT:");
                push_tuple(out, relation, new, false);
            }
            RowChange::Update { key, new } => {
                out.extend_from_slice(b" UPDATE:");
                if let RowKey::Old(old) = key {
                    out.extend_from_slice(b" old-key:");
                    push_tuple(out, relation, old, true);
                    out.extend_from_slice(b" new-tuple:");
                }
                push_tuple(out, relation, new, false);
            }
            RowChange::Delete { key } => {
                out.extend_from_slice(b" DELETE:");
                match key {
                    RowKey::Old(old) => push_tuple(out, relation, old, true),
                    _ => out.extend_from_slice(b" (no-tuple-data)"),
                }
            }
        }
    }

    fn truncate(&self, out: &mut Vec<u8>, truncate: &Truncate) {
        out.extend_from_slice(b"table ");
        for (i, relation) in truncate.relations.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(b", ");
            }
            out.extend_from_slice(&relation.sql_name);
        }
        out.extend_from_slice(b": TRUNCATE:");
        if truncate.restart_identity {
            out.extend_from_slice(b" restart_seqs");
        }
        if truncate.cascade {
            out.extend_from_slice(b" cascade");
        }
        if !truncate.restart_identity && !truncate.cascade {
            out.extend_from_slice(b" (no-flags)");
        }
    }

    fn message(&self, out: &mut Vec<u8>, at: EventPosition, message: &Message) {
        let streamed_transactional = at.streamed && message.transactional;
        out.extend_from_slice(if at.streamed {
            b"streaming message: transactional: "
        } else {
            b"message: transactional: "
        });
        _ = write!(out, "{} prefix: ", u8::from(message.transactional));
        out.extend_from_slice(message.prefix);
        _ = write!(
            out,
            ", sz: {}",
            message.content_omitted.unwrap_or(message.content.len())
        );
        if !streamed_transactional {
            out.extend_from_slice(if message.content_omitted.is_some() {
                b" content omitted"
            } else {
                b" content:"
            });
            out.extend_from_slice(message.content);
        }
    }
}

impl Encoder for TestDecodingEncoder {
    fn encode(&mut self, event: &Event<'_, '_>, out: &mut Vec<u8>) {
        match event {
            Event::Transaction { kind, txn } => self.transaction(out, *kind, txn),
            Event::Stream { kind, at } => self.stream(out, *kind, *at),
            Event::Change { at, .. } if at.streamed => self.streamed(out, "change", *at),
            Event::Change { relation, change, .. } => self.change(out, relation, change),
            Event::Truncate { at, .. } if at.streamed => self.streamed(out, "truncate", *at),
            Event::Truncate { truncate, .. } => self.truncate(out, truncate),
            Event::Message { at, message } => self.message(out, *at, message),
        }
    }

    fn profile(&self) -> Profile {
        Profile {
            binary: self.force_binary,
            session_text: true,
            messages_open_transactions: false,
            skip_prepare_gids_containing: Some("_nodecode"),
            receive_rewrites: self.include_rewrites,
            streamed_rows: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn literals_follow_print_literal() {
        assert_eq!(text(|o| push_literal(o, 23, b"-5")), "-5");
        assert_eq!(text(|o| push_literal(o, 1700, b"NaN")), "NaN");
        assert_eq!(text(|o| push_literal(o, 1560, b"101")), "B'101'");
        assert_eq!(text(|o| push_literal(o, 16, b"t")), "true");
        assert_eq!(text(|o| push_literal(o, 16, b"f")), "false");
        assert_eq!(text(|o| push_literal(o, 25, b"it's \\n")), "'it''s \\n'");
        assert_eq!(text(|o| push_literal(o, 25, b"'x''")), "'''x'''''");
        assert_eq!(text(|o| push_literal(o, 25, b"")), "''");
    }

    #[test]
    fn gids_are_quoted_like_quote_literal_cstr() {
        assert_eq!(text(|o| push_quote_literal(o, b"tx 'a'")), "'tx ''a'''");
        assert_eq!(text(|o| push_quote_literal(o, b"a\\b")), "E'a\\\\b'");
    }
}

//! `format=avro`: the events with fixed schemas (avro/*.avsc), schema
//! announcements, framing, and the `Encoder` implementation.

use super::avro::{boolean, bytes, long, optional_string, single_object, string, Announced, AvroEncoder, SchemaEvents};
use super::avro_schema::{self, RelationSchema};
use super::{ends_streamed_transaction, frame, Described, Encoder, Profile};
use crate::model::{Event, EventPosition, Message, RelationMeta, StreamEvent, Truncate, TxnEvent, TxnInfo, ValueType};
use crate::pgtime;

fn transaction_symbol(kind: TxnEvent) -> i64 {
    match kind {
        TxnEvent::Begin => 0,
        TxnEvent::Commit => 1,
        TxnEvent::BeginPrepare => 2,
        TxnEvent::Prepare => 3,
        TxnEvent::CommitPrepared => 4,
        TxnEvent::RollbackPrepared => 5,
        TxnEvent::StreamCommit => 6,
        TxnEvent::StreamPrepare => 7,
    }
}

/// The schema of `rel`; a relation whose schema cannot be built (never seen:
/// names are sanitised) gets every column as a string rather than an ERROR.
fn build_schema(rel: &RelationMeta) -> RelationSchema {
    avro_schema::relation_schema(rel).unwrap_or_else(|_| {
        let mut as_text = rel.clone();
        for col in &mut as_text.columns {
            col.value_type = ValueType::Other;
        }
        avro_schema::relation_schema(&as_text).expect("an all-string schema is valid")
    })
}

impl AvroEncoder {
    fn transaction(&mut self, out: &mut Vec<u8>, kind: TxnEvent, txn: &TxnInfo) {
        let commit_time = pgtime::unix_micros(txn.commit_time).unwrap_or(i64::MAX);
        if kind.opens() {
            self.current.xid = txn.xid;
            self.current.commit_time = Some(commit_time);
            self.current.origin = txn.origin.as_ref().map(|o| o.name.to_owned());
        }
        let streamed = matches!(kind, TxnEvent::StreamCommit | TxnEvent::StreamPrepare);
        single_object(out, &self.fixed.transaction);
        long(out, transaction_symbol(kind));
        let at = EventPosition {
            xid: txn.xid,
            streamed,
            ..EventPosition::default()
        };
        long(out, self.xid(at));
        long(out, self.lsn(txn.commit_lsn.0));
        long(out, if kind.opens() { 0 } else { self.lsn(txn.end_lsn.0) });
        if self.options.include_timestamp {
            long(out, 1);
            long(out, commit_time);
        } else {
            long(out, 0);
        }
        let origin = txn
            .origin
            .as_ref()
            .filter(|_| kind.opens() && self.options.include_origin);
        optional_string(out, origin.map(|o| o.name.as_bytes()));
        long(out, origin.map_or(0, |o| o.lsn.0 as i64));
        optional_string(out, txn.gid);
    }

    fn stream(&mut self, out: &mut Vec<u8>, kind: StreamEvent, at: EventPosition) {
        if let StreamEvent::Start { .. } = kind {
            self.current = Default::default();
        }
        single_object(out, &self.fixed.stream);
        let (symbol, subxid, first_segment) = match kind {
            StreamEvent::Start { first_segment } => (0, 0, first_segment),
            StreamEvent::Stop => (1, 0, false),
            StreamEvent::Abort { subxid } => (2, subxid.unwrap_or(0), false),
        };
        long(out, symbol);
        long(out, at.xid.into());
        long(out, self.lsn(at.lsn.0));
        long(out, subxid.into());
        boolean(out, first_segment);
    }

    fn truncate(&self, out: &mut Vec<u8>, at: EventPosition, truncate: &Truncate) {
        single_object(out, &self.fixed.truncate);
        long(out, self.xid(at));
        long(out, self.lsn(at.lsn.0));
        long(out, at.subxid.into());
        long(out, truncate.relations.len() as i64);
        for rel in &truncate.relations {
            string(out, rel.schema.as_bytes());
            string(out, rel.table.as_bytes());
        }
        long(out, 0);
        boolean(out, truncate.cascade);
        boolean(out, truncate.restart_identity);
    }

    /// `wal2any.Message`, or `wal2any.OmittedMessage` (the same fields, the
    /// content's size in place of the content) when the content was left out.
    fn message(&self, out: &mut Vec<u8>, at: EventPosition, message: &Message) {
        let schema = match message.content_omitted {
            Some(_) => &self.fixed.omitted_message,
            None => &self.fixed.message,
        };
        single_object(out, schema);
        long(out, self.xid(at));
        long(out, self.lsn(at.lsn.0));
        long(out, at.subxid.into());
        boolean(out, message.transactional);
        string(out, message.prefix);
        match message.content_omitted {
            Some(size) => long(out, size as i64),
            None => bytes(out, message.content),
        }
    }

    fn schema_event(&self, out: &mut Vec<u8>, rel: &RelationMeta, schema: &RelationSchema, xid: u32) {
        single_object(out, &self.fixed.schema_event);
        long(out, rel.oid.into());
        string(out, rel.schema.as_bytes());
        string(out, rel.table.as_bytes());
        out.extend_from_slice(&schema.writer.fingerprint);
        string(out, schema.writer.json.as_bytes());
        if !schema.key.is_empty() {
            long(out, schema.key.len() as i64);
            for name in &schema.key {
                string(out, name.as_bytes());
            }
        }
        long(out, 0);
        long(out, xid.into());
    }

    /// Builds `rel`'s schema, or rebuilds it after an invalidation.
    fn ensure_schema(&mut self, rel: &RelationMeta) -> &mut Announced {
        let entry = self.relations.entry(rel.oid).or_insert_with(|| Announced {
            version: rel.version,
            schema: build_schema(rel),
            sent: Described::default(),
        });
        if entry.version != rel.version {
            let schema = build_schema(rel);
            // Same shape and key (an invalidation that changed nothing we
            // announce): what was announced still holds. A new replica
            // identity keeps the row schema but changes the key columns
            // a consumer reads `before` by.
            if schema.writer.fingerprint != entry.schema.writer.fingerprint || schema.key != entry.schema.key {
                entry.sent = Described::default();
            }
            entry.schema = schema;
            entry.version = rel.version;
        }
        entry
    }

    /// Whether `rel`'s schema must be announced before a row at `at`.
    fn needs_announcement(&mut self, rel: &RelationMeta, at: EventPosition) -> bool {
        let once = self.schema_events == SchemaEvents::Once;
        let entry = self.ensure_schema(rel);
        if once {
            let announced = (entry.schema.writer.fingerprint, entry.schema.key.clone());
            return self.announced_fingerprints.insert(announced);
        }
        entry.sent.needed_before(at)
    }

    /// Frames one message that `write` appends (see the `framing` option).
    fn framed(&mut self, out: &mut Vec<u8>, write: impl FnOnce(&mut Self, &mut Vec<u8>)) {
        let start = out.len();
        write(self, out);
        frame(out, start, self.options.framing);
    }
}

impl Encoder for AvroEncoder {
    fn profile(&self) -> Profile {
        Profile::BINARY
    }

    fn preamble(&mut self, event: &Event<'_, '_>, out: &mut Vec<u8>) -> bool {
        let Event::Change { at, relation, .. } = event else {
            return false;
        };
        if !self.needs_announcement(relation, *at) {
            return false;
        }
        let xid = if at.streamed { at.xid } else { 0 };
        self.framed(out, |me, o| {
            let schema = &me.relations[&relation.oid].schema;
            me.schema_event(o, relation, schema, xid);
        });
        true
    }

    fn encode(&mut self, event: &Event<'_, '_>, out: &mut Vec<u8>) {
        if let Some(xid) = ends_streamed_transaction(event) {
            for announced in self.relations.values_mut() {
                announced.sent.forget_stream(xid);
            }
        }
        if let Event::Change { relation, .. } = event {
            // A row is never written before its schema exists.
            self.ensure_schema(relation);
        }
        self.framed(out, |me, o| match event {
            Event::Transaction { kind, txn } => me.transaction(o, *kind, txn),
            Event::Stream { kind, at } => me.stream(o, *kind, *at),
            Event::Change { at, relation, change } => me.change(o, *at, relation, change),
            Event::Truncate { at, truncate } => me.truncate(o, *at, truncate),
            Event::Message { at, message } => me.message(o, *at, message),
        });
    }
}

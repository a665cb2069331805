//! The decoding callbacks: they decide *what* to emit (which events, which
//! tuple is the key) and hand events to the encoder, which decides *how*.

use super::boundaries::{emit, flush_pending_open, flush_pending_stream_start};
use super::canonical::{CanonicalOutputSettings, PinnedSearchPath};
use super::relcache::CachedRelation;
use super::state::{self, recycle, DecodingState};
use super::subxids::{message_subxid, note_streamed_change};
use super::tuple::{read_tuple, DeformBuffers};
use crate::model::{
    omit_largest, Event, EventPosition, Lsn, Message, RelationMeta, RowChange, RowKey, Truncate, Value,
};
use pgrx::pg_sys::{
    self, LogicalDecodingContext as Ctx, ReorderBufferChangeType as ChangeType, ReorderBufferTXN as Txn,
};
use std::ffi::CStr;

/// The subtransaction of a streamed change (0 when it is the toplevel's).
unsafe fn streamed_subxid(in_stream: bool, txn: *mut Txn, change: *mut pg_sys::ReorderBufferChange) -> u32 {
    // SAFETY: change->txn is the (sub)transaction the change was queued in.
    let own = unsafe { (*change).txn };
    if !in_stream || own.is_null() || own == txn {
        0
    } else {
        // SAFETY: a valid (sub)transaction.
        unsafe { (*own).xid.into_inner() }
    }
}

/// The largest event written as one message: PostgreSQL's strings stay
/// below MaxAllocSize (1 GB - 1), and the walsender adds a 25-byte header;
/// 64 kB to spare. An event past it would raise an ERROR at every retry.
const MAX_MESSAGE_BYTES: usize = (1 << 30) - 1 - (64 << 10);

/// Where an UPDATE or DELETE finds its key (see `RowKey`).
#[derive(Clone, Copy)]
enum KeySource {
    Missing,
    Old,
    New,
}

/// What a change's event is made of, so it can be built again from its
/// values (see `omit_until_it_fits`).
#[derive(Clone, Copy)]
struct RowShape {
    action: ChangeType::Type,
    has_new: bool,
    key: KeySource,
}

impl RowShape {
    fn event<'e, 'a>(
        self,
        at: EventPosition,
        relation: &'e RelationMeta,
        new: &'e [Value<'a>],
        old: &'e [Value<'a>],
    ) -> Option<Event<'e, 'a>> {
        let key = match self.key {
            KeySource::Missing => RowKey::Missing,
            KeySource::Old => RowKey::Old(old),
            KeySource::New => RowKey::New(new),
        };
        let change = match self.action {
            ChangeType::REORDER_BUFFER_CHANGE_INSERT if self.has_new => RowChange::Insert { new },
            ChangeType::REORDER_BUFFER_CHANGE_UPDATE if self.has_new => RowChange::Update { key, new },
            ChangeType::REORDER_BUFFER_CHANGE_DELETE => RowChange::Delete { key },
            _ => return None,
        };
        Some(Event::Change { at, relation, change })
    }
}

/// The encoded change in `state.out` passed `MAX_MESSAGE_BYTES`: leaves
/// out its largest values (`Value::Omitted`, listed by every format) until
/// it fits, and says so in the server log. Never an ERROR, never a
/// truncated message.
fn omit_until_it_fits<'a>(
    state: &mut DecodingState,
    shape: RowShape,
    at: EventPosition,
    relation: &RelationMeta,
    new: &mut Vec<Value<'a>>,
    old: &mut Vec<Value<'a>>,
) {
    let encoded = state.out.len();
    let mut omitted = Vec::new();
    while state.out.len() > MAX_MESSAGE_BYTES {
        let Some(column) = omit_largest(&mut [&mut *new, &mut *old], &relation.columns) else {
            break;
        };
        omitted.push(relation.columns[column].name.as_str());
        state.out.clear();
        if let Some(event) = shape.event(at, relation, new, old) {
            state.encoder.encode(&event, &mut state.out);
        }
    }
    pgrx::warning!(
        "wal2any: the change to {} at {} encodes to {} bytes, more than a message can hold ({}): {} left out (listed as omitted)",
        String::from_utf8_lossy(&relation.sql_name),
        at.lsn,
        encoded,
        MAX_MESSAGE_BYTES,
        omitted.join(", ")
    );
}

fn is_row_change(action: ChangeType::Type) -> bool {
    matches!(
        action,
        ChangeType::REORDER_BUFFER_CHANGE_INSERT
            | ChangeType::REORDER_BUFFER_CHANGE_UPDATE
            | ChangeType::REORDER_BUFFER_CHANGE_DELETE
    )
}

/// A streamed change or truncate for a format that shows no rows in stream
/// blocks (`Profile::streamed_rows`): no relation, no tuple, no catalog
/// lookup, only its position.
///
/// # Safety
/// As `change`.
unsafe fn emit_rowless(
    state: &mut DecodingState,
    ctx: *mut Ctx,
    txn: *mut Txn,
    change: *mut pg_sys::ReorderBufferChange,
    truncate: bool,
) {
    if state.skip_txn {
        return;
    }
    // SAFETY: forwarded caller guarantees.
    unsafe {
        open_for_change(state, ctx, txn);
        let at = EventPosition {
            xid: (*txn).xid.into_inner(),
            lsn: Lsn((*change).lsn),
            streamed: true,
            subxid: streamed_subxid(true, txn, change),
        };
        // Empty: neither allocates.
        let nameless = RelationMeta::default();
        let none = Truncate {
            relations: Vec::new(),
            cascade: false,
            restart_identity: false,
        };
        let event = if truncate {
            Event::Truncate { at, truncate: &none }
        } else {
            Event::Change {
                at,
                relation: &nameless,
                change: RowChange::Insert { new: &[] },
            }
        };
        emit(state, ctx, &event);
    }
}

/// Which tuples a change carries (either may be NULL).
unsafe fn change_tuples(
    change: *mut pg_sys::ReorderBufferChange,
) -> (*mut pg_sys::HeapTupleData, *mut pg_sys::HeapTupleData) {
    // SAFETY: data.tp is the active union member for INSERT/UPDATE/DELETE.
    unsafe {
        let tp = &(*change).data.tp;
        let tuple = |buf: *mut pg_sys::ReorderBufferTupleBuf| {
            if buf.is_null() {
                std::ptr::null_mut()
            } else {
                &mut (*buf).tuple as *mut pg_sys::HeapTupleData
            }
        };
        (tuple(tp.oldtuple), tuple(tp.newtuple))
    }
}

/// Writes what skip-empty-xacts held back before a change: the stream
/// block's start inside a stream, else the transaction's begin.
unsafe fn open_for_change(state: &mut DecodingState, ctx: *mut Ctx, txn: *mut Txn) {
    // SAFETY: forwarded caller guarantees.
    unsafe {
        if state.in_stream {
            flush_pending_stream_start(state, ctx, txn);
        } else {
            flush_pending_open(state, ctx, txn);
        }
    }
}

/// The relation's cache entry if the filters want this row change, decided
/// before any tuple is read. The pointer stays valid for the rest of the
/// callback: entries are boxed, and the cache only changes in `get`.
unsafe fn wanted_relation(
    state: &mut DecodingState,
    relation: pg_sys::Relation,
    action: ChangeType::Type,
) -> Option<*const CachedRelation> {
    let actions = state.options.actions;
    let wanted = match action {
        ChangeType::REORDER_BUFFER_CHANGE_INSERT => actions.insert,
        ChangeType::REORDER_BUFFER_CHANGE_UPDATE => actions.update,
        ChangeType::REORDER_BUFFER_CHANGE_DELETE => actions.delete,
        _ => return None,
    };
    if state.skip_txn || !wanted {
        return None;
    }
    // SAFETY: an open relation inside the decoding transaction.
    let cached = unsafe {
        let text = state.text();
        state.relations.get(relation, text)
    };
    cached.passes_table_filter.then_some(cached as *const CachedRelation)
}

#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn change(
    ctx: *mut Ctx,
    txn: *mut Txn,
    relation: pg_sys::Relation,
    change: *mut pg_sys::ReorderBufferChange,
) {
    // SAFETY: PostgreSQL passes live pointers.
    unsafe {
        let state = state::of(ctx);
        let action = (*change).action;
        if state.in_stream {
            note_streamed_change(state, txn, change);
        }
        if state.in_stream && !state.profile.streamed_rows {
            if is_row_change(action) {
                emit_rowless(state, ctx, txn, change, false);
            }
            return;
        }
        let Some(cached) = wanted_relation(state, relation, action) else {
            if is_row_change(action) {
                state.skipped_change(ctx);
            }
            return;
        };
        open_for_change(state, ctx, txn);
        let old_context = pg_sys::MemoryContextSwitchTo(state.change_memory);
        // Typed values print the same whatever the session set; the
        // test_decoding format prints as the session does.
        let typed = !state.profile.session_text;
        let settings = typed.then(|| CanonicalOutputSettings::apply(state.utc));
        let pinned = (typed && (*cached).calls_output_functions).then(|| PinnedSearchPath::apply());
        // SAFETY: see `wanted_relation`; nothing below calls the cache's `get`.
        emit_change(state, ctx, txn, &*cached, (*relation).rd_att, change);
        drop(pinned);
        drop(settings);
        pg_sys::MemoryContextSwitchTo(old_context);
        state.end_of_change();
    }
}

/// Reads the change's tuples (of `desc`, the descriptor `cached` was built
/// from), decides its key and writes it.
///
/// # Safety
/// As `change`; values borrow the change memory context, which is current
/// and reset only after the event is written.
unsafe fn emit_change(
    state: &mut DecodingState,
    ctx: *mut Ctx,
    txn: *mut Txn,
    cached: &CachedRelation,
    desc: pg_sys::TupleDesc,
    change: *mut pg_sys::ReorderBufferChange,
) {
    // SAFETY: forwarded caller guarantees.
    unsafe {
        let action = (*change).action;
        let (old_tuple, new_tuple) = change_tuples(change);
        let (text, as_text) = (state.text(), state.profile.session_text);
        let mut new_values = recycle(std::mem::take(&mut state.new_values));
        let mut old_values = recycle(std::mem::take(&mut state.old_values));
        for (tuple, values) in [(new_tuple, &mut new_values), (old_tuple, &mut old_values)] {
            if !tuple.is_null() {
                let buffers = DeformBuffers {
                    datums: &mut state.datums,
                    nulls: &mut state.nulls,
                    rendered: &mut state.rendered,
                };
                read_tuple(cached, desc, tuple, buffers, text, as_text, values);
            }
        }
        let key = if !cached.meta.has_identity_key() {
            KeySource::Missing
        } else if !old_tuple.is_null() {
            KeySource::Old
        } else if action == ChangeType::REORDER_BUFFER_CHANGE_UPDATE && !new_tuple.is_null() {
            // DEFAULT/INDEX identity logs no old key when the key is unchanged.
            KeySource::New
        } else {
            KeySource::Missing
        };
        let shape = RowShape {
            action,
            has_new: !new_tuple.is_null(),
            key,
        };
        let at = EventPosition {
            xid: (*txn).xid.into_inner(),
            lsn: Lsn((*change).lsn),
            streamed: state.in_stream,
            subxid: streamed_subxid(state.in_stream, txn, change),
        };
        if let Some(event) = shape.event(at, &cached.meta, &new_values, &old_values) {
            // See `emit`: never the rest of an event an ERROR cut short.
            state.out.clear();
            if state.encoder.preamble(&event, &mut state.out) {
                state.batch.write(ctx, &mut state.out);
            }
            state.encoder.encode(&event, &mut state.out);
            if state.out.len() > MAX_MESSAGE_BYTES {
                omit_until_it_fits(state, shape, at, &cached.meta, &mut new_values, &mut old_values);
            }
            state.batch.write(ctx, &mut state.out);
        }
        state.new_values = recycle(new_values);
        state.old_values = recycle(old_values);
    }
}

#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn truncate(
    ctx: *mut Ctx,
    txn: *mut Txn,
    nrelations: std::ffi::c_int,
    relations: *mut pg_sys::Relation,
    change: *mut pg_sys::ReorderBufferChange,
) {
    // SAFETY: PostgreSQL passes `nrelations` open relations and a TRUNCATE
    // change, whose active union member is data.truncate.
    unsafe {
        let state = state::of(ctx);
        if state.in_stream {
            note_streamed_change(state, txn, change);
        }
        if state.skip_txn || !state.options.actions.truncate {
            state.skipped_change(ctx);
            return;
        }
        if state.in_stream && !state.profile.streamed_rows {
            return emit_rowless(state, ctx, txn, change, true);
        }
        let text = state.text();
        let relations = std::slice::from_raw_parts(relations, nrelations.max(0) as usize);
        // Copies: building one entry may invalidate another (rare, small).
        let mut metas = Vec::with_capacity(relations.len());
        for relation in relations {
            let cached = state.relations.get(*relation, text);
            if cached.passes_table_filter {
                metas.push(cached.meta.clone());
            }
        }
        if metas.is_empty() {
            state.skipped_change(ctx);
            return;
        }
        open_for_change(state, ctx, txn);
        let flags = &(*change).data.truncate;
        let truncate = Truncate {
            relations: metas.iter().collect(),
            cascade: flags.cascade,
            restart_identity: flags.restart_seqs,
        };
        let at = EventPosition {
            xid: (*txn).xid.into_inner(),
            lsn: Lsn((*change).lsn),
            streamed: state.in_stream,
            subxid: streamed_subxid(state.in_stream, txn, change),
        };
        emit(
            state,
            ctx,
            &Event::Truncate {
                at,
                truncate: &truncate,
            },
        );
    }
}

#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn message(
    ctx: *mut Ctx,
    txn: *mut Txn,
    lsn: pg_sys::XLogRecPtr,
    transactional: bool,
    prefix: *const std::ffi::c_char,
    size: pg_sys::Size,
    content: *const std::ffi::c_char,
) {
    // SAFETY: PostgreSQL passes a NUL-terminated prefix and `size` content
    // bytes; txn is NULL for a non-transactional message without an xid.
    unsafe {
        let state = state::of(ctx);
        // Filters hold UTF-8 (options are converted at startup).
        let text = state.text();
        let raw = CStr::from_ptr(prefix).to_bytes();
        let converted = text.to_utf8(raw, &mut state.rendered);
        if (transactional && state.skip_txn) || !state.options.message_prefixes.passes(converted) {
            state.rendered.reset();
            state.skipped_change(ctx);
            return;
        }
        // Writing a held-back begin below resets `rendered`: a converted
        // prefix is kept in a copy of its own.
        let owned = (converted.as_ptr() != raw.as_ptr()).then(|| converted.to_vec());
        let prefix = owned.as_deref().unwrap_or(raw);
        if transactional && state.profile.messages_open_transactions {
            open_for_change(state, ctx, txn);
        }
        let old_context = pg_sys::MemoryContextSwitchTo(state.change_memory);
        let xid = if txn.is_null() { 0 } else { (*txn).xid.into_inner() };
        let content = if size == 0 {
            &[][..]
        } else {
            std::slice::from_raw_parts(content as *const u8, size)
        };
        let mut message = Message {
            transactional,
            prefix,
            content,
            content_omitted: None,
        };
        let streamed = transactional && state.in_stream;
        let subxid = if streamed { message_subxid(state, txn, lsn) } else { 0 };
        let at = EventPosition {
            xid,
            lsn: Lsn(lsn),
            streamed,
            subxid,
        };
        state.out.clear();
        state
            .encoder
            .encode(&Event::Message { at, message: &message }, &mut state.out);
        if state.out.len() > MAX_MESSAGE_BYTES {
            // The content cannot be sent: say so rather than ERROR forever.
            pgrx::warning!(
                "wal2any: the logical message at {} encodes to {} bytes, more than a message can hold ({}): its content of {} bytes is left out",
                at.lsn,
                state.out.len(),
                MAX_MESSAGE_BYTES,
                content.len()
            );
            message.content = &[];
            message.content_omitted = Some(content.len());
            state.out.clear();
            state
                .encoder
                .encode(&Event::Message { at, message: &message }, &mut state.out);
        }
        state.write_out(ctx);
        if !transactional {
            state.batch.flush(ctx);
        }
        pg_sys::MemoryContextSwitchTo(old_context);
        state.end_of_change();
    }
}

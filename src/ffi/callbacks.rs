//! The decoding callbacks: they decide *what* to emit (which events, which
//! tuple is the key) and hand events to the encoder, which decides *how*.

use super::datum::{server_to_utf8, CanonicalOutputSettings};
use super::state::{self, recycle, DecodingState};
use super::tuple::{read_tuple, DeformBuffers};
use crate::model::{Event, EventPosition, Lsn, Message, OriginInfo, RowChange, RowKey, Truncate, TxnInfo};
use pgrx::pg_sys::{self, LogicalDecodingContext as Ctx, ReorderBufferTXN as Txn};
use std::ffi::CStr;

/// Transaction facts; the origin name is looked up only when asked for.
///
/// # Safety
/// `txn` must be the transaction of the running callback; the origin name is
/// allocated in the current memory context, which must outlive `'a`.
unsafe fn txn_info<'a>(state: &DecodingState, txn: *mut Txn, commit_lsn: pg_sys::XLogRecPtr) -> TxnInfo<'a> {
    // SAFETY: txn is valid for the callback (caller).
    unsafe {
        let origin = if state.options.include_origin && (*txn).origin_id != 0 {
            let mut name: *mut std::ffi::c_char = std::ptr::null_mut();
            let found = pg_sys::replorigin_by_oid((*txn).origin_id, true, &mut name);
            let name = if found && !name.is_null() {
                std::str::from_utf8(server_to_utf8(CStr::from_ptr(name).to_bytes(), state.text)).unwrap_or("")
            } else {
                ""
            };
            Some(OriginInfo {
                name,
                lsn: Lsn((*txn).origin_lsn),
            })
        } else {
            None
        };
        TxnInfo {
            xid: (*txn).xid.into_inner(),
            commit_lsn: Lsn(commit_lsn),
            end_lsn: Lsn((*txn).end_lsn),
            commit_time: (*txn).xact_time.commit_time,
            origin,
        }
    }
}

/// Encodes one event and writes it as one message.
unsafe fn emit(state: &mut DecodingState, ctx: *mut Ctx, event: &Event) {
    state.encoder.encode(event, &mut state.out);
    // SAFETY: ctx is the running callback's context (caller).
    unsafe { state.write_out(ctx) };
}

/// Emits begin or commit, with the origin name allocated per change.
unsafe fn emit_transaction_event(
    state: &mut DecodingState,
    ctx: *mut Ctx,
    txn: *mut Txn,
    lsn: pg_sys::XLogRecPtr,
    is_begin: bool,
) {
    // SAFETY: forwarded caller guarantees; the origin name lives in the
    // change memory context until the reset below.
    unsafe {
        let old_context = pg_sys::MemoryContextSwitchTo(state.change_memory);
        let info = txn_info(state, txn, lsn);
        let event = if is_begin {
            Event::Begin(&info)
        } else {
            Event::Commit(&info)
        };
        emit(state, ctx, &event);
        pg_sys::MemoryContextSwitchTo(old_context);
        state.end_of_change();
    }
}

/// Writes the begin that skip-empty-xacts held back, before the first event.
unsafe fn flush_pending_begin(state: &mut DecodingState, ctx: *mut Ctx, txn: *mut Txn) {
    if state.begin_pending {
        state.begin_pending = false;
        // SAFETY: forwarded caller guarantees.
        unsafe { emit_transaction_event(state, ctx, txn, (*txn).final_lsn, true) };
    }
}

#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn begin(ctx: *mut Ctx, txn: *mut Txn) {
    // SAFETY: PostgreSQL passes the live context and transaction.
    unsafe {
        let state = state::of(ctx);
        if !state.options.include_transaction {
            return;
        }
        if state.options.skip_empty_xacts {
            state.begin_pending = true;
            return;
        }
        emit_transaction_event(state, ctx, txn, (*txn).final_lsn, true);
    }
}

#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn commit(ctx: *mut Ctx, txn: *mut Txn, commit_lsn: pg_sys::XLogRecPtr) {
    // SAFETY: PostgreSQL passes the live context and transaction.
    unsafe {
        let state = state::of(ctx);
        state.end_of_transaction();
        if !state.options.include_transaction || std::mem::take(&mut state.begin_pending) {
            return;
        }
        emit_transaction_event(state, ctx, txn, commit_lsn, false);
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

#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn change(
    ctx: *mut Ctx,
    txn: *mut Txn,
    relation: pg_sys::Relation,
    change: *mut pg_sys::ReorderBufferChange,
) {
    // SAFETY: PostgreSQL passes live pointers; values borrow the change
    // memory context, which is reset only after the event is written.
    unsafe {
        let state = state::of(ctx);
        let action = (*change).action;
        use pg_sys::ReorderBufferChangeType::*;
        if !matches!(
            action,
            REORDER_BUFFER_CHANGE_INSERT | REORDER_BUFFER_CHANGE_UPDATE | REORDER_BUFFER_CHANGE_DELETE
        ) {
            return;
        }
        flush_pending_begin(state, ctx, txn);
        let old_context = pg_sys::MemoryContextSwitchTo(state.change_memory);
        let settings = CanonicalOutputSettings::apply(state.utc);
        let (old_tuple, new_tuple) = change_tuples(change);
        let desc = (*relation).rd_att;
        let text = state.text;
        let mut new_values = recycle(std::mem::take(&mut state.new_values));
        let mut old_values = recycle(std::mem::take(&mut state.old_values));
        let cached = state.relations.get(relation, text);
        let mut read = |tuple, values: &mut Vec<_>| {
            let buffers = DeformBuffers {
                datums: &mut state.datums,
                nulls: &mut state.nulls,
            };
            read_tuple(cached, desc, tuple, buffers, text, values);
        };
        if !new_tuple.is_null() {
            read(new_tuple, &mut new_values);
        }
        if !old_tuple.is_null() {
            read(old_tuple, &mut old_values);
        }
        let key = if !cached.meta.has_identity_key() {
            RowKey::Missing
        } else if !old_tuple.is_null() {
            RowKey::From(&old_values)
        } else if action == REORDER_BUFFER_CHANGE_UPDATE && !new_tuple.is_null() {
            // DEFAULT/INDEX identity logs no old key when the key is unchanged.
            RowKey::From(&new_values)
        } else {
            RowKey::Missing
        };
        let row_change = match action {
            REORDER_BUFFER_CHANGE_INSERT if !new_tuple.is_null() => Some(RowChange::Insert { new: &new_values }),
            REORDER_BUFFER_CHANGE_UPDATE if !new_tuple.is_null() => Some(RowChange::Update { key, new: &new_values }),
            REORDER_BUFFER_CHANGE_DELETE => Some(RowChange::Delete { key }),
            _ => None,
        };
        if let Some(row_change) = row_change {
            let at = EventPosition {
                xid: (*txn).xid.into_inner(),
                lsn: Lsn((*change).lsn),
            };
            let event = Event::Change {
                at,
                relation: &cached.meta,
                change: row_change,
            };
            state.encoder.encode(&event, &mut state.out);
            state.write_out(ctx);
        }
        state.new_values = recycle(new_values);
        state.old_values = recycle(old_values);
        drop(settings);
        pg_sys::MemoryContextSwitchTo(old_context);
        state.end_of_change();
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
        flush_pending_begin(state, ctx, txn);
        let text = state.text;
        let relations = std::slice::from_raw_parts(relations, nrelations.max(0) as usize);
        // Copies: building one entry may invalidate another (rare, small).
        let metas: Vec<_> = relations
            .iter()
            .map(|r| state.relations.get(*r, text).meta.clone())
            .collect();
        let flags = &(*change).data.truncate;
        let truncate = Truncate {
            relations: metas.iter().collect(),
            cascade: flags.cascade,
            restart_identity: flags.restart_seqs,
        };
        let at = EventPosition {
            xid: (*txn).xid.into_inner(),
            lsn: Lsn((*change).lsn),
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
        if transactional {
            flush_pending_begin(state, ctx, txn);
        }
        let old_context = pg_sys::MemoryContextSwitchTo(state.change_memory);
        let xid = if txn.is_null() { 0 } else { (*txn).xid.into_inner() };
        let content = if size == 0 {
            &[][..]
        } else {
            std::slice::from_raw_parts(content as *const u8, size)
        };
        let message = Message {
            transactional,
            prefix: server_to_utf8(CStr::from_ptr(prefix).to_bytes(), state.text),
            content,
        };
        emit(
            state,
            ctx,
            &Event::Message {
                at: EventPosition { xid, lsn: Lsn(lsn) },
                message: &message,
            },
        );
        pg_sys::MemoryContextSwitchTo(old_context);
        state.end_of_change();
    }
}

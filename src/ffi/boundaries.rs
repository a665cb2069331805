//! Transaction boundaries: begin/commit, the two-phase set, stream blocks,
//! and the replication-origin filter that decides whole transactions.

use super::state::{self, DecodingState};
use crate::model::{Event, EventPosition, Lsn, OriginInfo, StreamEvent, TxnEvent, TxnInfo};
use pgrx::pg_sys::{self, LogicalDecodingContext as Ctx, ReorderBufferTXN as Txn};
use std::ffi::CStr;

/// Whether changes from origin `id` pass the origin filter (looked up
/// once per origin; safe in every callback, see catalog.rs).
///
/// # Safety
/// From a decoding callback.
unsafe fn origin_passes(state: &mut DecodingState, id: u16) -> bool {
    let filter = &state.options.origins;
    if id == 0 || !filter.is_active() {
        return true;
    }
    // only-local needs no name: no lookup.
    if filter.only_local {
        return false;
    }
    // SAFETY: forwarded caller guarantee.
    unsafe { state.origin(id).passes }
}

/// Whether `txn`'s changes pass the origin filter.
///
/// # Safety
/// From a decoding callback; `txn` must be valid.
unsafe fn passes_origin_filter(state: &mut DecodingState, txn: *mut Txn) -> bool {
    // SAFETY: forwarded caller guarantees.
    unsafe { origin_passes(state, (*txn).origin_id) }
}

/// Whether transaction events carry the commit time as the session prints it.
fn session_commit_time(state: &DecodingState) -> bool {
    state.profile.session_text && state.options.include_timestamp
}

/// The name of the transaction's origin, when events carry it.
unsafe fn txn_origin_name(state: &mut DecodingState, txn: *mut Txn) -> Option<String> {
    // SAFETY: txn is valid for the callback (caller).
    let id = unsafe { (*txn).origin_id };
    if !state.options.include_origin || id == 0 {
        return None;
    }
    // SAFETY: a decoding callback (see catalog.rs: safe outside transactions too).
    Some(unsafe { state.origin(id) }.name.clone().unwrap_or_default())
}

/// Transaction facts. The GID (converted to UTF-8 in `state.rendered`) and
/// the session-formatted time (palloc'd) live until the end of the event.
///
/// # Safety
/// `txn` must be the running callback's transaction; CurrentMemoryContext
/// must outlive `'a`.
unsafe fn txn_info<'a>(
    state: &mut DecodingState,
    txn: *mut Txn,
    lsn: pg_sys::XLogRecPtr,
    origin: Option<&'a str>,
) -> TxnInfo<'a> {
    // SAFETY: txn is valid for the callback (caller).
    unsafe {
        let gid = (*txn).gid;
        // commit_time and prepare_time share this union's storage.
        let commit_time = (*txn).xact_time.commit_time;
        // Only the test_decoding format prints it, and only with include-timestamp.
        let commit_time_text = session_commit_time(state).then(|| {
            // timestamptz_to_str returns a static buffer: copy it now.
            CStr::from_ptr(pg_sys::pstrdup(pg_sys::timestamptz_to_str(commit_time))).to_bytes()
        });
        let text = state.text();
        TxnInfo {
            xid: (*txn).xid.into_inner(),
            commit_lsn: Lsn(lsn),
            end_lsn: Lsn((*txn).end_lsn),
            commit_time,
            origin: origin.map(|name| OriginInfo {
                name,
                lsn: Lsn((*txn).origin_lsn),
            }),
            gid: (!gid.is_null()).then(|| text.to_utf8(CStr::from_ptr(gid).to_bytes(), &mut state.rendered)),
            commit_time_text,
        }
    }
}

/// Encodes one event and writes it as one message.
///
/// # Safety
/// `ctx` must be the running callback's context.
pub unsafe fn emit(state: &mut DecodingState, ctx: *mut Ctx, event: &Event) {
    // Empty unless an ERROR caught by the reorder buffer (a concurrent abort
    // of a streamed or prepared transaction) cut the previous event short.
    state.out.clear();
    state.encoder.encode(event, &mut state.out);
    // SAFETY: forwarded caller guarantee.
    unsafe { state.write_out(ctx) };
}

/// Emits a transaction event, with names allocated per event.
unsafe fn emit_transaction(
    state: &mut DecodingState,
    ctx: *mut Ctx,
    txn: *mut Txn,
    lsn: pg_sys::XLogRecPtr,
    kind: TxnEvent,
) {
    // SAFETY: forwarded caller guarantees; the GID and time text live in
    // the change memory and `rendered` until the reset below.
    unsafe {
        // Most transactions allocate nothing here (no GID or session-formatted
        // time): skip the context switch and reset, four calls into
        // PostgreSQL per event (W3 is all begins and commits).
        let allocates = session_commit_time(state) || !(*txn).gid.is_null();
        let old_context = allocates.then(|| pg_sys::MemoryContextSwitchTo(state.change_memory));
        let origin = txn_origin_name(state, txn);
        let info = txn_info(state, txn, lsn, origin.as_deref());
        emit(state, ctx, &Event::Transaction { kind, txn: &info });
        if let Some(old_context) = old_context {
            pg_sys::MemoryContextSwitchTo(old_context);
            state.end_of_change();
        }
    }
}

/// Writes the begin that skip-empty-xacts held back, before the first event.
///
/// # Safety
/// `ctx` and `txn` must be the running callback's.
pub unsafe fn flush_pending_open(state: &mut DecodingState, ctx: *mut Ctx, txn: *mut Txn) {
    if let Some(kind) = state.pending_open.take() {
        // SAFETY: forwarded caller guarantees.
        unsafe { emit_transaction(state, ctx, txn, (*txn).final_lsn, kind) };
    }
}

/// begin / begin_prepare: decide the transaction's origin, then open it.
unsafe fn open_transaction(ctx: *mut Ctx, txn: *mut Txn, kind: TxnEvent) {
    // SAFETY: PostgreSQL passes the live context and transaction.
    unsafe {
        let state = state::of(ctx);
        state.skip_txn = !passes_origin_filter(state, txn);
        state.pending_open = None;
        if state.skip_txn || !state.options.include_transaction {
            return;
        }
        if state.options.skip_empty_xacts {
            state.pending_open = Some(kind);
            return;
        }
        emit_transaction(state, ctx, txn, (*txn).final_lsn, kind);
    }
}

/// commit / prepare: close the transaction unless nothing of it was written.
unsafe fn close_transaction(ctx: *mut Ctx, txn: *mut Txn, lsn: pg_sys::XLogRecPtr, kind: TxnEvent) {
    // SAFETY: PostgreSQL passes the live context and transaction.
    unsafe {
        let state = state::of(ctx);
        let nothing_written = state.pending_open.take().is_some();
        if state.skip_txn || nothing_written {
            // Tell a walsender the transaction is done, so the slot can advance.
            pg_sys::OutputPluginUpdateProgress(ctx, true);
        } else if state.options.include_transaction {
            emit_transaction(state, ctx, txn, lsn, kind);
        }
        // Also without a commit event (include-transaction off).
        state.batch.flush(ctx);
        state.end_of_transaction();
    }
}

#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn begin(ctx: *mut Ctx, txn: *mut Txn) {
    // SAFETY: PostgreSQL's arguments.
    unsafe { open_transaction(ctx, txn, TxnEvent::Begin) }
}

#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn commit(ctx: *mut Ctx, txn: *mut Txn, commit_lsn: pg_sys::XLogRecPtr) {
    // SAFETY: PostgreSQL's arguments.
    unsafe { close_transaction(ctx, txn, commit_lsn, TxnEvent::Commit) }
}

#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn begin_prepare(ctx: *mut Ctx, txn: *mut Txn) {
    // SAFETY: PostgreSQL's arguments.
    unsafe { open_transaction(ctx, txn, TxnEvent::BeginPrepare) }
}

#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn prepare(ctx: *mut Ctx, txn: *mut Txn, prepare_lsn: pg_sys::XLogRecPtr) {
    // SAFETY: PostgreSQL's arguments.
    unsafe { close_transaction(ctx, txn, prepare_lsn, TxnEvent::Prepare) }
}

/// Events that stand alone (COMMIT/ROLLBACK PREPARED, the end of a stream):
/// emitted unless the transaction's origin is filtered out, or, for the end
/// of a stream with skip-empty-xacts, none of its blocks wrote a change.
unsafe fn standalone_transaction_event(ctx: *mut Ctx, txn: *mut Txn, lsn: pg_sys::XLogRecPtr, kind: TxnEvent) {
    // SAFETY: PostgreSQL passes the live context and transaction.
    unsafe {
        let state = state::of(ctx);
        let ends_stream = matches!(kind, TxnEvent::StreamCommit | TxnEvent::StreamPrepare);
        let wrote = state.stream_wrote.remove(&(*txn).xid.into_inner());
        let empty_stream = ends_stream && state.options.skip_empty_xacts && !wrote;
        if passes_origin_filter(state, txn) && !empty_stream {
            emit_transaction(state, ctx, txn, lsn, kind);
        } else {
            pg_sys::OutputPluginUpdateProgress(ctx, true);
        }
        state.batch.flush(ctx);
        state.end_of_transaction();
    }
}

#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn commit_prepared(ctx: *mut Ctx, txn: *mut Txn, commit_lsn: pg_sys::XLogRecPtr) {
    // SAFETY: PostgreSQL's arguments.
    unsafe { standalone_transaction_event(ctx, txn, commit_lsn, TxnEvent::CommitPrepared) }
}

#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn rollback_prepared(
    ctx: *mut Ctx,
    txn: *mut Txn,
    prepare_end_lsn: pg_sys::XLogRecPtr,
    _prepare_time: pg_sys::TimestampTz,
) {
    // SAFETY: PostgreSQL's arguments.
    unsafe { standalone_transaction_event(ctx, txn, prepare_end_lsn, TxnEvent::RollbackPrepared) }
}

#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn stream_commit(ctx: *mut Ctx, txn: *mut Txn, commit_lsn: pg_sys::XLogRecPtr) {
    // SAFETY: PostgreSQL's arguments.
    unsafe { standalone_transaction_event(ctx, txn, commit_lsn, TxnEvent::StreamCommit) }
}

#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn stream_prepare(ctx: *mut Ctx, txn: *mut Txn, prepare_lsn: pg_sys::XLogRecPtr) {
    // SAFETY: PostgreSQL's arguments.
    unsafe { standalone_transaction_event(ctx, txn, prepare_lsn, TxnEvent::StreamPrepare) }
}

/// Emits the stream block start that skip-empty-xacts held back, before
/// the block's first change, and notes that the transaction wrote one.
///
/// # Safety
/// `ctx` and `txn` must be the running callback's.
pub unsafe fn flush_pending_stream_start(state: &mut DecodingState, ctx: *mut Ctx, txn: *mut Txn) {
    // SAFETY: forwarded caller guarantees.
    let xid = unsafe { (*txn).xid.into_inner() };
    state.stream_wrote.insert(xid);
    if let Some(first_segment) = state.pending_stream_start.take() {
        let at = EventPosition {
            xid,
            lsn: Lsn(0),
            streamed: true,
            subxid: 0,
        };
        // SAFETY: forwarded caller guarantees.
        unsafe {
            emit(
                state,
                ctx,
                &Event::Stream {
                    kind: StreamEvent::Start { first_segment },
                    at,
                },
            )
        };
    }
}

/// Emits a stream block boundary for `txn`'s toplevel transaction.
unsafe fn stream_boundary(ctx: *mut Ctx, txn: *mut Txn, lsn: pg_sys::XLogRecPtr, kind: StreamEvent) {
    // SAFETY: PostgreSQL passes the live context and transaction; toptxn is
    // set for subtransactions only.
    unsafe {
        let state = state::of(ctx);
        let top = if (*txn).toptxn.is_null() { txn } else { (*txn).toptxn };
        let skip_empty = state.options.skip_empty_xacts;
        match kind {
            StreamEvent::Start { first_segment } => {
                state.skip_txn = !passes_origin_filter(state, top);
                if skip_empty {
                    state.pending_stream_start = Some(first_segment);
                    return;
                }
            }
            // A block that wrote nothing was never opened.
            StreamEvent::Stop if state.pending_stream_start.take().is_some() => return,
            StreamEvent::Abort { subxid } => {
                let top_xid = (*top).xid.into_inner();
                let wrote = if subxid.is_some() {
                    state.stream_wrote.contains(&top_xid)
                } else {
                    state.stream_wrote.remove(&top_xid)
                };
                if skip_empty && !wrote {
                    return;
                }
            }
            _ => {}
        }
        if state.skip_txn {
            return;
        }
        let at = EventPosition {
            xid: (*top).xid.into_inner(),
            lsn: Lsn(lsn),
            streamed: true,
            subxid: 0,
        };
        emit(state, ctx, &Event::Stream { kind, at });
    }
}

#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn stream_start(ctx: *mut Ctx, txn: *mut Txn) {
    // SAFETY: PostgreSQL's arguments.
    unsafe {
        let first_segment = (*txn).txn_flags & pg_sys::RBTXN_IS_STREAMED == 0;
        state::of(ctx).in_stream = true;
        // Block boundaries have no WAL position of their own.
        stream_boundary(ctx, txn, 0, StreamEvent::Start { first_segment });
    }
}

#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn stream_stop(ctx: *mut Ctx, txn: *mut Txn) {
    // SAFETY: PostgreSQL's arguments.
    unsafe {
        stream_boundary(ctx, txn, 0, StreamEvent::Stop);
        let state = state::of(ctx);
        state.in_stream = false;
        // The block's changes are freed after it: their LSNs are not kept.
        state.message_subxids.clear();
        state.indexed_batches.clear();
        // Also when skip-empty-xacts held the block's boundaries back.
        state.batch.flush(ctx);
    }
}

#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn stream_abort(ctx: *mut Ctx, txn: *mut Txn, abort_lsn: pg_sys::XLogRecPtr) {
    // SAFETY: PostgreSQL's arguments.
    unsafe {
        let subxid = (!(*txn).toptxn.is_null()).then(|| (*txn).xid.into_inner());
        let state = state::of(ctx);
        let top = if (*txn).toptxn.is_null() { txn } else { (*txn).toptxn };
        state.skip_txn = !passes_origin_filter(state, top);
        stream_boundary(ctx, txn, abort_lsn, StreamEvent::Abort { subxid });
        state::of(ctx).batch.flush(ctx);
    }
}

/// Drops every record from a filtered origin before PostgreSQL decodes it:
/// rows, streamed rows, messages (transactional or not) and commits. Runs
/// outside any transaction in a walsender: the origin's name is looked up
/// as catalog.rs allows, once per origin.
#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn filter_by_origin(ctx: *mut Ctx, origin_id: pg_sys::RepOriginId) -> bool {
    // SAFETY: PostgreSQL passes the live context.
    let state = unsafe { state::of(ctx) };
    // SAFETY: a decoding callback.
    !unsafe { origin_passes(state, origin_id) }
}

/// With a two-phase slot, prepared transactions are decoded at PREPARE,
/// except those the format holds back to COMMIT PREPARED (test_decoding:
/// GIDs containing `_nodecode`).
#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn filter_prepare(
    ctx: *mut Ctx,
    _xid: pg_sys::TransactionId,
    gid: *const std::ffi::c_char,
) -> bool {
    // SAFETY: PostgreSQL passes the live context and a NUL-terminated GID.
    let (state, gid) = unsafe { (state::of(ctx), CStr::from_ptr(gid).to_bytes()) };
    state
        .profile
        .skip_prepare_gids_containing
        .is_some_and(|pattern| gid.windows(pattern.len()).any(|w| w == pattern.as_bytes()))
}

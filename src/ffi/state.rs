//! Plugin state: one Rust value per decoding context, created in startup,
//! dropped when PostgreSQL deletes the context (also on ERROR, when the
//! shutdown callback is never called), through a memory-context reset callback.

use super::catalog::{OriginCache, OriginEntry};
use super::encoding::{ServerEncoding, TextEncoding};
use super::relcache::RelationCache;
use crate::encode::{self, Encoder, Profile};
use crate::idmap::IdMap;
use crate::model::{TxnEvent, Value};
use crate::ondisk::RenderedText;
use crate::options::{Format, Framing, Options};
use pgrx::pg_sys;
use std::collections::HashSet;

pub struct DecodingState {
    pub options: Options,
    pub encoder: Box<dyn Encoder>,
    pub relations: RelationCache,
    /// The database encoding and its conversion to UTF-8 (see `text`).
    pub encoding: ServerEncoding,
    /// Reset after every change, so per-change allocations never pile up.
    pub change_memory: pg_sys::MemoryContext,
    /// The encoded message, reused across events.
    pub out: Vec<u8>,
    pub batch: Batch,
    /// Reused row buffers (emptied between changes).
    pub new_values: Vec<Value<'static>>,
    pub old_values: Vec<Value<'static>>,
    pub datums: Vec<pg_sys::Datum>,
    pub nulls: Vec<bool>,
    /// Values printed from their stored form (numeric, jsonb); reset with
    /// the change memory.
    pub rendered: RenderedText,
    /// With skip-empty-xacts: the begin (or begin_prepare) held back until
    /// the transaction's first event.
    pub pending_open: Option<TxnEvent>,
    /// The current transaction comes from a filtered-out origin.
    pub skip_txn: bool,
    /// Between stream_start and stream_stop.
    pub in_stream: bool,
    /// Replication origin names and whether their changes pass the filter.
    pub origins: OriginCache,
    /// In a stream block: message LSN -> the subtransaction it was sent in
    /// (the message callback is not told; see subxids.rs).
    pub message_subxids: IdMap<u64, u32>,
    /// (Sub)transaction xid -> the first change of the batch of its spilled
    /// changes last indexed into `message_subxids`.
    pub indexed_batches: IdMap<u32, usize>,
    /// Changes filtered out since the last progress report.
    pub skipped_changes: u32,
    /// With skip-empty-xacts: a stream block's start held back until its
    /// first change (the value is `first_segment`).
    pub pending_stream_start: Option<bool>,
    /// Streamed transactions (toplevel xids) that have written a change.
    pub stream_wrote: HashSet<u32>,
    /// What the format needs (see `encode::Profile`).
    pub profile: Profile,
    /// The UTC zone, pinned while values are converted (may be NULL).
    pub utc: *mut pg_sys::pg_tz,
}

/// Report progress after this many filtered-out changes in a row, so a
/// consumer sees the walsender alive during long filtered transactions
/// (pgoutput uses the same threshold).
const PROGRESS_EVERY_SKIPPED: u32 = 100;

/// A buffer that grew past this for one huge row is released at commit.
const MAX_RETAINED_BUFFER: usize = 8 << 20;

/// Empties a row buffer and re-types its lifetime, keeping its allocation
/// (the in-place `collect` reuses it: same element layout).
pub fn recycle<'to>(mut values: Vec<Value<'_>>) -> Vec<Value<'to>> {
    values.clear();
    values.into_iter().map(|_| Value::Null).collect()
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn drop_state(arg: *mut std::ffi::c_void) {
    // SAFETY: `arg` is the Box<DecodingState> leaked by `install`, and this
    // callback runs exactly once, when the owning context goes away.
    drop(unsafe { Box::from_raw(arg as *mut DecodingState) });
}

/// Creates the state (and the format's encoder) and ties its lifetime to
/// `ctx->context`; returns what the format needs (see `encode::Profile`).
///
/// # Safety
/// `ctx` must be the decoding context passed to the startup callback.
pub unsafe fn install(ctx: *mut pg_sys::LogicalDecodingContext, options: Options) -> Profile {
    // SAFETY: ctx->context is the decoding context's long-lived memory
    // context; children and the callback struct are allocated in it.
    unsafe {
        let parent = (*ctx).context;
        let change_memory =
            pg_sys::AllocSetContextCreateInternal(parent, c"wal2any change".as_ptr(), 0, 8 * 1024, 8 * 1024 * 1024);
        let cache_memory = pg_sys::AllocSetContextCreateInternal(
            parent,
            c"wal2any relation cache".as_ptr(),
            0,
            8 * 1024,
            8 * 1024 * 1024,
        );
        let tables = options.tables.clone();
        let encoder = encode::for_options(&options);
        let batch = Batch::new(&options);
        let profile = encoder.profile();
        let state = Box::new(DecodingState {
            encoder,
            options,
            relations: RelationCache::new(cache_memory, tables, !profile.session_text),
            // The test_decoding format writes the database encoding, as test_decoding does.
            encoding: ServerEncoding::new(profile.session_text, cache_memory),
            change_memory,
            out: Vec::with_capacity(1024),
            batch,
            new_values: Vec::new(),
            old_values: Vec::new(),
            datums: Vec::new(),
            nulls: Vec::new(),
            rendered: RenderedText::default(),
            pending_open: None,
            skip_txn: false,
            in_stream: false,
            origins: OriginCache::new(),
            message_subxids: IdMap::default(),
            indexed_batches: IdMap::default(),
            skipped_changes: 0,
            pending_stream_start: None,
            stream_wrote: HashSet::new(),
            profile,
            utc: pg_sys::pg_tzset(c"UTC".as_ptr()),
        });
        let raw = Box::into_raw(state);
        let callback = pg_sys::MemoryContextAlloc(parent, std::mem::size_of::<pg_sys::MemoryContextCallback>())
            as *mut pg_sys::MemoryContextCallback;
        callback.write(pg_sys::MemoryContextCallback {
            func: Some(drop_state),
            arg: raw.cast(),
            next: std::ptr::null_mut(),
        });
        pg_sys::MemoryContextRegisterResetCallback(parent, callback);
        (*ctx).output_plugin_private = raw.cast();
        profile
    }
}

/// The state installed by `install`.
///
/// # Safety
/// `ctx` must be a decoding context whose startup callback has run; the
/// returned reference must not outlive the callback invocation.
pub unsafe fn of<'c>(ctx: *mut pg_sys::LogicalDecodingContext) -> &'c mut DecodingState {
    // SAFETY: output_plugin_private was set by `install` and lives until the
    // context is deleted, which cannot happen during a callback.
    unsafe { &mut *((*ctx).output_plugin_private as *mut DecodingState) }
}

/// Events collected into one message (the `batch-bytes` option).
pub struct Batch {
    pub buf: Vec<u8>,
    /// 0: no batching, every event is its own message.
    pub limit: usize,
    /// Between two events of a message: a newline for JSON Lines and for
    /// `framing=varint-newline` (pg_recvlogical adds the last one itself).
    pub separator: &'static [u8],
}

impl Batch {
    pub fn new(options: &Options) -> Batch {
        let newline = options.format == Format::Json || options.framing == Framing::VarintNewline;
        Batch {
            buf: Vec::new(),
            limit: options.batch_bytes,
            separator: if newline { b"\n" } else { b"" },
        }
    }

    /// Writes the event in `out` (emptying it): as its own message, or into
    /// the batch, which is written once it reaches its limit.
    ///
    /// # Safety
    /// `ctx` must be the decoding context of a running callback.
    pub unsafe fn write(&mut self, ctx: *mut pg_sys::LogicalDecodingContext, out: &mut Vec<u8>) {
        if self.limit == 0 {
            // SAFETY: forwarded caller guarantee.
            return unsafe { write_message(ctx, out) };
        }
        // A large event never joins a batch that would then pass the limit
        // (a message must stay far below PostgreSQL's 1 GB string limit).
        if !self.buf.is_empty() && self.buf.len() + out.len() > self.limit {
            // SAFETY: forwarded caller guarantee.
            unsafe { write_message(ctx, &mut self.buf) };
        }
        if !self.buf.is_empty() {
            self.buf.extend_from_slice(self.separator);
        }
        self.buf.extend_from_slice(out);
        out.clear();
        if self.buf.len() >= self.limit {
            // SAFETY: forwarded caller guarantee.
            unsafe { write_message(ctx, &mut self.buf) };
        }
    }

    /// Writes what the batch holds: at every transaction end, stream block
    /// end and non-transactional message, so nothing waits for later WAL.
    ///
    /// # Safety
    /// `ctx` must be the decoding context of a running callback.
    pub unsafe fn flush(&mut self, ctx: *mut pg_sys::LogicalDecodingContext) {
        if !self.buf.is_empty() {
            // SAFETY: forwarded caller guarantee.
            unsafe { write_message(ctx, &mut self.buf) };
        }
    }
}

/// Writes `out` as one message (one append to `ctx->out`) and empties it.
///
/// # Safety
/// `ctx` must be the decoding context of a running callback.
pub unsafe fn write_message(ctx: *mut pg_sys::LogicalDecodingContext, out: &mut Vec<u8>) {
    // SAFETY: forwarded caller guarantee.
    unsafe { super::unguarded::write_message(ctx, out) };
    out.clear();
}

impl DecodingState {
    /// How text becomes UTF-8 (the first call looks the conversion up).
    ///
    /// # Safety
    /// From a decoding callback.
    pub unsafe fn text(&mut self) -> TextEncoding {
        // SAFETY: forwarded caller guarantee.
        unsafe { self.encoding.text() }
    }

    /// What is known of replication origin `id` (not 0), looked up once.
    ///
    /// # Safety
    /// From a decoding callback (see catalog.rs: safe outside transactions).
    pub unsafe fn origin(&mut self, id: u16) -> &OriginEntry {
        // SAFETY: forwarded caller guarantee.
        unsafe {
            let text = self.text();
            self.origins.get(id, &self.options.origins, text)
        }
    }

    /// Writes the event in `self.out` (see `Batch::write`).
    ///
    /// # Safety
    /// `ctx` must be the decoding context of a running callback.
    pub unsafe fn write_out(&mut self, ctx: *mut pg_sys::LogicalDecodingContext) {
        // SAFETY: forwarded caller guarantee.
        unsafe { self.batch.write(ctx, &mut self.out) };
    }

    /// Frees what one change allocated, and a buffer one huge change grew:
    /// memory is bounded per change, never kept for the session (a 500 MB
    /// value must not leave 500 MB in a walsender for hours).
    pub fn end_of_change(&mut self) {
        // SAFETY: nothing borrowed from this context survives the change.
        unsafe { pg_sys::MemoryContextReset(self.change_memory) };
        self.rendered.reset();
        self.release_oversized_buffers();
    }

    fn release_oversized_buffers(&mut self) {
        if self.out.capacity() > MAX_RETAINED_BUFFER {
            self.out = Vec::with_capacity(1024);
        }
        // Only an empty batch: events still waiting in it must be written.
        if self.batch.buf.is_empty() && self.batch.buf.capacity() > MAX_RETAINED_BUFFER.max(self.batch.limit * 2) {
            self.batch.buf = Vec::new();
        }
    }

    /// Counts a change that a filter dropped; reports progress every
    /// `PROGRESS_EVERY_SKIPPED` of them (a no-op outside a walsender).
    ///
    /// # Safety
    /// `ctx` must be the decoding context of a running callback.
    pub unsafe fn skipped_change(&mut self, ctx: *mut pg_sys::LogicalDecodingContext) {
        self.skipped_changes += 1;
        if self.skipped_changes >= PROGRESS_EVERY_SKIPPED {
            self.skipped_changes = 0;
            // SAFETY: a valid context; PostgreSQL checks for a progress callback.
            unsafe { pg_sys::OutputPluginUpdateProgress(ctx, false) };
        }
    }

    pub fn end_of_transaction(&mut self) {
        self.release_oversized_buffers();
    }
}

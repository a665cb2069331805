//! PostgreSQL functions called without pgrx's per-call guard. pgrx wraps
//! every `pg_sys` call in a sigsetjmp and a thread check, so that an ERROR
//! (a longjmp) becomes a Rust panic; with ~10 such calls per change that was
//! 5% of W1's decoding time. Here, either a function cannot raise an ERROR,
//! or several calls share one guard (`pg_guard_ffi_boundary`, whose closure
//! holds only C calls and no Rust values with destructors, as pgrx requires).
//!
//! Signatures are PostgreSQL 15's, identical to pgrx's bindings.

use pgrx::pg_sys;
use std::ffi::{c_char, c_int};

mod c {
    use super::*;

    extern "C-unwind" {
        pub fn heap_deform_tuple(
            tuple: pg_sys::HeapTuple,
            desc: pg_sys::TupleDesc,
            values: *mut pg_sys::Datum,
            isnull: *mut bool,
        );
        pub fn OutputPluginPrepareWrite(ctx: *mut pg_sys::LogicalDecodingContext, last_write: bool);
        pub fn appendBinaryStringInfo(buffer: pg_sys::StringInfo, data: *const c_char, len: c_int);
        pub fn OutputPluginWrite(ctx: *mut pg_sys::LogicalDecodingContext, last_write: bool);
    }
}

/// heap_deform_tuple (access/common/heaptuple.c), which has no ereport on
/// any path: it only reads the tuple into the two arrays.
///
/// # Safety
/// As heap_deform_tuple: `values` and `isnull` hold `desc->natts` entries,
/// `tuple` is a tuple of `desc`.
pub unsafe fn heap_deform_tuple(
    tuple: pg_sys::HeapTuple,
    desc: pg_sys::TupleDesc,
    values: *mut pg_sys::Datum,
    isnull: *mut bool,
) {
    // SAFETY: the caller's guarantee; the function cannot longjmp.
    unsafe { c::heap_deform_tuple(tuple, desc, values, isnull) }
}

/// One message: OutputPluginPrepareWrite, one appendBinaryStringInfo of
/// `bytes`, OutputPluginWrite, under one guard (any of them may raise an
/// ERROR: out of memory, a lost walsender connection).
///
/// # Safety
/// `ctx` must be the decoding context of a running callback.
pub unsafe fn write_message(ctx: *mut pg_sys::LogicalDecodingContext, buffer: &mut Vec<u8>) {
    let bytes = &buffer[..];
    // Events are kept below 1 GB by the callbacks (MAX_MESSAGE_BYTES); a
    // length past c_int is never cut to its low bits.
    let Ok(len) = c_int::try_from(bytes.len()) else {
        pgrx::warning!("wal2any: a message of {} bytes cannot be written", bytes.len());
        return;
    };
    let data = bytes.as_ptr() as *const c_char;
    // SAFETY: the PrepareWrite/append/Write sequence every output plugin
    // uses; ctx->out is the StringInfo that PrepareWrite set up. The closures
    // make C calls only, so a longjmp out of them skips no destructor.
    unsafe {
        if buffer.capacity() <= RETAINED as usize {
            pg_sys::ffi::pg_guard_ffi_boundary(|| {
                c::OutputPluginPrepareWrite(ctx, true);
                c::appendBinaryStringInfo((*ctx).out, data, len);
                c::OutputPluginWrite(ctx, true);
            });
        } else {
            // A huge event: once copied into ctx->out, our copy goes before
            // the walsender makes its own (one copy less at the peak).
            pg_sys::ffi::pg_guard_ffi_boundary(|| {
                c::OutputPluginPrepareWrite(ctx, true);
                c::appendBinaryStringInfo((*ctx).out, data, len);
            });
            *buffer = Vec::new();
            pg_sys::ffi::pg_guard_ffi_boundary(|| c::OutputPluginWrite(ctx, true));
        }
        release_oversized_out(ctx);
    }
}

/// Buffers past this are given back after a message (8 MB).
const RETAINED: c_int = 8 << 20;

/// `ctx->out` grows to the largest message and PostgreSQL never shrinks
/// it: after a 500 MB event it would keep 500 MB for the session. Once a
/// message is written its bytes have been copied (the walsender's send
/// buffer, the SQL functions' tuplestore), so a buffer past 8 MB is given
/// back and started again small, in the memory context it came from.
///
/// # Safety
/// `ctx` must be the decoding context of a running callback, after the write.
unsafe fn release_oversized_out(ctx: *mut pg_sys::LogicalDecodingContext) {
    const INITIAL: c_int = 1024;
    // SAFETY: ctx->out is a valid StringInfo whose data was palloc'd in the
    // context GetMemoryChunkContext names; the new buffer is allocated there
    // before the old one is freed, and left as an empty string.
    unsafe {
        let out = (*ctx).out;
        if out.is_null() || (*out).maxlen <= RETAINED {
            return;
        }
        let memory = pg_sys::GetMemoryChunkContext((*out).data.cast());
        let data = pg_sys::MemoryContextAlloc(memory, INITIAL as usize) as *mut c_char;
        pg_sys::pfree((*out).data.cast());
        *data = 0;
        (*out).data = data;
        (*out).maxlen = INITIAL;
        (*out).len = 0;
        (*out).cursor = 0;
    }
}

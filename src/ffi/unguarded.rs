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
pub unsafe fn write_message(ctx: *mut pg_sys::LogicalDecodingContext, bytes: &[u8]) {
    // Events are kept below 1 GB by the callbacks (MAX_MESSAGE_BYTES); a
    // length past c_int is never cut to its low bits.
    let Ok(len) = c_int::try_from(bytes.len()) else {
        pgrx::warning!("wal2any: a message of {} bytes cannot be written", bytes.len());
        return;
    };
    let data = bytes.as_ptr() as *const c_char;
    // SAFETY: the PrepareWrite/append/Write sequence every output plugin
    // uses; ctx->out is the StringInfo that PrepareWrite set up. The closure
    // makes C calls only, so a longjmp out of it skips no destructor.
    unsafe {
        pg_sys::ffi::pg_guard_ffi_boundary(|| {
            c::OutputPluginPrepareWrite(ctx, true);
            c::appendBinaryStringInfo((*ctx).out, data, len);
            c::OutputPluginWrite(ctx, true);
        })
    }
}

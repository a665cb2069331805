//! Catalog access from any callback, and what the callbacks cache from the
//! catalogs (replication origin names) with its invalidation.
//!
//! Which callbacks run inside a transaction (PostgreSQL 15, reorderbuffer.c
//! and decode.c): through the SQL functions, every callback runs inside the
//! caller's transaction. In a walsender, begin, change, truncate,
//! transactional messages, commit, begin_prepare, prepare, stream_start,
//! the streamed changes and stream_stop run inside the transaction that
//! `ReorderBufferProcessTXN` starts; startup, filter_by_origin,
//! filter_prepare, non-transactional messages, commit_prepared,
//! rollback_prepared, stream_commit, stream_prepare and stream_abort run
//! outside any transaction. A syscache lookup there reads state that does
//! not exist (the server crashed with SIGSEGV looking up an origin name in
//! stream_commit). Every catalog lookup therefore goes through
//! `with_catalog_access`.

use super::encoding::TextEncoding;
use crate::filters::OriginFilter;
use crate::idmap::IdMap;
use pgrx::pg_sys;
use std::cell::Cell;
use std::ffi::CStr;

/// Runs `lookup` where catalog access is allowed: directly when a
/// transaction is open; otherwise inside a transaction started for it and
/// aborted after it, exactly as `ReorderBufferProcessTXN` does around the
/// callbacks it runs (abort: nothing it did persists, its locks go). The
/// transaction's memory is freed: `lookup` must return owned data.
///
/// An ERROR inside `lookup` leaves the transaction to the walsender's error
/// recovery, which aborts it as it aborts any other.
///
/// # Safety
/// Backend code: the backend's thread, from a decoding callback.
pub unsafe fn with_catalog_access<R>(lookup: impl FnOnce() -> R) -> R {
    // SAFETY: plain reads of backend globals and the transaction calls
    // every PostgreSQL process uses; memory context and resource owner are
    // put back as they were (a walsender has none outside transactions).
    unsafe {
        if pg_sys::IsTransactionState() {
            let result = lookup();
            // A lookup outside decoding (startup, filter_by_origin) may have
            // taken a catalog snapshot, which sets this backend's xmin: in
            // the transaction of CREATE_REPLICATION_SLOT ... (SNAPSHOT 'use')
            // that makes building the slot's snapshot fail. Drop it (it is
            // taken again when needed); decoding's historic one is not it.
            if !pg_sys::HistoricSnapshotActive() {
                pg_sys::InvalidateCatalogSnapshot();
            }
            return result;
        }
        let memory = pg_sys::CurrentMemoryContext;
        let owner = pg_sys::CurrentResourceOwner;
        pg_sys::StartTransactionCommand();
        let result = lookup();
        pg_sys::AbortCurrentTransaction();
        pg_sys::CurrentMemoryContext = memory;
        pg_sys::CurrentResourceOwner = owner;
        result
    }
}

thread_local! {
    /// Set by the syscache callback when pg_replication_origin changed.
    static ORIGINS_CHANGED: Cell<bool> = const { Cell::new(false) };
    static ORIGIN_CALLBACK_REGISTERED: Cell<bool> = const { Cell::new(false) };
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn origins_invalidated(_arg: pg_sys::Datum, _cacheid: i32, _hashvalue: u32) {
    ORIGINS_CHANGED.set(true);
}

/// What is known of one replication origin.
pub struct OriginEntry {
    /// UTF-8; `None` when the origin no longer exists.
    pub name: Option<String>,
    /// Its changes pass the origin filter.
    pub passes: bool,
}

/// Replication origin id -> name and filter answer, looked up once and
/// forgotten when pg_replication_origin changes (an origin dropped and its
/// id reused under another name must not keep the old answer).
#[derive(Default)]
pub struct OriginCache {
    entries: IdMap<u16, OriginEntry>,
}

impl OriginCache {
    pub fn new() -> Self {
        if !ORIGIN_CALLBACK_REGISTERED.get() {
            // SAFETY: a static function, registered once per process
            // (PostgreSQL keeps syscache callbacks for the backend's life).
            unsafe {
                pg_sys::CacheRegisterSyscacheCallback(
                    pg_sys::SysCacheIdentifier::REPLORIGIDENT as i32,
                    Some(origins_invalidated),
                    pg_sys::Datum::from(0),
                )
            };
            ORIGIN_CALLBACK_REGISTERED.set(true);
        }
        ORIGINS_CHANGED.set(false);
        OriginCache::default()
    }

    /// The origin `id` (not 0), looked up if not known.
    ///
    /// # Safety
    /// From a decoding callback (see `with_catalog_access`).
    pub unsafe fn get(&mut self, id: u16, filter: &OriginFilter, text: TextEncoding) -> &OriginEntry {
        if ORIGINS_CHANGED.replace(false) {
            self.entries.clear();
        }
        self.entries.entry(id).or_insert_with(|| {
            // SAFETY: forwarded caller guarantee.
            let raw = unsafe { with_catalog_access(|| origin_name_bytes(id)) };
            // SAFETY: conversion needs no transaction once looked up.
            let name = raw.map(|bytes| unsafe { text.to_utf8_string(&bytes) });
            let passes = filter.passes_origin(name.as_deref());
            OriginEntry { name, passes }
        })
    }
}

/// The origin's name as stored (database encoding), or None.
///
/// # Safety
/// Catalog access: inside a transaction.
unsafe fn origin_name_bytes(id: u16) -> Option<Vec<u8>> {
    let mut name: *mut std::ffi::c_char = std::ptr::null_mut();
    // SAFETY: replorigin_by_oid with missing_ok returns false when absent;
    // the name is palloc'd, copied out before the transaction ends.
    unsafe {
        if !pg_sys::replorigin_by_oid(id, true, &mut name) || name.is_null() {
            return None;
        }
        Some(CStr::from_ptr(name).to_bytes().to_vec())
    }
}

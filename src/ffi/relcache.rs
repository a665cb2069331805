//! Per-relation cache: names, column metadata, type conversions and replica
//! identity, built once per relation and dropped when PostgreSQL's relcache
//! invalidates the relation (ALTER TABLE, REPLICA IDENTITY changes, ...).
//!
//! Names that live in other catalogs are invalidated too: a schema renamed
//! (pg_namespace) or a column type renamed (pg_type) sends no relcache
//! invalidation for the tables that use them.
//!
//! The invalidation callbacks never touch the cache itself (they may fire
//! while the cache is borrowed, during a syscache lookup): they record what
//! changed in a process-local queue that the callbacks drain before each lookup.
//!
//! Building an entry takes no lock on the table or its indexes (pgoutput's
//! rule): a prepared transaction may hold ACCESS EXCLUSIVE on them (after
//! CLUSTER, TRUNCATE, ALTER TABLE) while its changes are decoded, and a
//! lock wait there blocks decoding until the transaction ends, which it
//! cannot do while its own decoding waits.

use super::canonical::PinnedSearchPath;
use super::datum::TypeConversion;
use super::encoding::TextEncoding;
use crate::filters::TableFilter;
use crate::idmap::IdMap;
use crate::model::{ColumnMeta, RelationMeta, ReplicaIdentity};
use pgrx::pg_sys::{self, Oid};
use std::cell::{Cell, RefCell};
use std::ffi::CStr;

/// A cached relation: what encoders see, plus how to read its tuples.
pub struct CachedRelation {
    pub meta: RelationMeta,
    /// For each entry of `meta.columns`: its index in the tuple descriptor.
    pub attribute_index: Vec<usize>,
    pub conversions: Vec<TypeConversion>,
    /// The table passes add-tables/filter-tables (decided once per relation).
    pub passes_table_filter: bool,
    /// Attributes in the descriptor the entry was built from.
    pub natts: usize,
    /// Some column's values are printed by an output function.
    pub calls_output_functions: bool,
    /// Syscache hash values of the column types whose names are cached,
    /// matched against pg_type invalidations.
    type_hashes: Vec<u32>,
}

/// More queued relids than this and we just drop the whole cache.
const MAX_QUEUED_INVALIDATIONS: usize = 256;

#[derive(Default)]
struct InvalidationQueue {
    all: bool,
    relids: Vec<Oid>,
    /// Syscache hash values of changed pg_type rows.
    types: Vec<u32>,
}

impl InvalidationQueue {
    fn is_full(&self) -> bool {
        self.relids.len() + self.types.len() >= MAX_QUEUED_INVALIDATIONS
    }
}

thread_local! {
    static QUEUE: RefCell<InvalidationQueue> = RefCell::new(InvalidationQueue::default());
    /// Whether a decoding session is running in this backend (the callback
    /// stays registered for the backend's life; idle backends queue nothing).
    static SESSION_ACTIVE: Cell<bool> = const { Cell::new(false) };
    static CALLBACK_REGISTERED: Cell<bool> = const { Cell::new(false) };
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn relcache_invalidated(_arg: pg_sys::Datum, relid: Oid) {
    if !SESSION_ACTIVE.get() {
        return;
    }
    QUEUE.with_borrow_mut(|q| {
        if relid == Oid::INVALID || q.is_full() {
            q.all = true;
        } else if !q.all && !q.relids.contains(&relid) {
            q.relids.push(relid);
        }
    });
}

/// pg_namespace and pg_type changes (hash value 0: every row).
#[pgrx::pg_guard]
unsafe extern "C-unwind" fn syscache_invalidated(_arg: pg_sys::Datum, cacheid: i32, hashvalue: u32) {
    if !SESSION_ACTIVE.get() {
        return;
    }
    // A schema renamed may hold the table or any column's type (whose
    // qualified name is cached): schema DDL is rare, every entry is rebuilt.
    let every_entry = hashvalue == 0 || cacheid == pg_sys::SysCacheIdentifier::NAMESPACEOID as i32;
    QUEUE.with_borrow_mut(|q| {
        if every_entry || q.is_full() {
            q.all = true;
        } else if !q.all && !q.types.contains(&hashvalue) {
            q.types.push(hashvalue);
        }
    });
}

/// The pg_type syscache hash value of a type, as its invalidations name it.
unsafe fn type_hash(type_oid: Oid) -> u32 {
    let zero = pg_sys::Datum::from(0);
    let cache = pg_sys::SysCacheIdentifier::TYPEOID as i32;
    // SAFETY: hashes the key; no catalog access.
    unsafe { pg_sys::GetSysCacheHashValue(cache, pg_sys::Datum::from(type_oid), zero, zero, zero) }
}

type OidMap<V> = IdMap<Oid, V>;

pub struct RelationCache {
    entries: OidMap<Box<CachedRelation>>,
    tables: TableFilter,
    /// Holds fn_extra allocations of the cached output functions.
    memory: pg_sys::MemoryContext,
    /// Entries built so far: the next entry's `RelationMeta::version`.
    builds: u64,
    /// The database's name, looked up at the first build (which runs in a
    /// transaction; the startup callback of a walsender does not).
    database: Option<String>,
    /// Type names are formatted with only pg_catalog on the search path
    /// (the typed formats; the test_decoding format prints as the session).
    pin_search_path: bool,
}

impl RelationCache {
    /// # Safety
    /// `memory` must live as long as the cache (a child of the decoding context).
    pub unsafe fn new(memory: pg_sys::MemoryContext, tables: TableFilter, pin_search_path: bool) -> Self {
        if !CALLBACK_REGISTERED.get() {
            // SAFETY: registering static functions; PostgreSQL keeps them for
            // the backend's life, hence once per process.
            unsafe {
                let zero = pg_sys::Datum::from(0);
                pg_sys::CacheRegisterRelcacheCallback(Some(relcache_invalidated), zero);
                for cache in [
                    pg_sys::SysCacheIdentifier::NAMESPACEOID,
                    pg_sys::SysCacheIdentifier::TYPEOID,
                ] {
                    pg_sys::CacheRegisterSyscacheCallback(cache as i32, Some(syscache_invalidated), zero);
                }
            }
            CALLBACK_REGISTERED.set(true);
        }
        SESSION_ACTIVE.set(true);
        QUEUE.with_borrow_mut(|q| *q = InvalidationQueue::default());
        RelationCache {
            entries: OidMap::default(),
            tables,
            memory,
            builds: 0,
            database: None,
            pin_search_path,
        }
    }

    fn apply_invalidations(&mut self) {
        QUEUE.with_borrow_mut(|q| {
            if q.all {
                self.entries.clear();
            } else {
                for relid in &q.relids {
                    self.entries.remove(relid);
                }
                if !q.types.is_empty() {
                    self.entries
                        .retain(|_, e| !e.type_hashes.iter().any(|t| q.types.contains(t)));
                }
            }
            *q = InvalidationQueue::default();
        });
    }

    /// The cached entry for `relation`, built on first use or after invalidation.
    ///
    /// # Safety
    /// `relation` must be an open relation; must run inside the decoding
    /// transaction (catalog access).
    pub unsafe fn get(&mut self, relation: pg_sys::Relation, text: TextEncoding) -> &CachedRelation {
        self.apply_invalidations();
        // SAFETY: forwarded caller guarantee.
        let (relid, natts) = unsafe { ((*relation).rd_id, (*(*relation).rd_att).natts as usize) };
        // A descriptor of another shape than the entry's means an invalidation
        // we did not see: rebuild rather than misread tuples.
        if self.entries.get(&relid).is_some_and(|e| e.natts != natts) {
            self.entries.remove(&relid);
        }
        let (memory, tables, builds) = (self.memory, &self.tables, &mut self.builds);
        let (database, pin) = (&mut self.database, self.pin_search_path);
        self.entries.entry(relid).or_insert_with(|| {
            *builds += 1;
            // SAFETY: forwarded caller guarantee (inside a transaction).
            let pinned = pin.then(|| unsafe { PinnedSearchPath::apply() });
            // SAFETY: forwarded caller guarantee.
            let mut entry = unsafe { build(relation, memory, text, tables) };
            drop(pinned);
            entry.meta.version = *builds;
            // SAFETY: inside the decoding transaction (caller).
            entry.meta.database = database.get_or_insert_with(|| unsafe { database_name(text) }).clone();
            Box::new(entry)
        })
    }
}

impl Drop for RelationCache {
    fn drop(&mut self) {
        SESSION_ACTIVE.set(false);
        QUEUE.with_borrow_mut(|q| *q = InvalidationQueue::default());
    }
}

/// The current database's name (a syscache lookup: needs a transaction).
unsafe fn database_name(text: TextEncoding) -> String {
    // SAFETY: get_database_name returns a palloc'd copy, or NULL.
    unsafe {
        let name = pg_sys::get_database_name(pg_sys::MyDatabaseId);
        if name.is_null() {
            String::new()
        } else {
            catalog_name(name, text)
        }
    }
}

/// A name from the catalogs, converted to UTF-8 (never raising: see encoding.rs).
unsafe fn catalog_name(name: *const std::ffi::c_char, text: TextEncoding) -> String {
    // SAFETY: `name` is a NUL-terminated catalog string.
    unsafe { text.to_utf8_string(CStr::from_ptr(name).to_bytes()) }
}

/// A name from the catalogs in the output's text encoding (the database's,
/// unconverted, for the test_decoding format).
unsafe fn output_name(name: *const std::ffi::c_char, text: TextEncoding) -> Vec<u8> {
    // SAFETY: `name` is a NUL-terminated catalog string.
    unsafe { text.to_output_bytes(CStr::from_ptr(name).to_bytes()) }
}

/// Attribute numbers in a bitmap from the relcache, which is freed.
unsafe fn bitmap_attnums(bitmap: *mut pg_sys::Bitmapset) -> Vec<i32> {
    let mut attnums = Vec::new();
    let mut member = -1;
    // SAFETY: a palloc'd bitmap (or NULL, the empty set).
    unsafe {
        loop {
            member = pg_sys::bms_next_member(bitmap, member);
            if member < 0 {
                break;
            }
            attnums.push(member + pg_sys::FirstLowInvalidHeapAttributeNumber);
        }
        pg_sys::bms_free(bitmap);
    }
    attnums
}

/// The replica identity key's columns, without locking the index
/// (`RelationGetIdentityKeyBitmap`, which pgoutput uses for that reason;
/// `RelationGetIndexAttrBitmap` opens every index with AccessShareLock).
unsafe fn identity_key_attnums(relation: pg_sys::Relation) -> Vec<i32> {
    // SAFETY: an open relation; the bitmap is a palloc'd copy (or NULL).
    unsafe { bitmap_attnums(pg_sys::RelationGetIdentityKeyBitmap(relation)) }
}

/// The primary key's columns, read from the index's relcache entry without
/// a lock, as `RelationGetIdentityKeyBitmap` reads the identity index.
unsafe fn primary_key_attnums(relation: pg_sys::Relation) -> Vec<i32> {
    // SAFETY: RelationGetPrimaryKeyIndex reads pg_index (catalog locks
    // only); RelationIdGetRelation opens the index's relcache entry without
    // a lock; rd_index is valid for an index and is read before the close.
    unsafe {
        let index_oid = pg_sys::RelationGetPrimaryKeyIndex(relation);
        if index_oid == Oid::INVALID {
            return Vec::new();
        }
        let index = pg_sys::RelationIdGetRelation(index_oid);
        if index.is_null() {
            return Vec::new();
        }
        let form = &*(*index).rd_index;
        let keys = form.indnkeyatts.max(0) as usize;
        let attnums = form
            .indkey
            .values
            .as_slice(keys)
            .iter()
            .map(|a| *a as i32)
            .filter(|a| *a != 0)
            .collect();
        pg_sys::RelationClose(index);
        attnums
    }
}

fn replica_identity(relreplident: std::ffi::c_char) -> ReplicaIdentity {
    match relreplident as u8 {
        b'n' => ReplicaIdentity::Nothing,
        b'f' => ReplicaIdentity::Full,
        b'i' => ReplicaIdentity::Index,
        _ => ReplicaIdentity::Default,
    }
}

/// The type's SQL name in the output's text encoding.
unsafe fn type_name(type_oid: Oid, typmod: i32, with_typmod: bool, text: TextEncoding) -> Vec<u8> {
    // SAFETY: format_type_* return palloc'd C strings.
    unsafe {
        let name = if with_typmod {
            pg_sys::format_type_with_typemod(type_oid, typmod)
        } else {
            pg_sys::format_type_be(type_oid)
        };
        let owned = output_name(name, text);
        pg_sys::pfree(name.cast());
        owned
    }
}

/// Schema, table and the SQL-quoted qualified name. A table being rewritten
/// (only seen with include-rewrites) is named after the table it replaces.
unsafe fn relation_names(relation: pg_sys::Relation, text: TextEncoding) -> (String, String, Vec<u8>) {
    // SAFETY: an open relation; catalog lookups inside the decoding transaction.
    unsafe {
        let class = &*(*relation).rd_rel;
        let namespace = pg_sys::get_namespace_name(class.relnamespace);
        let relname = if class.relrewrite != Oid::INVALID {
            pg_sys::get_rel_name(class.relrewrite)
        } else {
            class.relname.data.as_ptr().cast_mut()
        };
        let schema = if namespace.is_null() {
            String::new()
        } else {
            catalog_name(namespace, text)
        };
        let table = if relname.is_null() {
            String::new()
        } else {
            catalog_name(relname, text)
        };
        let quoted = if namespace.is_null() || relname.is_null() {
            Vec::new()
        } else {
            output_name(pg_sys::quote_qualified_identifier(namespace, relname), text)
        };
        (schema, table, quoted)
    }
}

unsafe fn build(
    relation: pg_sys::Relation,
    memory: pg_sys::MemoryContext,
    text: TextEncoding,
    tables: &TableFilter,
) -> CachedRelation {
    // SAFETY: `relation` is open (caller); rd_rel and rd_att are valid for it,
    // and catalog lookups run inside the decoding transaction.
    unsafe {
        let identity = replica_identity((*(*relation).rd_rel).relreplident);
        let key_attnums = identity_key_attnums(relation);
        let pk_attnums = primary_key_attnums(relation);
        let (schema, table, sql_name) = relation_names(relation, text);
        let desc = (*relation).rd_att;
        let attrs = (*desc).attrs.as_slice((*desc).natts as usize);
        let mut meta = RelationMeta {
            oid: (*relation).rd_id.to_u32(),
            schema,
            table,
            identity,
            columns: Vec::with_capacity(attrs.len()),
            sql_name,
            version: 0,
            database: String::new(),
        };
        let mut attribute_index = Vec::with_capacity(attrs.len());
        let mut conversions = Vec::with_capacity(attrs.len());
        for (index, attr) in attrs.iter().enumerate().filter(|(_, a)| !a.attisdropped) {
            let attnum = attr.attnum as i32;
            let conversion = TypeConversion::lookup(attr.atttypid, memory);
            meta.columns.push(ColumnMeta {
                name: catalog_name(attr.attname.data.as_ptr(), text),
                type_name: String::from_utf8_lossy(&type_name(attr.atttypid, attr.atttypmod, true, text)).into_owned(),
                type_name_no_typmod: type_name(attr.atttypid, -1, false, text),
                type_oid: attr.atttypid.to_u32(),
                sql_name: output_name(pg_sys::quote_identifier(attr.attname.data.as_ptr()), text),
                is_key: identity == ReplicaIdentity::Full || key_attnums.contains(&attnum),
                is_primary_key: pk_attnums.contains(&attnum),
                value_type: conversion.value_type(attr.atttypmod),
                toastable: conversion.toastable(),
            });
            attribute_index.push(index);
            conversions.push(conversion);
        }
        let passes_table_filter = tables.passes(&meta.schema, &meta.table);
        let type_hashes = attrs.iter().map(|a| type_hash(a.atttypid)).collect();
        CachedRelation {
            meta,
            attribute_index,
            calls_output_functions: conversions.iter().any(TypeConversion::calls_output_function),
            conversions,
            passes_table_filter,
            natts: attrs.len(),
            type_hashes,
        }
    }
}

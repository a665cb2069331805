//! wal2any: a PostgreSQL logical decoding output plugin that turns decoded
//! WAL into JSON, Protobuf, Avro or test_decoding's text.
//!
//! Layout: `options`, `filters`, `model`, `pgtime`, `datestyle`, `ondisk`, `idmap` and `encode` are plain Rust with no
//! pgrx imports; `ffi` holds every PostgreSQL pointer access.

pub mod datestyle;
pub mod encode;
pub mod filters;
pub mod idmap;
pub mod model;
pub mod ondisk;
pub mod options;
pub mod pgtime;

mod ffi;

::pgrx::pg_module_magic!();

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec!["wal_level = 'logical'", "max_replication_slots = 10"]
    }
}

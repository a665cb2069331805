//! The FFI layer: every `pg_sys` pointer access lives under this module.
//! The rest of the crate (options, model, encoders) is plain Rust.

mod boundaries;
mod callbacks;
mod canonical;
mod catalog;
mod datum;
mod encoding;
#[cfg(any(test, feature = "pg_test"))]
mod pg_tests;
mod relcache;
mod report;
mod settings;
mod state;
mod subxids;
mod tuple;
mod unguarded;

use crate::options::{self, Options, SqlState};
use encoding::ServerEncoding;
use pgrx::pg_sys;
use pgrx::PgSqlErrorCode;
use std::ffi::CStr;

/// Runs when PostgreSQL loads the library: defines the `wal2any.*` settings.
/// (`pg_guard` exports `_PG_init` unmangled itself.)
#[pgrx::pg_guard]
pub extern "C-unwind" fn _PG_init() {
    settings::register();
}

/// Entry point PostgreSQL looks up when a slot names this library.
///
/// # Safety
/// Called by PostgreSQL with a valid, zeroed callback struct.
#[no_mangle]
#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn _PG_output_plugin_init(cb: *mut pg_sys::OutputPluginCallbacks) {
    // SAFETY: `cb` is valid for writing (caller).
    let cb = unsafe { &mut *cb };
    cb.startup_cb = Some(startup);
    cb.shutdown_cb = Some(shutdown);
    cb.begin_cb = Some(boundaries::begin);
    cb.commit_cb = Some(boundaries::commit);
    cb.change_cb = Some(callbacks::change);
    cb.truncate_cb = Some(callbacks::truncate);
    cb.message_cb = Some(callbacks::message);
    cb.filter_by_origin_cb = Some(boundaries::filter_by_origin);
    // Two-phase: used when the slot was created with two-phase enabled.
    cb.filter_prepare_cb = Some(boundaries::filter_prepare);
    cb.begin_prepare_cb = Some(boundaries::begin_prepare);
    cb.prepare_cb = Some(boundaries::prepare);
    cb.commit_prepared_cb = Some(boundaries::commit_prepared);
    cb.rollback_prepared_cb = Some(boundaries::rollback_prepared);
    // Streaming: used only with stream-changes (see startup).
    cb.stream_start_cb = Some(boundaries::stream_start);
    cb.stream_stop_cb = Some(boundaries::stream_stop);
    cb.stream_abort_cb = Some(boundaries::stream_abort);
    cb.stream_commit_cb = Some(boundaries::stream_commit);
    cb.stream_prepare_cb = Some(boundaries::stream_prepare);
    cb.stream_change_cb = Some(callbacks::change);
    cb.stream_message_cb = Some(callbacks::message);
    cb.stream_truncate_cb = Some(callbacks::truncate);
}

/// (name, value) pairs from `ctx->output_plugin_options`, as sent (in the
/// database encoding); `None` is a bare option.
///
/// # Safety
/// `list` must be NIL or a List of DefElem, as PostgreSQL builds it.
unsafe fn plugin_option_pairs(list: *mut pg_sys::List) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
    if list.is_null() {
        return Vec::new();
    }
    // SAFETY: a List of DefElem whose arg is NULL or a String node.
    unsafe {
        let cells = std::slice::from_raw_parts((*list).elements, (*list).length.max(0) as usize);
        cells
            .iter()
            .map(|cell| {
                let elem = cell.ptr_value as *mut pg_sys::DefElem;
                let name = CStr::from_ptr((*elem).defname).to_bytes().to_vec();
                let arg = (*elem).arg;
                let value = (!arg.is_null()).then(|| {
                    let sval = (*(arg as *mut pg_sys::String)).sval;
                    CStr::from_ptr(sval).to_bytes().to_vec()
                });
                (name, value)
            })
            .collect()
    }
}

/// Option text in UTF-8, as the option table and the filters (which compare
/// with names converted to UTF-8) need it: `table_é` sent to a LATIN1
/// database arrives as LATIN1 bytes.
unsafe fn option_text(encoding: &mut ServerEncoding, bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) if bytes.is_ascii() => text.to_owned(),
        // SAFETY: a decoding callback (a catalog lookup, once).
        _ => unsafe { encoding.text().to_utf8_string(bytes) },
    }
}

/// The parsed options, or the ERROR to raise once everything else is dropped.
unsafe fn parse_options(ctx: *mut pg_sys::LogicalDecodingContext) -> Result<Options, report::Error> {
    // SAFETY: the live decoding context; its long-lived memory context holds
    // the conversion function's allocations.
    unsafe {
        let mut encoding = ServerEncoding::new(false, (*ctx).context);
        let pairs: Vec<(String, Option<String>)> = plugin_option_pairs((*ctx).output_plugin_options)
            .iter()
            .map(|(n, v)| {
                (
                    option_text(&mut encoding, n),
                    v.as_deref().map(|v| option_text(&mut encoding, v)),
                )
            })
            .collect();
        let defaults: Vec<(&str, String)> = settings::defaults()
            .iter()
            .map(|(n, v)| (*n, option_text(&mut encoding, v)))
            .collect();
        let defaults: Vec<(&str, &str)> = defaults.iter().map(|(n, v)| (*n, v.as_str())).collect();
        options::parse_layered(&defaults, pairs.iter().map(|(n, v)| (n.as_str(), v.as_deref()))).map_err(|error| {
            let code = match error.sqlstate {
                SqlState::InvalidParameterValue => PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
                SqlState::ConflictingOptions => PgSqlErrorCode::ERRCODE_SYNTAX_ERROR,
            };
            report::Error {
                sqlstate: code as i32,
                message: encoding.utf8_to_server(&error.message),
                hint: error.hint.map(|h| encoding.utf8_to_server(&h)),
            }
        })
    }
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn startup(
    ctx: *mut pg_sys::LogicalDecodingContext,
    opt: *mut pg_sys::OutputPluginOptions,
    _is_init: bool,
) {
    // SAFETY: PostgreSQL passes its live decoding context and options struct.
    unsafe {
        let options = match parse_options(ctx) {
            Ok(options) => options,
            Err(error) => report::error(error),
        };
        // PostgreSQL enables streaming when the stream callbacks exist; the
        // consumer must ask for it (it has to buffer or discard per xid).
        (*ctx).streaming &= options.stream_changes;
        let profile = state::install(ctx, options);
        (*opt).output_type = if profile.binary {
            pg_sys::OutputPluginOutputType::OUTPUT_PLUGIN_BINARY_OUTPUT
        } else {
            pg_sys::OutputPluginOutputType::OUTPUT_PLUGIN_TEXTUAL_OUTPUT
        };
        (*opt).receive_rewrites = profile.receive_rewrites;
    }
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn shutdown(_ctx: *mut pg_sys::LogicalDecodingContext) {
    // The state is dropped with ctx->context (see state::install), which
    // also covers the ERROR paths where shutdown is never called.
}

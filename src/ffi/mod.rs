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
mod settings;
mod state;
mod tuple;
mod unguarded;

use crate::options::{self, OptionError, SqlState};
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

/// (name, value) pairs from `ctx->output_plugin_options`; `None` is a bare option.
///
/// # Safety
/// `list` must be NIL or a List of DefElem, as PostgreSQL builds it.
unsafe fn plugin_option_pairs(list: *mut pg_sys::List) -> Vec<(String, Option<String>)> {
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
                let name = CStr::from_ptr((*elem).defname).to_string_lossy().into_owned();
                let arg = (*elem).arg;
                let value = if arg.is_null() {
                    None
                } else {
                    let sval = (*(arg as *mut pg_sys::String)).sval;
                    Some(CStr::from_ptr(sval).to_string_lossy().into_owned())
                };
                (name, value)
            })
            .collect()
    }
}

fn report_option_error(error: OptionError) -> ! {
    let code = match error.sqlstate {
        SqlState::InvalidParameterValue => PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        SqlState::ConflictingOptions => PgSqlErrorCode::ERRCODE_SYNTAX_ERROR,
    };
    let mut report = pg_sys::panic::ErrorReport::new(code, error.message, "wal2any startup");
    if let Some(hint) = error.hint {
        report = report.set_hint(hint);
    }
    report.report(pgrx::PgLogLevel::ERROR);
    unreachable!("ERROR does not return")
}

#[pgrx::pg_guard]
unsafe extern "C-unwind" fn startup(
    ctx: *mut pg_sys::LogicalDecodingContext,
    opt: *mut pg_sys::OutputPluginOptions,
    _is_init: bool,
) {
    // SAFETY: PostgreSQL passes its live decoding context and options struct.
    unsafe {
        let pairs = plugin_option_pairs((*ctx).output_plugin_options);
        let defaults = settings::defaults();
        let defaults: Vec<(&str, &str)> = defaults.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let parsed = options::parse_layered(&defaults, pairs.iter().map(|(n, v)| (n.as_str(), v.as_deref())));
        let options = parsed.unwrap_or_else(|e| report_option_error(e));
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

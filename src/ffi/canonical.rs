//! Fixed settings while values are printed: wal2any's typed formats print
//! the same whatever the session set (DateStyle, TimeZone, IntervalStyle,
//! extra_float_digits, bytea_output, search_path); the test_decoding format
//! prints as the session does, as test_decoding does.

use pgrx::pg_sys;

extern "C" {
    /// utils/bytea.h (not in pgrx's bindings): 0 = escape, 1 = hex.
    static mut bytea_output: std::ffi::c_int;
}
const BYTEA_OUTPUT_HEX: std::ffi::c_int = 1;

/// Pins the settings that change types' text output (DateStyle, TimeZone,
/// IntervalStyle, extra_float_digits, bytea_output) to fixed values while a
/// change is converted, so output functions of ranges, composites and
/// geometric types print the same whatever the session set, and restores
/// them on drop (also when an ERROR unwinds through the callback).
pub struct CanonicalOutputSettings {
    date_style: std::ffi::c_int,
    date_order: std::ffi::c_int,
    interval_style: std::ffi::c_int,
    extra_float_digits: std::ffi::c_int,
    bytea_output: std::ffi::c_int,
    timezone: *mut pg_sys::pg_tz,
}

impl CanonicalOutputSettings {
    /// # Safety
    /// Backend-global variables: call from the backend's thread, and keep
    /// the guard for the duration of the conversions only. `utc` may be NULL.
    pub unsafe fn apply(utc: *mut pg_sys::pg_tz) -> Self {
        // SAFETY: plain reads and writes of PostgreSQL's GUC variables; the
        // backend is single-threaded.
        unsafe {
            let saved = CanonicalOutputSettings {
                date_style: pg_sys::DateStyle,
                date_order: pg_sys::DateOrder,
                interval_style: pg_sys::IntervalStyle,
                extra_float_digits: pg_sys::extra_float_digits,
                bytea_output,
                timezone: pg_sys::session_timezone,
            };
            pg_sys::DateStyle = pg_sys::USE_ISO_DATES as i32;
            pg_sys::DateOrder = pg_sys::DATEORDER_YMD as i32;
            pg_sys::IntervalStyle = pg_sys::INTSTYLE_ISO_8601 as i32;
            // 1 = shortest text that reads back as the same float (PostgreSQL 12+).
            pg_sys::extra_float_digits = 1;
            bytea_output = BYTEA_OUTPUT_HEX;
            if !utc.is_null() {
                pg_sys::session_timezone = utc;
            }
            saved
        }
    }
}

impl Drop for CanonicalOutputSettings {
    fn drop(&mut self) {
        // SAFETY: restores the values read in `apply`.
        unsafe {
            pg_sys::DateStyle = self.date_style;
            pg_sys::DateOrder = self.date_order;
            pg_sys::IntervalStyle = self.interval_style;
            pg_sys::extra_float_digits = self.extra_float_digits;
            bytea_output = self.bytea_output;
            pg_sys::session_timezone = self.timezone;
        }
    }
}

/// Only pg_catalog on the search path while held: type names (format_type)
/// and the output of reg* types name everything else with its schema, so
/// they read the same in every session (pg_recvlogical clears search_path,
/// an application sets its own, a hostile one could shadow names).
pub struct PinnedSearchPath;

impl PinnedSearchPath {
    /// # Safety
    /// Inside a transaction, from a callback; the guard must be dropped in
    /// the same (sub)transaction (PopOverrideSearchPath checks it).
    pub unsafe fn apply() -> Self {
        let mut path = pg_sys::OverrideSearchPath {
            schemas: std::ptr::null_mut(),
            addCatalog: true,
            addTemp: false,
            generation: 0,
        };
        // SAFETY: PushOverrideSearchPath copies the struct into TopMemoryContext.
        unsafe { pg_sys::PushOverrideSearchPath(&mut path) };
        PinnedSearchPath
    }
}

impl Drop for PinnedSearchPath {
    fn drop(&mut self) {
        // SAFETY: pops what `apply` pushed, at the same nesting level (also
        // while an ERROR unwinds through the callback).
        unsafe { pg_sys::PopOverrideSearchPath() };
    }
}

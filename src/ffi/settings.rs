//! `wal2any.<option>` settings: a default for every plugin option, for
//! consumers that cannot pass plugin options (postgresql.conf, ALTER ROLE /
//! DATABASE ... SET, PGOPTIONS). Each is validated by the option table when
//! set; plugin options override them.

use crate::options::{self, OPTION_TABLE};
use pgrx::pg_sys;
use std::ffi::{c_char, c_void, CStr, CString};

/// Room for this many options (checked when registering).
const MAX_SETTINGS: usize = 32;

/// The settings' current values, owned by PostgreSQL's GUC machinery.
static mut VALUES: [*mut c_char; MAX_SETTINGS] = [std::ptr::null_mut(); MAX_SETTINGS];

/// Validates the value of setting `index`; on failure hands PostgreSQL the
/// option table's message.
unsafe fn check(index: usize, newval: *mut *mut c_char) -> bool {
    // SAFETY: PostgreSQL passes a pointer to the candidate value (maybe NULL).
    let value = unsafe {
        if (*newval).is_null() {
            c""
        } else {
            CStr::from_ptr(*newval)
        }
    };
    // In the database encoding: what decides validity (booleans, names of
    // formats, numbers, list syntax) is ASCII, so a lossy copy validates as
    // the real text does; startup converts the value properly.
    let text = value.to_string_lossy();
    let result = options::check_setting(OPTION_TABLE[index].name, &text).map_err(|e| e.message);
    match result {
        Ok(()) => true,
        Err(message) => {
            let message = CString::new(message).unwrap_or_default();
            // SAFETY: GUC_check_errdetail_string takes a palloc'd string.
            unsafe { pg_sys::GUC_check_errdetail_string = pg_sys::pstrdup(message.as_ptr()) };
            false
        }
    }
}

macro_rules! check_hooks {
    ($($hook:ident $index:literal),* $(,)?) => {
        $(
            #[pgrx::pg_guard]
            unsafe extern "C-unwind" fn $hook(newval: *mut *mut c_char, _extra: *mut *mut c_void, _source: pg_sys::GucSource::Type) -> bool {
                // SAFETY: PostgreSQL's arguments.
                unsafe { check($index, newval) }
            }
        )*
        const CHECK_HOOKS: [pg_sys::GucStringCheckHook; MAX_SETTINGS] = [$(Some($hook)),*];
    };
}

check_hooks!(
    check_0 0, check_1 1, check_2 2, check_3 3, check_4 4, check_5 5, check_6 6, check_7 7,
    check_8 8, check_9 9, check_10 10, check_11 11, check_12 12, check_13 13, check_14 14, check_15 15,
    check_16 16, check_17 17, check_18 18, check_19 19, check_20 20, check_21 21, check_22 22, check_23 23,
    check_24 24, check_25 25, check_26 26, check_27 27, check_28 28, check_29 29, check_30 30, check_31 31,
);

/// Defines every `wal2any.<option>` setting. Called once, from `_PG_init`.
pub fn register() {
    assert!(OPTION_TABLE.len() <= MAX_SETTINGS, "raise MAX_SETTINGS");
    for (index, spec) in OPTION_TABLE.iter().enumerate() {
        // PostgreSQL keeps the description pointers: they live for the process.
        let name = CString::new(options::setting_name(spec.name)).unwrap();
        let description = CString::new(format!("Default for the wal2any option \"{}\".", spec.name)).unwrap();
        // SAFETY: VALUES[index] is a static slot PostgreSQL writes the value
        // to; the name is copied by PostgreSQL, the description leaked.
        unsafe {
            pg_sys::DefineCustomStringVariable(
                name.as_ptr(),
                description.into_raw(),
                std::ptr::null(),
                std::ptr::addr_of_mut!(VALUES[index]),
                c"".as_ptr(),
                pg_sys::GucContext::PGC_USERSET,
                0,
                CHECK_HOOKS[index],
                None,
                None,
            );
        }
    }
    // SAFETY: reserves the prefix: a misspelt wal2any.* setting is an error.
    unsafe { pg_sys::MarkGUCPrefixReserved(c"wal2any".as_ptr()) };
}

/// The (option, value) pairs of every setting that has a value, the value
/// as stored (database encoding).
pub fn defaults() -> Vec<(&'static str, Vec<u8>)> {
    OPTION_TABLE
        .iter()
        .enumerate()
        .filter_map(|(index, spec)| {
            // SAFETY: the GUC machinery keeps VALUES[index] a valid C string or NULL.
            let raw = unsafe { VALUES[index] };
            if raw.is_null() {
                return None;
            }
            // SAFETY: as above.
            let value = unsafe { CStr::from_ptr(raw) }.to_bytes().to_vec();
            (!value.is_empty()).then_some((spec.name, value))
        })
        .collect()
}

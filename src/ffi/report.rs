//! ERRORs whose text is in the database encoding. pgrx's `ErrorReport`
//! takes Rust strings (UTF-8), but PostgreSQL expects message text in the
//! database encoding and converts it for the client: in a LATIN1 database
//! an option value `é` must be reported as the byte E9, which is not UTF-8.

use std::ffi::{c_char, c_int, CString};

mod c {
    use super::*;

    // elog.h; not in pgrx's bindings (pgrx declares them privately too).
    extern "C-unwind" {
        pub fn errstart(elevel: c_int, domain: *const c_char) -> bool;
        pub fn errcode(sqlerrcode: c_int) -> c_int;
        pub fn errmsg_internal(fmt: *const c_char, ...) -> c_int;
        pub fn errhint(fmt: *const c_char, ...) -> c_int;
        pub fn errfinish(filename: *const c_char, lineno: c_int, funcname: *const c_char);
    }
}

/// An ERROR to raise: SQLSTATE (PostgreSQL's packed form), message and
/// hint in the database encoding.
pub struct Error {
    pub sqlstate: c_int,
    pub message: Vec<u8>,
    pub hint: Option<Vec<u8>>,
}

/// Raises an ERROR with `sqlstate` (PostgreSQL's packed form), `message`
/// and `hint` given as bytes in the database encoding.
///
/// # Safety
/// As pgrx's `ErrorReport::report`, whose sequence this is: the ERROR is a
/// longjmp to PostgreSQL's handler over the Rust frames above, whose
/// destructors do not run (call it with nothing but plain data alive).
pub unsafe fn error(
    Error {
        sqlstate,
        message,
        hint,
    }: Error,
) -> ! {
    // Text from options and settings holds no NUL (PostgreSQL strings cannot).
    let message = CString::new(message).unwrap_or_default();
    let hint = hint.map(|h| CString::new(h).unwrap_or_default());
    // SAFETY: elog.h's ereport sequence; "%s" makes the text a parameter,
    // never a format, and errmsg/errhint copy it before the strings drop.
    unsafe {
        if c::errstart(pgrx::PgLogLevel::ERROR as c_int, std::ptr::null()) {
            c::errcode(sqlstate);
            c::errmsg_internal(c"%s".as_ptr(), message.as_ptr());
            if let Some(hint) = &hint {
                c::errhint(c"%s".as_ptr(), hint.as_ptr());
            }
            drop(message);
            drop(hint);
            c::errfinish(c"wal2any".as_ptr(), 0, c"startup".as_ptr());
        }
    }
    unreachable!("ERROR does not return")
}

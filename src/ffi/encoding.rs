//! Text from the database encoding to UTF-8, which never raises an ERROR.
//!
//! PostgreSQL's `pg_server_to_any` raises one for a character the target
//! encoding lacks (WIN1252's 0x81 has no Unicode equivalent), for invalid
//! UTF-8 in a SQL_ASCII database, and for any conversion outside a
//! transaction. Raised from a change or message callback, that ERROR comes
//! back at every retry: the slot is wedged for good. Here the conversion
//! function runs with `noError` (PostgreSQL 14+), and what it cannot convert
//! is replaced:
//!
//! - a character with no UTF-8 equivalent, or a byte that does not start a
//!   valid character of the database encoding, becomes U+FFFD (one per
//!   character, or per invalid byte);
//! - in SQL_ASCII databases bytes have no declared encoding: valid UTF-8 is
//!   kept, every maximal invalid sequence becomes U+FFFD (Unicode's
//!   recommended practice, as Rust's `from_utf8_lossy` and Python's
//!   `decode(errors="replace")` do).

use super::catalog::with_catalog_access;
use crate::ondisk::RenderedText;
use pgrx::pg_sys;

/// U+FFFD REPLACEMENT CHARACTER in UTF-8.
const REPLACEMENT: &[u8] = "\u{FFFD}".as_bytes();

/// Input converted per call: bounds the output buffer (PostgreSQL's
/// conversions grow text at most 4x, `MAX_CONVERSION_GROWTH`), whatever
/// the value's size.
const CHUNK: usize = 64 << 10;
const MAX_CONVERSION_GROWTH: usize = 4;
/// The longest character of any server encoding (EUC_JIS_2004, UTF8: 4).
const MAX_CHARACTER: usize = 4;

#[derive(Clone, Copy, Debug)]
enum Mode {
    /// A UTF8 database, or text written in the database encoding (the
    /// test_decoding format).
    AsStored,
    SqlAscii,
    /// `function` converts from `encoding` to UTF-8 (NULL: there is none,
    /// every non-ASCII character is replaced).
    Convert {
        encoding: i32,
        function: *const pg_sys::FmgrInfo,
    },
}

/// How text in the database encoding becomes UTF-8; cheap to copy.
#[derive(Clone, Copy, Debug)]
pub struct TextEncoding {
    mode: Mode,
}

impl TextEncoding {
    /// Text kept as it is stored: UTF8 databases, and the test_decoding
    /// format (which writes the database encoding, as test_decoding does).
    pub const AS_STORED: TextEncoding = TextEncoding { mode: Mode::AsStored };

    /// Whether text is used as stored (a UTF8 database: stored forms such as
    /// jsonb's strings are UTF-8 already).
    pub fn is_utf8_as_stored(self) -> bool {
        matches!(self.mode, Mode::AsStored)
    }

    /// `bytes` in UTF-8: borrowed when already UTF-8, else converted into
    /// `rendered` (see the module comment for what is replaced).
    ///
    /// # Safety
    /// As `RenderedText::print`: the result must not outlive the next reset.
    pub unsafe fn to_utf8<'a>(self, bytes: &'a [u8], rendered: &mut RenderedText) -> &'a [u8] {
        let unchanged = match self.mode {
            Mode::AsStored => true,
            // Every server encoding is a superset of ASCII.
            _ if bytes.is_ascii() => true,
            Mode::SqlAscii => std::str::from_utf8(bytes).is_ok(),
            Mode::Convert { .. } => false,
        };
        if unchanged {
            return bytes;
        }
        // SAFETY: forwarded caller guarantee; the closure always accepts.
        unsafe {
            rendered
                .print(|out| {
                    self.convert_into(bytes, out);
                    true
                })
                .unwrap_or_default()
        }
    }

    /// `bytes` in the output's text encoding: as stored for `AS_STORED` (the
    /// test_decoding format writes the database encoding, even what is not
    /// UTF-8), else UTF-8 as `to_utf8_string` makes it.
    ///
    /// # Safety
    /// Backend code (the conversion function is called).
    pub unsafe fn to_output_bytes(self, bytes: &[u8]) -> Vec<u8> {
        match self.mode {
            Mode::AsStored => bytes.to_vec(),
            // SAFETY: forwarded caller guarantee.
            _ => unsafe { self.to_utf8_string(bytes) }.into_bytes(),
        }
    }

    /// `bytes` as an owned UTF-8 string (names from the catalogs).
    ///
    /// # Safety
    /// Backend code (the conversion function is called).
    pub unsafe fn to_utf8_string(self, bytes: &[u8]) -> String {
        let mut out = Vec::with_capacity(bytes.len());
        // SAFETY: forwarded caller guarantee.
        unsafe { self.convert_into(bytes, &mut out) };
        // Only text used as stored can be invalid UTF-8 here.
        match String::from_utf8(out) {
            Ok(text) => text,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        }
    }

    /// Appends `bytes` in UTF-8 to `out`.
    unsafe fn convert_into(self, bytes: &[u8], out: &mut Vec<u8>) {
        match self.mode {
            Mode::AsStored => out.extend_from_slice(bytes),
            Mode::SqlAscii => out.extend_from_slice(String::from_utf8_lossy(bytes).as_bytes()),
            Mode::Convert { encoding, function } if function.is_null() => {
                replace_non_ascii(encoding, bytes, out, REPLACEMENT)
            }
            // SAFETY: a conversion function looked up for `encoding`.
            Mode::Convert { encoding, function } => unsafe {
                let direction = Direction {
                    from: encoding,
                    to: pg_sys::pg_enc::PG_UTF8 as i32,
                    replacement: REPLACEMENT,
                };
                convert_chunks(direction, function, bytes, out)
            },
        }
    }
}

/// Length of the valid character of `encoding` at the start of `bytes`
/// (1 for an invalid byte, so a replacement always moves on).
fn character_length(encoding: i32, bytes: &[u8]) -> usize {
    let available = bytes.len().min(i32::MAX as usize) as i32;
    // SAFETY: pg_encoding_verifymbchar reads at most `available` bytes and
    // reports -1 for an invalid or incomplete character; it never raises.
    let len = unsafe { pg_sys::pg_encoding_verifymbchar(encoding, bytes.as_ptr().cast(), available) };
    if len > 0 {
        len as usize
    } else {
        1
    }
}

/// Without a conversion function: ASCII kept, every other character replaced.
fn replace_non_ascii(encoding: i32, bytes: &[u8], out: &mut Vec<u8>, replacement: &[u8]) {
    let mut pos = 0;
    while pos < bytes.len() {
        if bytes[pos].is_ascii() {
            out.push(bytes[pos]);
            pos += 1;
        } else {
            out.extend_from_slice(replacement);
            pos += character_length(encoding, &bytes[pos..]);
        }
    }
}

/// A conversion's encodings, and what replaces a character it cannot convert.
#[derive(Clone, Copy)]
struct Direction {
    from: i32,
    to: i32,
    replacement: &'static [u8],
}

/// Runs the conversion function over `bytes` in chunks, with `noError`:
/// it converts up to the first character it cannot and says how far it
/// got; that character is replaced and conversion resumes after it.
unsafe fn convert_chunks(direction: Direction, function: *const pg_sys::FmgrInfo, bytes: &[u8], out: &mut Vec<u8>) {
    let mut pos = 0;
    while pos < bytes.len() {
        let end = bytes.len().min(pos + CHUNK);
        // SAFETY: forwarded caller guarantee.
        let converted = unsafe { convert_chunk(direction, function, &bytes[pos..end], out) };
        pos += converted;
        if pos == end {
            continue;
        }
        // Stopped early: a character cut by the chunk's end is converted
        // with the next chunk; anything else cannot be converted.
        let cut_by_chunk = end < bytes.len() && end - pos < MAX_CHARACTER;
        if !cut_by_chunk {
            out.extend_from_slice(direction.replacement);
            pos += character_length(direction.from, &bytes[pos..]);
        }
    }
}

/// Converts one chunk (at most `CHUNK` bytes), appending what it produced;
/// returns how many input bytes it converted.
unsafe fn convert_chunk(
    direction: Direction,
    function: *const pg_sys::FmgrInfo,
    chunk: &[u8],
    out: &mut Vec<u8>,
) -> usize {
    let start = out.len();
    out.reserve(chunk.len() * MAX_CONVERSION_GROWTH + 1);
    // SAFETY: the conversion function's contract (mbutils.c): it reads `len`
    // bytes of `src` and writes at most len * MAX_CONVERSION_GROWTH bytes and
    // a NUL to `dest`, which has that room; with noError it returns the
    // number of bytes converted instead of raising. Both lengths are below
    // CHUNK * 4, far inside c_int.
    unsafe {
        let dest = out.as_mut_ptr().add(start);
        let result = pg_sys::FunctionCall6Coll(
            function as *mut pg_sys::FmgrInfo,
            pg_sys::InvalidOid,
            pg_sys::Datum::from(direction.from),
            pg_sys::Datum::from(direction.to),
            pg_sys::Datum::from(chunk.as_ptr()),
            pg_sys::Datum::from(dest),
            pg_sys::Datum::from(chunk.len() as i32),
            pg_sys::Datum::from(true),
        );
        let written = std::ffi::CStr::from_ptr(dest.cast()).to_bytes().len();
        out.set_len(start + written);
        (result.value() as i32).clamp(0, chunk.len() as i32) as usize
    }
}

/// The database's encoding and, once looked up, its conversion to UTF-8.
pub struct ServerEncoding {
    encoding: i32,
    as_stored: bool,
    /// Looked up at the first conversion (a catalog lookup).
    function: Option<Box<pg_sys::FmgrInfo>>,
    looked_up: bool,
    /// Long-lived memory for the function's `fn_extra`.
    memory: pg_sys::MemoryContext,
}

impl ServerEncoding {
    /// `as_stored`: the format writes the database encoding itself.
    ///
    /// # Safety
    /// `memory` must outlive the value (a child of the decoding context).
    pub unsafe fn new(as_stored: bool, memory: pg_sys::MemoryContext) -> Self {
        ServerEncoding {
            // SAFETY: reads a backend global; no catalog access.
            encoding: unsafe { pg_sys::GetDatabaseEncoding() },
            as_stored,
            function: None,
            looked_up: false,
            memory,
        }
    }

    /// How to convert text now (looks the conversion function up once).
    ///
    /// # Safety
    /// From a decoding callback (see `with_catalog_access`).
    pub unsafe fn text(&mut self) -> TextEncoding {
        let mode = match self.encoding {
            _ if self.as_stored => Mode::AsStored,
            e if e == pg_sys::pg_enc::PG_UTF8 as i32 => Mode::AsStored,
            e if e == pg_sys::pg_enc::PG_SQL_ASCII as i32 => Mode::SqlAscii,
            encoding => {
                if !self.looked_up {
                    // SAFETY: forwarded caller guarantee.
                    self.function = unsafe { self.lookup() };
                    self.looked_up = true;
                }
                let function = self.function.as_deref().map_or(std::ptr::null(), |f| f as *const _);
                Mode::Convert { encoding, function }
            }
        };
        TextEncoding { mode }
    }

    /// UTF-8 text (wal2any's own messages) in the database encoding, for
    /// an ereport: what the database encoding lacks becomes `?`.
    ///
    /// # Safety
    /// Backend code, from a callback (a catalog lookup).
    pub unsafe fn utf8_to_server(&self, text: &str) -> Vec<u8> {
        let server = self.encoding;
        let utf8 = pg_sys::pg_enc::PG_UTF8 as i32;
        if text.is_ascii() || server == utf8 || server == pg_sys::pg_enc::PG_SQL_ASCII as i32 {
            return text.as_bytes().to_vec();
        }
        let mut out = Vec::with_capacity(text.len());
        // SAFETY: forwarded caller guarantee.
        match unsafe { lookup(utf8, server, self.memory) } {
            Some(function) => {
                let direction = Direction {
                    from: utf8,
                    to: server,
                    replacement: b"?",
                };
                // SAFETY: a conversion function from UTF-8 to `server`.
                unsafe { convert_chunks(direction, function.as_ref(), text.as_bytes(), &mut out) }
            }
            None => replace_non_ascii(utf8, text.as_bytes(), &mut out, b"?"),
        }
        out
    }

    unsafe fn lookup(&self) -> Option<Box<pg_sys::FmgrInfo>> {
        // SAFETY: forwarded caller guarantee.
        unsafe { lookup(self.encoding, pg_sys::pg_enc::PG_UTF8 as i32, self.memory) }
    }
}

/// The default conversion function between two encodings, set up for calls
/// (its allocations in the long-lived `memory`), or None.
///
/// # Safety
/// Backend code, from a callback.
unsafe fn lookup(from: i32, to: i32, memory: pg_sys::MemoryContext) -> Option<Box<pg_sys::FmgrInfo>> {
    // SAFETY: catalog lookups inside with_catalog_access; fmgr_info_cxt
    // fills the boxed FmgrInfo.
    unsafe {
        with_catalog_access(|| {
            let proc = pg_sys::FindDefaultConversionProc(from, to);
            if proc == pg_sys::InvalidOid {
                return None;
            }
            let mut function: Box<pg_sys::FmgrInfo> = Box::new(std::mem::zeroed());
            pg_sys::fmgr_info_cxt(proc, function.as_mut(), memory);
            Some(function)
        })
    }
}

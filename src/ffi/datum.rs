//! Datum to `Value` conversion. The per-type facts (which conversion, output
//! function, storage) are looked up once per relation column by
//! `TypeConversion::lookup` and kept in the relation cache, so converting a
//! value never touches the syscache.

use super::encoding::TextEncoding;
use crate::datestyle;
use crate::model::{ArrayValue, Value, ValueType};
use crate::ondisk::{jsonb, numeric::Numeric, RenderedText};
use crate::pgtime::{self, DateTimeParts};
use pgrx::pg_sys::{self, Datum, Oid};
use std::ffi::CStr;

/// How a value of a type becomes a `Value`. Domains are resolved to their
/// base type before this is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    Int2,
    Int4,
    Int8,
    Oid,
    Float4,
    Float8,
    Numeric,
    Text,
    Name,
    Bytea,
    Json,
    Jsonb,
    Uuid,
    Date,
    Time,
    TimeTz,
    Timestamp,
    TimestampTz,
    Interval,
    Array,
    /// Everything else: the type's output function.
    Other,
}

fn kind_of(base_type: Oid) -> Kind {
    match base_type {
        pg_sys::BOOLOID => Kind::Bool,
        pg_sys::INT2OID => Kind::Int2,
        pg_sys::INT4OID => Kind::Int4,
        pg_sys::INT8OID => Kind::Int8,
        pg_sys::OIDOID => Kind::Oid,
        pg_sys::FLOAT4OID => Kind::Float4,
        pg_sys::FLOAT8OID => Kind::Float8,
        pg_sys::NUMERICOID => Kind::Numeric,
        pg_sys::TEXTOID | pg_sys::VARCHAROID | pg_sys::BPCHAROID => Kind::Text,
        pg_sys::NAMEOID => Kind::Name,
        pg_sys::BYTEAOID => Kind::Bytea,
        pg_sys::JSONOID => Kind::Json,
        pg_sys::JSONBOID => Kind::Jsonb,
        pg_sys::UUIDOID => Kind::Uuid,
        pg_sys::DATEOID => Kind::Date,
        pg_sys::TIMEOID => Kind::Time,
        pg_sys::TIMETZOID => Kind::TimeTz,
        pg_sys::TIMESTAMPOID => Kind::Timestamp,
        pg_sys::TIMESTAMPTZOID => Kind::TimestampTz,
        pg_sys::INTERVALOID => Kind::Interval,
        _ => Kind::Other,
    }
}

/// numeric(p,s)'s precision and scale from the type modifier (PostgreSQL's
/// numeric.c layout: ((p << 16) | (s & 0x7ff)) + VARHDRSZ, s signed in 11 bits).
fn numeric_precision_scale(typmod: i32) -> Option<(u16, i16)> {
    const VARHDRSZ: i32 = 4;
    if typmod < VARHDRSZ {
        return None;
    }
    let packed = typmod - VARHDRSZ;
    let precision = (packed >> 16) & 0xffff;
    let scale = ((packed & 0x7ff) ^ 1024) - 1024;
    Some((precision as u16, scale as i16))
}

/// Storage facts of an array's element type.
#[derive(Debug)]
struct ElementStorage {
    type_oid: Oid,
    len: i16,
    by_value: bool,
    align: std::ffi::c_char,
}

/// Everything needed to turn a Datum of one column type into a `Value`.
pub struct TypeConversion {
    kind: Kind,
    /// -1 for varlena types: only those can be unchanged TOAST values.
    type_len: i16,
    /// Output function of the base type, for `Kind::Other` (and numeric and
    /// jsonb values that `ondisk` does not print itself).
    output: Box<pg_sys::FmgrInfo>,
    element: Option<(ElementStorage, Box<TypeConversion>)>,
}

impl TypeConversion {
    /// Looks up how to convert values of `type_oid` (any type, domains included).
    ///
    /// # Safety
    /// Must run inside a transaction (syscache access); `cache_context` must
    /// outlive the returned value (it holds `fn_extra` allocations).
    pub unsafe fn lookup(type_oid: Oid, cache_context: pg_sys::MemoryContext) -> TypeConversion {
        // SAFETY: syscache lookups in a transaction, as the caller guarantees.
        unsafe {
            let base = pg_sys::getBaseType(type_oid);
            let element_type = pg_sys::get_element_type(base);
            let mut output_fn = Oid::INVALID;
            let mut is_varlena = false;
            pg_sys::getTypeOutputInfo(base, &mut output_fn, &mut is_varlena);
            let mut output: Box<pg_sys::FmgrInfo> = Box::new(std::mem::zeroed());
            pg_sys::fmgr_info_cxt(output_fn, output.as_mut(), cache_context);
            let type_len = pg_sys::get_typlen(base);
            let element = (element_type != Oid::INVALID).then(|| {
                let mut storage = ElementStorage {
                    type_oid: element_type,
                    len: 0,
                    by_value: false,
                    align: 0,
                };
                pg_sys::get_typlenbyvalalign(
                    element_type,
                    &mut storage.len,
                    &mut storage.by_value,
                    &mut storage.align,
                );
                (storage, Box::new(TypeConversion::lookup(element_type, cache_context)))
            });
            let kind = if element.is_some() { Kind::Array } else { kind_of(base) };
            TypeConversion {
                kind,
                type_len,
                output,
                element,
            }
        }
    }

    /// What the values will be; `typmod` gives numeric's precision and scale.
    pub fn value_type(&self, typmod: i32) -> ValueType {
        match self.kind {
            Kind::Bool => ValueType::Bool,
            Kind::Int2 | Kind::Int4 => ValueType::Int32,
            Kind::Int8 => ValueType::Int64,
            Kind::Oid => ValueType::Oid,
            Kind::Float4 => ValueType::Float4,
            Kind::Float8 => ValueType::Float8,
            Kind::Numeric => ValueType::Numeric {
                precision_scale: numeric_precision_scale(typmod),
            },
            Kind::Text | Kind::Name => ValueType::Text,
            Kind::Bytea => ValueType::Bytea,
            Kind::Json | Kind::Jsonb => ValueType::Json,
            Kind::Uuid => ValueType::Uuid,
            Kind::Date => ValueType::Date,
            Kind::Time => ValueType::Time,
            Kind::TimeTz => ValueType::TimeTz,
            Kind::Timestamp => ValueType::Timestamp,
            Kind::TimestampTz => ValueType::TimestampTz,
            Kind::Interval => ValueType::Interval,
            Kind::Array => match &self.element {
                Some((_, element)) => ValueType::Array(Box::new(element.value_type(typmod))),
                None => ValueType::Other,
            },
            Kind::Other => ValueType::Other,
        }
    }

    /// Whether converting a value runs the type's output function, whose
    /// text may depend on search_path (reg* types, composites of them).
    pub fn calls_output_function(&self) -> bool {
        match (&self.kind, &self.element) {
            (Kind::Other, _) | (Kind::Array, None) => true,
            (_, Some((_, element))) => element.calls_output_function(),
            _ => false,
        }
    }

    /// Whether values can be unchanged TOAST (variable-length types).
    pub fn toastable(&self) -> bool {
        self.type_len == -1
    }

    /// Converts one non-null Datum. Never detoasts an unchanged (on-disk)
    /// TOAST pointer: it becomes `Value::UnchangedToast`.
    ///
    /// # Safety
    /// `datum` must be a valid non-null value of the looked-up type; memory
    /// the result borrows is allocated in the current memory context or in
    /// `rendered`, which must outlive `'a` (stay current / not be reset).
    pub unsafe fn convert<'a>(&self, datum: Datum, text: TextEncoding, rendered: &mut RenderedText) -> Value<'a> {
        // SAFETY: the caller guarantees `datum` is a valid value of this type.
        unsafe {
            if self.type_len == -1 && is_unchanged_toast(datum) {
                return Value::UnchangedToast;
            }
            match self.kind {
                Kind::Bool => Value::Bool(datum.value() != 0),
                Kind::Int2 => Value::Int(datum.value() as i16 as i64),
                Kind::Int4 => Value::Int(datum.value() as i32 as i64),
                Kind::Int8 => Value::BigInt(datum.value() as i64),
                Kind::Oid => Value::Int(datum.value() as u32 as i64),
                Kind::Float4 => Value::Float4(f32::from_bits(datum.value() as u32)),
                Kind::Float8 => Value::Float8(f64::from_bits(datum.value() as u64)),
                Kind::Numeric => Value::Numeric(self.numeric_text(datum, text, rendered)),
                Kind::Text => Value::Text(text.to_utf8(varlena_bytes(datum), rendered)),
                Kind::Name => Value::Text(text.to_utf8(CStr::from_ptr(datum.cast_mut_ptr()).to_bytes(), rendered)),
                Kind::Bytea => Value::Bytea(varlena_bytes(datum)),
                Kind::Json => Value::Json(text.to_utf8(varlena_bytes(datum), rendered)),
                Kind::Jsonb => self.jsonb_value(datum, text, rendered),
                Kind::Uuid => Value::Uuid(*(datum.cast_mut_ptr::<[u8; 16]>())),
                Kind::Date => Value::Date(datum.value() as i32),
                Kind::Time => Value::Time(datum.value() as i64),
                Kind::TimeTz => {
                    let t = &*datum.cast_mut_ptr::<pg_sys::TimeTzADT>();
                    Value::TimeTz(t.time, t.zone)
                }
                Kind::Timestamp => Value::Timestamp(datum.value() as i64),
                Kind::TimestampTz => Value::TimestampTz(datum.value() as i64),
                Kind::Interval => {
                    let i = &*datum.cast_mut_ptr::<pg_sys::Interval>();
                    Value::Interval {
                        micros: i.time,
                        days: i.day,
                        months: i.month,
                    }
                }
                Kind::Array => self.convert_array(datum, text, rendered),
                Kind::Other => Value::Other(self.output_text(datum, text, rendered)),
            }
        }
    }

    /// The value as the type's output function prints it under the
    /// session's settings (the test_decoding format), in the database
    /// encoding; an on-disk TOAST pointer is still never detoasted. Types
    /// whose output no setting changes are printed here, without the
    /// output function (one function-manager call and palloc per value).
    ///
    /// # Safety
    /// As `convert`.
    pub unsafe fn convert_as_text<'a>(&self, datum: Datum, rendered: &mut RenderedText) -> Value<'a> {
        // SAFETY: forwarded caller guarantees; printed text lives in a
        // buffer of `rendered`, untouched until its reset.
        unsafe {
            if self.type_len == -1 && is_unchanged_toast(datum) {
                return Value::UnchangedToast;
            }
            let text: Option<&'a [u8]> = match self.kind {
                Kind::Bool => Some(if datum.value() != 0 { b"t" } else { b"f" }),
                Kind::Int2 | Kind::Int4 | Kind::Int8 | Kind::Oid => {
                    match self.convert(datum, TextEncoding::AS_STORED, rendered) {
                        Value::Int(number) | Value::BigInt(number) => rendered.print(|b| {
                            b.extend_from_slice(itoa::Buffer::new().format(number).as_bytes());
                            true
                        }),
                        _ => None,
                    }
                }
                Kind::Text | Kind::Json => Some(varlena_bytes(datum)),
                Kind::Name => Some(CStr::from_ptr(datum.cast_mut_ptr()).to_bytes()),
                Kind::Numeric => Some(self.numeric_text(datum, TextEncoding::AS_STORED, rendered).as_bytes()),
                Kind::Jsonb => {
                    let stored = varlena_bytes(datum);
                    rendered.print(|b| jsonb::write(stored, b, jsonb::Style::JsonbOut).is_some())
                }
                Kind::Uuid => rendered.print(|b| {
                    crate::encode::json::push_uuid(b, &*datum.cast_mut_ptr::<[u8; 16]>());
                    true
                }),
                Kind::Date | Kind::Timestamp | Kind::TimestampTz
                    if pg_sys::DateStyle == pg_sys::USE_ISO_DATES as i32 =>
                {
                    rendered.print(|b| self.iso_datestyle_text(datum, b))
                }
                _ => None,
            };
            Value::Other(text.unwrap_or_else(|| self.output_text(datum, TextEncoding::AS_STORED, rendered)))
        }
    }

    /// date, timestamp or timestamptz as its output function prints it with
    /// DateStyle ISO (the caller checks the setting); false if the value is
    /// out of range (the output function then reports it).
    ///
    /// # Safety
    /// `datum` must be a value of this (date/time) kind.
    unsafe fn iso_datestyle_text(&self, datum: Datum, out: &mut Vec<u8>) -> bool {
        let micros = datum.value() as i64;
        match self.kind {
            Kind::Date => datestyle::push_date(out, datum.value() as i32),
            _ if pgtime::push_infinite_timestamp(out, micros) => {}
            Kind::Timestamp => match DateTimeParts::from_timestamp(micros) {
                Some(parts) => datestyle::push_timestamp(out, &parts, None),
                None => return false,
            },
            Kind::TimestampTz => {
                // The session time zone's arithmetic is PostgreSQL's, as in timestamptz_out.
                let mut tm = pg_sys::pg_tm::default();
                let (mut fraction, mut zone_west) = (0, 0);
                let mut zone_name: *const std::ffi::c_char = std::ptr::null();
                // SAFETY: timestamp2tm fills the out-parameters; NULL is the session zone.
                let failed = unsafe {
                    pg_sys::timestamp2tm(
                        micros,
                        &mut zone_west,
                        &mut tm,
                        &mut fraction,
                        &mut zone_name,
                        std::ptr::null_mut(),
                    )
                } != 0;
                if failed {
                    return false;
                }
                let parts = DateTimeParts {
                    year: tm.tm_year.into(),
                    month: tm.tm_mon as u32,
                    day: tm.tm_mday as u32,
                    hour: tm.tm_hour as u32,
                    minute: tm.tm_min as u32,
                    second: tm.tm_sec as u32,
                    micros: fraction as u32,
                };
                datestyle::push_timestamp(out, &parts, Some(zone_west));
            }
            _ => return false,
        }
        true
    }

    /// The type's text output, in UTF-8.
    unsafe fn output_text<'a>(&self, datum: Datum, text: TextEncoding, rendered: &mut RenderedText) -> &'a [u8] {
        // SAFETY: `output` was set up by fmgr_info_cxt for this type; the
        // result is a palloc'd C string in the current memory context.
        unsafe {
            let fmgr = self.output.as_ref() as *const pg_sys::FmgrInfo as *mut pg_sys::FmgrInfo;
            let cstr = pg_sys::OutputFunctionCall(fmgr, datum);
            text.to_utf8(CStr::from_ptr(cstr).to_bytes(), rendered)
        }
    }

    /// numeric_out's text, printed from the stored digits (numeric_out
    /// itself only for a value `ondisk` does not recognise).
    ///
    /// # Safety
    /// As `convert`.
    unsafe fn numeric_text<'a>(&self, datum: Datum, text: TextEncoding, rendered: &mut RenderedText) -> &'a str {
        // SAFETY: a numeric varlena (caller); the printed text is ASCII and
        // lives in a buffer of `rendered`, untouched until its reset.
        unsafe {
            let printed = Numeric::parse(varlena_bytes(datum)).and_then(|numeric| {
                rendered.print(|b| {
                    numeric.write_text(b);
                    true
                })
            });
            std::str::from_utf8_unchecked(printed.unwrap_or_else(|| self.output_text(datum, text, rendered)))
        }
    }

    /// The document as compact JSON, printed from jsonb's stored form in
    /// UTF-8 databases (elsewhere, and for anything `ondisk` refuses,
    /// jsonb_out's text, converted).
    ///
    /// # Safety
    /// As `convert`.
    unsafe fn jsonb_value<'a>(&self, datum: Datum, text: TextEncoding, rendered: &mut RenderedText) -> Value<'a> {
        // SAFETY: a jsonb varlena (caller); the printed text lives in a
        // buffer of `rendered`, untouched until its reset.
        unsafe {
            let printed = if text.is_utf8_as_stored() {
                rendered.print(|b| jsonb::write_compact(varlena_bytes(datum), b).is_some())
            } else {
                None
            };
            match printed {
                Some(json) => Value::CompactJson(json),
                None => Value::Json(self.output_text(datum, text, rendered)),
            }
        }
    }

    unsafe fn convert_array<'a>(&self, datum: Datum, text: TextEncoding, rendered: &mut RenderedText) -> Value<'a> {
        let Some((storage, element)) = &self.element else {
            // SAFETY: forwarded caller guarantee.
            return Value::Other(unsafe { self.output_text(datum, text, rendered) });
        };
        // SAFETY: a valid array value; pg_detoast_datum returns an aligned,
        // untoasted copy (or the value itself) in the current context, and
        // deconstruct_array reads it with the element type's own storage facts.
        unsafe {
            let array = pg_sys::pg_detoast_datum(datum.cast_mut_ptr()) as *mut pg_sys::ArrayType;
            let ndim = (*array).ndim.max(0) as usize;
            let dims_ptr = (array as *const u8).add(std::mem::size_of::<pg_sys::ArrayType>()) as *const i32;
            let dims = std::slice::from_raw_parts(dims_ptr, ndim)
                .iter()
                .map(|d| *d as usize)
                .collect();
            let mut values: *mut Datum = std::ptr::null_mut();
            let mut nulls: *mut bool = std::ptr::null_mut();
            let mut count = 0;
            pg_sys::deconstruct_array(
                array,
                storage.type_oid,
                storage.len.into(),
                storage.by_value,
                storage.align,
                &mut values,
                &mut nulls,
                &mut count,
            );
            let count = count.max(0) as usize;
            let (values, nulls) = if count == 0 {
                (&[][..], &[][..])
            } else {
                (
                    std::slice::from_raw_parts(values, count),
                    std::slice::from_raw_parts(nulls, count),
                )
            };
            let elements = values
                .iter()
                .zip(nulls)
                .map(|(v, null)| {
                    if *null {
                        Value::Null
                    } else {
                        element.convert(*v, text, rendered)
                    }
                })
                .collect();
            Value::Array(Box::new(ArrayValue { dims, elements }))
        }
    }
}

/// Whether a varlena Datum is an on-disk TOAST pointer: a value the UPDATE
/// did not change, whose data is not in the WAL record.
///
/// # Safety
/// `datum` must point to a varlena.
unsafe fn is_unchanged_toast(datum: Datum) -> bool {
    // SAFETY: reading the varlena header of a valid varlena.
    unsafe {
        let ptr = datum.cast_mut_ptr::<pg_sys::varlena>();
        pgrx::varatt_is_1b_e(ptr) && pgrx::vartag_external(ptr) == pg_sys::vartag_external::VARTAG_ONDISK as u8
    }
}

/// The bytes of a varlena, detoasting in-memory (indirect, compressed) forms.
///
/// # Safety
/// `datum` must be a varlena that is not an on-disk TOAST pointer.
pub(super) unsafe fn varlena_bytes<'a>(datum: Datum) -> &'a [u8] {
    // SAFETY: pg_detoast_datum_packed returns the value itself or a palloc'd
    // copy in the current memory context. Plain inline values (almost all)
    // are read in place, as pg_detoast_datum_packed would return them,
    // without its guarded call.
    unsafe {
        let mut ptr = datum.cast_mut_ptr::<pg_sys::varlena>();
        // A value the reorder buffer reassembled from TOAST chunks is an
        // in-memory (indirect) pointer to it: read it there rather than let
        // the detoast copy it (a 500 MB value would be held twice).
        if pgrx::varatt_is_1b_e(ptr) && pgrx::vartag_external(ptr) == pg_sys::vartag_external::VARTAG_INDIRECT as u8 {
            // VARDATA_EXTERNAL: after the 1-byte header and the tag byte.
            let indirect = (ptr as *const u8).add(2) as *const pg_sys::varatt_indirect;
            ptr = std::ptr::read_unaligned(indirect).pointer;
        }
        let inline = if pgrx::varatt_is_1b(ptr) {
            !pgrx::varatt_is_1b_e(ptr)
        } else {
            !pgrx::varatt_is_4b_c(ptr)
        };
        let v = if inline {
            ptr
        } else {
            pg_sys::pg_detoast_datum_packed(ptr)
        };
        std::slice::from_raw_parts(pgrx::vardata_any(v) as *const u8, pgrx::varsize_any_exhdr(v))
    }
}

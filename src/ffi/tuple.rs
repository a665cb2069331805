//! Reading decoded tuples into `Value`s.

use super::encoding::TextEncoding;
use super::relcache::CachedRelation;
use crate::model::Value;
use crate::ondisk::RenderedText;
use pgrx::pg_sys;

/// Reused per-tuple scratch space: for `heap_deform_tuple`, and for the
/// text of values printed from their stored form.
pub struct DeformBuffers<'b> {
    pub datums: &'b mut Vec<pg_sys::Datum>,
    pub nulls: &'b mut Vec<bool>,
    pub rendered: &'b mut RenderedText,
}

/// Fills `values` (one per live column of `relation`) from `tuple`.
///
/// # Safety
/// `tuple` must be a tuple of `desc`, which must be the descriptor the cache
/// entry was built from; values borrow memory of the current memory
/// context and `buffers.rendered`, which must outlive `'a`.
pub unsafe fn read_tuple<'a>(
    relation: &CachedRelation,
    desc: pg_sys::TupleDesc,
    tuple: *mut pg_sys::HeapTupleData,
    buffers: DeformBuffers,
    text: TextEncoding,
    as_text: bool,
    values: &mut Vec<Value<'a>>,
) {
    // SAFETY: heap_deform_tuple writes natts entries into buffers of that size.
    unsafe {
        let natts = (*desc).natts as usize;
        buffers.datums.resize(natts, pg_sys::Datum::from(0));
        buffers.nulls.resize(natts, true);
        super::unguarded::heap_deform_tuple(tuple, desc, buffers.datums.as_mut_ptr(), buffers.nulls.as_mut_ptr());
        // Rows written before an ALTER TABLE ADD COLUMN ... DEFAULT lack the
        // column; heap_deform_tuple says NULL, the real value is the stored default.
        let tuple_natts = ((*(*tuple).t_data).t_infomask2 as u32 & pg_sys::HEAP_NATTS_MASK) as usize;
        for index in tuple_natts..natts {
            let mut is_null = true;
            buffers.datums[index] = pg_sys::getmissingattr(desc, index as i32 + 1, &mut is_null);
            buffers.nulls[index] = is_null;
        }
        values.clear();
        for (index, conversion) in relation.attribute_index.iter().zip(&relation.conversions) {
            let datum = buffers.datums[*index];
            let value = if buffers.nulls[*index] {
                Value::Null
            } else if as_text {
                conversion.convert_as_text(datum, buffers.rendered)
            } else {
                conversion.convert(datum, text, buffers.rendered)
            };
            values.push(value);
        }
    }
}

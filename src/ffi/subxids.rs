//! The subtransaction of a streamed transactional message. PostgreSQL
//! passes the message callback the toplevel transaction only, while
//! `stream_abort` names the subtransaction whose changes to discard: the
//! message is found among the changes the reorder buffer holds for the
//! stream block, by LSN (one record, one LSN).
//!
//! A transaction spilled to disk is read back in batches: before the last
//! in-memory change of a batch is handed to its callback, PostgreSQL takes
//! it off the list and loads the next batch (`ReorderBufferIterTXNNext`).
//! So the lists of a spilled transaction are indexed whenever one of its
//! changes shows a new batch, while the batch's messages are still listed.

use super::state::DecodingState;
use pgrx::pg_sys::{self, ReorderBufferChangeType as ChangeType, ReorderBufferTXN as Txn};

/// The `ReorderBufferTXN`s of a dlist linked through their `node` field
/// (a transaction's subtransactions).
unsafe fn txn_list(head: *mut pg_sys::dlist_head) -> impl Iterator<Item = *mut Txn> {
    // SAFETY: forwarded to `dlist_entries`.
    unsafe { dlist_entries(head, std::mem::offset_of!(Txn, node)) }
}

/// The elements of a PostgreSQL dlist whose link sits at `offset` in them.
///
/// # Safety
/// `head` must be an initialised dlist of such elements, unchanged while
/// the iterator is used.
unsafe fn dlist_entries<T>(head: *mut pg_sys::dlist_head, offset: usize) -> impl Iterator<Item = *mut T> {
    // SAFETY: an initialised list is circular through `head`; an element
    // starts `offset` bytes before its link (PostgreSQL's dlist_container).
    let sentinel = unsafe { std::ptr::addr_of_mut!((*head).head) };
    let mut node = unsafe { (*sentinel).next };
    std::iter::from_fn(move || {
        if node.is_null() || node == sentinel {
            return None;
        }
        let element = unsafe { (node as *mut u8).sub(offset) as *mut T };
        node = unsafe { (*node).next };
        Some(element)
    })
}

/// Records the subtransaction (`subxid`, 0 for the toplevel one) of every
/// logical message in `owner`'s in-memory list of changes, by LSN.
unsafe fn index_list(state: &mut DecodingState, owner: *mut Txn, subxid: u32) {
    let change_link = std::mem::offset_of!(pg_sys::ReorderBufferChange, node);
    // SAFETY: a list of the transaction being streamed; nothing changes it
    // during the callback.
    unsafe {
        for change in dlist_entries::<pg_sys::ReorderBufferChange>(&mut (*owner).changes, change_link) {
            if (*change).action == ChangeType::REORDER_BUFFER_CHANGE_MESSAGE {
                state.message_subxids.insert((*change).lsn, subxid);
            }
        }
    }
}

/// Indexes the lists of `txn` (a toplevel transaction) and of its subtransactions.
unsafe fn index_message_subxids(state: &mut DecodingState, txn: *mut Txn) {
    // SAFETY: forwarded caller guarantee.
    unsafe {
        for owner in std::iter::once(txn).chain(txn_list(&mut (*txn).subtxns)) {
            let subxid = if owner == txn { 0 } else { (*owner).xid.into_inner() };
            index_list(state, owner, subxid);
        }
    }
}

/// Before a streamed change of a spilled (sub)transaction is encoded:
/// indexes its list when the reorder buffer loaded a new batch into it
/// (its first element changed), while that batch's messages are listed.
///
/// # Safety
/// From a streamed change callback: `txn` its toplevel transaction,
/// `change` its change.
pub unsafe fn note_streamed_change(state: &mut DecodingState, txn: *mut Txn, change: *mut pg_sys::ReorderBufferChange) {
    // SAFETY: the callback's live transaction and change.
    unsafe {
        let owner = (*change).txn;
        if owner.is_null() || (*owner).txn_flags & pg_sys::RBTXN_IS_SERIALIZED == 0 {
            return;
        }
        let first = (*owner).changes.head.next as usize;
        let xid = (*owner).xid.into_inner();
        if state.indexed_batches.insert(xid, first) != Some(first) {
            let subxid = if owner == txn { 0 } else { xid };
            index_list(state, owner, subxid);
        }
    }
}

/// The subtransaction a streamed transactional message was sent in (0: the
/// toplevel one). PostgreSQL passes the message callback the toplevel
/// transaction only, while `stream_abort` names the subtransaction whose
/// changes to discard, so the message is found among the changes the
/// reorder buffer holds for the block (indexed once per block, again when
/// changes restored from disk replaced them).
pub unsafe fn message_subxid(state: &mut DecodingState, txn: *mut Txn, lsn: pg_sys::XLogRecPtr) -> u32 {
    // SAFETY: txn is the callback's toplevel transaction.
    if txn.is_null() || unsafe { (*txn).nsubtxns } == 0 {
        return 0;
    }
    if let Some(subxid) = state.message_subxids.get(&lsn) {
        return *subxid;
    }
    // SAFETY: as above.
    unsafe { index_message_subxids(state, txn) };
    state.message_subxids.get(&lsn).copied().unwrap_or(0)
}

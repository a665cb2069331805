//! Encoders decide how an event is serialised; the callbacks decide which
//! events exist (the split pgoutput.c / proto.c make in PostgreSQL).

pub mod avro;
mod avro_events;
pub mod avro_schema;
pub mod json;
mod json_pointer;
pub mod json_text;
pub mod pbwire;
pub mod protobuf;
pub mod test_decoding;

use crate::model::{Event, EventPosition, StreamEvent, TxnEvent};
use crate::options::{Format, Framing, Options};
use std::borrow::Cow;

/// In which form a format needs its data, and the few places where a
/// format's rules change what the callbacks emit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    /// `OUTPUT_PLUGIN_BINARY_OUTPUT` rather than textual output.
    pub binary: bool,
    /// Values, names and times as the session prints them (output functions
    /// under the session's settings, in the database encoding) instead of
    /// typed values in UTF-8.
    pub session_text: bool,
    /// A transactional message counts as the transaction's first change for
    /// skip-empty-xacts (test_decoding prints messages outside BEGIN/COMMIT).
    pub messages_open_transactions: bool,
    /// Prepared transactions whose GID contains this are decoded at COMMIT
    /// PREPARED instead of PREPARE (test_decoding's `_nodecode` rule).
    pub skip_prepare_gids_containing: Option<&'static str>,
    /// Receive changes to the transient tables of a table rewrite.
    pub receive_rewrites: bool,
    /// Streamed row changes and truncates carry their rows. False for the
    /// test_decoding format, which prints only `streaming change for TXN`:
    /// reading the rows would look up the catalogs, and a lookup that sees
    /// the streamed transaction aborted makes PostgreSQL stop the stream
    /// where test_decoding goes on.
    pub streamed_rows: bool,
}

impl Profile {
    /// Typed values, binary output, no format quirks (Protobuf, Avro).
    pub const BINARY: Profile = Profile {
        binary: true,
        session_text: false,
        messages_open_transactions: true,
        skip_prepare_gids_containing: None,
        receive_rewrites: false,
        streamed_rows: true,
    };
}

/// The toplevel xid of a streamed transaction that `event` ends (commit,
/// prepare, or abort of the whole transaction): descriptions sent inside it
/// are forgotten then.
pub fn ends_streamed_transaction(event: &Event) -> Option<u32> {
    match event {
        Event::Transaction {
            kind: TxnEvent::StreamCommit | TxnEvent::StreamPrepare,
            txn,
        } => Some(txn.xid),
        Event::Stream {
            kind: StreamEvent::Abort { subxid: None },
            at,
        } => Some(at.xid),
        _ => None,
    }
}

/// `value` if it is UTF-8, else with invalid sequences (possible only in a
/// SQL_ASCII database) replaced by U+FFFD: Protobuf and Avro strings must be
/// UTF-8, and decoders reject anything else.
pub fn valid_utf8(value: &[u8]) -> Cow<'_, [u8]> {
    match String::from_utf8_lossy(value) {
        Cow::Borrowed(_) => Cow::Borrowed(value),
        Cow::Owned(replaced) => Cow::Owned(replaced.into_bytes()),
    }
}

/// Frames the event written at `out[start..]` as the `framing` option says
/// (Protobuf adds its field-15 tag first for `varint-newline`).
pub fn frame(out: &mut Vec<u8>, start: usize, framing: Framing) {
    match framing {
        Framing::None => {}
        Framing::Varint => pbwire::prefix_length(out, start, 0),
        // The length counts the newline pg_recvlogical writes after it.
        Framing::VarintNewline => pbwire::prefix_length(out, start, 1),
    }
}

/// Where a relation's description (Protobuf's relation message, Avro's
/// schema event) has been sent in this session: outside stream blocks, and
/// per streamed transaction (a consumer replays a streamed transaction at
/// its commit, so each needs its own, as pgoutput does).
#[derive(Default)]
pub struct Described {
    in_main: bool,
    in_streams: Vec<u32>,
}

impl Described {
    /// Whether the description must be sent before a row at `at`; records
    /// that it now is.
    pub fn needed_before(&mut self, at: EventPosition) -> bool {
        if !at.streamed {
            return !std::mem::replace(&mut self.in_main, true);
        }
        if self.in_streams.contains(&at.xid) {
            return false;
        }
        self.in_streams.push(at.xid);
        true
    }

    /// The streamed transaction `xid` ended: what was sent in it is gone.
    pub fn forget_stream(&mut self, xid: u32) {
        self.in_streams.retain(|x| *x != xid);
    }
}

pub trait Encoder {
    /// Appends exactly one message for `event` to `out`.
    fn encode(&mut self, event: &Event<'_, '_>, out: &mut Vec<u8>);

    /// A message that must be written before `event`'s (Protobuf's relation
    /// description): appends it to `out` and returns true, or returns false.
    fn preamble(&mut self, _event: &Event<'_, '_>, _out: &mut Vec<u8>) -> bool {
        false
    }

    fn profile(&self) -> Profile;
}

pub fn for_options(options: &Options) -> Box<dyn Encoder> {
    match options.format {
        Format::Json => Box::new(json::JsonEncoder::new(options)),
        Format::TestDecoding => Box::new(test_decoding::TestDecodingEncoder::new(options)),
        Format::Protobuf => Box::new(protobuf::ProtobufEncoder::new(options)),
        Format::Avro => Box::new(avro::AvroEncoder::new(options)),
    }
}

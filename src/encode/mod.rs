//! Encoders decide how an event is serialised; the callbacks decide which
//! events exist (the split pgoutput.c / proto.c make in PostgreSQL).

pub mod json;
pub mod json_text;

use crate::model::Event;
use crate::options::{Format, Options};

pub trait Encoder {
    /// Appends exactly one message for `event` to `out`.
    fn encode(&mut self, event: &Event<'_, '_>, out: &mut Vec<u8>);

    /// Whether the output is binary (`OUTPUT_PLUGIN_BINARY_OUTPUT`).
    fn is_binary(&self) -> bool {
        false
    }
}

pub fn for_options(options: &Options) -> Box<dyn Encoder> {
    match options.format {
        Format::Json => Box::new(json::JsonEncoder::new(options)),
    }
}

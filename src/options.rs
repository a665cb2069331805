//! Plugin options: one declarative table drives parsing, error messages and
//! the README's option table (see `markdown_table`, checked by a test).
//!
//! Plain Rust: no pgrx here, so every rule is unit-tested with `#[test]`.

use crate::filters::{self, Actions, OriginFilter, PrefixFilter, TableFilter};
use std::fmt::Write as _;

/// Output formats (their option names are `FORMATS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    /// PostgreSQL's test_decoding text, byte for byte, with its option rules.
    TestDecoding,
    /// proto/wal2any/v1, binary output.
    Protobuf,
    /// Avro single-object encoding, binary output.
    Avro,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::TestDecoding => "test_decoding",
            Format::Protobuf => "protobuf",
            Format::Avro => "avro",
        }
    }
}

/// How binary messages are delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// One event per message: the replication protocol and the SQL
    /// functions keep message boundaries.
    None,
    /// A varint length before each event (protobuf's delimited format).
    Varint,
    /// As `Varint`, counting the newline pg_recvlogical writes after each
    /// message as part of the event.
    VarintNewline,
}

const FORMATS: &[&str] = &["json", "test_decoding", "protobuf", "avro"];

/// The options test_decoding knows; with `format=test_decoding` they are the
/// only ones accepted, with test_decoding's own messages and quirks.
const TEST_DECODING_OPTIONS: &[&str] = &[
    "include-xids",
    "include-timestamp",
    "force-binary",
    "skip-empty-xacts",
    "only-local",
    "include-rewrites",
    "stream-changes",
];
/// test_decoding ignores these when given without a value.
const TEST_DECODING_BARE_IGNORED: &[&str] = &["force-binary", "include-rewrites", "stream-changes"];

/// Parsed, validated options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub format: Format,
    pub include_xids: bool,
    pub include_timestamp: bool,
    pub include_lsn: bool,
    pub include_origin: bool,
    pub include_types: bool,
    pub include_typmod: bool,
    pub include_type_oids: bool,
    pub include_schemas: bool,
    pub include_pk: bool,
    pub include_transaction: bool,
    pub skip_empty_xacts: bool,
    pub pretty_print: bool,
    pub int8_as_string: bool,
    pub numeric_as_string: bool,
    pub unchanged_toast_placeholder: Option<String>,
    pub stream_changes: bool,
    pub origins: OriginFilter,
    pub tables: TableFilter,
    pub actions: Actions,
    pub message_prefixes: PrefixFilter,
    pub force_binary: bool,
    pub include_rewrites: bool,
    pub framing: Framing,
    pub include_column_names: bool,
    pub schema_events_once: bool,
    /// 0: one event per message.
    pub batch_bytes: usize,
}

/// SQLSTATEs the FFI layer maps to PostgreSQL error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlState {
    /// 22023 invalid_parameter_value
    InvalidParameterValue,
    /// 42601 syntax_error: what PostgreSQL uses for "conflicting or redundant options"
    ConflictingOptions,
}

impl SqlState {
    pub fn code(self) -> &'static str {
        match self {
            SqlState::InvalidParameterValue => "22023",
            SqlState::ConflictingOptions => "42601",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionError {
    pub sqlstate: SqlState,
    pub message: String,
    pub hint: Option<String>,
}

/// What values an option accepts.
#[derive(Debug, Clone, Copy)]
pub enum Accepts {
    Bool,
    /// One of these.
    Choice(&'static [&'static str]),
    /// Any string (a bare option is rejected: it needs a value).
    Text,
    /// A comma-separated list; `\,` is a literal comma.
    List,
    /// A number of bytes from 0 to this maximum.
    Bytes(usize),
}

/// A validated option value, handed to the option's setter.
enum Setting<'a> {
    Bool(bool),
    Choice(&'a str),
    Text(&'a str),
    Bytes(usize),
}

pub struct OptionSpec {
    pub name: &'static str,
    pub accepts: Accepts,
    /// Default as shown in the README.
    pub default: &'static str,
    /// Formats the option applies to: `all`, or names separated by `, `.
    pub formats: &'static str,
    pub description: &'static str,
    /// Stores the value; an `Err` says why the value is not accepted.
    set: fn(&mut Options, Setting) -> Result<(), String>,
}

#[path = "options_table.rs"]
mod table;
use table::CONFLICTS;
pub use table::OPTION_TABLE;

impl Default for Options {
    fn default() -> Self {
        let mut options = Options {
            format: Format::Json,
            include_xids: false,
            include_timestamp: false,
            include_lsn: false,
            include_origin: false,
            include_types: false,
            include_typmod: false,
            include_type_oids: false,
            include_schemas: false,
            include_pk: false,
            include_transaction: false,
            skip_empty_xacts: false,
            pretty_print: false,
            int8_as_string: false,
            numeric_as_string: false,
            unchanged_toast_placeholder: None,
            stream_changes: false,
            origins: OriginFilter::default(),
            tables: TableFilter::default(),
            actions: Actions::default(),
            message_prefixes: PrefixFilter::default(),
            force_binary: false,
            include_rewrites: false,
            framing: Framing::None,
            include_column_names: false,
            schema_events_once: false,
            batch_bytes: 0,
        };
        // Defaults come from the table, so the README can never disagree.
        for spec in OPTION_TABLE {
            if let Accepts::Bool = spec.accepts {
                let value = parse_bool(spec.default).expect("table default is a boolean");
                (spec.set)(&mut options, Setting::Bool(value)).expect("booleans always apply");
            }
        }
        options
    }
}

/// PostgreSQL's `parse_bool`: case-insensitive `true`/`false`/`yes`/`no` and
/// their unique prefixes, `on`/`off` (at least `of`), `1`/`0`.
pub fn parse_bool(value: &str) -> Option<bool> {
    let v = value.to_ascii_lowercase();
    let prefix_of = |word: &str| !v.is_empty() && word.starts_with(v.as_str());
    match v.as_str() {
        "1" => Some(true),
        "0" => Some(false),
        "on" => Some(true),
        "of" | "off" => Some(false),
        _ if prefix_of("true") || prefix_of("yes") => Some(true),
        _ if prefix_of("false") || prefix_of("no") => Some(false),
        _ => None,
    }
}

fn invalid(message: String, hint: Option<String>) -> OptionError {
    OptionError {
        sqlstate: SqlState::InvalidParameterValue,
        message,
        hint,
    }
}

fn accepted_names() -> String {
    OPTION_TABLE.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
}

fn validate<'a>(spec: &OptionSpec, value: Option<&'a str>) -> Result<Setting<'a>, OptionError> {
    let shown = value.unwrap_or("(no value)");
    match spec.accepts {
        Accepts::Bool => match value {
            None => Ok(Setting::Bool(true)),
            Some(v) => parse_bool(v).map(Setting::Bool).ok_or_else(|| {
                invalid(
                    format!(
                        "option \"{}\" has invalid value \"{}\": expected a boolean",
                        spec.name, v
                    ),
                    Some("Accepted: true, false, yes, no, on, off, 1, 0 (or a bare option for true).".into()),
                )
            }),
        },
        Accepts::Choice(choices) => match value {
            Some(v) if choices.contains(&v) => Ok(Setting::Choice(v)),
            _ => Err(invalid(
                format!("option \"{}\" has invalid value \"{}\"", spec.name, shown),
                Some(format!("Accepted: {}.", choices.join(", "))),
            )),
        },
        Accepts::Text | Accepts::List => value.map(Setting::Text).ok_or_else(|| needs_value(spec)),
        Accepts::Bytes(max) => {
            let value = value.ok_or_else(|| needs_value(spec))?;
            value
                .parse::<usize>()
                .ok()
                .filter(|n| *n <= max)
                .map(Setting::Bytes)
                .ok_or_else(|| invalid_value(spec, value, &format!("expected a number of bytes from 0 to {max}")))
        }
    }
}

fn needs_value(spec: &OptionSpec) -> OptionError {
    invalid(
        format!("option \"{}\" needs a value", spec.name),
        Some(format!("Pass it as {}=VALUE.", spec.name)),
    )
}

/// A value the option does not accept, and why; the hint describes the option.
fn invalid_value(spec: &OptionSpec, value: &str, reason: &str) -> OptionError {
    invalid(
        format!("option \"{}\" has invalid value \"{}\": {}", spec.name, value, reason),
        Some(format!("\"{}\": {}", spec.name, spec.description)),
    )
}

/// Parses plugin options given as (name, value) pairs; `None` is a bare option.
pub fn parse<'a, I>(pairs: I) -> Result<Options, OptionError>
where
    I: IntoIterator<Item = (&'a str, Option<&'a str>)>,
{
    parse_layered(&[], pairs)
}

/// The setting that gives `option` a default: `wal2any.include_xids` for
/// `include-xids` (setting names cannot contain hyphens).
pub fn setting_name(option: &str) -> String {
    format!("wal2any.{}", option.replace('-', "_"))
}

/// Validates a `wal2any.<option>` setting; the empty string means "not set".
pub fn check_setting(option: &str, value: &str) -> Result<(), OptionError> {
    if value.is_empty() {
        return Ok(());
    }
    // Check the value under a format the option applies to (a setting for
    // framing must be checked even though JSON ignores it).
    let format = OPTION_TABLE
        .iter()
        .find(|s| s.name == option)
        .and_then(|s| s.formats.split(", ").next())
        .filter(|f| *f != "all" && option != "format");
    match format {
        Some(format) => parse_layered(&[("format", format), (option, value)], std::iter::empty()).map(|_| ()),
        None => parse_layered(&[(option, value)], std::iter::empty()).map(|_| ()),
    }
}

/// Parses plugin options over defaults from settings: an option given as a
/// plugin option overrides its setting; duplicates are checked among plugin
/// options, conflicts among the effective values.
pub fn parse_layered<'a, I>(defaults: &[(&'a str, &'a str)], pairs: I) -> Result<Options, OptionError>
where
    I: IntoIterator<Item = (&'a str, Option<&'a str>)>,
{
    let pairs: Vec<(&str, Option<&str>)> = pairs.into_iter().collect();
    let format = pairs
        .iter()
        .rev()
        .find(|(n, _)| *n == "format")
        .map(|(_, v)| *v)
        .or_else(|| defaults.iter().find(|(n, _)| *n == "format").map(|(_, v)| Some(*v)));
    if format == Some(Some("test_decoding")) {
        return parse_test_decoding(defaults, &pairs);
    }
    // One pass with a map: a million options must not take a million
    // squared comparisons (the startup callback cannot be cancelled).
    let mut given: std::collections::HashMap<&str, Option<&str>> =
        std::collections::HashMap::with_capacity(pairs.len());
    for (name, value) in &pairs {
        if let Some(earlier) = given.insert(name, *value) {
            return Err(OptionError {
                sqlstate: SqlState::ConflictingOptions,
                message: format!(
                    "conflicting or redundant options: \"{}\" is given more than once (\"{}\" and \"{}\")",
                    name,
                    earlier.unwrap_or("(no value)"),
                    value.unwrap_or("(no value)")
                ),
                hint: Some("Give each option once.".into()),
            });
        }
    }
    let overridden = |name: &str| given.contains_key(name);
    let format_name = format.flatten().unwrap_or("json");
    // A setting for an option of another format is a default for that
    // format, not an error for this one.
    let effective: Vec<(&str, Option<&str>)> = defaults
        .iter()
        .filter(|(name, _)| !overridden(name) && applies_to(name, format_name))
        .map(|(name, value)| (*name, Some(*value)))
        .chain(pairs.iter().copied())
        .collect();
    let mut options = Options::default();
    for (name, value) in &effective {
        apply(&mut options, name, *value, format_name)?;
    }
    check_conflicts(&effective)?;
    if options.batch_bytes > 0 && options.pretty_print {
        return Err(OptionError {
            sqlstate: SqlState::ConflictingOptions,
            message: "conflicting options: \"pretty-print\" and \"batch-bytes\" cannot be combined".into(),
            hint: Some("A batch is JSON Lines, one event per line; a pretty-printed event spans several.".into()),
        });
    }
    let binary = matches!(options.format, Format::Protobuf | Format::Avro);
    if options.batch_bytes > 0 && binary && options.framing == Framing::None {
        return Err(OptionError {
            sqlstate: SqlState::ConflictingOptions,
            message: format!(
                "conflicting options: \"batch-bytes\" needs \"framing\" with format {}",
                options.format.name()
            ),
            hint: Some("Add framing=varint (or varint-newline for pg_recvlogical files), so events in one message can be told apart.".into()),
        });
    }
    Ok(options)
}

/// test_decoding's rules: only its options, duplicates allowed (the last
/// wins), some bare options ignored, and its exact error messages.
fn parse_test_decoding(defaults: &[(&str, &str)], pairs: &[(&str, Option<&str>)]) -> Result<Options, OptionError> {
    let mut options = Options {
        format: Format::TestDecoding,
        ..Options::default()
    };
    let from_settings = defaults
        .iter()
        .filter(|(n, _)| TEST_DECODING_OPTIONS.contains(n))
        .map(|(n, v)| (*n, Some(*v)));
    for (name, value) in from_settings.chain(pairs.iter().copied()) {
        if name == "format" {
            continue;
        }
        if !TEST_DECODING_OPTIONS.contains(&name) {
            let message = format!("option \"{}\" = \"{}\" is unknown", name, value.unwrap_or("(null)"));
            return Err(invalid(message, None));
        }
        let enabled = match value {
            None if TEST_DECODING_BARE_IGNORED.contains(&name) => continue,
            None => true,
            Some(v) => parse_bool(v)
                .ok_or_else(|| invalid(format!("could not parse value \"{v}\" for parameter \"{name}\""), None))?,
        };
        let spec = OPTION_TABLE
            .iter()
            .find(|s| s.name == name)
            .expect("test_decoding options are in the table");
        (spec.set)(&mut options, Setting::Bool(enabled)).expect("booleans always apply");
    }
    Ok(options)
}

/// Whether option `name` applies to format `format` (unknown names and
/// formats are reported elsewhere).
fn applies_to(name: &str, format: &str) -> bool {
    OPTION_TABLE
        .iter()
        .find(|s| s.name == name)
        .is_none_or(|s| s.formats == "all" || s.formats.split(", ").any(|f| f == format))
        || !FORMATS.contains(&format)
}

fn apply(options: &mut Options, name: &str, value: Option<&str>, format: &str) -> Result<(), OptionError> {
    let Some(spec) = OPTION_TABLE.iter().find(|s| s.name == name) else {
        return Err(invalid(
            format!("option \"{}\" = \"{}\" is unknown", name, value.unwrap_or("(no value)")),
            Some(format!("Accepted options: {}.", accepted_names())),
        ));
    };
    if spec.formats == "test_decoding" {
        return Err(invalid(
            format!("option \"{name}\" applies only to format test_decoding"),
            Some("Add format=test_decoding, or leave the option out.".into()),
        ));
    }
    if !applies_to(name, format) {
        return Err(invalid(
            format!("option \"{name}\" does not apply to format {format}"),
            Some(format!("\"{name}\" applies to: {}.", spec.formats)),
        ));
    }
    let setting = validate(spec, value)?;
    (spec.set)(options, setting).map_err(|reason| invalid_value(spec, value.unwrap_or(""), &reason))
}

fn check_conflicts(effective: &[(&str, Option<&str>)]) -> Result<(), OptionError> {
    let enabled = |name: &str| {
        effective
            .iter()
            .any(|(n, v)| *n == name && v.is_none_or(|v| parse_bool(v) != Some(false)))
    };
    for (a, b, why) in CONFLICTS {
        if enabled(a) && effective.iter().any(|(n, _)| n == b) {
            return Err(OptionError {
                sqlstate: SqlState::ConflictingOptions,
                message: format!("conflicting options: \"{a}\" and \"{b}\" cannot be combined"),
                hint: Some(format!("{why}.")),
            });
        }
    }
    Ok(())
}

fn accepts_text(accepts: Accepts) -> String {
    match accepts {
        Accepts::Bool => "boolean".into(),
        Accepts::Choice(choices) => choices.iter().map(|b| format!("`{b}`")).collect::<Vec<_>>().join(", "),
        Accepts::Text => "string".into(),
        Accepts::List => "comma-separated list".into(),
        Accepts::Bytes(max) => format!("bytes, 0 to {max}"),
    }
}

/// The README's option table, generated from `OPTION_TABLE`.
pub fn markdown_table() -> String {
    let mut table = String::from("| option | values | default | formats | what it does |\n|---|---|---|---|---|\n");
    for spec in OPTION_TABLE {
        let _ = writeln!(
            table,
            "| `{}` | {} | `{}` | {} | {} |",
            spec.name,
            accepts_text(spec.accepts),
            spec.default,
            spec.formats,
            spec.description
        );
    }
    table
}

#[cfg(test)]
#[path = "options_tests.rs"]
mod tests;

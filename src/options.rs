//! Plugin options: one declarative table drives parsing, error messages and
//! the README's option table (see `markdown_table`, checked by a test).
//!
//! Plain Rust: no pgrx here, so every rule is unit-tested with `#[test]`.

use crate::filters::{self, Actions, OriginFilter, PrefixFilter, TableFilter};
use std::fmt::Write as _;

/// Output formats. Only the ones listed in `BUILT_FORMATS` can be chosen;
/// the others are reserved names that give a clear "not available" error.
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

const BUILT_FORMATS: &[&str] = &["json", "test_decoding", "protobuf", "avro"];
const PLANNED_FORMATS: &[&str] = &[];

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
    /// One of `built`; `planned` names are recognised but rejected.
    Choice {
        built: &'static [&'static str],
        planned: &'static [&'static str],
    },
    /// Any string (a bare option is rejected: it needs a value).
    Text,
    /// A comma-separated list; `\,` is a literal comma.
    List,
}

/// A validated option value, handed to the option's setter.
enum Setting<'a> {
    Bool(bool),
    Choice(&'a str),
    Text(&'a str),
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

macro_rules! bool_option {
    ($name:literal, $field:ident, $default:literal, $desc:literal) => {
        bool_option!($name, $field, $default, "json", $desc)
    };
    ($name:literal, $field:ident, $default:literal, $formats:literal, $desc:literal) => {
        OptionSpec {
            name: $name,
            accepts: Accepts::Bool,
            default: $default,
            formats: $formats,
            description: $desc,
            set: |o, s| {
                if let Setting::Bool(b) = s {
                    o.$field = b;
                }
                Ok(())
            },
        }
    };
}

macro_rules! list_option {
    ($name:literal, $desc:literal, $set:expr) => {
        OptionSpec {
            name: $name,
            accepts: Accepts::List,
            default: "(empty)",
            formats: "json, protobuf, avro",
            description: $desc,
            set: |o, s| match s {
                Setting::Text(list) => {
                    let set: fn(&mut Options, &str) -> Result<(), String> = $set;
                    set(o, list)
                }
                _ => Ok(()),
            },
        }
    };
}

/// The option table. Order is the README's order.
pub static OPTION_TABLE: &[OptionSpec] = &[
    OptionSpec {
        name: "format",
        accepts: Accepts::Choice { built: BUILT_FORMATS, planned: PLANNED_FORMATS },
        default: "json",
        formats: "all",
        description: "Output format: `json`; `protobuf` (binary, schema `proto/wal2any/v1/wal2any.proto`); `avro` (binary, Avro single-object encoding, schemas in the stream); or `test_decoding` (PostgreSQL's test_decoding text byte for byte, accepting only its options).",
        set: |o, s| {
            match s {
                Setting::Choice("json") => o.format = Format::Json,
                Setting::Choice("test_decoding") => o.format = Format::TestDecoding,
                Setting::Choice("protobuf") => o.format = Format::Protobuf,
                Setting::Choice("avro") => o.format = Format::Avro,
                _ => {}
            }
            Ok(())
        },
    },
    bool_option!("include-xids", include_xids, "true", "all", "Add `xid` (the toplevel transaction id) to every event."),
    bool_option!("include-timestamp", include_timestamp, "false", "all", "Add `commit_time` (ISO 8601, UTC, microseconds) to begin and commit."),
    bool_option!("include-lsn", include_lsn, "false", "json, protobuf, avro", "Add `lsn` to every event, and `end_lsn` to commit."),
    bool_option!("include-origin", include_origin, "false", "json, protobuf, avro", "Add `origin` (replication origin name) and `origin_lsn` to begin when the transaction came from a replication origin."),
    bool_option!("include-types", include_types, "false", "Add `types`: column name to SQL type name."),
    bool_option!("include-typmod", include_typmod, "true", "With `include-types`, show type modifiers (`character varying(20)` rather than `character varying`)."),
    bool_option!("include-type-oids", include_type_oids, "false", "Add `type_oids`: column name to type OID."),
    bool_option!("include-schemas", include_schemas, "true", "Add `schema` to changes and truncated relations."),
    bool_option!("include-pk", include_pk, "false", "Add `pk`: the primary key column names (empty list when there is none)."),
    bool_option!("include-transaction", include_transaction, "true", "json, protobuf, avro", "Emit begin and commit events."),
    bool_option!("skip-empty-xacts", skip_empty_xacts, "false", "all", "Do not emit begin/commit for transactions with no emitted change or message."),
    bool_option!("pretty-print", pretty_print, "false", "Indent JSON over several lines (one event still is one message)."),
    bool_option!("int8-as-string", int8_as_string, "false", "Render bigint (int8) values as JSON strings, for consumers whose numbers are doubles (JavaScript)."),
    bool_option!("numeric-as-string", numeric_as_string, "false", "Render numeric values as JSON strings, keeping every digit in any consumer."),
    OptionSpec {
        name: "unchanged-toast-placeholder",
        accepts: Accepts::Text,
        default: "(not set)",
        formats: "json",
        description: "Put this string in `new` for each unchanged TOAST column (they are always listed in `unchanged_toast`; without this option they are left out of `new`).",
        set: |o, s| {
            if let Setting::Text(t) = s {
                o.unchanged_toast_placeholder = Some(t.to_owned());
            }
            Ok(())
        },
    },
    bool_option!("stream-changes", stream_changes, "false", "all", "Stream large in-progress transactions (`stream_start` ... `stream_commit`/`stream_abort`) instead of waiting for their commit; PostgreSQL streams once a transaction exceeds `logical_decoding_work_mem`."),
    OptionSpec {
        name: "only-local",
        accepts: Accepts::Bool,
        default: "false",
        formats: "all",
        description: "Pass only changes made locally: drop every transaction that carries a replication origin (what an applier sets up), so two nodes replicating to each other do not loop.",
        set: |o, s| {
            if let Setting::Bool(b) = s {
                o.origins.only_local = b;
            }
            Ok(())
        },
    },
    list_option!("include-origins", "Pass local changes and changes from these replication origins (by name) only.", |o, list| {
        o.origins.include = filters::split_list(list);
        Ok(())
    }),
    list_option!("exclude-origins", "Drop changes from these replication origins (by name).", |o, list| {
        o.origins.exclude = filters::split_list(list);
        Ok(())
    }),
    list_option!("add-tables", "Emit only tables matching these patterns: `schema.table`, `*.table`, `schema.*` (escape `,` `.` `*` and spaces in names with `\\`).", |o, list| {
        o.tables.include = filters::parse_table_patterns(list)?;
        Ok(())
    }),
    list_option!("filter-tables", "Do not emit tables matching these patterns (same syntax as `add-tables`).", |o, list| {
        o.tables.exclude = filters::parse_table_patterns(list)?;
        Ok(())
    }),
    list_option!("actions", "Emit only these operations: any of `insert`, `update`, `delete`, `truncate` (default: all).", |o, list| {
        o.actions = filters::parse_actions(list)?;
        Ok(())
    }),
    list_option!("add-msg-prefixes", "Emit only logical messages with one of these prefixes.", |o, list| {
        o.message_prefixes.include = filters::split_list(list);
        Ok(())
    }),
    list_option!("filter-msg-prefixes", "Do not emit logical messages with these prefixes.", |o, list| {
        o.message_prefixes.exclude = filters::split_list(list);
        Ok(())
    }),
    OptionSpec {
        name: "framing",
        accepts: Accepts::Choice { built: FRAMINGS, planned: &[] },
        default: "none",
        formats: "protobuf, avro",
        description: "`none`: one event per message (the replication protocol and the SQL functions keep boundaries). `varint`: each event preceded by its length as a varint (protobuf's delimited format), for consumers that concatenate messages. `varint-newline`: for `pg_recvlogical -f FILE`, which writes a newline after each message: the length counts that newline, which the event reads as its field 15, so protobuf's delimited readers read the file as it is.",
        set: |o, s| {
            o.framing = match s {
                Setting::Choice("varint") => Framing::Varint,
                Setting::Choice("varint-newline") => Framing::VarintNewline,
                _ => Framing::None,
            };
            Ok(())
        },
    },
    OptionSpec {
        name: "schema-events",
        accepts: Accepts::Choice { built: &["auto", "once"], planned: &[] },
        default: "auto",
        formats: "avro",
        description: "When to send a relation's writer schema (a `SchemaEvent` with its JSON and fingerprint). `auto`: before the relation's first row in the session, in each streamed transaction that uses it, and again when its shape changes. `once`: each distinct schema once per session, for consumers that keep schemas in a registry by fingerprint.",
        set: |o, s| {
            o.schema_events_once = matches!(s, Setting::Choice("once"));
            Ok(())
        },
    },
    OptionSpec {
        name: "batch-bytes",
        accepts: Accepts::Text,
        default: "0",
        formats: "json, protobuf, avro",
        description: "Write several events per message, up to about this many bytes, flushed at every transaction end, stream block end and non-transactional message (0: one event per message). Far fewer messages for the walsender and pg_recvlogical to handle. JSON events are separated by newlines (JSON Lines); Protobuf and Avro need `framing=varint` or `varint-newline`.",
        set: |o, s| {
            if let Setting::Text(t) = s {
                o.batch_bytes = t
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n <= MAX_BATCH_BYTES)
                    .ok_or_else(|| format!("expected a number of bytes from 0 to {MAX_BATCH_BYTES}"))?;
            }
            Ok(())
        },
    },
    bool_option!("include-column-names", include_column_names, "false", "protobuf", "Put column names and type OIDs in every row and the schema and table in every change, and send no relation messages: for consumers that keep no state."),
    bool_option!("force-binary", force_binary, "false", "test_decoding", "Declare the output binary (as test_decoding does), so only `pg_logical_slot_*_binary_changes` can read it."),
    bool_option!("include-rewrites", include_rewrites, "false", "test_decoding", "Also decode the changes a table rewrite makes (as test_decoding does)."),
];

const FRAMINGS: &[&str] = &["none", "varint", "varint-newline"];

/// A message must stay far below PostgreSQL's 1 GB string limit.
const MAX_BATCH_BYTES: usize = 64 << 20;

/// Pairs of options that cannot be combined (SQLSTATE 42601).
const CONFLICTS: &[(&str, &str, &str)] = &[
    (
        "only-local",
        "include-origins",
        "only-local drops every change that has an origin",
    ),
    (
        "include-origins",
        "exclude-origins",
        "give either the origins to pass or the ones to drop",
    ),
];

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
        Accepts::Choice { built, planned } => match value {
            Some(v) if built.contains(&v) => Ok(Setting::Choice(v)),
            Some(v) if planned.contains(&v) => Err(invalid(
                format!(
                    "option \"{}\" has value \"{}\", which is not available in this version of wal2any",
                    spec.name, v
                ),
                Some(format!("Accepted: {}.", built.join(", "))),
            )),
            _ => Err(invalid(
                format!("option \"{}\" has invalid value \"{}\"", spec.name, shown),
                Some(format!("Accepted: {}.", built.join(", "))),
            )),
        },
        Accepts::Text | Accepts::List => value.map(Setting::Text).ok_or_else(|| {
            invalid(
                format!("option \"{}\" needs a value", spec.name),
                Some(format!("Pass it as {}=VALUE.", spec.name)),
            )
        }),
    }
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
    for (i, (name, value)) in pairs.iter().enumerate() {
        if let Some((_, earlier)) = pairs[..i].iter().find(|(n, _)| n == name) {
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
    let overridden = |name: &str| pairs.iter().any(|(n, _)| *n == name);
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
        || !BUILT_FORMATS.contains(&format)
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
    (spec.set)(options, setting).map_err(|reason| {
        invalid(
            format!(
                "option \"{}\" has invalid value \"{}\": {}",
                name,
                value.unwrap_or(""),
                reason
            ),
            Some(format!("\"{}\": {}", name, spec.description)),
        )
    })
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
        Accepts::Choice { built, .. } => built.iter().map(|b| format!("`{b}`")).collect::<Vec<_>>().join(", "),
        Accepts::Text => "string".into(),
        Accepts::List => "comma-separated list".into(),
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

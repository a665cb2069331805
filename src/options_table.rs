//! The option table: every option's name, accepted values, default,
//! formats, description and setter. Parsing, errors, the `wal2any.*`
//! settings and the README's option table all come from here.

use super::{filters, Accepts, Format, Framing, OptionSpec, Options, Setting, FORMATS};

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
        accepts: Accepts::Choice(FORMATS),
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
        o.message_prefixes.include = filters::split_list(list).into_iter().map(String::into_bytes).collect();
        Ok(())
    }),
    list_option!("filter-msg-prefixes", "Do not emit logical messages with these prefixes.", |o, list| {
        o.message_prefixes.exclude = filters::split_list(list).into_iter().map(String::into_bytes).collect();
        Ok(())
    }),
    OptionSpec {
        name: "framing",
        accepts: Accepts::Choice(FRAMINGS),
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
        accepts: Accepts::Choice(&["auto", "once"]),
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
        accepts: Accepts::Bytes(MAX_BATCH_BYTES),
        default: "0",
        formats: "json, protobuf, avro",
        description: "Write several events per message, up to about this many bytes, flushed at every transaction end, stream block end and non-transactional message (0: one event per message). Far fewer messages for the walsender and pg_recvlogical to handle. JSON events are separated by newlines (JSON Lines); Protobuf and Avro need `framing=varint` or `varint-newline`.",
        set: |o, s| {
            if let Setting::Bytes(n) = s {
                o.batch_bytes = n;
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
pub(super) const CONFLICTS: &[(&str, &str, &str)] = &[
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

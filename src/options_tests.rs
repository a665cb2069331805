use super::*;

fn parse_pairs(pairs: &[(&'static str, Option<&'static str>)]) -> Result<Options, OptionError> {
    parse(pairs.iter().copied())
}

#[test]
fn defaults_match_the_table() {
    let o = parse_pairs(&[]).unwrap();
    assert_eq!(o.format, Format::Json);
    assert!(o.include_xids && o.include_typmod && o.include_schemas && o.include_transaction);
    assert!(!o.include_timestamp && !o.include_lsn && !o.include_types && !o.skip_empty_xacts);
    assert!(!o.pretty_print && !o.int8_as_string && !o.numeric_as_string);
    assert_eq!(o.unchanged_toast_placeholder, None);
}

#[test]
fn bare_option_means_true_and_postgres_spellings_parse() {
    assert!(parse_pairs(&[("include-lsn", None)]).unwrap().include_lsn);
    for t in ["true", "TRUE", "t", "tr", "yes", "y", "on", "ON", "1"] {
        assert_eq!(parse_bool(t), Some(true), "{t}");
    }
    for f in ["false", "f", "fa", "no", "n", "off", "of", "0", "OFF"] {
        assert_eq!(parse_bool(f), Some(false), "{f}");
    }
    for bad in ["", "o", "2", "truee", "maybe", "onn"] {
        assert_eq!(parse_bool(bad), None, "{bad}");
    }
}

#[test]
fn bad_boolean_names_option_value_and_accepted() {
    let e = parse_pairs(&[("include-xids", Some("maybe"))]).unwrap_err();
    assert_eq!(e.sqlstate.code(), "22023");
    assert!(
        e.message.contains("\"include-xids\"") && e.message.contains("\"maybe\""),
        "{}",
        e.message
    );
    assert!(e.hint.unwrap().contains("true, false"));
}

#[test]
fn unknown_option_lists_accepted_options() {
    let e = parse_pairs(&[("include-foo", Some("1"))]).unwrap_err();
    assert_eq!(e.sqlstate, SqlState::InvalidParameterValue);
    assert_eq!(e.message, "option \"include-foo\" = \"1\" is unknown");
    assert!(e.hint.unwrap().contains("include-xids"));
}

#[test]
fn duplicate_option_is_a_conflict() {
    let e = parse_pairs(&[("include-xids", Some("on")), ("include-xids", Some("off"))]).unwrap_err();
    assert_eq!(e.sqlstate.code(), "42601");
    assert!(e.message.contains("\"on\" and \"off\""), "{}", e.message);
}

#[test]
fn unknown_formats_are_rejected_with_what_is_accepted() {
    assert_eq!(parse_pairs(&[("format", Some("avro"))]).unwrap().format, Format::Avro);
    assert_eq!(
        parse_pairs(&[("format", Some("protobuf"))]).unwrap().format,
        Format::Protobuf
    );
    let e = parse_pairs(&[("format", Some("xml"))]).unwrap_err();
    assert_eq!(e.sqlstate.code(), "22023");
    assert_eq!(
        e.hint.as_deref(),
        Some("Accepted: json, test_decoding, protobuf, avro.")
    );
    assert!(e.message.contains("invalid value \"xml\""));
    assert!(parse_pairs(&[("format", None)]).is_err());
    assert_eq!(parse_pairs(&[("format", Some("json"))]).unwrap().format, Format::Json);
}

#[test]
fn options_of_other_formats_are_errors_but_their_settings_are_not() {
    let e = parse_pairs(&[("format", Some("protobuf")), ("pretty-print", None)]).unwrap_err();
    assert_eq!(e.sqlstate.code(), "22023");
    assert_eq!(e.message, "option \"pretty-print\" does not apply to format protobuf");
    assert_eq!(e.hint.as_deref(), Some("\"pretty-print\" applies to: json."));
    // The order of the options does not matter.
    let e = parse_pairs(&[("include-column-names", None), ("format", Some("json"))]).unwrap_err();
    assert!(e.message.contains("does not apply to format json"), "{}", e.message);
    let o = parse_layered(&[("pretty-print", "on")], [("format", Some("protobuf"))]).unwrap();
    assert_eq!((o.format, o.pretty_print), (Format::Protobuf, false));
    let o = parse_pairs(&[("format", Some("protobuf")), ("framing", Some("varint-newline"))]).unwrap();
    assert_eq!(o.framing, Framing::VarintNewline);
    let e = parse_pairs(&[("format", Some("protobuf")), ("framing", Some("length"))]).unwrap_err();
    assert_eq!(e.hint.as_deref(), Some("Accepted: none, varint, varint-newline."));
}

#[test]
fn text_option_needs_a_value() {
    assert!(parse_pairs(&[("unchanged-toast-placeholder", None)]).is_err());
    let o = parse_pairs(&[("unchanged-toast-placeholder", Some("__toast__"))]).unwrap();
    assert_eq!(o.unchanged_toast_placeholder.as_deref(), Some("__toast__"));
}

#[test]
fn every_bool_option_sets_its_own_field() {
    let defaults = Options::default();
    for spec in OPTION_TABLE.iter().filter(|s| matches!(s.accepts, Accepts::Bool)) {
        let flipped = if parse_bool(spec.default).unwrap() {
            "false"
        } else {
            "true"
        };
        let (o, baseline) = if spec.formats != "all" && !spec.formats.starts_with("json") {
            let format = ("format", Some(spec.formats.split(", ").next().unwrap()));
            (
                parse_pairs(&[format, (spec.name, Some(flipped))]).unwrap(),
                parse_pairs(&[format]).unwrap(),
            )
        } else {
            (parse_pairs(&[(spec.name, Some(flipped))]).unwrap(), defaults.clone())
        };
        assert_ne!(o, baseline, "option {} changed nothing", spec.name);
    }
}

#[test]
fn filter_options_parse_and_reject_bad_values() {
    let o = parse_pairs(&[
        ("add-tables", Some("app.*, *.audit")),
        ("filter-tables", Some("app.secret")),
        ("actions", Some("insert,delete")),
        ("filter-msg-prefixes", Some("noise")),
        ("exclude-origins", Some("node_b, node_c")),
    ])
    .unwrap();
    assert!(o.tables.passes("app", "orders") && !o.tables.passes("app", "secret") && o.tables.passes("x", "audit"));
    assert!(o.actions.insert && !o.actions.update && o.actions.delete && !o.actions.truncate);
    assert!(!o.message_prefixes.passes(b"noise"));
    assert_eq!(o.origins.exclude, ["node_b", "node_c"]);
    let e = parse_pairs(&[("actions", Some("insert,merge"))]).unwrap_err();
    assert_eq!(e.sqlstate.code(), "22023");
    assert!(
        e.message
            .contains("\"actions\" has invalid value \"insert,merge\": \"merge\" is not an action"),
        "{}",
        e.message
    );
    let e = parse_pairs(&[("add-tables", Some("nodot"))]).unwrap_err();
    assert!(e.message.contains("\"add-tables\""), "{}", e.message);
}

#[test]
fn conflicting_origin_options() {
    let e = parse_pairs(&[("only-local", None), ("include-origins", Some("a"))]).unwrap_err();
    assert_eq!(e.sqlstate.code(), "42601");
    assert!(
        e.message.contains("\"only-local\" and \"include-origins\""),
        "{}",
        e.message
    );
    assert!(parse_pairs(&[("only-local", Some("false")), ("include-origins", Some("a"))]).is_ok());
    let e = parse_pairs(&[("include-origins", Some("a")), ("exclude-origins", Some("b"))]).unwrap_err();
    assert_eq!(e.sqlstate, SqlState::ConflictingOptions);
}

#[test]
fn settings_give_defaults_that_plugin_options_override() {
    let defaults = [
        ("include-xids", "off"),
        ("skip-empty-xacts", "on"),
        ("add-tables", "app.*"),
    ];
    let o = parse_layered(&defaults, [("include-xids", Some("on"))]).unwrap();
    assert!(o.include_xids, "plugin option wins");
    assert!(o.skip_empty_xacts && !o.tables.passes("public", "t"), "defaults apply");
    // a plugin option equal to a setting is not a duplicate
    assert!(parse_layered(&[("include-lsn", "on")], [("include-lsn", Some("on"))]).is_ok());
    // conflicts are judged on the effective values
    let e = parse_layered(&[("only-local", "on")], [("include-origins", Some("a"))]).unwrap_err();
    assert_eq!(e.sqlstate, SqlState::ConflictingOptions);
    assert!(parse_layered(
        &[("only-local", "on")],
        [("only-local", Some("off")), ("include-origins", Some("a"))]
    )
    .is_ok());
    assert_eq!(setting_name("include-xids"), "wal2any.include_xids");
    assert!(check_setting("include-xids", "").is_ok());
    assert!(check_setting("include-xids", "perhaps")
        .unwrap_err()
        .message
        .contains("\"perhaps\""));
    assert!(check_setting("actions", "insert,update").is_ok());
}

#[test]
fn test_decoding_format_has_test_decodings_option_rules() {
    let o = parse_pairs(&[
        ("format", Some("test_decoding")),
        ("include-xids", Some("0")),
        ("skip-empty-xacts", None),
    ])
    .unwrap();
    assert_eq!(o.format, Format::TestDecoding);
    assert!(!o.include_xids && o.skip_empty_xacts);
    // bare stream-changes/force-binary/include-rewrites are ignored, as in test_decoding
    let o = parse_pairs(&[
        ("format", Some("test_decoding")),
        ("stream-changes", None),
        ("force-binary", None),
    ])
    .unwrap();
    assert!(!o.stream_changes && !o.force_binary);
    // duplicates: the last wins
    let o = parse_pairs(&[
        ("format", Some("test_decoding")),
        ("include-xids", Some("0")),
        ("include-xids", Some("1")),
    ]);
    assert!(o.unwrap().include_xids);
    let e = parse_pairs(&[("format", Some("test_decoding")), ("include-lsn", None)]).unwrap_err();
    assert_eq!(
        (e.sqlstate.code(), e.message.as_str()),
        ("22023", "option \"include-lsn\" = \"(null)\" is unknown")
    );
    let e = parse_pairs(&[("format", Some("test_decoding")), ("only-local", Some("maybe"))]).unwrap_err();
    assert_eq!(
        e.message,
        "could not parse value \"maybe\" for parameter \"only-local\""
    );
    assert_eq!(e.hint, None);
    // and the json format refuses test_decoding-only options
    let e = parse_pairs(&[("force-binary", Some("1"))]).unwrap_err();
    assert!(
        e.message.contains("applies only to format test_decoding"),
        "{}",
        e.message
    );
    // a default format from settings
    let o = parse_layered(
        &[("format", "test_decoding"), ("include-lsn", "on")],
        [("include-xids", Some("off"))],
    )
    .unwrap();
    assert_eq!(o.format, Format::TestDecoding);
}

#[test]
fn readme_option_table_is_generated_from_this_table() {
    let readme = include_str!("../README.md");
    assert!(
        readme.contains(&markdown_table()),
        "README's option table is stale (python3 scripts/sync_readme.py fixes it); paste:\n{}",
        markdown_table()
    );
}

#[test]
fn batch_bytes_is_a_size_and_binary_formats_need_framing() {
    assert_eq!(
        parse_pairs(&[("batch-bytes", Some("65536"))]).unwrap().batch_bytes,
        65536
    );
    let e = parse_pairs(&[("batch-bytes", Some("-1"))]).unwrap_err();
    assert_eq!(e.sqlstate.code(), "22023");
    assert!(e.message.contains("expected a number of bytes"), "{}", e.message);
    let e = parse_pairs(&[("batch-bytes", Some("67108865"))]).unwrap_err();
    assert_eq!(
        e.message,
        "option \"batch-bytes\" has invalid value \"67108865\": expected a number of bytes from 0 to 67108864"
    );
    assert!(e.hint.unwrap().starts_with("\"batch-bytes\": Write several events"));
    assert_eq!(
        parse_pairs(&[("batch-bytes", Some("67108864"))]).unwrap().batch_bytes,
        67108864
    );
    let e = parse_pairs(&[("batch-bytes", None)]).unwrap_err();
    assert_eq!(e.message, "option \"batch-bytes\" needs a value");
    let e = parse_pairs(&[("format", Some("avro")), ("batch-bytes", Some("100"))]).unwrap_err();
    assert_eq!(e.sqlstate.code(), "42601");
    assert!(
        e.message.contains("needs \"framing\" with format avro"),
        "{}",
        e.message
    );
    let o = parse_pairs(&[
        ("format", Some("protobuf")),
        ("batch-bytes", Some("100")),
        ("framing", Some("varint")),
    ]);
    assert_eq!(o.unwrap().batch_bytes, 100);
}

#[test]
fn settings_of_other_formats_are_checked_and_batches_are_json_lines() {
    assert!(check_setting("framing", "varint").is_ok());
    assert!(check_setting("framing", "bogus").is_err());
    assert!(check_setting("schema-events", "x").is_err());
    assert!(check_setting("include-column-names", "maybe").is_err());
    assert!(check_setting("format", "avro").is_ok());
    let e = parse_pairs(&[("pretty-print", None), ("batch-bytes", Some("100"))]).unwrap_err();
    assert_eq!(e.sqlstate.code(), "42601");
}

#[test]
fn a_million_options_and_a_million_entry_list_parse_in_one_pass() {
    // Quadratic duplicate detection would make 10^12 comparisons here, in a
    // startup callback that cannot be cancelled: this test would not end.
    let names: Vec<String> = (0..1_000_000).map(|i| format!("x{i}")).collect();
    let pairs = names.iter().map(|n| (n.as_str(), Some("1"))).chain([("x0", Some("2"))]);
    let e = parse(pairs).unwrap_err();
    assert_eq!(e.sqlstate, SqlState::ConflictingOptions);
    assert!(e.message.contains("\"x0\" is given more than once"), "{}", e.message);
    let list: String = (0..1_000_000).map(|i| format!("p{i},")).collect();
    let o = parse([
        ("add-msg-prefixes", Some(list.as_str())),
        ("add-tables", Some("*.t,s.*")),
    ])
    .unwrap();
    assert!(o.message_prefixes.passes(b"p999999") && !o.message_prefixes.passes(b"p1000000"));
}

/// A small deterministic generator (no dependency): xorshift64*.
struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.next() as usize % from.len()]
    }

    /// A short string of arbitrary characters (any Unicode scalar).
    fn text(&mut self) -> String {
        let len = self.next() % 12;
        (0..len)
            .filter_map(|_| match self.next() % 4 {
                0 => char::from_u32((self.next() % 0x11_0000) as u32),
                1 => Some(*b"\\,.* -=_01onftyx".get(self.next() as usize % 16).unwrap() as char),
                _ => Some((b'a' + (self.next() % 26) as u8) as char),
            })
            .collect()
    }
}

#[test]
fn random_options_are_accepted_or_refused_with_a_startup_sqlstate_never_a_panic() {
    let known: Vec<&str> = OPTION_TABLE.iter().map(|s| s.name).collect();
    let values = [
        "true",
        "off",
        "",
        "json",
        "protobuf",
        "avro",
        "test_decoding",
        "varint",
        "once",
        "65536",
        "-1",
        "99999999999999999999",
        "insert,merge",
        "a.b,*.c",
        "\\",
        ".",
    ];
    for seed in 1..=20_000u64 {
        let mut rng = Xorshift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let count = rng.next() % 6;
        let owned: Vec<(String, Option<String>)> = (0..count)
            .map(|_| {
                let name = if rng.next().is_multiple_of(5) {
                    rng.text()
                } else {
                    rng.pick(&known).to_owned()
                };
                let value = match rng.next() % 4 {
                    0 => None,
                    1 => Some(rng.text()),
                    _ => Some(rng.pick(&values).to_owned()),
                };
                (name, value)
            })
            .collect();
        let pairs = owned.iter().map(|(n, v)| (n.as_str(), v.as_deref()));
        let defaults = [("include-xids", "maybe")];
        let layered = if seed.is_multiple_of(7) { &defaults[..] } else { &[][..] };
        // Never a panic (the FFI layer would turn one into an internal error):
        // an Ok, or an error with one of the two startup SQLSTATEs.
        let outcome = std::panic::catch_unwind(|| parse_layered(layered, pairs).map(|_| ()));
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(e)) => assert!(!e.message.is_empty() && ["22023", "42601"].contains(&e.sqlstate.code())),
            Err(_) => panic!("seed {seed}: parsing {owned:?} panicked"),
        }
    }
}

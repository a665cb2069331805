//! In-server unit tests (`#[pg_test]`): Datum conversion and the relation
//! cache against real catalog data. They run inside a transaction that is
//! rolled back, so end-to-end decoding is tested in pg_test/ instead.

#[pgrx::pg_schema]
mod tests {
    use crate::encode::json::JsonEncoder;
    use crate::ffi::canonical::CanonicalOutputSettings;
    use crate::ffi::datum::{varlena_bytes, TypeConversion};
    use crate::ffi::encoding::TextEncoding;
    use crate::ffi::relcache::RelationCache;
    use crate::model::{ReplicaIdentity, Value};
    use crate::ondisk::jsonb::{self, Style};
    use crate::ondisk::RenderedText;
    use crate::options;
    use pgrx::pg_sys;
    use pgrx::prelude::*;
    use std::ffi::CString;

    const UTF8: TextEncoding = TextEncoding::AS_STORED;

    /// Runs `SELECT <expr>` and renders the value with the JSON encoder.
    fn render_with(expr: &str, opts: &[(&'static str, Option<&'static str>)]) -> String {
        let encoder = JsonEncoder::new(&options::parse(opts.iter().copied()).unwrap());
        let sql = CString::new(format!("SELECT {expr}")).unwrap();
        // SAFETY: plain SPI usage; the datum lives in SPI memory until SPI_finish,
        // and the rendering is finished before that.
        unsafe {
            assert_eq!(pg_sys::SPI_connect(), pg_sys::SPI_OK_CONNECT as i32);
            assert_eq!(pg_sys::SPI_execute(sql.as_ptr(), true, 1), pg_sys::SPI_OK_SELECT as i32);
            let table = pg_sys::SPI_tuptable;
            let tuple = *(*table).vals;
            let mut is_null = false;
            let datum = pg_sys::SPI_getbinval(tuple, (*table).tupdesc, 1, &mut is_null);
            let type_oid = pg_sys::SPI_gettypeid((*table).tupdesc, 1);
            let conversion = TypeConversion::lookup(type_oid, pg_sys::CurrentMemoryContext);
            // As the change callback does around every change.
            let settings = CanonicalOutputSettings::apply(pg_sys::pg_tzset(c"UTC".as_ptr()));
            // Outlives `value`, which may borrow it.
            let mut rendered = RenderedText::default();
            let value = if is_null {
                Value::Null
            } else {
                conversion.convert(datum, UTF8, &mut rendered)
            };
            drop(settings);
            let mut out = Vec::new();
            encoder.push_value(&mut out, &value);
            pg_sys::SPI_finish();
            String::from_utf8(out).unwrap()
        }
    }

    fn render(expr: &str) -> String {
        render_with(expr, &[])
    }

    #[pg_test]
    fn date_time_values_ignore_session_datestyle_and_timezone() {
        Spi::run("SET TimeZone = 'America/New_York'; SET DateStyle = 'SQL, DMY'; SET IntervalStyle = 'sql_standard'")
            .unwrap();
        assert_eq!(
            render("'2026-11-21 12:34:56.5+02'::timestamptz"),
            r#""2026-11-21T10:34:56.500000Z""#
        );
        assert_eq!(
            render("'2026-11-21 12:34:56'::timestamp"),
            r#""2026-11-21T12:34:56.000000""#
        );
        assert_eq!(render("'2026-11-21'::date"), r#""2026-11-21""#);
        assert_eq!(render("'0044-03-15 BC'::date"), r#""-0043-03-15""#);
        assert_eq!(render("'infinity'::timestamptz"), r#""infinity""#);
        assert_eq!(render("'-infinity'::date"), r#""-infinity""#);
        assert_eq!(render("'13:14:15.25-05:30'::timetz"), r#""13:14:15.250000-05:30""#);
        assert_eq!(
            render("'1 year 2 mons 3 days 04:05:06.5'::interval"),
            r#""P1Y2M3DT4H5M6.5S""#
        );
    }

    #[pg_test]
    fn numbers_keep_precision_whatever_the_session_says() {
        Spi::run("SET extra_float_digits = -15").unwrap();
        assert_eq!(render("0.1::float8 + 0.2::float8"), "0.30000000000000004");
        assert_eq!(render("'1e-320'::float8"), "1e-320");
        assert_eq!(render("'NaN'::float4"), r#""NaN""#);
        assert_eq!(render("'-Infinity'::float8"), r#""-Infinity""#);
        assert_eq!(render("9223372036854775807::int8"), "9223372036854775807");
        assert_eq!(
            render("'123456789012345678901234567890.123456789'::numeric"),
            "123456789012345678901234567890.123456789"
        );
        assert_eq!(render("'NaN'::numeric"), r#""NaN""#);
        assert_eq!(render("'Infinity'::numeric"), r#""Infinity""#);
        let as_strings = [("int8-as-string", None), ("numeric-as-string", None)];
        assert_eq!(render_with("(-42)::int8", &as_strings), r#""-42""#);
        assert_eq!(render_with("1.50::numeric", &as_strings), r#""1.50""#);
    }

    #[pg_test]
    fn text_json_bytea_and_uuid() {
        Spi::run("SET bytea_output = 'escape'").unwrap();
        assert_eq!(
            render("E'tab\\there \"quoted\" \\\\ \\x01'::text"),
            r#""tab\there \"quoted\" \\ \u0001""#
        );
        assert_eq!(render("'ab'::char(4)"), r#""ab  ""#);
        assert_eq!(render("'\\xdeadbeef'::bytea"), r#""\\xdeadbeef""#);
        assert_eq!(
            render("'{\"b\": [1, 2], \"a\": {\"c\": null}}'::jsonb"),
            r#"{"a":{"c":null},"b":[1,2]}"#
        );
        assert_eq!(render("'[1,  2 , \"x y\"]'::json"), r#"[1,2,"x y"]"#);
        assert_eq!(
            render("'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'::uuid"),
            r#""a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11""#
        );
        assert_eq!(render("'relname'::name"), r#""relname""#);
        assert_eq!(render("NULL::text"), "null");
    }

    #[pg_test]
    fn arrays_domains_and_fallback_types() {
        Spi::run("CREATE DOMAIN positive AS int CHECK (VALUE > 0); CREATE DOMAIN labels AS text[]; CREATE TYPE mood AS ENUM ('ok', 'meh')").unwrap();
        assert_eq!(render("'{{1,2},{3,NULL}}'::int[]"), "[[1,2],[3,null]]");
        assert_eq!(render("'{}'::text[]"), "[]");
        assert_eq!(render("ARRAY['2026-01-02'::date]"), r#"["2026-01-02"]"#);
        assert_eq!(render("5::positive"), "5");
        assert_eq!(render("ARRAY[1,2]::positive[]"), "[1,2]");
        assert_eq!(render("'{a,b}'::labels"), r#"["a","b"]"#);
        assert_eq!(render("'meh'::mood"), r#""meh""#);
        assert_eq!(render("'[1,5)'::int4range"), r#""[1,5)""#);
        assert_eq!(render("point(1.5, 2)"), r#""(1.5,2)""#);
        assert_eq!(render("ROW(1, 'a b')"), r#""(1,\"a b\")""#);
        assert_eq!(render("ARRAY['{\"k\": 1}'::jsonb]"), r#"[{"k":1}]"#);
    }

    #[pg_test]
    fn text_output_of_other_types_ignores_session_settings() {
        Spi::run("SET extra_float_digits = -15; SET DateStyle = 'SQL, DMY'; SET TimeZone = 'Asia/Kathmandu'; SET bytea_output = 'escape'").unwrap();
        assert_eq!(render("point(1.5, 2)"), r#""(1.5,2)""#);
        assert_eq!(
            render("'[2026-01-01 00:00+00,2026-01-02 00:00+00)'::tstzrange"),
            r#""[\"2026-01-01 00:00:00+00\",\"2026-01-02 00:00:00+00\")""#
        );
        assert_eq!(
            render("'[2026-01-01,2026-02-01)'::daterange"),
            r#""[2026-01-01,2026-02-01)""#
        );
        assert_eq!(
            render("ROW('\x01'::bytea, 0.1::float8, '1 day'::interval)"),
            r#""(\"\\\\x01\",0.1,P1D)""#
        );
        // and the session's own settings are back afterwards
        assert_eq!(
            Spi::get_one::<String>("SELECT point(1.5, 2)::text").unwrap().unwrap(),
            "(2,2)"
        );
    }

    #[pg_test]
    fn relation_cache_reads_columns_keys_and_identity() {
        Spi::run(
            "CREATE TABLE rc (a int, dropped text, \"Mixed \"\"Case\"\"\" varchar(20) NOT NULL, g int GENERATED ALWAYS AS (a * 2) STORED, PRIMARY KEY (a));
             ALTER TABLE rc DROP COLUMN dropped;
             CREATE UNIQUE INDEX rc_mixed ON rc (\"Mixed \"\"Case\"\"\");
             ALTER TABLE rc REPLICA IDENTITY USING INDEX rc_mixed;",
        )
        .unwrap();
        let oid = Spi::get_one::<pg_sys::Oid>("SELECT 'rc'::regclass::oid")
            .unwrap()
            .unwrap();
        // SAFETY: the relation is opened and closed here, inside the test transaction.
        unsafe {
            let relation = pg_sys::RelationIdGetRelation(oid);
            let mut cache = RelationCache::new(pg_sys::CurrentMemoryContext, Default::default(), true);
            let entry = cache.get(relation, UTF8);
            let names: Vec<_> = entry.meta.columns.iter().map(|c| c.name.as_str()).collect();
            assert_eq!(names, ["a", "Mixed \"Case\"", "g"]);
            assert_eq!(entry.attribute_index, [0, 2, 3]);
            assert_eq!(entry.meta.identity, ReplicaIdentity::Index);
            let keys: Vec<_> = entry
                .meta
                .columns
                .iter()
                .map(|c| (c.is_key, c.is_primary_key))
                .collect();
            assert_eq!(keys, [(false, true), (true, false), (false, false)]);
            assert_eq!(entry.meta.columns[1].type_name, "character varying(20)");
            assert_eq!(entry.meta.columns[1].type_name_no_typmod, b"character varying");
            pg_sys::RelationClose(relation);
        }
    }

    /// For every row of `sql` (one column, no NULLs): what `ours` makes of
    /// the Datum (given the column type's conversion), and the type's output
    /// function's text.
    fn ours_vs_output(
        sql: &str,
        mut ours: impl FnMut(pg_sys::Datum, &TypeConversion) -> Option<String>,
    ) -> Vec<(Option<String>, String)> {
        let sql = CString::new(sql).unwrap();
        // SAFETY: plain SPI usage; the datums live in SPI memory until SPI_finish.
        unsafe {
            assert_eq!(pg_sys::SPI_connect(), pg_sys::SPI_OK_CONNECT as i32);
            assert_eq!(pg_sys::SPI_execute(sql.as_ptr(), true, 0), pg_sys::SPI_OK_SELECT as i32);
            let table = pg_sys::SPI_tuptable;
            let conversion =
                TypeConversion::lookup(pg_sys::SPI_gettypeid((*table).tupdesc, 1), pg_sys::CurrentMemoryContext);
            let rows = std::slice::from_raw_parts((*table).vals, pg_sys::SPI_processed as usize);
            let pairs = rows
                .iter()
                .map(|tuple| {
                    let mut is_null = false;
                    let datum = pg_sys::SPI_getbinval(*tuple, (*table).tupdesc, 1, &mut is_null);
                    let theirs = std::ffi::CStr::from_ptr(pg_sys::SPI_getvalue(*tuple, (*table).tupdesc, 1));
                    (ours(datum, &conversion), theirs.to_string_lossy().into_owned())
                })
                .collect();
            pg_sys::SPI_finish();
            pairs
        }
    }

    /// `ours_vs_output` with `print` given the bytes of the varlena (its
    /// stored form, after the header).
    fn stored_vs_output(sql: &str, print: impl Fn(&[u8]) -> Option<String>) -> Vec<(Option<String>, String)> {
        // SAFETY: the column is of a varlena type (numeric, jsonb).
        ours_vs_output(sql, |datum, _| print(unsafe { varlena_bytes(datum) }))
    }

    #[pg_test]
    fn numeric_from_its_stored_form_prints_as_numeric_out() {
        let pairs = stored_vs_output(
            "SELECT v FROM (VALUES (0::numeric), (-0.000), ('NaN'), ('Infinity'), ('-Infinity'), (1e-130),
                 (9.99e130), (123456789012345678901234567890.123456789), (-0.00001), (10000), (100000000.0001)) t(v)
             UNION ALL SELECT round(((g * 7919 % 1000) - 500) * 10::numeric ^ (g % 40 - 20), g % 25)
               FROM generate_series(1, 2000) g
             UNION ALL SELECT 10::numeric ^ (g % 300 - 150) * (g % 7 - 3) FROM generate_series(1, 600) g",
            |stored| crate::ondisk::numeric::Numeric::parse(stored).map(|n| n.to_text()),
        );
        assert_eq!(pairs.len(), 2611);
        for (ours, numeric_out) in pairs {
            assert_eq!(ours.as_deref(), Some(numeric_out.as_str()));
        }
    }

    const JSONB_DOCUMENTS: &str = r#"SELECT v FROM (VALUES ('{}'::jsonb), ('[]'), ('null'), ('"x"'), ('1.50'), ('-0.0'),
                 ('{"a": {"b": [1, "é\u0001\n", true, false, null, {"c": []}]}, "": ""}'),
                 ('"\u007f \\ \" / \u0085"'), ((repeat('[', 20) || '1' || repeat(']', 20))::jsonb)) t(v)
             UNION ALL SELECT jsonb_agg(g * 1.5) FROM generate_series(1, 100) g
             UNION ALL SELECT jsonb_object_agg('key' || g, repeat('x', g % 7)) FROM generate_series(1, 70) g
             UNION ALL SELECT to_jsonb(r) FROM (SELECT g, 'text ' || g AS t, g % 2 = 0 AS b, g * 0.001 AS n,
                 ARRAY[g, g + 1] AS a, CASE WHEN g % 3 = 0 THEN NULL ELSE 'x' END AS z
               FROM generate_series(1, 300) g) r"#;

    fn jsonb_printed(style: Style) -> Vec<(Option<String>, String)> {
        fn print(stored: &[u8], style: Style) -> Option<String> {
            let mut out = Vec::new();
            jsonb::write(stored, &mut out, style).map(|_| String::from_utf8(out).unwrap())
        }
        let pairs = stored_vs_output(JSONB_DOCUMENTS, |stored| print(stored, style));
        assert_eq!(pairs.len(), 311);
        pairs
    }

    #[pg_test]
    fn jsonb_from_its_stored_form_prints_as_jsonb_out() {
        for (ours, jsonb_out) in jsonb_printed(Style::JsonbOut) {
            assert_eq!(ours.as_deref(), Some(jsonb_out.as_str()));
        }
    }

    #[pg_test]
    fn jsonb_from_its_stored_form_prints_as_compacted_jsonb_out() {
        for (ours, jsonb_out) in jsonb_printed(Style::Compact) {
            let mut compacted = Vec::new();
            crate::encode::json_text::push_embedded_json(&mut compacted, jsonb_out.as_bytes());
            assert_eq!(ours.as_deref(), Some(std::str::from_utf8(&compacted).unwrap()));
        }
        // Deeper than ondisk prints: jsonb_out's text, still compacted.
        let deep = format!("'{}1{}'::jsonb", "[".repeat(100), "]".repeat(100));
        assert_eq!(render(&deep), format!("{}1{}", "[".repeat(100), "]".repeat(100)));
    }

    /// For every row of `sql` (one column, no NULLs): the test_decoding
    /// format's text (`convert_as_text`) and the output function's.
    fn as_text_vs_output(sql: &str) -> Vec<(Option<String>, String)> {
        let mut rendered = RenderedText::default();
        ours_vs_output(sql, |datum, conversion| {
            // SAFETY: a Datum of the conversion's type; the text is copied
            // before `rendered` is used again.
            match unsafe { conversion.convert_as_text(datum, &mut rendered) } {
                Value::Other(text) => Some(String::from_utf8_lossy(text).into_owned()),
                _ => None,
            }
        })
    }

    #[pg_test]
    fn test_decoding_dates_print_as_the_output_functions_in_any_time_zone() {
        let values = "SELECT v FROM (VALUES ('2026-11-21 14:52:46.341455+00'::timestamptz), ('1900-01-01 00:00+00'),
               ('0044-03-15 12:00:00.5+00 BC'), ('infinity'), ('-infinity'), ('10000-01-01 00:00:00.000001+00'),
               ('1970-01-01 00:00:00.12+00'), ('2026-03-29 01:59:59.999999+00')) t(v)
             UNION ALL SELECT '2000-01-01'::timestamptz + g * interval '7 days 1 hour 1.010101 seconds'
               FROM generate_series(-3000, 3000) g";
        for zone in [
            "UTC",
            "Asia/Kathmandu",
            "America/St_Johns",
            "Europe/Amsterdam",
            "Pacific/Chatham",
        ] {
            Spi::run(&format!("SET DateStyle = 'ISO, DMY'; SET TimeZone = '{zone}'")).unwrap();
            for cast in ["v", "v::timestamp", "v::date"] {
                let pairs = as_text_vs_output(&format!("SELECT {cast} FROM ({values}) s"));
                assert_eq!(pairs.len(), 6009);
                for (ours, output_function) in pairs {
                    assert_eq!(ours.as_deref(), Some(output_function.as_str()), "{zone} {cast}");
                }
            }
        }
        // Another DateStyle: the output function prints (SQL style here).
        Spi::run("SET DateStyle = 'SQL, DMY'; SET TimeZone = 'UTC'").unwrap();
        let pairs = as_text_vs_output("SELECT '2026-11-21 14:52:46+00'::timestamptz");
        assert_eq!(pairs[0].0.as_deref(), Some(pairs[0].1.as_str()));
        assert!(pairs[0].1.starts_with("21/11/2026"), "{}", pairs[0].1);
    }
}

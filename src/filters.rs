//! Filters evaluated before any encoding work: tables (wal2json's pattern
//! syntax), actions, message prefixes and replication origins. Plain Rust.

/// A comma-separated list item, with backslash escapes (`\,` `\.` `\*` `\\`
/// and `\ `) kept as literal characters: `Vec<(text, is_literal)>`.
fn split_escaped(list: &str, separator: char) -> Vec<Vec<(char, bool)>> {
    let mut items = vec![Vec::new()];
    let mut chars = list.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    items.last_mut().unwrap().push((next, true));
                }
            }
            c if c == separator => items.push(Vec::new()),
            c => items.last_mut().unwrap().push((c, false)),
        }
    }
    items
}

/// Drops unescaped whitespace around an item.
fn trim(item: &[(char, bool)]) -> &[(char, bool)] {
    let keep = |(c, literal): &(char, bool)| *literal || !c.is_whitespace();
    let start = item.iter().position(keep).unwrap_or(item.len());
    let end = item.iter().rposition(keep).map_or(start, |e| e + 1);
    &item[start..end]
}

/// Splits a plain comma-separated list (prefixes, origin names, actions),
/// honouring `\,` escapes and trimming unescaped surrounding spaces.
pub fn split_list(list: &str) -> Vec<String> {
    split_escaped(list, ',')
        .into_iter()
        .map(|item| trim(&item).iter().map(|(c, _)| *c).collect::<String>())
        .filter(|s| !s.is_empty())
        .collect()
}

/// `schema.table`, `*.table`, `schema.*` or `*.*` (wal2json's syntax).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TablePattern {
    /// `None` matches any schema.
    pub schema: Option<String>,
    pub table: Option<String>,
}

impl TablePattern {
    pub fn matches(&self, schema: &str, table: &str) -> bool {
        self.schema.as_deref().is_none_or(|s| s == schema) && self.table.as_deref().is_none_or(|t| t == table)
    }
}

/// Parses a comma-separated list of table patterns.
pub fn parse_table_patterns(list: &str) -> Result<Vec<TablePattern>, String> {
    let mut patterns = Vec::new();
    for item in split_escaped(list, ',') {
        let trimmed = trim(&item);
        if trimmed.is_empty() {
            continue;
        }
        let dots: Vec<usize> = trimmed
            .iter()
            .enumerate()
            .filter(|(_, (c, lit))| *c == '.' && !lit)
            .map(|(i, _)| i)
            .collect();
        let text: String = trimmed.iter().map(|(c, _)| *c).collect();
        let [dot] = dots[..] else {
            return Err(format!("\"{text}\" is not schema.table (escape a literal dot as \\.)"));
        };
        let part = |range: &[(char, bool)]| -> Option<String> {
            match range {
                [('*', false)] => None,
                _ => Some(range.iter().map(|(c, _)| *c).collect()),
            }
        };
        let (schema, table) = (part(&trimmed[..dot]), part(&trimmed[dot + 1..]));
        if schema.as_deref() == Some("") || table.as_deref() == Some("") {
            return Err(format!("\"{text}\" has an empty schema or table name"));
        }
        patterns.push(TablePattern { schema, table });
    }
    Ok(patterns)
}

/// Which row operations are emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actions {
    pub insert: bool,
    pub update: bool,
    pub delete: bool,
    pub truncate: bool,
}

impl Default for Actions {
    fn default() -> Self {
        Actions {
            insert: true,
            update: true,
            delete: true,
            truncate: true,
        }
    }
}

pub const ACTION_NAMES: &[&str] = &["insert", "update", "delete", "truncate"];

pub fn parse_actions(list: &str) -> Result<Actions, String> {
    let mut actions = Actions {
        insert: false,
        update: false,
        delete: false,
        truncate: false,
    };
    for name in split_list(list) {
        match name.to_ascii_lowercase().as_str() {
            "insert" => actions.insert = true,
            "update" => actions.update = true,
            "delete" => actions.delete = true,
            "truncate" => actions.truncate = true,
            _ => return Err(format!("\"{name}\" is not an action")),
        }
    }
    Ok(actions)
}

/// Table include/exclude lists: a relation passes when it matches an
/// `add-tables` pattern (if any are given) and no `filter-tables` pattern.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableFilter {
    pub include: Vec<TablePattern>,
    pub exclude: Vec<TablePattern>,
}

impl TableFilter {
    pub fn passes(&self, schema: &str, table: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|p| p.matches(schema, table)))
            && !self.exclude.iter().any(|p| p.matches(schema, table))
    }
}

/// Message prefix include/exclude lists (exact prefixes, as in wal2json),
/// in hash sets: checked for every message, whatever the lists' length.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrefixFilter {
    pub include: std::collections::HashSet<Vec<u8>>,
    pub exclude: std::collections::HashSet<Vec<u8>>,
}

impl PrefixFilter {
    pub fn passes(&self, prefix: &[u8]) -> bool {
        (self.include.is_empty() || self.include.contains(prefix)) && !self.exclude.contains(prefix)
    }
}

/// Replication-origin filter, by origin name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OriginFilter {
    pub only_local: bool,
    /// When non-empty: local changes and changes from these origins pass.
    pub include: Vec<String>,
    pub exclude: Vec<String>,
}

impl OriginFilter {
    pub fn is_active(&self) -> bool {
        self.only_local || !self.include.is_empty() || !self.exclude.is_empty()
    }

    /// Whether a change from origin `name` (`None`: an origin with no name,
    /// e.g. dropped since) passes. Local changes are not asked about.
    pub fn passes_origin(&self, name: Option<&str>) -> bool {
        if self.only_local {
            return false;
        }
        let listed = |list: &[String]| name.is_some_and(|n| list.iter().any(|o| o == n));
        (self.include.is_empty() || listed(&self.include)) && !listed(&self.exclude)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(schema: Option<&str>, table: Option<&str>) -> TablePattern {
        TablePattern {
            schema: schema.map(Into::into),
            table: table.map(Into::into),
        }
    }

    #[test]
    fn table_patterns_follow_wal2json_syntax() {
        let p = parse_table_patterns("public.t1, *.audit ,app.*,s\\.x.t\\,y,*.*").unwrap();
        assert_eq!(
            p,
            [
                pattern(Some("public"), Some("t1")),
                pattern(None, Some("audit")),
                pattern(Some("app"), None),
                pattern(Some("s.x"), Some("t,y")),
                pattern(None, None),
            ]
        );
        assert_eq!(parse_table_patterns("a.\\*").unwrap(), [pattern(Some("a"), Some("*"))]);
        assert_eq!(
            parse_table_patterns("my\\ schema.my\\ table").unwrap(),
            [pattern(Some("my schema"), Some("my table"))]
        );
        assert!(parse_table_patterns("nodot").unwrap_err().contains("\"nodot\""));
        assert!(parse_table_patterns("a.b.c").is_err());
        assert!(parse_table_patterns(".t").is_err());
        assert!(parse_table_patterns("").unwrap().is_empty());
    }

    #[test]
    fn table_filter_include_then_exclude() {
        let f = TableFilter {
            include: parse_table_patterns("app.*").unwrap(),
            exclude: parse_table_patterns("*.secret").unwrap(),
        };
        assert!(f.passes("app", "orders"));
        assert!(!f.passes("app", "secret"));
        assert!(!f.passes("public", "orders"));
        assert!(TableFilter::default().passes("any", "thing"));
        assert!(pattern(None, Some("t")).matches("x", "t"));
        assert!(
            !pattern(Some("s"), Some("t")).matches("S", "t"),
            "names are case-sensitive"
        );
    }

    #[test]
    fn actions_and_lists() {
        let a = parse_actions("insert, DELETE").unwrap();
        assert_eq!(
            a,
            Actions {
                insert: true,
                update: false,
                delete: true,
                truncate: false
            }
        );
        assert!(parse_actions("insert,upsert").unwrap_err().contains("upsert"));
        assert_eq!(split_list(" a , b\\,c ,, \\ d"), ["a", "b,c", " d"]);
    }

    #[test]
    fn prefixes_and_origins() {
        let p = PrefixFilter {
            include: Default::default(),
            exclude: [b"noise".to_vec()].into(),
        };
        assert!(p.passes(b"audit") && !p.passes(b"noise"));
        let p = PrefixFilter {
            include: [b"audit".to_vec()].into(),
            exclude: Default::default(),
        };
        assert!(p.passes(b"audit") && !p.passes(b"auditx"));
        let only_local = OriginFilter {
            only_local: true,
            ..Default::default()
        };
        assert!(only_local.is_active() && !only_local.passes_origin(Some("node_a")));
        let exclude = OriginFilter {
            exclude: vec!["node_a".into()],
            ..Default::default()
        };
        assert!(!exclude.passes_origin(Some("node_a")) && exclude.passes_origin(Some("node_b")));
        assert!(exclude.passes_origin(None));
        let include = OriginFilter {
            include: vec!["node_a".into()],
            ..Default::default()
        };
        assert!(include.passes_origin(Some("node_a")) && !include.passes_origin(Some("node_b")));
        assert!(!include.passes_origin(None));
        assert!(!OriginFilter::default().is_active());
    }
}

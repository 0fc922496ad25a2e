//! MySQL and MariaDB types. The catalog spelling is `information_schema.COLUMNS.COLUMN_TYPE` (`varchar(255)`,
//! `int(11) unsigned`, `enum('a','it''s')`, `datetime(6)`), except that introspection passes `json` for MariaDB's
//! JSON columns, which it stores as `longtext` with a `json_valid` CHECK.
//!
//! Decisions: integer display widths (`int(11)`, `year(4)`) are dropped, as MySQL 8 does; `tinyint(1)` is the
//! boolean; `TIMESTAMP(6)` is `TimestampTz` (it stores UTC and converts from the session time zone, the nearest to
//! "with time zone", and reads back unambiguously since `Timestamp` is `DATETIME(6)`; its range ends in 2038 on
//! MySQL and MariaDB before 11.5); a UUID is `CHAR(36)` and reads back as `Char(36)` (MariaDB's native `uuid` type
//! is `Custom("uuid")`, so that a model asking for it with `sql_type` gets it and a change between the two is
//! seen); `REAL` is a double, as on MySQL without `REAL_AS_FLOAT`.

use dbwarden_core::schema::ColumnType;

use super::{custom, spell, CatalogType, TypeMap};

pub(super) struct MySql;

/// Types whose parenthesised number is a display width, not part of the type.
const DISPLAY_WIDTH: &[&str] = &["tinyint", "smallint", "mediumint", "int", "integer", "bigint", "year"];

impl TypeMap for MySql {
    fn render(&self, ty: &ColumnType, _auto_increment: bool) -> String {
        match ty {
            ColumnType::SmallInt => "SMALLINT".into(),
            ColumnType::Integer => "INT".into(),
            ColumnType::BigInt => "BIGINT".into(),
            ColumnType::Real => "FLOAT".into(),
            ColumnType::Double => "DOUBLE".into(),
            ColumnType::Boolean => "TINYINT(1)".into(),
            ColumnType::Text => "TEXT".into(),
            ColumnType::Varchar(n) => format!("VARCHAR({n})"),
            ColumnType::Char(n) => format!("CHAR({n})"),
            ColumnType::Blob => "LONGBLOB".into(),
            ColumnType::Date => "DATE".into(),
            ColumnType::Time => "TIME".into(),
            ColumnType::Timestamp => "DATETIME(6)".into(),
            ColumnType::TimestampTz => "TIMESTAMP(6)".into(),
            ColumnType::Uuid => "CHAR(36)".into(),
            ColumnType::Decimal(p, s) => format!("DECIMAL({p},{s})"),
            ColumnType::Json => "JSON".into(),
            ColumnType::Enum(values) => {
                // Backslashes escape in MySQL strings (unless NO_BACKSLASH_ESCAPES); doubled, they are right both ways.
                let quoted: Vec<String> =
                    values.iter().map(|v| format!("'{}'", v.replace('\\', "\\\\").replace('\'', "''"))).collect();
                format!("ENUM({})", quoted.join(","))
            }
            ColumnType::Custom(sql) => sql.clone(),
        }
    }

    fn canonical_collation(&self, name: &str) -> Option<String> {
        let name = name.to_ascii_lowercase();
        // `utf8` is an alias the server stores as `utf8mb3`.
        Some(name.strip_prefix("utf8_").map_or(name.clone(), |rest| format!("utf8mb3_{rest}")))
    }

    fn fractional_digits(&self, ty: &ColumnType) -> Option<u32> {
        match ty {
            ColumnType::Timestamp | ColumnType::TimestampTz => Some(6),
            ColumnType::Time => Some(0), // TIME: whole seconds
            ColumnType::Custom(sql) if ["datetime", "timestamp", "time"].contains(&super::head_word(sql).as_str()) => {
                Some(super::first_argument(sql).unwrap_or(0))
            }
            _ => None,
        }
    }

    fn collatable(&self, ty: &ColumnType) -> bool {
        match ty {
            t if t.is_text_like() => true,
            // UUID is CHAR(36) here.
            ColumnType::Uuid => true,
            ColumnType::Custom(sql) => {
                const TEXT: [&str; 10] = [
                    "char",
                    "varchar",
                    "tinytext",
                    "text",
                    "mediumtext",
                    "longtext",
                    "enum",
                    "set",
                    "national",
                    "nchar",
                ];
                TEXT.contains(&super::head_word(sql).as_str())
            }
            _ => false,
        }
    }

    fn foreign_key_needs_one_collation(&self) -> bool {
        true
    }

    fn check_refuses_changing_columns(&self) -> bool {
        true
    }

    fn max_varchar(&self) -> Option<u32> {
        Some(65_535)
    }

    fn same_default(&self, ty: &ColumnType, a: &str, b: &str) -> bool {
        a == b
            || default_key(ty, a) == default_key(ty, b)
            || super::literal_value(ty, a).is_some_and(|v| Some(v) == super::literal_value(ty, b))
    }

    fn key_needs_length(&self, ty: &ColumnType) -> bool {
        match ty {
            ColumnType::Text | ColumnType::Blob | ColumnType::Json => true,
            // By the type's first word: `SET('text','html')` is no text type.
            ColumnType::Custom(sql) => {
                const PREFIXED: [&str; 9] = [
                    "tinytext",
                    "text",
                    "mediumtext",
                    "longtext",
                    "tinyblob",
                    "blob",
                    "mediumblob",
                    "longblob",
                    "json",
                ];
                PREFIXED.contains(&super::head_word(sql).as_str())
            }
            _ => false,
        }
    }

    fn parse(&self, catalog: &CatalogType) -> ColumnType {
        let text = catalog.full();
        let trimmed = text.trim();
        if trimmed.get(..5).is_some_and(|head| head.eq_ignore_ascii_case("enum(")) {
            return match parse_values(&trimmed[5..]) {
                Some(values) => ColumnType::Enum(values),
                None => custom(trimmed),
            };
        }
        let Some(s) = spell(trimmed) else { return custom(trimmed) };
        let args = s.args.as_deref();
        if s.head == "tinyint" && args == Some(&[1]) && s.tail.is_empty() {
            return ColumnType::Boolean;
        }
        let width_only = DISPLAY_WIDTH.contains(&s.head.as_str());
        let args = if width_only { None } else { args };
        match (s.name.as_str(), args) {
            ("smallint", None) => ColumnType::SmallInt,
            ("int" | "integer", None) => ColumnType::Integer,
            ("bigint", None) => ColumnType::BigInt,
            ("float", None) => ColumnType::Real,
            ("double" | "double precision" | "real", None) => ColumnType::Double,
            ("bool" | "boolean", None) => ColumnType::Boolean,
            ("text", None) => ColumnType::Text,
            ("varchar" | "character varying", Some([n])) => ColumnType::Varchar(*n),
            ("char" | "character", Some([n])) => ColumnType::Char(*n),
            ("char" | "character", None) => ColumnType::Char(1),
            ("longblob", None) => ColumnType::Blob,
            ("date", None) => ColumnType::Date,
            ("time", None) => ColumnType::Time,
            ("datetime", Some([6])) => ColumnType::Timestamp,
            ("timestamp", Some([6])) => ColumnType::TimestampTz,
            ("decimal" | "numeric" | "dec" | "fixed", Some([p, sc])) => ColumnType::Decimal(*p, *sc),
            ("decimal" | "numeric" | "dec" | "fixed", Some([p])) => ColumnType::Decimal(*p, 0),
            ("decimal" | "numeric" | "dec" | "fixed", None) => ColumnType::Decimal(10, 0),
            ("json", None) => ColumnType::Json,
            // Unknown: the catalog's spelling, without a display width MySQL 8 would not print.
            _ if width_only => {
                let head = if s.head == "integer" { "int" } else { s.head.as_str() };
                custom(&format!("{head} {}", s.tail))
            }
            _ => custom(trimmed),
        }
    }

    // `auto_increment` matters to SQLite's map only; here it is passed on, as the trait's contract says.
    #[allow(clippy::only_used_in_recursion)]
    fn canonical(&self, ty: &ColumnType, auto_increment: bool) -> ColumnType {
        match ty {
            ColumnType::Uuid => ColumnType::Char(36),
            ColumnType::Custom(sql) => match self.parse(&CatalogType::named(sql.clone())) {
                custom @ ColumnType::Custom(_) => custom,
                // A spelling of a portable type reads back as that type does (canonical twice changes nothing).
                parsed => self.canonical(&parsed, auto_increment),
            },
            other => other.clone(),
        }
    }

    fn auto_increment_clause(&self) -> &'static str {
        "AUTO_INCREMENT"
    }
}

/// The values of `enum(...)` given the text after `enum(`: quoted with `''`, backslash escapes as MySQL prints them.
fn parse_values(text: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        match chars.next()? {
            ')' if out.is_empty() => break,
            '\'' => {}
            _ => return None,
        }
        let mut value = String::new();
        loop {
            match chars.next()? {
                '\'' if chars.peek() == Some(&'\'') => {
                    chars.next();
                    value.push('\'');
                }
                '\'' => break,
                '\\' => value.push(unescape(chars.next()?)),
                c => value.push(c),
            }
        }
        out.push(value);
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        match chars.next()? {
            ',' => continue,
            ')' => break,
            _ => return None,
        }
    }
    chars.all(|c| c.is_whitespace()).then_some(out)
}

fn unescape(c: char) -> char {
    match c {
        'n' => '\n',
        't' => '\t',
        'r' => '\r',
        '0' => '\0',
        'Z' => '\u{1a}',
        other => other,
    }
}

/// What `COLUMN_TYPE` says for a rendered type on MariaDB 10.11 (for the offline test; the live test asks).
#[cfg(test)]
pub(super) fn catalog_spelling(rendered: &str) -> String {
    match rendered {
        "SMALLINT" => "smallint(6)".into(),
        "INT" => "int(11)".into(),
        "BIGINT" => "bigint(20)".into(),
        "JSON" => "json".into(),
        other if other.starts_with("ENUM(") => format!("enum({}", &other[5..]),
        other => other.to_ascii_lowercase(),
    }
}

/// What a MySQL/MariaDB default means, for [`TypeMap::same_default`]: a string's value (backslash escapes decoded,
/// as the server reads them; a number given to a text column is that text), or an expression folded as the server
/// prints it back (lower case, no spaces after commas, `lower`/`upper` as `lcase`/`ucase`).
fn default_key(ty: &ColumnType, d: &str) -> String {
    let d = d.trim();
    if let Some(value) = d.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')).and_then(string_value) {
        return format!("string:{value}");
    }
    let number = !d.is_empty() && d.trim_start_matches(['-', '+']).bytes().all(|b| b.is_ascii_digit() || b == b'.');
    if number && ty.is_text_like() {
        return format!("string:{d}");
    }
    format!("expression:{}", server_function_names(&super::folded_expression(d, true)))
}

/// A folded expression with the functions MariaDB prints by other names renamed so (`lower(` as `lcase(`): whole
/// names outside quotes only (not `flower(`, nor a string holding "lower(").
fn server_function_names(folded: &str) -> String {
    const NAMES: [(&str, &str); 2] = [("lower(", "lcase("), ("upper(", "ucase(")];
    let mut out = String::with_capacity(folded.len());
    let mut quote: Option<char> = None;
    let mut rest = folded;
    while let Some(c) = rest.chars().next() {
        if quote.is_none() {
            let word_start = !out.ends_with(|p: char| p.is_alphanumeric() || p == '_');
            if let Some((from, to)) = NAMES.iter().find(|(from, _)| word_start && rest.starts_with(from)) {
                out.push_str(to);
                rest = &rest[from.len()..];
                continue;
            }
        }
        match quote {
            Some(_) if c == '\\' => {
                out.push(c);
                rest = &rest[1..];
                if let Some(next) = rest.chars().next() {
                    out.push(next);
                    rest = &rest[next.len_utf8()..];
                }
                continue;
            }
            Some(q) if c == q => quote = None,
            None if matches!(c, '\'' | '"' | '`') => quote = Some(c),
            _ => {}
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The value of a MySQL string literal's inside (backslash escapes and doubled quotes decoded); `None` when it is
/// not one literal (`a' || 'b`).
fn string_value(inner: &str) -> Option<String> {
    let mut value = String::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n') => value.push('\n'),
                Some('t') => value.push('\t'),
                Some('r') => value.push('\r'),
                Some('0') => value.push('\0'),
                Some('Z') => value.push('\u{1a}'),
                Some(e @ ('%' | '_')) => value.extend(['\\', e]),
                Some(other) => value.push(other),
                None => value.push('\\'),
            },
            '\'' if chars.peek() == Some(&'\'') => {
                chars.next();
                value.push('\'');
            }
            '\'' => return None,
            _ => value.push(c),
        }
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> ColumnType {
        MySql.parse(&CatalogType::named(text))
    }

    #[test]
    fn defaults_as_mariadb_prints_them_back_are_the_same() {
        let text = ColumnType::Varchar(20);
        let same = |a: &str, b: &str| MySql.same_default(&text, a, b);
        assert!(same("lower('ABC')", "lcase('ABC')") && same("UPPER('x')", "ucase('x')"));
        assert!(same("ABS(-3)", "abs(-3)") && same("concat('a', 'b')", "concat('a','b')"));
        assert!(same("CURRENT_TIMESTAMP(3)", "current_timestamp(3)"));
        assert!(same("'multi\nline'", "'multi\\nline'"), "a line break, written or escaped");
        assert!(same("'it''s'", "'it\\'s'") && same("5", "'5'"));
        // Different values stay different: the case inside strings, another function, a number in a number column.
        assert!(!same("lower('ABC')", "lcase('abc')") && !same("flower('x')", "flcase('x')"));
        assert!(!same("'a' || 'b'", "'a'") && !MySql.same_default(&ColumnType::Integer, "5", "'5'"));
        // Escaped quotes keep what follows inside the string; names inside strings are text.
        assert!(!same("concat('a\\'', 'X')", "concat('a\\'', 'x')"));
        assert!(!same("concat('lower(', x)", "concat('lcase(', x)"));
    }

    #[test]
    fn collations_read_back_lower_cased_and_unaliased() {
        assert_eq!(MySql.canonical_collation("UTF8MB4_BIN").as_deref(), Some("utf8mb4_bin"));
        assert_eq!(MySql.canonical_collation("utf8_bin").as_deref(), Some("utf8mb3_bin"));
        assert_eq!(MySql.canonical_collation("utf8mb3_bin").as_deref(), Some("utf8mb3_bin"));
    }

    #[test]
    fn keys_need_a_length_over_text_blob_and_json_only() {
        let custom = |s: &str| ColumnType::Custom(s.into());
        for ty in [ColumnType::Text, ColumnType::Blob, ColumnType::Json, custom("MEDIUMTEXT"), custom("tinyblob")] {
            assert!(MySql.key_needs_length(&ty), "{ty}");
        }
        for ty in [ColumnType::Varchar(20), custom("SET('text','html')"), custom("ENUM('blob')"), custom("uuid")] {
            assert!(!MySql.key_needs_length(&ty), "{ty}");
        }
    }

    #[test]
    fn catalog_spellings_parse() {
        assert_eq!(parse("int(11)"), ColumnType::Integer);
        assert_eq!(parse("tinyint(1)"), ColumnType::Boolean);
        assert_eq!(parse("tinyint(4)"), ColumnType::Custom("tinyint".into()));
        assert_eq!(parse("int(10) unsigned"), ColumnType::Custom("int unsigned".into()));
        assert_eq!(parse("year(4)"), ColumnType::Custom("year".into()));
        assert_eq!(parse("datetime"), ColumnType::Custom("datetime".into()));
        assert_eq!(parse("datetime(6)"), ColumnType::Timestamp);
        assert_eq!(parse("timestamp(6)"), ColumnType::TimestampTz);
        assert_eq!(parse("decimal(10,2)"), ColumnType::Decimal(10, 2));
        assert_eq!(parse("longtext"), ColumnType::Custom("longtext".into()));
        assert_eq!(
            parse(r"enum('a','it''s','b\\c','x,y')"),
            ColumnType::Enum(vec!["a".into(), "it's".into(), r"b\c".into(), "x,y".into()])
        );
        assert_eq!(parse("enum('a'"), ColumnType::Custom("enum('a'".into()));
        assert_eq!(parse("set('a','b')"), ColumnType::Custom("set('a','b')".into()));
        assert_eq!(parse(""), ColumnType::Custom("".into()));
    }

    #[test]
    fn enum_values_render_and_parse_back() {
        let ty = ColumnType::Enum(vec!["a".into(), "it's".into(), r"b\c".into()]);
        let rendered = MySql.render(&ty, false);
        assert_eq!(rendered, r"ENUM('a','it''s','b\\c')");
        assert_eq!(parse(&rendered), ty);
        assert_eq!(MySql.canonical(&ColumnType::Custom("INTEGER UNSIGNED".into()), false), parse("int(10) unsigned"));
    }
}

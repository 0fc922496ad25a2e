//! PostgreSQL types. The catalog spelling is `format_type(atttypid, atttypmod)`: `character varying(255)`,
//! `numeric(10,2)`, `timestamp with time zone`, `double precision`. The common short forms (`int4`, `varchar(n)`,
//! `timestamptz`) parse too, so `canonical` of a `Custom` written that way matches what the catalog reports.

use dbwarden_core::schema::ColumnType;

use super::{custom, enum_width, spell, CatalogType, TypeMap};

pub(super) struct Postgres;

impl TypeMap for Postgres {
    fn canonical_collation(&self, name: &str) -> Option<String> {
        // pg_catalog is always searched: its collations read back without it.
        let name = name.strip_prefix("pg_catalog.").unwrap_or(name);
        if name.contains('"') {
            return (name != "\"default\"").then(|| name.to_string());
        }
        // Parts `quote_ident` leaves as they are (keywords aside): `ucs_basic`, or `other.ci` with its schema, as
        // introspection reads them. Anything else is one name, dots included (`en_US.utf8`), quoted.
        let plain = |part: &str| {
            part.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
                && part.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        };
        Some(if name.split('.').all(plain) { name.to_string() } else { format!("\"{name}\"") })
    }

    fn fractional_digits(&self, ty: &ColumnType) -> Option<u32> {
        match ty {
            ColumnType::Timestamp | ColumnType::TimestampTz | ColumnType::Time => Some(6),
            // `timestamp(3) without time zone`, `time with time zone` (6 without a precision).
            ColumnType::Custom(sql) if ["timestamp", "time"].contains(&super::head_word(sql).as_str()) => {
                Some(super::first_argument(sql).unwrap_or(6))
            }
            _ => None,
        }
    }

    fn same_default(&self, ty: &ColumnType, a: &str, b: &str) -> bool {
        let (a, b) = (uncast(&super::folded_expression(a, false)), uncast(&super::folded_expression(b, false)));
        a == b || super::literal_value(ty, &a).is_some_and(|v| Some(v) == super::literal_value(ty, &b))
    }

    fn collatable(&self, ty: &ColumnType) -> bool {
        match ty {
            // An enum is TEXT with a check here.
            t if t.is_text_like() => true,
            ColumnType::Custom(sql) => {
                const TEXT: [&str; 6] = ["text", "varchar", "character", "char", "bpchar", "citext"];
                TEXT.contains(&super::head_word(sql).as_str())
            }
            _ => false,
        }
    }

    fn render(&self, ty: &ColumnType, _auto_increment: bool) -> String {
        match ty {
            ColumnType::SmallInt => "SMALLINT".into(),
            ColumnType::Integer => "INTEGER".into(),
            ColumnType::BigInt => "BIGINT".into(),
            ColumnType::Real => "REAL".into(),
            ColumnType::Double => "DOUBLE PRECISION".into(),
            ColumnType::Boolean => "BOOLEAN".into(),
            ColumnType::Text => "TEXT".into(),
            ColumnType::Varchar(n) => format!("VARCHAR({n})"),
            ColumnType::Char(n) => format!("CHAR({n})"),
            ColumnType::Blob => "BYTEA".into(),
            ColumnType::Date => "DATE".into(),
            ColumnType::Time => "TIME".into(),
            ColumnType::Timestamp => "TIMESTAMP".into(),
            ColumnType::TimestampTz => "TIMESTAMPTZ".into(),
            ColumnType::Uuid => "UUID".into(),
            ColumnType::Decimal(p, s) => format!("NUMERIC({p},{s})"),
            ColumnType::Json => "JSONB".into(),
            // The values are restricted by a check that `introspect::canonical` adds to the table.
            ColumnType::Enum(values) => format!("VARCHAR({})", enum_width(values)),
            ColumnType::Custom(sql) => sql.clone(),
        }
    }

    fn parse(&self, catalog: &CatalogType) -> ColumnType {
        let text = catalog.full();
        let Some(s) = spell(&text) else { return custom(&text) };
        let args = s.args.as_deref();
        match (s.name.as_str(), args) {
            ("smallint" | "int2", None) => ColumnType::SmallInt,
            ("integer" | "int" | "int4", None) => ColumnType::Integer,
            ("bigint" | "int8", None) => ColumnType::BigInt,
            ("real" | "float4", None) => ColumnType::Real,
            ("float", Some([p])) if *p <= 24 => ColumnType::Real,
            ("double precision" | "float8" | "float", None) => ColumnType::Double,
            ("float", Some([_])) => ColumnType::Double,
            ("boolean" | "bool", None) => ColumnType::Boolean,
            // An unbounded varchar is text in all but name (binary-coercible both ways).
            ("text" | "character varying" | "varchar", None) => ColumnType::Text,
            ("character varying" | "varchar", Some([n])) => ColumnType::Varchar(*n),
            ("character" | "char" | "bpchar", Some([n])) => ColumnType::Char(*n),
            ("character" | "char", None) => ColumnType::Char(1),
            ("bytea", None) => ColumnType::Blob,
            ("date", None) => ColumnType::Date,
            ("time" | "time without time zone", None) => ColumnType::Time,
            ("timestamp" | "timestamp without time zone", None) => ColumnType::Timestamp,
            ("timestamptz" | "timestamp with time zone", None) => ColumnType::TimestampTz,
            ("uuid", None) => ColumnType::Uuid,
            ("numeric" | "decimal", Some([p, sc])) => ColumnType::Decimal(*p, *sc),
            ("numeric" | "decimal", Some([p])) => ColumnType::Decimal(*p, 0),
            ("jsonb", None) => ColumnType::Json,
            // What format_type prints for the short forms with a precision.
            ("time" | "timestamp", Some([n])) => custom(&format!("{}({n}) without time zone", s.head)),
            ("timestamptz", Some([n])) => custom(&format!("timestamp({n}) with time zone")),
            ("timetz", None) => custom("time with time zone"),
            ("timetz", Some([n])) => custom(&format!("time({n}) with time zone")),
            // `json` (text kept verbatim) is not `jsonb`: kept apart so a diff can tell them.
            _ => custom(&text),
        }
    }

    // `auto_increment` matters to SQLite's map only; here it is passed on, as the trait's contract says.
    #[allow(clippy::only_used_in_recursion)]
    fn canonical(&self, ty: &ColumnType, auto_increment: bool) -> ColumnType {
        match ty {
            ColumnType::Enum(values) => ColumnType::Varchar(enum_width(values)),
            ColumnType::Custom(sql) => match self.parse(&CatalogType::named(sql.clone())) {
                custom @ ColumnType::Custom(_) => custom,
                // A spelling of a portable type reads back as that type does: canonical twice changes nothing.
                parsed => self.canonical(&parsed, auto_increment),
            },
            other => other.clone(),
        }
    }

    fn auto_increment_clause(&self) -> &'static str {
        "GENERATED BY DEFAULT AS IDENTITY"
    }
}

/// Skips a name (letters, digits, `_`, `.`, quotes) at the front of `chars`.
fn skip_word(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while chars.peek().is_some_and(|d| d.is_alphanumeric() || matches!(d, '_' | '.' | '"')) {
        chars.next();
    }
}

/// A folded expression without the casts PostgreSQL prints after its literals (`lower('ABC'::text)`,
/// `'{}'::text[]`, `abs('-3'::integer)`), a number literal unquoted: what the models wrote (`lower('ABC')`).
fn uncast(expr: &str) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut chars = expr.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\'' {
            out.push(c);
            continue;
        }
        // A literal: through its closing quote (a doubled one is part of it).
        let mut literal = String::from('\'');
        while let Some(d) = chars.next() {
            literal.push(d);
            if d == '\'' {
                if chars.peek() == Some(&'\'') {
                    literal.push(chars.next().unwrap_or('\''));
                    continue;
                }
                break;
            }
        }
        let mut rest = chars.clone();
        if rest.next() == Some(':') && rest.next() == Some(':') {
            // The type: a name, the words that continue the names of PostgreSQL's types (`character varying`,
            // `timestamp without time zone`), then `(n)` and `[]`.
            chars = rest;
            skip_word(&mut chars);
            const GOES_ON: [&str; 6] = ["varying", "precision", "without", "with", "time", "zone"];
            loop {
                let mut ahead = chars.clone();
                if ahead.next() != Some(' ') {
                    break;
                }
                let next: String = ahead.take_while(|d| d.is_alphanumeric() || *d == '_').collect();
                if !GOES_ON.contains(&next.as_str()) {
                    break;
                }
                chars.next();
                skip_word(&mut chars);
            }
            while chars.peek() == Some(&'[') {
                chars.next();
                if chars.peek() == Some(&']') {
                    chars.next();
                }
            }
            if chars.peek() == Some(&'(') {
                for d in chars.by_ref() {
                    if d == ')' {
                        break;
                    }
                }
            }
            let inner = &literal[1..literal.len() - 1];
            let number =
                !inner.is_empty() && inner.trim_start_matches('-').bytes().all(|b| b.is_ascii_digit() || b == b'.');
            if number {
                literal = inner.to_string();
            }
        }
        out.push_str(literal.trim_end());
    }
    out.trim_end().to_string()
}

/// What `format_type` prints for a rendered type (for the offline test; the live test asks the server).
#[cfg(test)]
pub(super) fn catalog_spelling(rendered: &str) -> String {
    let s = spell(rendered).unwrap();
    let args = s.args.map(|a| format!("({})", a.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(",")));
    let args = args.unwrap_or_default();
    match s.name.as_str() {
        "varchar" => format!("character varying{args}"),
        "char" => format!("character{args}"),
        "time" => "time without time zone".into(),
        "timestamp" => "timestamp without time zone".into(),
        "timestamptz" => "timestamp with time zone".into(),
        other => format!("{other}{args}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_as_postgresql_prints_them_back_are_the_same() {
        let same = |a: &str, b: &str| Postgres.same_default(&ColumnType::Text, a, b);
        assert!(same("lower('ABC')", "lower('ABC'::text)") && same("ABS(-3)", "abs('-3'::integer)"));
        assert!(same("'{}'", "'{}'::text[]") && same("'x'", "'x'::character varying"));
        assert!(same("'2020-01-01 00:00:00'", "'2020-01-01 00:00:00'::timestamp without time zone"));
        // The words after a cast are the expression's, not the type's.
        assert!(!same("'t'::boolean and pg_is_in_recovery()", "'t'::boolean or pg_is_in_recovery()"));
        assert!(!same("lower('ABC')", "lower('abc'::text)"));
    }

    #[test]
    fn collations_are_named_as_quote_ident_names_them() {
        let name = |n: &str| Postgres.canonical_collation(n).unwrap_or_default();
        assert_eq!(name("C"), "\"C\"");
        assert_eq!(name("en_US.utf8"), "\"en_US.utf8\"", "one name, dot included");
        assert_eq!(name("und-x-icu"), "\"und-x-icu\"");
        assert_eq!(name("ucs_basic"), "ucs_basic");
        assert_eq!(name("pg_catalog.C"), "\"C\"");
        assert_eq!(name("a$b"), "\"a$b\"");
        assert_eq!(name("other.\"Ci-X\""), "other.\"Ci-X\"", "schema-qualified, as SQL names it");
        assert_eq!(name("other.c2"), "other.c2", "as introspection reads a schema-qualified one");
        assert_eq!(Postgres.canonical_collation("pg_catalog.\"default\""), None);
    }

    fn parse(text: &str) -> ColumnType {
        Postgres.parse(&CatalogType::named(text))
    }

    #[test]
    fn catalog_spellings_parse() {
        assert_eq!(parse("character varying(255)"), ColumnType::Varchar(255));
        assert_eq!(parse("character(2)"), ColumnType::Char(2));
        assert_eq!(parse("numeric(10,2)"), ColumnType::Decimal(10, 2));
        assert_eq!(parse("timestamp with time zone"), ColumnType::TimestampTz);
        assert_eq!(parse("double precision"), ColumnType::Double);
        assert_eq!(
            parse("timestamp(3) without time zone"),
            ColumnType::Custom("timestamp(3) without time zone".into())
        );
        assert_eq!(parse("integer[]"), ColumnType::Custom("integer[]".into()));
        assert_eq!(parse("json"), ColumnType::Custom("json".into()));
        assert_eq!(parse("\"char\""), ColumnType::Custom("\"char\"".into()));
        assert_eq!(parse("numeric"), ColumnType::Custom("numeric".into()));
        assert_eq!(parse("public.\"Mood\""), ColumnType::Custom("public.\"Mood\"".into()));
        let separate = CatalogType { name: "character varying".into(), length: Some(9), ..Default::default() };
        assert_eq!(Postgres.parse(&separate), ColumnType::Varchar(9));
    }

    #[test]
    fn canonical_of_custom_is_what_the_catalog_says() {
        assert_eq!(Postgres.canonical(&ColumnType::Custom("INT4".into()), false), ColumnType::Integer);
        assert_eq!(Postgres.canonical(&ColumnType::Custom("INET".into()), false), ColumnType::Custom("inet".into()));
    }
}

//! The one schema model (IR) of dbwarden: what the models declare (derive or manifest), what introspection reads
//! from a live database, and what the committed snapshot stores are all a [`Schema`], so they compare with `==`
//! after normalisation.
//!
//! Conventions that make comparison exact:
//! - tables sorted by name; columns in table order; indexes, uniques, foreign keys and checks sorted by name;
//! - every constraint and index has a name (models get deterministic names from [`naming`]);
//! - types are portable [`ColumnType`]s, defaults are normalised SQL expressions ([`normalize_default`]).

#[cfg(any(test, feature = "proptest"))]
pub mod arbitrary;
mod check;
mod naming;
mod types;

pub use check::{check_key, requote_identifiers};
pub use naming::{check_name, fk_name, index_name, unique_name};
pub use types::ColumnType;

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// A database schema: its tables.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema {
    /// Tables, sorted by name.
    pub tables: Vec<Table>,
}

/// A table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    /// The table name, as written (case kept; quoted everywhere).
    pub name: String,
    /// Columns, in table order.
    pub columns: Vec<Column>,
    /// The primary key, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_key: Option<PrimaryKey>,
    /// Secondary indexes (unique or not), sorted by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indexes: Vec<Index>,
    /// Unique constraints, sorted by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uniques: Vec<Unique>,
    /// Foreign keys, sorted by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub foreign_keys: Vec<ForeignKey>,
    /// Check constraints, sorted by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Check>,
    /// The table comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// The column name.
    pub name: String,
    /// Its portable type.
    #[serde(rename = "type")]
    pub ty: ColumnType,
    /// Whether NULL is allowed.
    pub nullable: bool,
    /// The default, as a normalised SQL expression (`0`, `'x'`, `CURRENT_TIMESTAMP`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// An integer primary key the database numbers itself (SERIAL/IDENTITY, AUTO_INCREMENT, INTEGER PRIMARY KEY).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub auto_increment: bool,
    /// The column comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A primary key (its name is not compared: MySQL calls every one PRIMARY, SQLite none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrimaryKey {
    /// Key columns, in key order.
    pub columns: Vec<String>,
}

/// A secondary index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    /// The index name.
    pub name: String,
    /// Indexed columns, in order.
    pub columns: Vec<String>,
    /// Whether it is a unique index.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unique: bool,
}

/// A unique constraint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unique {
    /// The constraint name.
    pub name: String,
    /// Its columns, in order.
    pub columns: Vec<String>,
}

/// What a foreign key does when the referenced row is deleted or updated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FkAction {
    /// NO ACTION (the default).
    #[default]
    NoAction,
    /// RESTRICT.
    Restrict,
    /// CASCADE.
    Cascade,
    /// SET NULL.
    SetNull,
    /// SET DEFAULT.
    SetDefault,
}

impl FkAction {
    /// Parses `cascade`, `set null`, `SET_NULL`, `restrict`, `no action`, `set default` (any case).
    pub fn parse(text: &str) -> Option<FkAction> {
        match text.trim().to_ascii_lowercase().replace(['_', '-'], " ").as_str() {
            "no action" | "noaction" => Some(FkAction::NoAction),
            "restrict" => Some(FkAction::Restrict),
            "cascade" => Some(FkAction::Cascade),
            "set null" => Some(FkAction::SetNull),
            "set default" => Some(FkAction::SetDefault),
            _ => None,
        }
    }

    /// The SQL words.
    pub fn sql(self) -> &'static str {
        match self {
            FkAction::NoAction => "NO ACTION",
            FkAction::Restrict => "RESTRICT",
            FkAction::Cascade => "CASCADE",
            FkAction::SetNull => "SET NULL",
            FkAction::SetDefault => "SET DEFAULT",
        }
    }
}

/// A foreign key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignKey {
    /// The constraint name.
    pub name: String,
    /// Referencing columns, in order.
    pub columns: Vec<String>,
    /// The referenced table.
    pub ref_table: String,
    /// Referenced columns, in order.
    pub ref_columns: Vec<String>,
    /// ON DELETE.
    #[serde(default, skip_serializing_if = "is_default")]
    pub on_delete: FkAction,
    /// ON UPDATE.
    #[serde(default, skip_serializing_if = "is_default")]
    pub on_update: FkAction,
}

fn is_default(a: &FkAction) -> bool {
    *a == FkAction::NoAction
}

/// A check constraint.
///
/// Two checks are equal when their names are and their expressions mean the same after normalisation
/// ([`check_key`]): servers rewrite a check's text (PostgreSQL adds parentheses and casts, MariaDB backticks), so
/// the text read back is rarely the text written.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Check {
    /// The constraint name.
    pub name: String,
    /// The boolean SQL expression.
    pub expr: String,
}

impl PartialEq for Check {
    fn eq(&self, other: &Check) -> bool {
        self.name == other.name && (self.expr == other.expr || check_key(&self.expr) == check_key(&other.expr))
    }
}

impl Eq for Check {}

impl Schema {
    /// The table named `name`.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// Sorts everything into the canonical order, so two equal schemas compare equal.
    pub fn normalize(&mut self) {
        self.tables.sort_by(|a, b| a.name.cmp(&b.name));
        for t in &mut self.tables {
            t.normalize();
        }
    }
}

impl Table {
    /// Sorts the table's indexes and constraints by name and normalises its defaults (see [`Schema::normalize`]).
    pub fn normalize(&mut self) {
        self.indexes.sort_by(|a, b| a.name.cmp(&b.name));
        self.uniques.sort_by(|a, b| a.name.cmp(&b.name));
        self.foreign_keys.sort_by(|a, b| a.name.cmp(&b.name));
        self.checks.sort_by(|a, b| a.name.cmp(&b.name));
        for c in &mut self.columns {
            let boolean = c.ty == ColumnType::Boolean;
            let Some(d) = c.default.as_mut() else { continue };
            let normal = normalized(d);
            // A boolean's default written as a number (as MySQL stores it): PostgreSQL takes only TRUE/FALSE.
            let normal = match normal.as_ref() {
                "1" | "'1'" if boolean => Cow::Borrowed("TRUE"),
                "0" | "'0'" if boolean => Cow::Borrowed("FALSE"),
                _ => normal,
            };
            if let Some(n) = (normal != d.as_str()).then(|| normal.into_owned()) {
                *d = n;
            }
        }
    }

    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// Normalises a default expression so that the forms servers echo back compare equal to what was declared:
/// surrounding parentheses and casts of a literal (`'x'::text`, `(0)`) removed, keywords upper-cased.
///
/// ```
/// use dbwarden_core::schema::normalize_default;
/// assert_eq!(normalize_default("('draft'::character varying)"), "'draft'");
/// assert_eq!(normalize_default("(0)"), "0");
/// assert_eq!(normalize_default("now()"), "CURRENT_TIMESTAMP");
/// assert_eq!(normalize_default("current_timestamp()"), "CURRENT_TIMESTAMP");
/// assert_eq!(normalize_default("true"), "TRUE");
/// ```
pub fn normalize_default(expr: &str) -> String {
    normalized(expr).into_owned()
}

/// [`normalize_default`] without a copy when the expression is already normal (the common case: a schema
/// normalised before, or read back from a server that writes defaults plainly).
fn normalized(expr: &str) -> Cow<'_, str> {
    match literal_casts_removed(expr.trim()) {
        Cow::Borrowed(e) => normalized_plain(e),
        Cow::Owned(e) => Cow::Owned(normalized_plain(&e).into_owned()),
    }
}

fn normalized_plain(expr: &str) -> Cow<'_, str> {
    let mut e = expr.trim();
    loop {
        if e.starts_with('(') && e.ends_with(')') && balanced(&e[1..e.len() - 1]) {
            e = e[1..e.len() - 1].trim();
            continue;
        }
        // PostgreSQL echoes literals with a cast: 'x'::text, 0::bigint, 'a'::character varying.
        if let Some(at) = cast_start(e) {
            e = e[..at].trim();
            continue;
        }
        break;
    }
    const NOW: [&str; 5] =
        ["NOW()", "CURRENT_TIMESTAMP()", "CURRENT_TIMESTAMP", "LOCALTIMESTAMP", "CURRENT_TIMESTAMP(6)"];
    const KEYWORDS: [&str; 5] = ["TRUE", "FALSE", "NULL", "CURRENT_DATE", "CURRENT_TIME"];
    if NOW.iter().any(|k| e.eq_ignore_ascii_case(k)) {
        return Cow::Borrowed("CURRENT_TIMESTAMP");
    }
    // MariaDB echoes these as functions.
    if e.eq_ignore_ascii_case("curdate()") || e.eq_ignore_ascii_case("current_date()") {
        return Cow::Borrowed("CURRENT_DATE");
    }
    if e.eq_ignore_ascii_case("curtime()") || e.eq_ignore_ascii_case("current_time()") {
        return Cow::Borrowed("CURRENT_TIME");
    }
    // MariaDB pads a DATETIME(6) literal: '2020-01-01 10:00:00.000000'.
    if let Some(head) = e.strip_suffix('\'').and_then(|x| x.strip_suffix(|c: char| c == '0')) {
        let head = head.trim_end_matches('0');
        if let Some(stamp) = head.strip_suffix('.') {
            let b = stamp.as_bytes();
            if b.len() == 20 && b[0] == b'\'' && b[11] == b' ' && b[5] == b'-' && b[14] == b':' {
                return Cow::Owned(format!("{stamp}'"));
            }
        }
    }
    if KEYWORDS.iter().any(|k| e.eq_ignore_ascii_case(k)) && e.bytes().any(|b| b.is_ascii_lowercase()) {
        return Cow::Owned(e.to_ascii_uppercase());
    }
    Cow::Borrowed(e)
}

/// PostgreSQL echoes every literal inside a default with a cast: `lower('ABC'::text)`, `'-1'::integer`,
/// `'12345678901234567'::bigint`. Removes such casts of string literals to the common text, number and time
/// types (a number cast to a number type loses its quotes too); any other cast (`::regclass`) stays.
fn literal_casts_removed(expr: &str) -> Cow<'_, str> {
    const NUMBERS: [&str; 7] = ["double precision", "smallint", "integer", "bigint", "numeric", "real", "decimal"];
    const TEXTS: [&str; 11] = [
        "timestamp without time zone",
        "timestamp with time zone",
        "time without time zone",
        "character varying",
        "character",
        "varchar",
        "bpchar",
        "text",
        "date",
        "jsonb",
        "json",
    ];
    if !expr.contains("'::") {
        return Cow::Borrowed(expr);
    }
    let mut out = String::with_capacity(expr.len());
    let mut rest = expr;
    while let Some(open) = rest.find('\'') {
        // The literal runs to the next quote not doubled.
        let mut close = open + 1;
        loop {
            match rest[close..].find('\'') {
                Some(at) if rest[close + at + 1..].starts_with('\'') => close += at + 2,
                Some(at) => {
                    close += at;
                    break;
                }
                None => {
                    out.push_str(rest);
                    return Cow::Owned(out);
                }
            }
        }
        let literal = &rest[open..=close];
        out.push_str(&rest[..open]);
        rest = &rest[close + 1..];
        let Some(after) = rest.strip_prefix("::") else {
            out.push_str(literal);
            continue;
        };
        let starts = |names: &[&str]| {
            names
                .iter()
                .find(|n| after.get(..n.len()).is_some_and(|head| head.eq_ignore_ascii_case(n)))
                .map(|n| n.len())
        };
        let (len, number_type) = match (starts(&NUMBERS), starts(&TEXTS)) {
            (Some(len), _) => (len, true),
            (None, Some(len)) => (len, false),
            (None, None) => {
                out.push_str(literal);
                continue;
            }
        };
        let mut cut = len;
        let tail = &after[len..];
        if tail.starts_with('(') {
            match tail.find(')') {
                Some(end) if tail[1..end].bytes().all(|b| b.is_ascii_digit() || b == b',' || b == b' ') => {
                    cut += end + 1
                }
                _ => {}
            }
        }
        // The type name must end there (`::integer`, not `::integerish`).
        if after[cut..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
            out.push_str(literal);
            continue;
        }
        let inner = &literal[1..literal.len() - 1];
        let numeric = inner.parse::<f64>().is_ok() && inner.bytes().all(|b| b.is_ascii_digit() || b"-+.".contains(&b));
        out.push_str(if number_type && numeric { inner } else { literal });
        rest = &after[cut..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Whether quotes and parentheses in `inner` are closed (a doubled quote is an escaped one).
pub(crate) fn balanced(inner: &str) -> bool {
    let mut depth = 0i32;
    let mut in_quote = false;
    for c in inner.chars() {
        match c {
            '\'' => in_quote = !in_quote,
            '(' if !in_quote => depth += 1,
            ')' if !in_quote => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0 && !in_quote
}

/// The byte offset of a `::type` cast of the whole expression (outside quotes and parentheses), if any.
fn cast_start(expr: &str) -> Option<usize> {
    let (mut in_quote, mut depth) = (false, 0i32);
    let b = expr.as_bytes();
    for i in 0..b.len().saturating_sub(1) {
        match b[i] {
            b'\'' => in_quote = !in_quote,
            b'(' if !in_quote => depth += 1,
            b')' if !in_quote => depth -= 1,
            b':' if !in_quote && depth == 0 && b[i + 1] == b':' => {
                let type_name = &expr[i + 2..];
                let plain = type_name.chars().all(|c| c.is_ascii_alphanumeric() || " _(),\"".contains(c));
                return plain.then_some(i);
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_normalise_without_breaking_expressions() {
        assert_eq!(normalize_default("nextval('t_id_seq'::regclass)"), "nextval('t_id_seq'::regclass)");
        assert_eq!(normalize_default("'a::b'::text"), "'a::b'");
        assert_eq!(normalize_default("((1 + 2))"), "1 + 2");
        assert_eq!(normalize_default("(1) + (2)"), "(1) + (2)");
        assert_eq!(normalize_default("'(x)'"), "'(x)'");
        assert_eq!(normalize_default("CURRENT_TIMESTAMP::timestamp without time zone"), "CURRENT_TIMESTAMP");
    }

    #[test]
    fn server_echoes_compare_equal_to_what_was_declared() {
        // PostgreSQL
        assert_eq!(normalize_default("'-1'::integer"), "-1");
        assert_eq!(normalize_default("'-1.5'::numeric"), "-1.5");
        assert_eq!(normalize_default("'12345678901234567'::bigint"), "12345678901234567");
        assert_eq!(normalize_default("lower('ABC'::text)"), "lower('ABC')");
        assert_eq!(normalize_default("('a'::character varying(5) || 'it''s'::text)"), "'a' || 'it''s'");
        assert_eq!(normalize_default("'5'::text"), "'5'", "a number in a text column keeps its quotes");
        assert_eq!(normalize_default("nextval('t_id_seq'::regclass)"), "nextval('t_id_seq'::regclass)");
        assert_eq!(normalize_default("f('x'::textual)"), "f('x'::textual)");
        // MariaDB
        assert_eq!(normalize_default("curdate()"), "CURRENT_DATE");
        assert_eq!(normalize_default("'2020-01-01 10:00:00.000000'"), "'2020-01-01 10:00:00'");
        assert_eq!(normalize_default("'2020-01-01 10:00:00.500000'"), "'2020-01-01 10:00:00.500000'");
        // Malformed input never panics.
        for odd in ["'", "'::", "'a'::", "'a'::integer(", "''::integer", "'::'::text"] {
            let _ = normalize_default(odd);
        }
    }
}

/// A table as the models declare it (a `#[derive(Table)]` struct or a manifest entry): the IR plus what only
/// models know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelTable {
    /// The table.
    pub table: Table,
    /// The database it belongs to (`database = "..."`); none means the default database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// The table's previous name (`renamed_from`): a rename, not a drop and a create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<String>,
    /// Column renames: (new name, previous name).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub column_renames: Vec<(String, String)>,
    /// Where it was declared, for messages: `struct User (src/models.rs:12)` or `dbwarden.schema.toml:40`.
    pub origin: String,
}

//! The one schema model (IR) of dbwarden: what the models declare (derive or manifest), what introspection reads
//! from a live database, and what the committed snapshot stores are all a [`Schema`], so they compare with `==`
//! after normalisation.
//!
//! Conventions that make comparison exact:
//! - tables sorted by name; columns in table order; indexes, uniques, foreign keys and checks sorted by name;
//! - every constraint and index has a name (models get deterministic names from the `naming` module);
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
    /// Table options the database reports and models do not declare (SQLite's `AUTOINCREMENT`, `WITHOUT ROWID`,
    /// `STRICT`), sorted. A table of the models takes the live table's (see [`crate::diff::keep_unmodelled`]), so a
    /// table rebuilt for another reason writes them back instead of dropping them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<TableOption>,
}

/// A table option of [`Table::options`]: how the database stores or numbers the table's rows, beyond its columns
/// and keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum TableOption {
    /// SQLite's `AUTOINCREMENT` on the rowid column: numbers are never reused (`sqlite_sequence` holds the
    /// highest ever given), where a plain `INTEGER PRIMARY KEY` may give a deleted row's number again.
    Autoincrement,
    /// SQLite's `WITHOUT ROWID`: rows are stored in the primary key's order, with no rowid.
    WithoutRowid,
    /// SQLite's `STRICT`: values must be of the column's type (`INT`, `INTEGER`, `REAL`, `TEXT`, `BLOB`, `ANY`).
    Strict,
}

impl TableOption {
    /// The option as SQL writes it.
    ///
    /// ```
    /// assert_eq!(dbwarden_core::schema::TableOption::WithoutRowid.sql(), "WITHOUT ROWID");
    /// ```
    pub fn sql(self) -> &'static str {
        match self {
            TableOption::Autoincrement => "AUTOINCREMENT",
            TableOption::WithoutRowid => "WITHOUT ROWID",
            TableOption::Strict => "STRICT",
        }
    }

    /// Whether `table` can have this option: `AUTOINCREMENT` needs a rowid column numbered by the database (a
    /// lone integer primary key) in a table with rowids, `WITHOUT ROWID` a primary key that is not such a column.
    /// `STRICT` is always possible here; whether the column types allow it is the dialect's to say.
    ///
    /// ```
    /// use dbwarden_core::schema::{Column, ColumnType, PrimaryKey, Table, TableOption};
    /// let id = Column { auto_increment: true, ..Column::new("id", ColumnType::BigInt, false) };
    /// let mut t = Table { name: "t".into(), columns: vec![id], ..Table::default() };
    /// assert!(!TableOption::Autoincrement.fits(&t));
    /// t.primary_key = Some(PrimaryKey { columns: vec!["id".into()] });
    /// assert!(TableOption::Autoincrement.fits(&t) && !TableOption::WithoutRowid.fits(&t));
    /// ```
    pub fn fits(self, table: &Table) -> bool {
        let pk = table.primary_key.as_ref();
        match self {
            TableOption::Autoincrement => {
                let rowid = pk.and_then(|k| match k.columns.as_slice() {
                    [only] => table.column(only),
                    _ => None,
                });
                rowid.is_some_and(|c| c.auto_increment && c.ty.is_integer())
                    && !table.options.contains(&TableOption::WithoutRowid)
            }
            // A lone integer key the database numbers is a rowid's work: without rowids nothing numbers it.
            TableOption::WithoutRowid => pk.is_some_and(|k| match k.columns.as_slice() {
                [only] => !table.column(only).is_some_and(|c| c.auto_increment && c.ty.is_integer()),
                _ => true,
            }),
            TableOption::Strict => true,
        }
    }
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
    /// A collation other than the table's default (MySQL's `utf8mb4_bin`, PostgreSQL's `"C"`, SQLite's `NOCASE`),
    /// as the database reports it. A column of the models that names none takes the live column's (see
    /// [`crate::diff::keep_unmodelled`]), so an `ALTER` that restates the column (MySQL's `MODIFY`, PostgreSQL's
    /// `TYPE`, a SQLite rebuild) keeps it; one that names one (`collation = "..."`) is given it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collation: Option<String>,
    /// MySQL's `ON UPDATE` value (`CURRENT_TIMESTAMP`), as the database reports it. Models do not declare one: kept
    /// from the live column like [`Column::collation`], so a `MODIFY COLUMN` does not drop it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_update: Option<String>,
}

impl Column {
    /// A column with no default, comment, collation or numbering: set the fields that differ after it.
    ///
    /// ```
    /// use dbwarden_core::schema::{Column, ColumnType};
    /// let email = Column { default: Some("''".into()), ..Column::new("email", ColumnType::Varchar(255), false) };
    /// assert!(!email.nullable && email.comment.is_none());
    /// ```
    pub fn new(name: impl Into<String>, ty: ColumnType, nullable: bool) -> Column {
        Column {
            name: name.into(),
            ty,
            nullable,
            default: None,
            auto_increment: false,
            comment: None,
            collation: None,
            on_update: None,
        }
    }
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
            let ty = c.ty.clone();
            // `DEFAULT NULL` is what a column without a default has (PostgreSQL reads it back as none).
            if c.default.as_deref().is_some_and(|d| normalized(d).eq_ignore_ascii_case("NULL")) {
                c.default = None;
                continue;
            }
            let Some(d) = c.default.as_mut() else { continue };
            let normal = typed_default(&ty, normalized(d));
            if let Some(n) = (normal != d.as_str()).then(|| normal.into_owned()) {
                *d = n;
            }
        }
    }

    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The SQL expressions the table's DDL carries as written: each check's and each column default's, with where
    /// it stands.
    ///
    /// ```
    /// use dbwarden_core::schema::{Check, Expression, Table};
    /// let t = Table { name: "t".into(), checks: vec![Check { name: "c".into(), expr: "a > 0".into() }], ..Table::default() };
    /// assert!(matches!(t.expressions().next(), Some((Expression::Check(c), "a > 0")) if c.name == "c"));
    /// ```
    pub fn expressions(&self) -> impl Iterator<Item = (Expression<'_>, &str)> {
        let checks = self.checks.iter().map(|c| (Expression::Check(c), c.expr.as_str()));
        checks.chain(self.columns.iter().filter_map(|c| Some((Expression::Default(c), c.default.as_deref()?))))
    }
}

/// Where an expression of a table stands (see [`Table::expressions`]).
#[derive(Debug, Clone, Copy)]
pub enum Expression<'t> {
    /// A check constraint's expression.
    Check(&'t Check),
    /// A column's default.
    Default(&'t Column),
}

/// What only the column's type can tell about a normalised default: a boolean written as a number (as MySQL stores
/// it; PostgreSQL takes only TRUE/FALSE), a quoted number in a number column (`'-1'`, as PostgreSQL echoes
/// `-1` once its cast is gone), a zero fraction MariaDB adds to a DATETIME(6) literal.
fn typed_default<'a>(ty: &ColumnType, normal: Cow<'a, str>) -> Cow<'a, str> {
    use ColumnType::*;
    let quoted = normal.strip_prefix('\'').and_then(|r| r.strip_suffix('\''));
    match ty {
        Boolean => match normal.as_ref() {
            "1" | "'1'" => Cow::Borrowed("TRUE"),
            "0" | "'0'" => Cow::Borrowed("FALSE"),
            _ => normal,
        },
        // A number as the server writes it back: `+1` (PostgreSQL: `+ 1`), `1e3` (1000), `1.0` in a DOUBLE
        // (MariaDB: 1), `'-1'`.
        SmallInt | Integer | BigInt | Real | Double | Decimal(..) => {
            let compact: String = quoted.unwrap_or(&normal).chars().filter(|c| !c.is_whitespace()).collect();
            let numeric = compact.bytes().any(|b| b.is_ascii_digit())
                && compact.bytes().all(|b| b.is_ascii_digit() || b"-+.eE".contains(&b));
            if !numeric {
                return normal;
            }
            let canonical = match ty {
                SmallInt | Integer | BigInt => compact.parse::<i128>().ok().map(|i| i.to_string()),
                // Exact decimals are left as written (a quoted one unquoted): `0.00` is what the user wrote and
                // what the servers echo for a DECIMAL(p,2).
                Decimal(..) => quoted.map(|_| compact.clone()),
                _ => compact.parse::<f64>().ok().filter(|f| f.is_finite()).map(|f| f.to_string()),
            };
            match canonical {
                Some(c) => Cow::Owned(c),
                None => normal,
            }
        }
        Timestamp | TimestampTz => match quoted.and_then(|q| q.split_once('.')) {
            Some((stamp, fraction)) if !fraction.is_empty() && fraction.bytes().all(|b| b == b'0') => {
                Cow::Owned(format!("'{stamp}'"))
            }
            _ => normal,
        },
        _ => normal,
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
    if KEYWORDS.iter().any(|k| e.eq_ignore_ascii_case(k)) && e.bytes().any(|b| b.is_ascii_lowercase()) {
        return Cow::Owned(e.to_ascii_uppercase());
    }
    Cow::Borrowed(e)
}

/// Whether quotes and parentheses in `inner` may be closed: read with a doubled quote as an escaped one (standard
/// SQL), or else with a backslash escaping (MySQL, PostgreSQL's `E'..'`); quoted names (`"..."`, `` `...` ``),
/// `$$` bodies and `--` comments are skipped. Only what no dialect reads is refused here; generation checks the
/// rest with the dialect's own lexer.
///
/// ```
/// use dbwarden_core::schema::balanced;
/// assert!(balanced("a IN ('x', 'it''s')"));
/// assert!(balanced("a <> 'it\\'s' AND \"it's\" > 0 AND \"a(b\" > 0"));
/// assert!(!balanced("id <> 'a"));
/// assert!(!balanced("(a > 0"));
/// ```
pub fn balanced(inner: &str) -> bool {
    balanced_reading(inner, false) || balanced_reading(inner, true)
}

fn balanced_reading(inner: &str, backslashes: bool) -> bool {
    let mut depth = 0i32;
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => loop {
                match chars.next() {
                    None => return false,
                    Some('\\') if backslashes => {
                        chars.next();
                    }
                    Some('\'') if chars.peek() == Some(&'\'') => {
                        chars.next();
                    }
                    Some('\'') => break,
                    Some(_) => {}
                }
            },
            '"' | '`' => loop {
                match chars.next() {
                    None => return false,
                    Some(q) if q == c && chars.peek() == Some(&c) => {
                        chars.next();
                    }
                    Some(q) if q == c => break,
                    Some(_) => {}
                }
            },
            '$' if chars.peek() == Some(&'$') => {
                chars.next();
                let mut previous = ' ';
                loop {
                    match chars.next() {
                        None => return false,
                        Some('$') if previous == '$' => break,
                        Some(x) => previous = x,
                    }
                }
            }
            '-' if chars.peek() == Some(&'-') => {
                for x in chars.by_ref() {
                    if x == '\n' {
                        break;
                    }
                }
            }
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0
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
        let typed = |ty: ColumnType, d: &str| typed_default(&ty, normalized(d)).into_owned();
        // PostgreSQL casts a number it stores as text: '-1'::integer.
        assert_eq!(typed(ColumnType::Integer, "'-1'::integer"), "-1");
        assert_eq!(typed(ColumnType::Integer, "'-1'"), "-1", "a quoted number declared compares the same");
        assert_eq!(typed(ColumnType::Decimal(6, 2), "'-1.5'::numeric"), "-1.5");
        assert_eq!(typed(ColumnType::BigInt, "'12345678901234567'::bigint"), "12345678901234567");
        assert_eq!(typed(ColumnType::Text, "'5'::text"), "'5'", "a number in a text column keeps its quotes");
        // Numbers as the servers write them back: PostgreSQL `+ 1` and `1000` for `1e3`, MariaDB `1` for `1.0`.
        assert_eq!(typed(ColumnType::Integer, "+1"), typed(ColumnType::Integer, "+ 1"));
        assert_eq!(typed(ColumnType::Integer, "+1"), "1");
        assert_eq!(typed(ColumnType::Double, "1e3"), typed(ColumnType::Double, "1000"));
        assert_eq!(typed(ColumnType::Double, "1.0"), typed(ColumnType::Double, "1"));
        assert_eq!(typed(ColumnType::Decimal(6, 2), "1.50"), "1.50", "a decimal as written");
        assert_eq!(typed(ColumnType::Integer, "1 - 2"), "1 - 2", "an expression stays as it is");
        // DEFAULT NULL is no default.
        let mut t = Table { name: "t".into(), ..Default::default() };
        t.columns.push(Column {
            name: "n".into(),
            ty: ColumnType::Integer,
            nullable: true,
            default: Some("NULL".into()),
            auto_increment: false,
            comment: None,
            collation: None,
            on_update: None,
        });
        t.normalize();
        assert_eq!(t.columns[0].default, None);
        // Casts inside an expression are the user's (PostgreSQL may need them): kept.
        assert_eq!(normalize_default("'{}'::text[]"), "'{}'::text[]");
        assert_eq!(normalize_default("to_jsonb('x'::text)"), "to_jsonb('x'::text)");
        // MariaDB
        assert_eq!(normalize_default("curdate()"), "CURRENT_DATE");
        assert_eq!(typed(ColumnType::Timestamp, "'2020-01-01 10:00:00.000000'"), "'2020-01-01 10:00:00'");
        assert_eq!(typed(ColumnType::Timestamp, "'2020-01-01 10:00:00.500000'"), "'2020-01-01 10:00:00.500000'");
        assert_eq!(typed(ColumnType::Varchar(30), "'2020-01-01 10:00:00.000'"), "'2020-01-01 10:00:00.000'");
        // MySQL stores a boolean default as a number.
        assert_eq!(typed(ColumnType::Boolean, "1"), "TRUE");
        assert_eq!(typed(ColumnType::Boolean, "'0'"), "FALSE");
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

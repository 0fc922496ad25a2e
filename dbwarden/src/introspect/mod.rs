//! Introspection: reads a live database into the schema IR with a constant number of catalog queries.
//!
//! Queries per call, whatever the number of tables (none when `only` is empty):
//! - PostgreSQL: 3 (tables + columns + comments; constraints; indexes), all from `pg_catalog`, current schema;
//! - MySQL/MariaDB: 5 (tables + comments + server version; then checks, columns, indexes and key constraints, or
//!   on MariaDB foreign keys from InnoDB's dictionary, sent as one batch), from `information_schema`, current
//!   database, in 2 round trips (1 query when it has no tables);
//! - SQLite: 4 (`sqlite_master`; then `pragma_table_info`, `pragma_index_list` + `pragma_index_info`,
//!   `pragma_foreign_key_list` each joined against `sqlite_master` in one query).
//!
//! What is read is what [`canonical`] predicts for a schema created from models, so an unchanged schema compares
//! equal to its models. dbwarden's own tables (`_dbwarden_migrations`, `dbwarden_lock`) and SQLite's internal ones
//! are skipped. Not in the IR, hence not read: partial and expression indexes (skipped whole), index sort order,
//! generated columns' expressions (read as plain columns without a default), MySQL's `ON UPDATE CURRENT_TIMESTAMP`,
//! partitions (their parent is read), views. What the IR does not model is listed by `others` (names, and
//! definitions where canonical), which `verify` compares too.

mod mysql;
mod others;
mod postgres;
mod sqlite;

pub(crate) use others::{differences as other_differences, others, Other, OtherChange};

use std::collections::HashMap;

use rustc_hash::FxHashMap;

use dbwarden_core::schema::{ColumnType, Schema, Table};
use dbwarden_core::Dialect;

use crate::backend::Backend;
use crate::error::DbError;
use crate::types;

/// Reads the current schema (PostgreSQL), database (MySQL/MariaDB) or main database (SQLite) into the IR,
/// normalised ([`Schema::normalize`]). With `only`, just the tables named there.
pub async fn introspect(backend: &mut dyn Backend, only: Option<&[String]>) -> Result<Schema, DbError> {
    if only.is_some_and(|names| names.is_empty()) {
        return Ok(Schema::default());
    }
    let tables = match backend.dialect() {
        Dialect::Postgres => postgres::read(backend, only).await?,
        Dialect::MySql => mysql::read(backend, only).await?,
        Dialect::Sqlite => sqlite::read(backend).await?,
    };
    let mut tables: Vec<Table> = tables
        .into_tables()
        .into_iter()
        .filter(|t| {
            !is_internal(&t.name) && !is_history(t) && only.is_none()
                || only.is_some_and(|names| names.contains(&t.name))
        })
        .collect();
    tables.iter_mut().for_each(|t| t.indexes.retain(|i| !i.columns.is_empty()));
    let mut schema = Schema { tables };
    schema.normalize();
    Ok(schema)
}

/// The collations the server has, named as introspection names a column's ([`types::TypeMap::canonical_collation`]),
/// to check those the models name before a migration meets an unknown one: PostgreSQL's usable in this database's
/// encoding, MySQL's; `None` on SQLite, whose collations besides the built-in ones are registered per connection
/// by the application.
pub async fn collations(backend: &mut dyn Backend) -> Result<Option<Vec<String>>, DbError> {
    let sql = match backend.dialect() {
        Dialect::Postgres => {
            "SELECT CASE WHEN pg_collation_is_visible(co.oid) THEN quote_ident(co.collname) \
             ELSE quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END \
             FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace \
             WHERE co.collencoding IN (-1, pg_char_to_encoding(getdatabaseencoding()))"
        }
        Dialect::MySql => "SELECT CAST(COLLATION_NAME AS CHAR) FROM information_schema.COLLATIONS",
        Dialect::Sqlite => return Ok(None),
    };
    // MariaDB 10.10+ lists `uca1400_ai_ci` there and the name a column has, `utf8mb4_uca1400_ai_ci`, only here
    // (a column MySQL lacks: then the list above is complete).
    let full =
        "SELECT CAST(FULL_COLLATION_NAME AS CHAR) FROM information_schema.COLLATION_CHARACTER_SET_APPLICABILITY \
                UNION SELECT CAST(COLLATION_NAME AS CHAR) FROM information_schema.COLLATIONS";
    let rows = match backend.dialect() {
        Dialect::MySql => match backend.query(full).await {
            Ok(rows) => rows,
            Err(_) => backend.query(sql).await?,
        },
        _ => backend.query(sql).await?,
    };
    // Named as a column's collation reads back (older servers list `utf8_bin`, which reads as `utf8mb3_bin`).
    let map = types::of(backend.dialect());
    let names = rows.into_iter().filter_map(|row| row.into_iter().next().flatten());
    Ok(Some(names.filter_map(|name| types::collation_read_back(map, &name)).collect()))
}

/// Something of a table that the schema model does not hold, so that a table rebuild (SQLite's way to change most
/// things) would lose it: [`unkept`] reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unkept {
    /// The table.
    pub table: String,
    /// What it has, for a message: "generated columns", "an ON CONFLICT clause".
    pub what: &'static str,
}

/// What the tables have that a rebuild would lose (see [`Unkept`]): on SQLite, generated columns and `ON CONFLICT`
/// clauses; on the other servers nothing (their `ALTER TABLE` changes a table in place).
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let spec = dbwarden::backend::ConnectSpec { url: "sqlite://app.db".into(), create: false };
/// let mut backend = dbwarden::backend::connect(&spec).await?;
/// for u in dbwarden::introspect::unkept(backend.as_mut()).await? {
///     println!("table {} has {}", u.table, u.what);
/// }
/// # Ok(()) }
/// ```
pub async fn unkept(backend: &mut dyn Backend) -> Result<Vec<Unkept>, DbError> {
    match backend.dialect() {
        Dialect::Sqlite => sqlite::unkept(backend).await,
        Dialect::Postgres | Dialect::MySql => Ok(Vec::new()),
    }
}

/// What a table rebuild must create again: on SQLite, whose `DROP TABLE` drops them, every trigger and every index
/// the schema model does not hold (partial, or over an expression), with its text (one query); on the other servers
/// none (their `ALTER TABLE` keeps them).
pub async fn dependents(backend: &mut dyn Backend) -> Result<Vec<crate::render::Dependent>, DbError> {
    match backend.dialect() {
        Dialect::Sqlite => sqlite::dependents(backend).await,
        Dialect::Postgres | Dialect::MySql => Ok(Vec::new()),
    }
}

/// What a schema created from `models` on `dialect` reads back as: the same schema with each column type passed
/// through [`types::TypeMap::canonical`] and the dialect's other rewrites applied:
/// - check expressions quote identifiers the dialect's way (they are written in portable SQL, `"col"`, which MySQL
///   would read as a string);
/// - PostgreSQL and SQLite: an `Enum` column is a `VARCHAR` with a check `ck_<table>_<column>_enum` restricting its
///   values (`"col" IN ('a', 'b')`);
/// - SQLite: no comments; an auto-increment column is only possible as the sole primary key column;
/// - MySQL/MariaDB: a unique index is a unique constraint (the server cannot tell them apart); `RESTRICT` is
///   `NO ACTION` (InnoDB treats them alike and MariaDB reports the default as `RESTRICT`); boolean defaults `1`/`0`
///   read back as `TRUE`/`FALSE`; a numeric default of a `DECIMAL(p,s)` column has `s` decimals (`0` is `0.00`).
///
/// Applying it twice changes nothing more, so it may be given a live schema too.
///
/// ```
/// use dbwarden::schema::{Column, ColumnType, Schema, Table};
/// use dbwarden::Dialect;
///
/// let id = Column { name: "id".into(), ty: ColumnType::Uuid, nullable: false, default: None,
///                   auto_increment: false, comment: None, collation: None, on_update: None };
/// let models = Schema { tables: vec![Table { name: "users".into(), columns: vec![id], ..Table::default() }] };
/// // MySQL has no UUID type: the column is created, and read back, as CHAR(36).
/// let read_back = dbwarden::introspect::canonical(Dialect::MySql, &models);
/// assert_eq!(read_back.tables[0].columns[0].ty, ColumnType::Char(36));
/// ```
pub fn canonical(dialect: Dialect, models: &Schema) -> Schema {
    into_canonical(dialect, models.clone())
}

/// [`canonical`] of a schema the caller hands over (no copy is made).
pub fn into_canonical(dialect: Dialect, mut schema: Schema) -> Schema {
    use dbwarden_core::schema::{check_name, requote_identifiers, Check, ColumnType};
    let map = types::of(dialect);
    let sql = crate::backend::dialect::of(dialect);
    let quote = if dialect == Dialect::MySql { '`' } else { '"' };
    // A custom type is parsed to find what it reads back as: once per spelling (and auto-increment), not once per
    // column, and looked up without copying the spelling.
    let mut customs: [HashMap<String, ColumnType>; 2] = Default::default();
    for t in &mut schema.tables {
        // Options are SQLite's (see `TableOption`).
        if dialect == Dialect::Sqlite {
            t.options.sort();
            t.options.dedup();
        } else {
            t.options.clear();
        }
        let sole_pk = t.primary_key.as_ref().filter(|pk| pk.columns.len() == 1).map(|pk| pk.columns[0].clone());
        for check in &mut t.checks {
            check.expr = requote_identifiers(&check.expr, quote);
        }
        for c in &mut t.columns {
            c.collation = c.collation.as_deref().and_then(|name| types::collation_read_back(map, name));
            if dialect == Dialect::Sqlite && c.auto_increment && sole_pk.as_deref() != Some(c.name.as_str()) {
                c.auto_increment = false;
            }
            if let (ColumnType::Enum(values), Dialect::Postgres | Dialect::Sqlite) = (&c.ty, dialect) {
                let list: Vec<String> = values.iter().map(|v| sql.literal(v)).collect();
                t.checks.push(Check {
                    name: check_name(&t.name, &format!("{}_enum", c.name)),
                    expr: format!("{} IN ({})", sql.quote_ident(&c.name), list.join(", ")),
                });
            }
            c.ty = match &c.ty {
                ColumnType::Custom(spelling) => {
                    let seen = &mut customs[usize::from(c.auto_increment)];
                    match seen.get(spelling) {
                        Some(ty) => ty.clone(),
                        None => {
                            let ty = map.canonical(&c.ty, c.auto_increment);
                            seen.insert(spelling.clone(), ty.clone());
                            ty
                        }
                    }
                }
                _ => map.canonical(&c.ty, c.auto_increment),
            };
            if c.auto_increment {
                c.default = None;
            }
            if dialect == Dialect::MySql {
                c.default = match &c.ty {
                    ColumnType::Decimal(_, scale) => c.default.take().map(|d| decimal_default(&d, *scale)),
                    _ => c.default.take(),
                };
            }
            if dialect == Dialect::Sqlite {
                c.comment = None;
            }
        }
        match dialect {
            Dialect::Sqlite => t.comment = None,
            Dialect::MySql => {
                for fk in &mut t.foreign_keys {
                    fk.on_delete = mysql::action(fk.on_delete);
                    fk.on_update = mysql::action(fk.on_update);
                }
                let (unique, plain): (Vec<_>, Vec<_>) =
                    std::mem::take(&mut t.indexes).into_iter().partition(|i| i.unique);
                t.indexes = plain;
                t.uniques.extend(
                    unique.into_iter().map(|i| dbwarden_core::schema::Unique { name: i.name, columns: i.columns }),
                );
            }
            Dialect::Postgres => {}
        }
    }
    schema.normalize();
    schema
}

/// A plain number with `scale` decimals (padded or rounded), as MySQL stores a `DECIMAL(p,scale)` default; anything
/// else unchanged.
fn decimal_default(default: &str, scale: u32) -> String {
    let d = dbwarden_core::schema::normalize_default(default);
    let unquoted = d.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')).unwrap_or(&d);
    let (sign, digits) = match unquoted.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", unquoted.strip_prefix('+').unwrap_or(unquoted)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let plain = !(int.is_empty() && frac.is_empty())
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit());
    if !plain {
        return d;
    }
    let scale = scale as usize;
    // The digits kept, padded with zeros to the scale, then rounded half away from zero as the server does
    // (`1.50` in a DECIMAL(10,1) is `1.5`, `9.995` in a DECIMAL(10,2) is `10.00`).
    let mut digits: Vec<u8> = int.bytes().chain(frac.bytes().chain(std::iter::repeat(b'0')).take(scale)).collect();
    if frac.as_bytes().get(scale).is_some_and(|b| *b >= b'5') {
        let mut at = digits.len();
        loop {
            if at == 0 {
                digits.insert(0, b'1');
                break;
            }
            at -= 1;
            if digits[at] == b'9' {
                digits[at] = b'0';
            } else {
                digits[at] += 1;
                break;
            }
        }
    }
    let (int, frac) = digits.split_at(digits.len() - scale);
    let int = std::str::from_utf8(int).unwrap_or("0").trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let frac = std::str::from_utf8(frac).unwrap_or_default();
    let sign = if digits.iter().all(|b| *b == b'0') { "" } else { sign };
    if scale == 0 {
        return format!("{sign}{int}");
    }
    format!("{sign}{int}.{frac}")
}

fn is_internal(table: &str) -> bool {
    table == crate::history::DEFAULT_TABLE
        || table == crate::lock::LOCK_TABLE
        || table == crate::head::HEAD_TABLE
        || table.starts_with("sqlite_")
}

/// A history table of dbwarden (or Python DBWarden) under another name (`migration_table` of another config entry
/// on the same database): it has every column Python DBWarden's table has. Never a model's to drop.
fn is_history(table: &Table) -> bool {
    const PYTHON: [&str; 6] = ["version", "description", "filename", "migration_type", "applied_at", "checksum"];
    PYTHON.iter().all(|name| table.columns.iter().any(|c| c.name.eq_ignore_ascii_case(name)))
}

/// An error about catalog content dbwarden did not expect (never a panic).
fn unexpected(what: &str) -> DbError {
    DbError {
        message: format!("introspection: unexpected catalog content: {what}"),
        code: None,
        position: None,
        connect: false,
    }
}

/// Tables being read, by name, in the order first seen.
#[derive(Default)]
struct Tables {
    list: Vec<Table>,
    by_name: FxHashMap<String, usize>,
}

impl Tables {
    /// The table `name`, created empty when first seen.
    fn entry(&mut self, name: &str) -> &mut Table {
        let at = self.index(name);
        &mut self.list[at]
    }

    /// The position of table `name` in the list, created empty when first seen.
    fn index(&mut self, name: &str) -> usize {
        match self.by_name.get(name) {
            Some(&at) => at,
            None => {
                self.list.push(Table { name: name.to_string(), ..Table::default() });
                self.by_name.insert(name.to_string(), self.list.len() - 1);
                self.list.len() - 1
            }
        }
    }

    /// The table `name`, if it was read (constraints of tables filtered out are dropped with them).
    fn get_mut(&mut self, name: &str) -> Option<&mut Table> {
        self.by_name.get(name).map(|&at| &mut self.list[at])
    }

    fn into_tables(self) -> Vec<Table> {
        self.list
    }
}

/// Catalog type spellings parsed once each: thousands of columns use a few dozen spellings, and parsing one costs
/// more than looking it up.
struct ParsedTypes {
    map: &'static dyn types::TypeMap,
    seen: FxHashMap<String, ColumnType>,
}

impl ParsedTypes {
    fn of(dialect: Dialect) -> ParsedTypes {
        ParsedTypes { map: types::of(dialect), seen: FxHashMap::default() }
    }

    /// [`TypeMap::parse`](types::TypeMap::parse) of a type as the catalog spells it.
    fn parse(&mut self, spelling: &str) -> ColumnType {
        if let Some(ty) = self.seen.get(spelling) {
            return ty.clone();
        }
        let ty = self.map.parse(&types::CatalogType::named(spelling));
        self.seen.insert(spelling.to_string(), ty.clone());
        ty
    }
}

/// One catalog row, read by position: the cells [`Backend::query_each`] lends.
struct Row<'a>(&'a [Option<&'a str>]);

impl<'a> Row<'a> {
    /// Column `i`, `None` when NULL or missing.
    fn opt(&self, i: usize) -> Option<&'a str> {
        self.0.get(i).copied().flatten()
    }

    /// Column `i`, which must not be NULL.
    fn req(&self, i: usize, what: &str) -> Result<&'a str, DbError> {
        self.opt(i).ok_or_else(|| unexpected(&format!("{what} is NULL")))
    }

    /// Column `i` as a number.
    fn num(&self, i: usize, what: &str) -> Result<i64, DbError> {
        let text = self.req(i, what)?;
        text.trim().parse().map_err(|_| unexpected(&format!("{what} is `{text}`, not a number")))
    }

    /// Column `i` as a flag (`1`/`0`, `YES`/`NO`, `t`/`f`).
    fn flag(&self, i: usize) -> bool {
        matches!(self.opt(i).map(str::trim), Some("1" | "YES" | "yes" | "t" | "true" | "TRUE"))
    }
}

/// ` AND <column> IN ('a', 'b')` for `only`, or nothing.
fn only_filter(dialect: Dialect, column: &str, only: Option<&[String]>) -> String {
    let Some(names) = only else { return String::new() };
    let sql = crate::backend::dialect::of(dialect);
    let list: Vec<String> = names.iter().map(|n| sql.literal(n)).collect();
    format!(" AND {column} IN ({})", list.join(", "))
}

/// `expr` without parentheses that wrap all of it (`((a > 0))` is `a > 0`), quotes respected.
fn strip_parens(expr: &str) -> String {
    let mut e = expr.trim();
    while e.starts_with('(') && e.ends_with(')') && wraps_all(e) {
        e = e[1..e.len() - 1].trim();
    }
    e.to_string()
}

/// Whether the opening parenthesis at 0 closes at the very end.
fn wraps_all(e: &str) -> bool {
    let (mut depth, mut quote) = (0i32, None::<char>);
    for (i, c) in e.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"' | '`') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => {
                depth -= 1;
                if depth == 0 && i != e.len() - 1 {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outer_parentheses_go_quotes_stay() {
        assert_eq!(strip_parens("((a > 0))"), "a > 0");
        assert_eq!(strip_parens("(a > 0) AND (b > 0)"), "(a > 0) AND (b > 0)");
        assert_eq!(strip_parens("(\")(\" > 0)"), "\")(\" > 0");
        assert_eq!(strip_parens("`c` > 0"), "`c` > 0");
        assert_eq!(decimal_default("0", 2), "0.00");
        assert_eq!(decimal_default("-1.5", 3), "-1.500");
        assert_eq!(decimal_default("'12'", 0), "12");
        // Rounded as MariaDB stores them (read back from a live server: 1.5, 0.13, -0.13, 3, 10.00).
        assert_eq!(decimal_default("1.50", 1), "1.5");
        assert_eq!(decimal_default("0.125", 2), "0.13");
        assert_eq!(decimal_default("-0.125", 2), "-0.13");
        assert_eq!(decimal_default("2.5", 0), "3");
        assert_eq!(decimal_default("9.995", 2), "10.00");
        assert_eq!(decimal_default("-0.001", 2), "0.00");
        assert_eq!(decimal_default("007.10", 1), "7.1");
        assert_eq!(decimal_default("+1.50", 1), "1.5");
        assert_eq!(decimal_default(".5", 1), "0.5");
        assert_eq!(decimal_default("-.", 1), "-.", "not a number: left alone");
        assert_eq!(decimal_default("CURRENT_TIMESTAMP", 2), "CURRENT_TIMESTAMP");
    }
}

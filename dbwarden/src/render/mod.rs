//! SQL for schema changes, per dialect: one small trait ([`Ddl`]) with an implementation per server, the SQLite
//! table rebuild for the changes its `ALTER TABLE` cannot make, and the PostgreSQL rebuild that keeps the declared
//! column order when [`ColumnOrder::Exact`] asks for it.
//!
//! Identifiers are always quoted ([`SqlDialect::quote_ident`]), so `user`, `order`, mixed case and names holding a
//! quote character all work.

mod mysql;
pub(crate) mod postgres;
pub(crate) mod sqlite;

use dbwarden_core::diff::Change;
use dbwarden_core::schema::{Column, ForeignKey, Schema, Table};
use dbwarden_core::Dialect;

use crate::backend::SqlDialect;
use crate::types::TypeMap;

/// One statement of a generated migration, with whether it must run outside the migration's transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The SQL, without the terminating `;`.
    pub sql: String,
    /// Runs outside the transaction (`-- @dbwarden:autocommit`): SQLite's `PRAGMA foreign_keys`.
    pub autocommit: bool,
}

impl Statement {
    fn new(sql: String) -> Statement {
        Statement { sql, autocommit: false }
    }
}

/// Where PostgreSQL puts a column added anywhere but last (a new field in the middle of a model, or the rollback
/// of a dropped middle column): the `column_order` key of a `[[database]]` entry. MySQL (`AFTER`) and SQLite
/// (rebuilds) always keep the declared order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ColumnOrder {
    /// `ALTER TABLE ... ADD COLUMN` appends it: PostgreSQL has no column positions. Cheap, keeps everything
    /// dbwarden does not model (grants, triggers, policies, views). The default.
    #[default]
    Append,
    /// The table is rebuilt in the declared order (create, copy, drop, rename, keys and indexes again) under the
    /// migration's lock. A guard at the start refuses, naming them, when the table has objects the rebuild would
    /// lose (triggers, policies, rules, views, grants, another owner, inheritance, publications, statistics,
    /// indexes or constraints the models do not declare, foreign keys from tables they do not declare).
    Exact,
}

impl ColumnOrder {
    /// `append` or `exact`.
    pub fn parse(text: &str) -> Option<ColumnOrder> {
        match text {
            "append" => Some(ColumnOrder::Append),
            "exact" => Some(ColumnOrder::Exact),
            _ => None,
        }
    }
}

/// An object of the live database that SQLite drops with its table and the schema model does not hold (wholly or
/// in part): a trigger; a partial or expression index, or one with a `DESC` or `COLLATE` key column. A table rebuild
/// creates it again from its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependent {
    /// What it is.
    pub kind: DependentKind,
    /// The table it is on.
    pub table: String,
    /// Its name.
    pub name: String,
    /// Its `CREATE TRIGGER` or `CREATE INDEX` statement, as the database keeps it.
    pub sql: String,
}

impl Dependent {
    /// Its `CREATE` statement, to run again.
    pub(crate) fn statement(&self) -> Statement {
        Statement::new(self.sql.trim().trim_end_matches(';').to_string())
    }
}

/// The kind of a [`Dependent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DependentKind {
    /// A trigger.
    Trigger,
    /// An index the schema model does not hold, or holds only in part (see [`Dependent`]).
    Index,
}

impl DependentKind {
    /// The word for it in messages: `trigger`, `index`.
    pub fn noun(self) -> &'static str {
        match self {
            DependentKind::Trigger => "trigger",
            DependentKind::Index => "index",
        }
    }
}

/// What rendering needs besides the changes and the two schemas.
///
/// ```
/// use dbwarden::render::{ColumnOrder, Options};
/// let exact = Options { column_order: ColumnOrder::Exact, ..Options::default() };
/// assert_eq!(Options::default().column_order, ColumnOrder::Append);
/// assert!(exact.dependents.is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// PostgreSQL: append a column added in the middle, or rebuild the table to keep the declared order.
    pub column_order: ColumnOrder,
    /// SQLite: the live database's triggers and the indexes the schema model does not hold, so that a table
    /// rebuild creates those of its table again. One a rebuild does not know of makes the migration fail (naming
    /// the table) rather than vanish with it.
    pub dependents: Vec<Dependent>,
}

/// DDL of one dialect.
pub trait Ddl: Sync {
    /// Quoting and literals.
    fn sql(&self) -> &'static dyn SqlDialect;
    /// Column types.
    fn types(&self) -> &'static dyn TypeMap;

    /// A quoted identifier.
    fn q(&self, name: &str) -> String {
        self.sql().quote_ident(name)
    }

    /// A column definition: name, type, collation, NOT NULL, DEFAULT (and the auto-increment clause).
    fn column(&self, table: &Table, column: &Column) -> String;

    /// ` COLLATE "name"` after a column's type, when it has a collation other than the table's default.
    fn collate(&self, column: &Column) -> String {
        column.collation.as_ref().map(|name| format!(" COLLATE {}", self.q(name))).unwrap_or_default()
    }

    /// `CREATE TABLE` with columns, primary key, uniques and checks (foreign keys come as separate changes where the
    /// dialect can add them later).
    fn create_table(&self, table: &Table) -> Vec<Statement> {
        let mut parts: Vec<String> = table.columns.iter().map(|c| self.column(table, c)).collect();
        if let Some(pk) = self.table_primary_key(table) {
            parts.push(pk);
        }
        for u in &table.uniques {
            parts.push(format!("CONSTRAINT {} UNIQUE ({})", self.q(&u.name), self.list(&u.columns)));
        }
        for c in &table.checks {
            parts.push(format!("CONSTRAINT {} CHECK ({})", self.q(&c.name), c.expr));
        }
        for fk in self.inline_foreign_keys(table) {
            parts.push(self.foreign_key_clause(fk));
        }
        let mut out = vec![Statement::new(format!(
            "CREATE TABLE {} (\n    {}\n){}",
            self.q(&table.name),
            parts.join(",\n    "),
            self.table_options(table)
        ))];
        for index in &table.indexes {
            out.push(Statement::new(self.create_index(&table.name, index)));
        }
        out.extend(self.comments(table));
        out
    }

    /// The table-level primary key clause, if the table has one not written on its column.
    fn table_primary_key(&self, table: &Table) -> Option<String> {
        table.primary_key.as_ref().map(|pk| format!("PRIMARY KEY ({})", self.list(&pk.columns)))
    }

    /// Foreign keys written inside `CREATE TABLE` (SQLite, which cannot add them later).
    fn inline_foreign_keys<'t>(&self, _table: &'t Table) -> Vec<&'t ForeignKey> {
        Vec::new()
    }

    /// Text after the closing parenthesis of `CREATE TABLE` (MySQL's table comment).
    fn table_options(&self, _table: &Table) -> String {
        String::new()
    }

    /// Comment statements for a new table and its columns (PostgreSQL's `COMMENT ON`).
    fn comments(&self, _table: &Table) -> Vec<Statement> {
        Vec::new()
    }

    /// `CONSTRAINT name FOREIGN KEY (...) REFERENCES t (...) ON DELETE ... ON UPDATE ...`.
    fn foreign_key_clause(&self, fk: &ForeignKey) -> String {
        let mut s = format!(
            "CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({})",
            self.q(&fk.name),
            self.list(&fk.columns),
            self.q(&fk.ref_table),
            self.list(&fk.ref_columns)
        );
        if fk.on_delete != Default::default() {
            s.push_str(&format!(" ON DELETE {}", fk.on_delete.sql()));
        }
        if fk.on_update != Default::default() {
            s.push_str(&format!(" ON UPDATE {}", fk.on_update.sql()));
        }
        s
    }

    /// `CREATE [UNIQUE] INDEX`.
    fn create_index(&self, table: &str, index: &dbwarden_core::schema::Index) -> String {
        format!(
            "CREATE {}INDEX {} ON {} ({})",
            if index.unique { "UNIQUE " } else { "" },
            self.q(&index.name),
            self.q(table),
            self.list(&index.columns)
        )
    }

    /// Before NULL -> NOT NULL with a default, existing NULLs take the default (instead of the ALTER failing).
    fn backfill(&self, table: &str, from: &Column, to: &Column) -> Option<Statement> {
        let default = to.default.as_ref().filter(|_| from.nullable && !to.nullable)?;
        let col = self.q(&to.name);
        Some(Statement::new(format!("UPDATE {} SET {col} = {default} WHERE {col} IS NULL", self.q(table))))
    }

    /// Quoted, comma-separated names.
    fn list(&self, names: &[String]) -> String {
        names.iter().map(|n| self.q(n)).collect::<Vec<_>>().join(", ")
    }

    /// The statements of one change, given the schema just before this change (`before`) and after the whole set
    /// (`new`).
    fn change(&self, change: &Change, before: &Schema, new: &Schema) -> Vec<Statement>;

    /// With [`ColumnOrder::Exact`], what puts back in declared order a table (as `new` has it) that gained a column
    /// before its last one. Nothing where `ADD COLUMN` already places it (MySQL's `AFTER`).
    fn restore_column_order(&self, _table: &Table, _new: &Schema) -> Vec<Statement> {
        Vec::new()
    }
}

/// The DDL of `dialect`.
pub fn of(dialect: Dialect) -> &'static dyn Ddl {
    match dialect {
        Dialect::Postgres => &postgres::Postgres,
        Dialect::MySql => &mysql::MySql,
        Dialect::Sqlite => &sqlite::Sqlite,
    }
}

/// Renders a change set: the statements, in order. SQLite groups the changes it cannot `ALTER` into table rebuilds;
/// PostgreSQL with [`ColumnOrder::Exact`] rebuilds the tables that gained a column before their last one.
pub fn render(dialect: Dialect, changes: &[Change], old: &Schema, new: &Schema, options: &Options) -> Vec<Statement> {
    if dialect == Dialect::Sqlite {
        return sqlite::render(changes, old, new, &options.dependents);
    }
    let ddl = of(dialect);
    let mut state = dbwarden_core::diff::touched(old, changes);
    let mut out = Vec::new();
    let mut reorder = std::collections::BTreeSet::new();
    let final_name = final_names(changes);
    for (i, change) in changes.iter().enumerate() {
        // A column is placed among the others (MySQL's `AFTER`) by the names they have when its statement runs.
        let target = match change {
            Change::AddColumn { .. } => named_before(new, &changes[i + 1..]),
            _ => std::borrow::Cow::Borrowed(new),
        };
        out.extend(ddl.change(change, &state, &target));
        if let Change::AddColumn { table, position, .. } = change {
            if state.table(table).is_some_and(|t| *position < t.columns.len()) {
                reorder.insert(final_name(table));
            }
        }
        dbwarden_core::diff::apply_in_place(&mut state, change);
    }
    if options.column_order == ColumnOrder::Exact {
        for table in reorder.iter().filter_map(|name| new.table(name)) {
            out.extend(ddl.restore_column_order(table, new));
        }
    }
    out
}

/// `new` with the names its tables and columns have before `rest` runs: the renames among `rest` undone. `rest`
/// names a table renamed in it by its old name, as every change of a set does.
fn named_before<'s>(new: &'s Schema, rest: &[Change]) -> std::borrow::Cow<'s, Schema> {
    if !rest.iter().any(|c| matches!(c, Change::RenameTable { .. } | Change::RenameColumn { .. })) {
        return std::borrow::Cow::Borrowed(new);
    }
    let final_name = final_names(rest);
    let mut named = new.clone();
    // Columns first, finding their tables by the names they have in `new`; then the tables.
    for change in rest.iter().rev() {
        if let Change::RenameColumn { table, from, to } = change {
            let table = final_name(table);
            let columns = named.tables.iter_mut().find(|t| t.name == table).map(|t| &mut t.columns);
            if let Some(c) = columns.and_then(|cols| cols.iter_mut().find(|c| c.name == *to)) {
                c.name = from.clone();
            }
        }
    }
    for change in rest.iter().rev() {
        if let Change::RenameTable { from, to } = change {
            if let Some(t) = named.tables.iter_mut().find(|t| t.name == *to) {
                t.name = from.clone();
            }
        }
    }
    std::borrow::Cow::Owned(named)
}

/// The name each table has at the end of `changes` (changes name a table renamed in the set by its old name).
fn final_names(changes: &[Change]) -> impl Fn(&str) -> String + '_ {
    move |name: &str| {
        changes
            .iter()
            .find_map(|c| match c {
                Change::RenameTable { from, to } if from == name => Some(to.clone()),
                _ => None,
            })
            .unwrap_or_else(|| name.to_string())
    }
}

/// A default as `DEFAULT` takes it: a string literal, a (signed) number, a keyword or an expression already in
/// parentheses stays as it is; any other expression is put in parentheses, which SQLite and MySQL require of
/// expressions (`DEFAULT (datetime('now'))`, `DEFAULT (1 + 2)`) and PostgreSQL accepts. Defaults compare after
/// [`dbwarden_core::schema::normalize_default`], which takes such parentheses off again.
pub(crate) fn default_expr(d: &str) -> std::borrow::Cow<'_, str> {
    let d = d.trim();
    let literal =
        d.len() >= 2 && d.starts_with('\'') && d.ends_with('\'') && !d[1..d.len() - 1].replace("''", "").contains('\'');
    let number = {
        let digits = d.strip_prefix(['-', '+']).unwrap_or(d);
        !digits.is_empty() && digits.parse::<f64>().is_ok() && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
    };
    let keyword = !d.is_empty() && d.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    let wrapped = d.starts_with('(') && d.ends_with(')') && dbwarden_core::schema::normalize_default(d) != d;
    if literal || number || keyword || wrapped {
        std::borrow::Cow::Borrowed(d)
    } else {
        std::borrow::Cow::Owned(format!("({d})"))
    }
}

#[cfg(test)]
mod default_tests {
    use super::default_expr;

    #[test]
    fn expressions_get_parentheses_and_plain_values_do_not() {
        for plain in ["'a'", "'it''s'", "-1", "1.5", "TRUE", "NULL", "CURRENT_TIMESTAMP", "(1 + 2)"] {
            assert_eq!(default_expr(plain), plain);
        }
        assert_eq!(default_expr("datetime('now')"), "(datetime('now'))");
        assert_eq!(default_expr("1 + 2"), "(1 + 2)");
        assert_eq!(default_expr("'a' || 'b'"), "('a' || 'b')");
        assert_eq!(default_expr("(1) + (2)"), "((1) + (2))");
        assert_eq!(default_expr("-x"), "(-x)");
    }
}

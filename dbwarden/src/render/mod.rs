//! SQL for schema changes, per dialect: one small trait ([`Ddl`]) with an implementation per server, and the
//! SQLite table rebuild for the changes its `ALTER TABLE` cannot make.
//!
//! Identifiers are always quoted ([`SqlDialect::quote_ident`]), so `user`, `order`, mixed case and names holding a
//! quote character all work.

mod mysql;
mod postgres;
mod sqlite;

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

    /// A column definition: name, type, NOT NULL, DEFAULT (and the auto-increment clause).
    fn column(&self, table: &Table, column: &Column) -> String;

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
}

/// The DDL of `dialect`.
pub fn of(dialect: Dialect) -> &'static dyn Ddl {
    match dialect {
        Dialect::Postgres => &postgres::Postgres,
        Dialect::MySql => &mysql::MySql,
        Dialect::Sqlite => &sqlite::Sqlite,
    }
}

/// Renders a change set: the statements, in order. SQLite groups the changes it cannot `ALTER` into table rebuilds.
pub fn render(dialect: Dialect, changes: &[Change], old: &Schema, new: &Schema) -> Vec<Statement> {
    if dialect == Dialect::Sqlite {
        return sqlite::render(changes, old, new);
    }
    let ddl = of(dialect);
    let mut state = dbwarden_core::diff::touched(old, changes);
    let mut out = Vec::new();
    for change in changes {
        out.extend(ddl.change(change, &state, new));
        dbwarden_core::diff::apply_in_place(&mut state, change);
    }
    out
}

//! MySQL/MariaDB DDL: `MODIFY COLUMN` restates the whole column; `AFTER` keeps column order exact.

use dbwarden_core::diff::Change;
use dbwarden_core::schema::{normalize_default, Column, ColumnType, ForeignKey, Schema, Table};
use dbwarden_core::Dialect;

use super::{Ddl, Statement};
use crate::backend::SqlDialect;
use crate::types::TypeMap;

pub(crate) struct MySql;

impl MySql {
    fn alter(&self, table: &str, action: String) -> Statement {
        Statement::new(format!("ALTER TABLE {} {action}", self.q(table)))
    }

    /// `FIRST` or `AFTER <previous column>` for a column at `position` of the new table.
    fn placement(&self, new: &Schema, table: &str, position: usize) -> String {
        match position.checked_sub(1).and_then(|p| new.table(table).and_then(|t| t.columns.get(p))) {
            Some(prev) => format!(" AFTER {}", self.q(&prev.name)),
            None => " FIRST".to_string(),
        }
    }
}

impl MySql {
    /// Drops `index` (`None`: the primary key) with `drop`, around the foreign keys only it serves: InnoDB refuses
    /// to drop the index a key uses, so they are dropped first and added back after, when InnoDB gives each an
    /// index of its own, named after the key. That index stays implicit: InnoDB drops it by itself once another
    /// index can serve, which keeps "a key has its own index exactly when no other index starts with its columns"
    /// true (what [`Change::DropForeignKey`] relies on). An index created explicitly under the key's name would
    /// stay behind.
    fn around_foreign_keys(&self, before: &Schema, table: &str, index: Option<&str>, drop: String) -> Vec<Statement> {
        let keys: Vec<&ForeignKey> = before
            .table(table)
            .map(|t| {
                let dropped: Vec<&[String]> = match index {
                    None => t.primary_key.iter().map(|k| &k.columns[..]).collect(),
                    Some(name) => t
                        .indexes
                        .iter()
                        .filter(|i| i.name == name)
                        .map(|i| &i.columns[..])
                        .chain(t.uniques.iter().filter(|u| u.name == name).map(|u| &u.columns[..]))
                        .collect(),
                };
                t.foreign_keys
                    .iter()
                    .filter(|k| dropped.iter().any(|cols| starts_with(cols, &k.columns)))
                    .filter(|k| !indexed(t, &k.columns, Some(index)))
                    .collect()
            })
            .unwrap_or_default();
        let mut out: Vec<Statement> =
            keys.iter().map(|k| self.alter(table, format!("DROP FOREIGN KEY {}", self.q(&k.name)))).collect();
        out.push(Statement::new(drop));
        out.extend(keys.iter().map(|k| self.alter(table, format!("ADD {}", self.foreign_key_clause(k)))));
        out
    }
}

/// Whether `cols` begins with `key`.
fn starts_with(cols: &[String], key: &[String]) -> bool {
    cols.len() >= key.len() && cols[..key.len()] == *key
}

/// Whether the primary key or an index of `table` starts with `columns`, so that InnoDB serves a foreign key on
/// them with it rather than with an index of its own; `except` leaves one out (`Some(None)`: the primary key).
fn indexed(table: &Table, columns: &[String], except: Option<Option<&str>>) -> bool {
    let other = |name: &str| except != Some(Some(name));
    (except != Some(None) && table.primary_key.as_ref().is_some_and(|k| starts_with(&k.columns, columns)))
        || table.indexes.iter().any(|i| other(&i.name) && starts_with(&i.columns, columns))
        || table.uniques.iter().any(|u| other(&u.name) && starts_with(&u.columns, columns))
}

/// Whether `column` is the first column of the primary key or of an index of `table` (what AUTO_INCREMENT needs).
fn leads_a_key(table: &Table, column: &str) -> bool {
    let leads = |cols: &[String]| cols.first().is_some_and(|c| c == column);
    table.primary_key.as_ref().is_some_and(|k| leads(&k.columns))
        || table.indexes.iter().any(|i| leads(&i.columns))
        || table.uniques.iter().any(|u| leads(&u.columns))
}

impl Ddl for MySql {
    fn sql(&self) -> &'static dyn SqlDialect {
        crate::backend::dialect::of(Dialect::MySql)
    }

    fn types(&self) -> &'static dyn TypeMap {
        crate::types::of(Dialect::MySql)
    }

    fn column(&self, _table: &Table, c: &Column) -> String {
        let mut s = format!("{} {}", self.q(&c.name), self.types().render(&c.ty, c.auto_increment));
        s.push_str(&self.collate(c));
        if !c.nullable {
            s.push_str(" NOT NULL");
        }
        // A DATETIME(6)/TIMESTAMP(6) column's CURRENT_TIMESTAMP (default and ON UPDATE) must have its precision on
        // MySQL 8.
        let now = |value: &str| {
            matches!(c.ty, ColumnType::Timestamp | ColumnType::TimestampTz) && value == "CURRENT_TIMESTAMP"
        };
        if let Some(d) = &c.default {
            let d = if now(&normalize_default(d)) { "CURRENT_TIMESTAMP(6)".into() } else { super::default_expr(d) };
            s.push_str(&format!(" DEFAULT {d}"));
        }
        if let Some(value) = &c.on_update {
            s.push_str(&format!(" ON UPDATE {}", if now(value) { "CURRENT_TIMESTAMP(6)" } else { value }));
        }
        if c.auto_increment {
            s.push_str(&format!(" {}", self.types().auto_increment_clause()));
        }
        if let Some(comment) = &c.comment {
            s.push_str(&format!(" COMMENT {}", self.sql().literal(comment)));
        }
        s
    }

    fn table_options(&self, table: &Table) -> String {
        table.comment.as_ref().map(|c| format!(" COMMENT = {}", self.sql().literal(c))).unwrap_or_default()
    }

    fn change(&self, change: &Change, before: &Schema, new: &Schema) -> Vec<Statement> {
        use Change::*;
        match change {
            CreateTable { table } => self.create_table(table),
            DropTable { table } => vec![Statement::new(format!("DROP TABLE {}", self.q(&table.name)))],
            RenameTable { from, to } => {
                vec![Statement::new(format!("RENAME TABLE {} TO {}", self.q(from), self.q(to)))]
            }
            AddColumn { table, column, position } => {
                // MySQL gives existing rows a NOT NULL column's zero value ('', 0, '0000-00-00') when it has no
                // default, where PostgreSQL and SQLite refuse: added as NULL, then made NOT NULL, which fails (in
                // strict mode, the default) while a row has no value. Filling them and migrating again resumes there.
                let fills = !column.nullable && column.default.is_none() && !column.auto_increment;
                let added = Column { nullable: column.nullable || fills, ..column.clone() };
                let mut out = vec![self.alter(
                    table,
                    format!(
                        "ADD COLUMN {}{}",
                        self.column(&Table::default(), &added),
                        self.placement(new, table, *position)
                    ),
                )];
                if fills {
                    out.push(self.alter(table, format!("MODIFY COLUMN {}", self.column(&Table::default(), column))));
                }
                out
            }
            DropColumn { table, column, .. } => {
                vec![self.alter(table, format!("DROP COLUMN {}", self.q(&column.name)))]
            }
            RenameColumn { table, from, to } => {
                vec![self.alter(table, format!("RENAME COLUMN {} TO {}", self.q(from), self.q(to)))]
            }
            AlterColumn { table, from, to } => {
                // An AUTO_INCREMENT column must lead a key: without one yet, the primary key added later sets it;
                // without one any more, dropping the key already unset it. Nothing else changing, nothing to do.
                let keyed = before.table(table).is_some_and(|t| leads_a_key(t, &to.name));
                let only_numbering = Column { auto_increment: from.auto_increment, ..to.clone() } == *from;
                if only_numbering && !keyed {
                    return Vec::new();
                }
                let backfill = self.backfill(table, from, to);
                let to = Column { auto_increment: to.auto_increment && keyed, ..to.clone() };
                let mut out = Vec::new();
                if backfill.is_some() && from.ty != to.ty {
                    // The backfill writes the new default, a value of the new type: the type first (still NULL).
                    let retyped = Column { nullable: true, ..to.clone() };
                    out.push(self.alter(table, format!("MODIFY COLUMN {}", self.column(&Table::default(), &retyped))));
                }
                out.extend(backfill);
                out.push(self.alter(table, format!("MODIFY COLUMN {}", self.column(&Table::default(), &to))));
                out
            }
            AddPrimaryKey { table, key } => {
                let mut actions = vec![format!("ADD PRIMARY KEY ({})", self.list(&key.columns))];
                if let Some(t) = new.table(table) {
                    for c in t.columns.iter().filter(|c| c.auto_increment && key.columns.contains(&c.name)) {
                        actions.push(format!("MODIFY COLUMN {}", self.column(&Table::default(), c)));
                    }
                }
                vec![self.alter(table, actions.join(", "))]
            }
            // MySQL refuses to leave an AUTO_INCREMENT column without its key: it stops numbering in the same
            // statement.
            DropPrimaryKey { table, key } => {
                let mut actions = Vec::new();
                if let Some(t) = before.table(table) {
                    for c in t.columns.iter().filter(|c| c.auto_increment && key.columns.contains(&c.name)) {
                        let plain = Column { auto_increment: false, ..c.clone() };
                        actions.push(format!("MODIFY COLUMN {}", self.column(&Table::default(), &plain)));
                    }
                }
                actions.push("DROP PRIMARY KEY".into());
                let drop = format!("ALTER TABLE {} {}", self.q(table), actions.join(", "));
                self.around_foreign_keys(before, table, None, drop)
            }
            AddIndex { table, index } => vec![Statement::new(self.create_index(table, index))],
            DropIndex { table, index } => {
                let drop = format!("DROP INDEX {} ON {}", self.q(&index.name), self.q(table));
                self.around_foreign_keys(before, table, Some(&index.name), drop)
            }
            AddUnique { table, unique } => vec![self.alter(
                table,
                format!("ADD CONSTRAINT {} UNIQUE ({})", self.q(&unique.name), self.list(&unique.columns)),
            )],
            // A unique constraint is an index in MySQL.
            DropUnique { table, unique } => {
                let drop = format!("DROP INDEX {} ON {}", self.q(&unique.name), self.q(table));
                self.around_foreign_keys(before, table, Some(&unique.name), drop)
            }
            AddForeignKey { table, key } => vec![self.alter(table, format!("ADD {}", self.foreign_key_clause(key)))],
            // MySQL creates an index named after the key when no index starts with its columns, and keeps it when
            // the key is dropped: dropped too, so the schema is exactly what it was. (Told apart here rather than
            // with IF EXISTS, which MySQL 8 does not have.)
            DropForeignKey { table, key } => {
                let mut out = vec![self.alter(table, format!("DROP FOREIGN KEY {}", self.q(&key.name)))];
                if !before.table(table).is_some_and(|t| indexed(t, &key.columns, None)) {
                    out.push(Statement::new(format!("DROP INDEX {} ON {}", self.q(&key.name), self.q(table))));
                }
                out
            }
            AddCheck { table, check } => {
                vec![self.alter(table, format!("ADD CONSTRAINT {} CHECK ({})", self.q(&check.name), check.expr))]
            }
            DropCheck { table, check } => vec![self.alter(table, format!("DROP CONSTRAINT {}", self.q(&check.name)))],
            SetTableComment { table, to, .. } => {
                vec![self.alter(table, format!("COMMENT = {}", self.sql().literal(to.as_deref().unwrap_or_default())))]
            }
            // SQLite's options: `into_canonical` leaves none in this dialect's schemas.
            SetTableOptions { .. } => Vec::new(),
        }
    }
}

//! MySQL/MariaDB DDL: `MODIFY COLUMN` restates the whole column; `AFTER` keeps column order exact.

use dbwarden_core::diff::Change;
use dbwarden_core::schema::{Column, Schema, Table};
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
    /// InnoDB needs an index starting with a foreign key's columns, and silently drops the one it made for the key
    /// when another index can serve; so before dropping `index`, the keys it serves get their own index back (named
    /// after the key, as InnoDB names it, which introspection does not report).
    fn keep_foreign_key_indexes(&self, before: &Schema, table: &str, index: &str) -> Vec<Statement> {
        let Some(t) = before.table(table) else { return Vec::new() };
        let starts = |cols: &[String], key: &[String]| cols.len() >= key.len() && cols[..key.len()] == *key;
        let mut others: Vec<&[String]> = t.indexes.iter().filter(|i| i.name != index).map(|i| &i.columns[..]).collect();
        others.extend(t.uniques.iter().filter(|u| u.name != index).map(|u| &u.columns[..]));
        others.extend(t.primary_key.iter().map(|k| &k.columns[..]));
        let dropped: Vec<&[String]> = t
            .indexes
            .iter()
            .filter(|i| i.name == index)
            .map(|i| &i.columns[..])
            .chain(t.uniques.iter().filter(|u| u.name == index).map(|u| &u.columns[..]))
            .collect();
        t.foreign_keys
            .iter()
            .filter(|k| dropped.iter().any(|cols| starts(cols, &k.columns)))
            .filter(|k| !others.iter().any(|cols| starts(cols, &k.columns)))
            .map(|k| {
                Statement::new(format!(
                    "CREATE INDEX {} ON {} ({})",
                    self.q(&k.name),
                    self.q(table),
                    self.list(&k.columns)
                ))
            })
            .collect()
    }
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
        if !c.nullable {
            s.push_str(" NOT NULL");
        }
        if let Some(d) = &c.default {
            s.push_str(&format!(" DEFAULT {d}"));
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
            AddColumn { table, column, position } => vec![self.alter(
                table,
                format!(
                    "ADD COLUMN {}{}",
                    self.column(&Table::default(), column),
                    self.placement(new, table, *position)
                ),
            )],
            DropColumn { table, column, .. } => {
                vec![self.alter(table, format!("DROP COLUMN {}", self.q(&column.name)))]
            }
            RenameColumn { table, from, to } => {
                vec![self.alter(table, format!("RENAME COLUMN {} TO {}", self.q(from), self.q(to)))]
            }
            AlterColumn { table, from, to } => {
                let mut out: Vec<Statement> = self.backfill(table, from, to).into_iter().collect();
                out.push(self.alter(table, format!("MODIFY COLUMN {}", self.column(&Table::default(), to))));
                out
            }
            AddPrimaryKey { table, key } => {
                vec![self.alter(table, format!("ADD PRIMARY KEY ({})", self.list(&key.columns)))]
            }
            DropPrimaryKey { table, .. } => vec![self.alter(table, "DROP PRIMARY KEY".into())],
            AddIndex { table, index } => vec![Statement::new(self.create_index(table, index))],
            DropIndex { table, index } => {
                let mut out = self.keep_foreign_key_indexes(before, table, &index.name);
                out.push(Statement::new(format!("DROP INDEX {} ON {}", self.q(&index.name), self.q(table))));
                out
            }
            AddUnique { table, unique } => vec![self.alter(
                table,
                format!("ADD CONSTRAINT {} UNIQUE ({})", self.q(&unique.name), self.list(&unique.columns)),
            )],
            // A unique constraint is an index in MySQL.
            DropUnique { table, unique } => {
                let mut out = self.keep_foreign_key_indexes(before, table, &unique.name);
                out.push(Statement::new(format!("DROP INDEX {} ON {}", self.q(&unique.name), self.q(table))));
                out
            }
            AddForeignKey { table, key } => vec![self.alter(table, format!("ADD {}", self.foreign_key_clause(key)))],
            // MySQL creates an index named after the key when none covers its columns, and keeps it when the key is
            // dropped: drop it too, so the schema is exactly what it was.
            DropForeignKey { table, key } => vec![
                self.alter(table, format!("DROP FOREIGN KEY {}", self.q(&key.name))),
                Statement::new(format!("DROP INDEX IF EXISTS {} ON {}", self.q(&key.name), self.q(table))),
            ],
            AddCheck { table, check } => {
                vec![self.alter(table, format!("ADD CONSTRAINT {} CHECK ({})", self.q(&check.name), check.expr))]
            }
            DropCheck { table, check } => vec![self.alter(table, format!("DROP CONSTRAINT {}", self.q(&check.name)))],
            SetTableComment { table, to, .. } => {
                vec![self.alter(table, format!("COMMENT = {}", self.sql().literal(to.as_deref().unwrap_or_default())))]
            }
        }
    }
}

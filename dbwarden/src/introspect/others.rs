//! The schema objects the IR does not model (views, triggers, routines, sequences, enum types and domains,
//! expression and partial indexes, extensions and other schemas), read as a list of names, each with its definition
//! where the server keeps one. `verify` compares these lists around a rollback, so a rollback that leaves a view
//! behind, or does not restore a function it replaced, is named like a forgotten index. Definitions are compared
//! through [`lexer::canonical`]: servers keep routine and trigger bodies as they were written, and a body recreated
//! with other spacing or case is the same body.
//!
//! One query per dialect, in that dialect's module. SQLite gives names only: it rewrites the text of views and
//! triggers when a table they name is renamed (`FROM t` becomes `FROM "t"`), so a rename and its rollback would
//! change a text that means the same.

use std::collections::{HashMap, HashSet};

use dbwarden_core::{lexer, Dialect};

use crate::backend::Backend;
use crate::error::DbError;

/// An object outside the IR.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Other {
    /// `view`, `trigger`, `function`, `enum type`, `index`, ...
    pub kind: String,
    /// Its name (a trigger's with its table: `audit on users`; a routine's with its argument types).
    pub name: String,
    /// Its definition as the server reports it, through [`lexer::canonical`]; none where only the name counts.
    pub definition: Option<String>,
}

/// What would turn one object as found into the one expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OtherChange<'a> {
    /// Found, not expected.
    Drop(&'a Other),
    /// Expected, not found.
    Create(&'a Other),
    /// Both, with another definition.
    Restore(&'a Other),
}

impl OtherChange<'_> {
    /// The index this drops or creates, if it is one: an index outside the IR (on an expression, partial).
    pub fn index(&self) -> Option<&str> {
        match self {
            OtherChange::Drop(o) | OtherChange::Create(o) if o.kind == "index" => Some(o.name.as_str()),
            _ => None,
        }
    }
}

impl std::fmt::Display for OtherChange<'_> {
    /// As the IR's differences read: `drop view active_users`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OtherChange::Drop(o) => write!(f, "drop {} {}", o.kind, o.name),
            OtherChange::Create(o) => write!(f, "create {} {}", o.kind, o.name),
            OtherChange::Restore(o) => write!(f, "restore {} {} as it was (its definition differs)", o.kind, o.name),
        }
    }
}

/// The objects outside the IR in the current schema (PostgreSQL), database (MySQL/MariaDB) or main database
/// (SQLite), sorted.
pub(crate) async fn others(backend: &mut dyn Backend) -> Result<Vec<Other>, DbError> {
    let dialect = backend.dialect();
    let sql = match dialect {
        Dialect::Postgres => super::postgres::OTHERS,
        Dialect::MySql => super::mysql::OTHERS,
        Dialect::Sqlite => super::sqlite::OTHERS,
    };
    let mut found = Vec::new();
    backend
        .query_each(sql, &mut |row| {
            if let [Some(kind), Some(name), definition] = row {
                found.push(Other {
                    kind: kind.to_string(),
                    name: name.to_string(),
                    // Routine and trigger bodies are kept as written: a rollback that recreates one with other
                    // spacing, case or comments has restored it all the same.
                    definition: definition.map(|d| lexer::canonical(d, dialect)),
                });
            }
            Ok(())
        })
        .await?;
    found.sort();
    Ok(found)
}

/// What would turn the objects `found` into `expected`: drops and restores in `found`'s order, then creates.
pub(crate) fn differences<'a>(found: &'a [Other], expected: &'a [Other]) -> Vec<OtherChange<'a>> {
    // Looked up by key, not scanned: a schema can hold thousands of these (triggers and indexes of partitions).
    fn key(o: &Other) -> (&str, &str) {
        (o.kind.as_str(), o.name.as_str())
    }
    let found_keys: HashSet<(&str, &str)> = found.iter().map(key).collect();
    let wanted: HashMap<(&str, &str), &Other> = expected.iter().map(|o| (key(o), o)).collect();
    let mut changes = Vec::new();
    for have in found {
        match wanted.get(&key(have)) {
            None => changes.push(OtherChange::Drop(have)),
            Some(want) if want.definition != have.definition => changes.push(OtherChange::Restore(have)),
            Some(_) => {}
        }
    }
    changes.extend(expected.iter().filter(|want| !found_keys.contains(&key(want))).map(OtherChange::Create));
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn other(kind: &str, name: &str, definition: Option<&str>) -> Other {
        Other { kind: kind.into(), name: name.into(), definition: definition.map(str::to_string) }
    }

    fn differences(found: &[Other], expected: &[Other]) -> Vec<String> {
        super::differences(found, expected).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn left_behind_missing_and_changed_objects_are_named() {
        let before = [other("view", "active", Some("SELECT 1")), other("function", "f()", Some("a"))];
        let after = [
            other("function", "f()", Some("b")),
            other("trigger", "audit on users", None),
            other("view", "active", Some("SELECT 1")),
        ];
        assert_eq!(
            differences(&after, &before),
            ["restore function f() as it was (its definition differs)", "drop trigger audit on users"]
        );
        assert_eq!(differences(&before[..1], &before), ["create function f()"]);
        assert!(differences(&before, &before).is_empty());
        // A view and a trigger may share a name: the kind is part of the key.
        assert_eq!(
            differences(&[other("trigger", "x", None)], &[other("view", "x", None)]),
            ["drop trigger x", "create view x"]
        );
    }
}

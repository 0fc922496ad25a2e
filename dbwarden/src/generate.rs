//! Writing migrations from models: the text of a generated migration file, with a header listing each step and
//! its safety level, an upgrade section and a rollback section that restores the previous schema exactly.

use dbwarden_core::diff::{diff, keep_unmodelled, rollback, Change, Renames, Safety};
use dbwarden_core::schema::Schema;
use dbwarden_core::Dialect;

use crate::render::{render, Statement};
pub use crate::render::{ColumnOrder, Options};

/// The header line before the steps of a generated file, completed by the first 16 digits of the upgrade
/// section's checksum: `-- Steps (upgrade 0123456789abcdef):`.
pub const STEPS_STAMP: &str = "-- Steps (upgrade ";

/// A generated migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// The changes, in upgrade order.
    pub changes: Vec<Change>,
    /// The file text.
    pub text: String,
    /// The highest safety level of its steps.
    pub safety: Safety,
}

/// Two schemas as `dialect` reads them back, and the changes from the first to the second.
pub struct Compared {
    /// `old`, canonical for the dialect.
    pub old: Schema,
    /// `new`, canonical for the dialect.
    pub new: Schema,
    /// The changes, in upgrade order.
    pub changes: Vec<Change>,
    /// The renames they were found with: those given, with what the dialect's comparison of names adds (see
    /// [`Renames::with_case_folded`]).
    pub renames: Renames,
}

/// Compares `old` with `new` as `dialect` will read them back (the first half of [`generate`], for the read-only
/// commands). The schemas are handed over and come back canonical in [`Compared`]: no copy of either is made.
pub fn compare(dialect: Dialect, old: Schema, new: Schema, renames: &Renames) -> Compared {
    let types = crate::types::of(dialect);
    // Columns whose model names the default collation (`default`, SQLite's `BINARY`): set to it, not kept.
    let to_default: Vec<(String, String)> = new
        .tables
        .iter()
        .flat_map(|t| t.columns.iter().map(move |c| (t, c)))
        .filter(|(_, c)| c.collation.as_deref().is_some_and(|n| crate::types::collation_read_back(types, n).is_none()))
        .map(|(t, c)| (t.name.clone(), c.name.clone()))
        .collect();
    let (old, mut new) =
        (crate::introspect::into_canonical(dialect, old), crate::introspect::into_canonical(dialect, new));
    // Where `Users` and `users` are one name, a model spelling a name otherwise is that name renamed.
    let renames = renames.with_case_folded(&old, &new, crate::backend::dialect::of(dialect).name_folding());
    // A collation the models do not name, ON UPDATE, table options and the database's spelling of an equal
    // default (`lcase` for `lower`): the columns and tables keep the database's.
    keep_unmodelled(&old, &mut new, &renames, &|ty| types.collatable(ty), &|ty, a, b| types.same_default(ty, a, b));
    for (table, column) in &to_default {
        let named = new
            .tables
            .iter_mut()
            .find(|t| &t.name == table)
            .and_then(|t| t.columns.iter_mut().find(|c| &c.name == column));
        if let Some(c) = named {
            c.collation = None;
        }
    }
    let changes = diff(&old, &new, &renames);
    Compared { old, new, changes, renames }
}

/// The migration turning `old` into `new` on `dialect` (both as the models declare them; they are compared as the
/// database will read them back), with the default [`Options`]. `None` when there is nothing to change.
///
/// ```
/// use dbwarden::schema::{Column, ColumnType, Schema, Table};
/// use dbwarden::Dialect;
///
/// let id = Column { name: "id".into(), ty: ColumnType::BigInt, nullable: false, default: None,
///                   auto_increment: true, comment: None, collation: None, on_update: None };
/// let users = Schema { tables: vec![Table { name: "users".into(), columns: vec![id], ..Table::default() }] };
/// let g = dbwarden::generate::generate(Dialect::Postgres, Schema::default(), users, &Default::default()).unwrap();
/// assert!(g.text.contains("CREATE TABLE \"users\""));
/// assert!(g.text.contains("-- rollback\nDROP TABLE \"users\";"));
/// ```
pub fn generate(dialect: Dialect, old: Schema, new: Schema, renames: &Renames) -> Option<Generated> {
    compare(dialect, old, new, renames).migration(dialect, &Options::default())
}

impl Compared {
    /// The migration file text for these changes on `dialect` (the second half of [`generate`]). `None` when there
    /// is nothing to change.
    pub fn migration(&self, dialect: Dialect, options: &Options) -> Option<Generated> {
        let Compared { old, new, changes, .. } = self;
        if changes.is_empty() {
            return None;
        }
        let upgrade = render(dialect, changes, old, new, options);
        let down = rollback(changes);
        let downgrade = render(dialect, &down, new, old, options);
        let rated = rated(dialect, changes);
        let safety = rated.iter().map(|(s, _)| *s).max().unwrap_or(Safety::Safe);
        let mut up = String::new();
        push_statements(&mut up, &upgrade);
        // The steps are stamped with the upgrade section's checksum, so `check` can tell they still describe the SQL.
        let checksum = dbwarden_core::checksum::section_checksum(&up);
        let mut text = format!(
            "-- Generated by dbwarden {} for {dialect}.\n{STEPS_STAMP}{}):\n",
            env!("CARGO_PKG_VERSION"),
            &checksum[..16.min(checksum.len())]
        );
        for (safety, step) in &rated {
            text.push_str(&format!("--   {:<8}  {step}\n", safety.to_string()));
        }
        text.push_str("-- upgrade\n");
        text.push_str(&up);
        text.push_str("-- rollback\n");
        push_statements(&mut text, &downgrade);
        Some(Generated { changes: changes.clone(), text, safety })
    }
}

/// Each change's safety and description on `dialect`: [`Change::safety_among`] and [`Change::describe`], and
/// CRITICAL where a type change keeps fewer digits of a second's fraction (`timestamp` to `timestamp(0)`: the server
/// rounds or cuts the values without a word, which only the dialect knows).
///
/// ```
/// use dbwarden::diff::{Change, Safety};
/// use dbwarden::schema::{Column, ColumnType};
/// let at = |ty| Column { name: "at".into(), ty, nullable: true, default: None, auto_increment: false,
///                        comment: None, collation: None, on_update: None };
/// let change = Change::AlterColumn { table: "t".into(), from: at(ColumnType::Timestamp),
///                                    to: at(ColumnType::Custom("datetime".into())) };
/// let rated = dbwarden::generate::rated(dbwarden::Dialect::MySql, &[change]);
/// assert_eq!(rated[0].0, Safety::Critical);
/// assert!(rated[0].1.ends_with(": rounds or cuts existing values"));
/// ```
pub fn rated(dialect: Dialect, changes: &[Change]) -> Vec<(Safety, String)> {
    const LOSES: &str = ": rounds or cuts existing values";
    let types = crate::types::of(dialect);
    changes
        .iter()
        .map(|change| {
            // One line each (a step quotes comments and defaults, which may hold line breaks).
            let step = change.describe().replace('\r', "\\r").replace('\n', "\\n");
            let (mut safety, mut step) = (change.safety_among(changes), step);
            if let Change::AlterColumn { from, to, .. } = change {
                let fewer = match (types.fractional_digits(&from.ty), types.fractional_digits(&to.ty)) {
                    (Some(a), Some(b)) => b < a,
                    _ => false,
                };
                if fewer && !step.ends_with(LOSES) {
                    safety = Safety::Critical;
                    step.push_str(LOSES);
                }
            }
            (safety, step)
        })
        .collect()
}

fn push_statements(text: &mut String, statements: &[Statement]) {
    for s in statements {
        if s.autocommit {
            text.push_str("-- @dbwarden:autocommit\n");
        }
        text.push_str(&s.sql);
        text.push_str(";\n");
    }
}

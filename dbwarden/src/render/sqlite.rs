//! SQLite DDL. `ALTER TABLE` can rename a table or column, add a column at the end and drop an unconstrained
//! column; everything else (a type, NOT NULL or default change, keys, uniques, checks, a column in the middle) is a
//! table rebuild done as SQLite's documentation prescribes: foreign keys off outside the transaction, create the new
//! table, copy, drop, rename, create the indexes and triggers again, check the foreign keys, foreign keys on.
//! What the schema model does not hold and `DROP TABLE` drops (triggers, partial and expression indexes) is
//! created again from its text as read when the migration was generated, behind a guard that it is still so.

use std::collections::BTreeSet;

use dbwarden_core::diff::{apply_in_place, touched, Change};
use dbwarden_core::schema::{Column, ForeignKey, Schema, Table, TableOption};
use dbwarden_core::Dialect;

use super::{Ddl, Dependent, DependentKind, Statement};
use crate::backend::SqlDialect;
use crate::types::TypeMap;

pub(crate) struct Sqlite;

impl Ddl for Sqlite {
    fn sql(&self) -> &'static dyn SqlDialect {
        crate::backend::dialect::of(Dialect::Sqlite)
    }

    fn types(&self) -> &'static dyn TypeMap {
        crate::types::of(Dialect::Sqlite)
    }

    fn column(&self, table: &Table, c: &Column) -> String {
        if rowid_alias(table).is_some_and(|pk| pk == c.name) {
            // Exactly `INTEGER PRIMARY KEY` makes the column the rowid: SQLite numbers it.
            let never_reused = if table.options.contains(&TableOption::Autoincrement) { " AUTOINCREMENT" } else { "" };
            return format!("{} INTEGER PRIMARY KEY{never_reused} NOT NULL", self.q(&c.name));
        }
        let mut s = format!("{} {}", self.q(&c.name), self.types().render(&c.ty, c.auto_increment));
        s.push_str(&self.collate(c));
        if !c.nullable {
            s.push_str(" NOT NULL");
        }
        if let Some(d) = &c.default {
            s.push_str(&format!(" DEFAULT {}", super::default_expr(d)));
        }
        s
    }

    fn table_primary_key(&self, table: &Table) -> Option<String> {
        if rowid_alias(table).is_some() {
            return None;
        }
        table.primary_key.as_ref().map(|pk| format!("PRIMARY KEY ({})", self.list(&pk.columns)))
    }

    fn table_options(&self, table: &Table) -> String {
        // AUTOINCREMENT is written on its column.
        let after: Vec<&str> =
            table.options.iter().filter(|o| **o != TableOption::Autoincrement).map(|o| o.sql()).collect();
        if after.is_empty() {
            String::new()
        } else {
            format!(" {}", after.join(", "))
        }
    }

    fn inline_foreign_keys<'t>(&self, table: &'t Table) -> Vec<&'t ForeignKey> {
        table.foreign_keys.iter().collect()
    }

    fn change(&self, change: &Change, _before: &Schema, _new: &Schema) -> Vec<Statement> {
        use Change::*;
        let alter = |table: &str, action: String| Statement::new(format!("ALTER TABLE {} {action}", self.q(table)));
        match change {
            CreateTable { table } => self.create_table(table),
            DropTable { table } => vec![Statement::new(format!("DROP TABLE {}", self.q(&table.name)))],
            // SQLite's table names ignore case: a rename that changes only the case goes through another name.
            RenameTable { from, to } if from.eq_ignore_ascii_case(to) => {
                let step = format!("_dbwarden_rename_{to}");
                vec![
                    alter(from, format!("RENAME TO {}", self.q(&step))),
                    alter(&step, format!("RENAME TO {}", self.q(to))),
                ]
            }
            RenameTable { from, to } => vec![alter(from, format!("RENAME TO {}", self.q(to)))],
            AddColumn { table, column, .. } => {
                vec![alter(table, format!("ADD COLUMN {}", self.column(&Table::default(), column)))]
            }
            DropColumn { table, column, .. } => vec![alter(table, format!("DROP COLUMN {}", self.q(&column.name)))],
            RenameColumn { table, from, to } => {
                vec![alter(table, format!("RENAME COLUMN {} TO {}", self.q(from), self.q(to)))]
            }
            AddIndex { table, index } => vec![Statement::new(self.create_index(table, index))],
            DropIndex { index, .. } => vec![Statement::new(format!("DROP INDEX {}", self.q(&index.name)))],
            // SQLite keeps no comments.
            SetTableComment { .. } => Vec::new(),
            // The rest never reaches here: `render` turns them into rebuilds.
            _ => Vec::new(),
        }
    }
}

/// The single integer primary key column that becomes SQLite's rowid, if any.
fn rowid_alias(table: &Table) -> Option<&str> {
    if table.options.contains(&TableOption::WithoutRowid) {
        return None;
    }
    let pk = table.primary_key.as_ref()?;
    let [name] = pk.columns.as_slice() else { return None };
    let column = table.column(name)?;
    (column.auto_increment && column.ty.is_integer()).then_some(name.as_str())
}

/// Whether SQLite can make `change` with a plain ALTER (given the table's state at that point).
fn direct(change: &Change, before: &Schema) -> bool {
    use Change::*;
    match change {
        CreateTable { .. } | DropTable { .. } | RenameTable { .. } | RenameColumn { .. } => true,
        AddIndex { .. } | DropIndex { .. } | SetTableComment { .. } => true,
        AddColumn { table, column, position } => {
            let appended = before.table(table).is_some_and(|t| *position >= t.columns.len());
            // SQLite refuses ADD COLUMN with an expression default, CURRENT_TIME/DATE/TIMESTAMP included.
            let constant_default = column.default.as_deref().is_none_or(|d| {
                let upper = d.trim().to_ascii_uppercase();
                !d.contains('(') && !upper.starts_with("CURRENT_")
            });
            appended && (column.nullable || column.default.is_some()) && constant_default && !column.auto_increment
        }
        DropColumn { table, column, .. } => before.table(table).is_some_and(|t| {
            let used = |cols: &[String]| cols.contains(&column.name);
            !t.primary_key.as_ref().is_some_and(|k| used(&k.columns))
                && !t.uniques.iter().any(|u| used(&u.columns))
                && !t.foreign_keys.iter().any(|k| used(&k.columns))
                && !t.indexes.iter().any(|i| used(&i.columns))
                && !t.checks.iter().any(|c| c.expr.contains(&column.name))
        }),
        _ => false,
    }
}

/// The tables a change set creates.
fn created_tables(changes: &[Change]) -> BTreeSet<&str> {
    changes
        .iter()
        .filter_map(|c| match c {
            Change::CreateTable { table } => Some(table.name.as_str()),
            _ => None,
        })
        .collect()
}

/// The tables a change set drops.
fn dropped_tables(changes: &[Change]) -> BTreeSet<&str> {
    changes
        .iter()
        .filter_map(|c| match c {
            Change::DropTable { table } => Some(table.name.as_str()),
            _ => None,
        })
        .collect()
}

/// Whether a rename of `changes` makes SQLite rewrite the text of `d`, which is on `table` (the name it ends
/// with): an index's text names only its table, a trigger's body may name any.
pub(crate) fn rewritten_by_renames(changes: &[Change], d: &Dependent, table: &str) -> bool {
    let any = d.kind == DependentKind::Trigger;
    changes.iter().any(|c| match c {
        Change::RenameTable { to, .. } => any || to.eq_ignore_ascii_case(table),
        Change::RenameColumn { table: on, .. } => any || on.eq_ignore_ascii_case(table),
        _ => false,
    })
}

/// The dependents on table `name` (the name it ends with) whose text, read when the migration was generated, no
/// rename of `changes` has made SQLite rewrite. Table names compare as SQLite compares them, ASCII case-blind.
fn kept<'d>(dependents: &'d [Dependent], changes: &[Change], name: &str) -> Vec<&'d Dependent> {
    let ours = |d: &&Dependent| d.table.eq_ignore_ascii_case(name) && !rewritten_by_renames(changes, d, name);
    dependents.iter().filter(ours).collect()
}

/// The index of `table` named `name`, as SQLite matches index names (ASCII case-blind).
fn index_named<'t>(table: &'t Table, name: &str) -> Option<&'t dbwarden_core::schema::Index> {
    table.indexes.iter().find(|i| i.name.eq_ignore_ascii_case(name))
}

/// The tables (by the name they end with) that `changes` rebuild, from `old`.
pub(crate) fn rebuilt_tables(changes: &[Change], old: &Schema) -> BTreeSet<String> {
    // Foreign keys of tables created in this set are written inside their CREATE TABLE; changes to a table this
    // set drops (its foreign keys, say) vanish with the DROP TABLE.
    let (created, dropped) = (created_tables(changes), dropped_tables(changes));
    let moot = |c: &Change| !matches!(c, Change::DropTable { .. }) && dropped.contains(c.table());
    // Drops name a renamed table by its old name: a rebuild is keyed by the name the table ends with.
    let final_name = super::final_names(changes);
    // Walk the changes, tracking the schema.
    let mut state = touched(old, changes);
    let mut rebuild: BTreeSet<String> = BTreeSet::new();
    for change in changes {
        let folded = matches!(change, Change::AddForeignKey { table, .. } if created.contains(table.as_str()));
        if !folded && !moot(change) && !direct(change, &state) {
            rebuild.insert(final_name(change.table()));
        }
        apply_in_place(&mut state, change);
    }
    rebuild
}

/// Renders a change set for SQLite: direct ALTERs where possible, one rebuild per table otherwise.
pub(crate) fn render(changes: &[Change], old: &Schema, new: &Schema, dependents: &[Dependent]) -> Vec<Statement> {
    let ddl = &Sqlite;
    let (created, dropped) = (created_tables(changes), dropped_tables(changes));
    let moot = |c: &Change| !matches!(c, Change::DropTable { .. }) && dropped.contains(c.table());
    let final_name = super::final_names(changes);
    // The tables the changes name, as they were: each walk below tracks its own copy.
    let start = touched(old, changes);
    let rebuild = rebuilt_tables(changes, old);
    // With a rebuild, foreign keys are off for the whole file (the pragma only works outside a transaction), so
    // that everything between the two pragmas is one transaction.
    // Dropping a table other tables reference would, with foreign keys on, first delete its rows and cascade (or
    // fail) into them; PostgreSQL and MySQL drop the keys first instead. Off for the file too, then.
    let drops_referenced = old
        .tables
        .iter()
        .flat_map(|t| t.foreign_keys.iter().filter(move |k| k.ref_table != t.name))
        .any(|k| dropped.contains(k.ref_table.as_str()));
    let foreign_keys_off = !rebuild.is_empty() || drops_referenced;
    let mut out = Vec::new();
    if foreign_keys_off {
        out.push(Statement { sql: "PRAGMA foreign_keys = OFF".into(), autocommit: true });
    }
    let mut state = start.clone();
    for change in changes {
        let skip = rebuild.contains(&final_name(change.table()))
            && !matches!(change, Change::RenameTable { .. } | Change::RenameColumn { .. } | Change::CreateTable { .. });
        let folded = matches!(change, Change::AddForeignKey { table, .. } if created.contains(table.as_str()));
        if !skip && !folded && !moot(change) {
            let change = match change {
                // Write the table's final foreign keys inline.
                Change::CreateTable { table } => {
                    Change::CreateTable { table: new.table(&table.name).cloned().unwrap_or_else(|| table.clone()) }
                }
                other => other.clone(),
            };
            out.extend(ddl.change(&change, &state, new));
            // A table created again (the rollback of a drop) gets back its triggers and unmodelled indexes, as read
            // when the migration was generated.
            if let Change::CreateTable { table } = &change {
                let (indexes, triggers): (Vec<&Dependent>, Vec<&Dependent>) =
                    kept(dependents, changes, &table.name).into_iter().partition(|d| d.kind == DependentKind::Index);
                // (An index the model holds is in the CREATE TABLE's indexes already.)
                let unmodelled = indexes.into_iter().filter(|d| index_named(table, &d.name).is_none());
                out.extend(unmodelled.chain(triggers).map(Dependent::statement));
            }
        }
        apply_in_place(&mut state, change);
    }
    if !foreign_keys_off {
        return out;
    }
    // The state before the rebuilds: every change applied except those of the rebuilt tables (renames kept).
    let mut before = start;
    for change in changes {
        let rebuilt = rebuild.contains(&final_name(change.table()));
        if !rebuilt || matches!(change, Change::RenameTable { .. } | Change::RenameColumn { .. }) {
            apply_in_place(&mut before, change);
        }
    }
    // A trigger's or index's text read when the migration was generated is what the rebuild creates again, unless
    // a rename of the set made SQLite rewrite it (then the guard refuses a table that has one; make-migrations
    // refuses such a set first).
    let rebuilt: Vec<(&Table, &Table)> =
        rebuild.iter().filter_map(|name| Some((before.table(name)?, new.table(name)?))).collect();
    // What the guard expects to find: not an index the model holds that this rebuild brings back (the rollback of
    // a migration that dropped it), which is not there yet.
    let present = |from: &Table, to: &Table| -> Vec<&Dependent> {
        let coming = |d: &Dependent| {
            d.kind == DependentKind::Index && index_named(from, &d.name).is_none() && index_named(to, &d.name).is_some()
        };
        kept(dependents, changes, &to.name).into_iter().filter(|d| !coming(d)).collect()
    };
    out.extend(rebuild_guard(ddl, rebuilt.iter().map(|(from, to)| (*from, to.name.as_str(), present(from, to)))));
    // The keys a rebuild can break: those of the rebuilt tables and those pointing at them.
    let touched = |name: &str| rebuilt.iter().any(|(_, to)| to.name == name);
    let keys: Vec<(&str, &str)> = new
        .tables
        .iter()
        .flat_map(|t| t.foreign_keys.iter().map(move |k| (t.name.as_str(), k.ref_table.as_str())))
        .filter(|(child, parent)| touched(child) || touched(parent))
        .collect();
    for (from, to) in rebuilt {
        out.extend(rebuild_table(ddl, from, to, &kept(dependents, changes, &to.name)));
    }
    // With `legacy_alter_table` on, nothing checked the views and triggers against the rebuilt tables (one may
    // name a dropped column, or a trigger's text may be stale). Renaming a column checks the whole schema: done on
    // a table of its own, it changes no one's text, and a broken view or trigger fails the migration, named.
    let check = ddl.q("_dbwarden_check_views_and_triggers");
    out.push(Statement::new(format!("CREATE TABLE {check} (x INTEGER)")));
    out.push(Statement::new(format!("ALTER TABLE {check} RENAME COLUMN x TO y")));
    out.push(Statement::new(format!("DROP TABLE {check}")));
    out.extend(foreign_key_guard(ddl, &keys));
    out.push(Statement { sql: "PRAGMA foreign_keys = ON".into(), autocommit: true });
    out
}

/// PRAGMA foreign_key_check only lists violations: a CHECK on a temporary table turns any into an error that rolls
/// the migration back. SQLite names the first failing CHECK in its message, so there is one per key the rebuild
/// could break (`child` rows pointing at no `parent` row), naming the tables and the pragma that lists the rows, and
/// a last one for any other violation.
fn foreign_key_guard(ddl: &Sqlite, keys: &[(&str, &str)]) -> Vec<Statement> {
    let lit = |s: &str| ddl.sql().literal(s);
    let mut checks: Vec<String> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for &(child, parent) in keys.iter().filter(|k| seen.insert(**k)) {
        let message = format!(
            "dbwarden: rows of table {} point at no row of table {} after this migration; \
             PRAGMA foreign_key_check({}) lists them: fix or delete them, then migrate again",
            ddl.q(child),
            ddl.q(parent),
            lit(child)
        );
        checks.push(format!(
            "CONSTRAINT {} CHECK (t <> {} OR p <> {} OR n = 0)",
            ddl.q(&message),
            lit(child),
            lit(parent)
        ));
    }
    let message = "dbwarden: rows point at no row through a foreign key after this migration; \
                   PRAGMA foreign_key_check lists them: fix or delete them, then migrate again";
    checks.push(format!("CONSTRAINT {} CHECK (n = 0)", ddl.q(message)));
    let table = "\"_dbwarden_fk_violations\"";
    vec![
        Statement::new(format!("CREATE TEMP TABLE {table} (t TEXT, p TEXT, n INTEGER, {})", checks.join(", "))),
        Statement::new(format!(
            "INSERT INTO {table} SELECT \"table\", \"parent\", COUNT(*) FROM pragma_foreign_key_check GROUP BY 1, 2"
        )),
        Statement::new(format!("DROP TABLE {table}")),
    ]
}

/// Dropping a table drops its triggers and indexes: before any rebuild, a migration fails unless each rebuilt table
/// has exactly the triggers, and the indexes outside the schema model, that the rebuild creates again (same names,
/// same text) besides the indexes the model holds, naming the table and what to do, instead of losing one added
/// since the migration was generated (or one it was generated without: offline, or with a rename that makes the
/// text read stale) or creating one this database never had. Likewise a table with generated columns (`AS (...)`,
/// which the schema model does not hold: `pragma_table_info` leaves them out), whose rebuild would lose them, and one
/// whose keys or constraints have an `ON CONFLICT` clause. SQLite has no RAISE outside triggers: a CHECK named by the message turns the counts into that error.
fn rebuild_guard<'a>(
    ddl: &Sqlite,
    tables: impl Iterator<Item = (&'a Table, &'a str, Vec<&'a Dependent>)>,
) -> Vec<Statement> {
    let lit = |s: &str| ddl.sql().literal(s);
    let (mut checks, mut counts) = (Vec::new(), Vec::new());
    for (from, table, known) in tables {
        let name = lit(table);
        let refuse = |what: &str, drop: &str, condition: String| {
            let message = format!(
                "dbwarden: table {} has {what}; generate the migration against this database, reachable and fully \
                 migrated, or {drop}",
                ddl.q(table)
            );
            format!("CONSTRAINT {} CHECK (t <> {name} OR ({condition}))", ddl.q(&message))
        };
        let of = |kind: DependentKind| known.iter().filter(move |d| d.kind == kind);
        let (triggers, indexes) = (of(DependentKind::Trigger).count(), of(DependentKind::Index).count());
        checks.push(refuse(
            "other triggers than those this migration's rebuild of it creates again",
            "drop the triggers before the rebuild and create them after it",
            format!("other = 0 AND known = {triggers}"),
        ));
        checks.push(refuse(
            "other indexes than those this migration's rebuild of it creates again",
            "drop the indexes before the rebuild and create them after it",
            format!("other_ix = 0 AND known_ix = {indexes}"),
        ));
        let message = format!(
            "dbwarden: table {} has generated columns, which dbwarden does not model and this migration's rebuild of \
             it would lose; drop the VIRTUAL ones before the migration and add them again after it (a STORED one \
             cannot be added to a table with rows: make this change by hand)",
            ddl.q(table)
        );
        checks.push(format!("CONSTRAINT {} CHECK (t <> {name} OR generated = 0)", ddl.q(&message)));
        let message = format!(
            "dbwarden: table {} has an ON CONFLICT clause, which dbwarden does not model and this migration's \
             rebuild of it would lose; make this change by hand",
            ddl.q(table)
        );
        checks.push(format!("CONSTRAINT {} CHECK (t <> {name} OR conflict = 0)", ddl.q(&message)));
        let on = format!("FROM sqlite_master WHERE tbl_name = {name} COLLATE NOCASE");
        // (Others among the rows `others` picks, known among those of `kind`) of sqlite_master: known by name and
        // text.
        let counted = |kind: DependentKind, others: &str, of_kind: &str| {
            let pairs: Vec<String> =
                of(kind).map(|d| format!("(name = {} AND sql = {})", lit(&d.name), lit(&d.sql))).collect();
            if pairs.is_empty() {
                return format!("(SELECT COUNT(*) {on} AND {others}), 0");
            }
            let same = pairs.join(" OR ");
            format!("(SELECT COUNT(*) {on} AND {others} AND NOT ({same})), (SELECT COUNT(*) {on} AND {of_kind} AND ({same}))")
        };
        // Indexes the rebuild creates from the schema model (or drops on purpose), and those of constraints (no
        // text), are not others.
        let modelled: Vec<String> = from.indexes.iter().map(|i| lit(&i.name)).collect();
        let index = if modelled.is_empty() {
            "type = 'index' AND sql IS NOT NULL".to_string()
        } else {
            format!("type = 'index' AND sql IS NOT NULL AND name COLLATE NOCASE NOT IN ({})", modelled.join(", "))
        };
        // (The text without white space, however much of it stands between the words; a clause in a comment or a
        // string, or names that run together so, count too, which only refuses.)
        let bare = "replace(replace(replace(replace(sql, ' ', ''), char(9), ''), char(10), ''), char(13), '')";
        counts.push(format!(
            "SELECT {name}, {}, {}, (SELECT COUNT(*) FROM pragma_table_xinfo({name}) WHERE hidden IN (2, 3)), \
             (SELECT COUNT(*) {on} AND type = 'table' AND {bare} LIKE '%ONCONFLICT%')",
            counted(DependentKind::Trigger, "type = 'trigger'", "type = 'trigger'"),
            counted(DependentKind::Index, &index, "type = 'index'"),
        ));
    }
    if checks.is_empty() {
        return Vec::new();
    }
    let columns =
        "t TEXT, other INTEGER, known INTEGER, other_ix INTEGER, known_ix INTEGER, generated INTEGER, conflict INTEGER";
    vec![
        Statement::new(format!("CREATE TEMP TABLE \"_dbwarden_rebuild_guard\" ({columns}, {})", checks.join(", "))),
        Statement::new(format!("INSERT INTO \"_dbwarden_rebuild_guard\" {}", counts.join(" UNION ALL "))),
        Statement::new("DROP TABLE \"_dbwarden_rebuild_guard\"".into()),
    ]
}

/// Rebuilds `from` as `to` under the same name, copying the columns both have, in `to`'s column order, and creates
/// its indexes and `dependents` (indexes outside the schema model, then triggers) again. The rename runs with
/// `legacy_alter_table` on: otherwise SQLite checks every view against the schema at that moment, and a view of this
/// table fails it, the table being gone.
fn rebuild_table(ddl: &Sqlite, from: &Table, to: &Table, dependents: &[&Dependent]) -> Vec<Statement> {
    let temp = format!("_dbwarden_new_{}", to.name);
    let mut staged = to.clone();
    staged.name = temp.clone();
    staged.indexes.clear(); // created under their own names after the rename
    let mut out = ddl.create_table(&staged);
    // Columns both tables have are copied; a column becoming NOT NULL with a default takes it where it was NULL.
    let shared: Vec<(String, String)> = to
        .columns
        .iter()
        .filter_map(|c| {
            let before = from.column(&c.name)?;
            let value = match (&c.default, before.nullable && !c.nullable) {
                (Some(d), true) => format!("COALESCE({}, {d})", ddl.q(&c.name)),
                _ => ddl.q(&c.name),
            };
            Some((ddl.q(&c.name), value))
        })
        .collect();
    if !shared.is_empty() {
        let names: Vec<&str> = shared.iter().map(|(n, _)| n.as_str()).collect();
        let values: Vec<&str> = shared.iter().map(|(_, v)| v.as_str()).collect();
        out.push(Statement::new(format!(
            "INSERT INTO {} ({}) SELECT {} FROM {}",
            ddl.q(&temp),
            names.join(", "),
            values.join(", "),
            ddl.q(&from.name)
        )));
    }
    // The AUTOINCREMENT counter (`sqlite_sequence`, one row per table) is carried over: the copy set the new
    // table's to its highest number, and the old one's may be higher (its newest rows deleted). The higher of the
    // two ends under the new table's name, which the rename below renames (DROP TABLE deletes only a row under the
    // old name). A table that loses AUTOINCREMENT keeps its row, which SQLite ignores there, so that the rollback
    // that gives it back still never gives a deleted row's number again.
    let autoincrement = |t: &Table| t.options.contains(&TableOption::Autoincrement);
    if autoincrement(from) || autoincrement(to) {
        if !autoincrement(to) {
            // `sqlite_sequence` exists once any table has had AUTOINCREMENT: not on a database where this table
            // was created without it (from other migration files than those of the database generated against).
            let scratch = ddl.q("_dbwarden_sequence");
            out.push(Statement::new(format!("CREATE TABLE {scratch} (x INTEGER PRIMARY KEY AUTOINCREMENT)")));
            out.push(Statement::new(format!("DROP TABLE {scratch}")));
        }
        let (new, old, sequence) = (ddl.sql().literal(&temp), ddl.sql().literal(&from.name), ddl.q("sqlite_sequence"));
        // Table names compare as SQLite compares them, ASCII case-blind.
        let (is_new, is_old) = (format!("name = {new} COLLATE NOCASE"), format!("name = {old} COLLATE NOCASE"));
        let both = format!("({is_new} OR {is_old})");
        out.push(Statement::new(format!(
            "UPDATE {sequence} SET seq = (SELECT MAX(seq) FROM {sequence} WHERE {both}) WHERE {both}"
        )));
        out.push(Statement::new(format!("DELETE FROM {sequence} WHERE {is_new}")));
        out.push(Statement::new(format!("UPDATE {sequence} SET name = {new} WHERE {is_old}")));
    }
    out.push(Statement::new(format!("DROP TABLE {}", ddl.q(&from.name))));
    out.push(Statement::new("PRAGMA legacy_alter_table = ON".into()));
    out.push(Statement::new(format!("ALTER TABLE {} RENAME TO {}", ddl.q(&temp), ddl.q(&to.name))));
    out.push(Statement::new("PRAGMA legacy_alter_table = OFF".into()));
    // An index the model holds whose text says more (`DESC`, `COLLATE NOCASE`) is created from its text while the
    // migration leaves it as it was; one it changes or drops, from the model or not at all.
    let as_read = |d: &Dependent| {
        match (index_named(from, &d.name), index_named(to, &d.name)) {
            (None, _) => true, // outside the model
            (Some(before), Some(after)) => before == after,
            (Some(_), None) => false,
        }
    };
    let from_text: Vec<&Dependent> =
        dependents.iter().copied().filter(|d| d.kind == DependentKind::Index && as_read(d)).collect();
    for index in &to.indexes {
        if !from_text.iter().any(|d| d.name.eq_ignore_ascii_case(&index.name)) {
            out.push(Statement::new(ddl.create_index(&to.name, index)));
        }
    }
    out.extend(from_text.iter().map(|d| d.statement()));
    out.extend(dependents.iter().filter(|d| d.kind == DependentKind::Trigger).map(|d| d.statement()));
    out
}

//! The diff: from one [`Schema`] to another as a list of [`Change`]s, each with an exact inverse, ordered so that
//! foreign keys always resolve.
//!
//! The upgrade is `diff(old, new)`; the rollback is the inverses of the upgrade's changes in reverse order, which
//! walks back through the same states, so it restores the old schema exactly (column order, NOT NULL, defaults,
//! indexes) whenever every change is reversible. Type, nullability, default and comment changes are
//! [`Change::AlterColumn`], never a drop and an add; renames come from `renamed_from` / `--rename` and keep the data.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::Serialize;

use crate::schema::{Check, Column, ForeignKey, Index, PrimaryKey, Schema, Table, TableOption, Unique};

/// One schema change. Every variant carries what its inverse needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Change {
    /// A new table (without its foreign keys, which come later as [`Change::AddForeignKey`]).
    CreateTable { table: Table },
    /// A table dropped (its foreign keys were dropped before).
    DropTable { table: Table },
    /// A table renamed, keeping its data.
    RenameTable { from: String, to: String },
    /// A column added at `position` (0-based) of the new table.
    AddColumn { table: String, column: Column, position: usize },
    /// A column dropped from `position` (0-based) of the old table.
    DropColumn { table: String, column: Column, position: usize },
    /// A column renamed, keeping its data.
    RenameColumn { table: String, from: String, to: String },
    /// A column's type, nullability, default or comment changed.
    AlterColumn { table: String, from: Column, to: Column },
    /// A primary key added.
    AddPrimaryKey { table: String, key: PrimaryKey },
    /// A primary key dropped.
    DropPrimaryKey { table: String, key: PrimaryKey },
    /// An index created.
    AddIndex { table: String, index: Index },
    /// An index dropped.
    DropIndex { table: String, index: Index },
    /// A unique constraint added.
    AddUnique { table: String, unique: Unique },
    /// A unique constraint dropped.
    DropUnique { table: String, unique: Unique },
    /// A foreign key added.
    AddForeignKey { table: String, key: ForeignKey },
    /// A foreign key dropped.
    DropForeignKey { table: String, key: ForeignKey },
    /// A check constraint added.
    AddCheck { table: String, check: Check },
    /// A check constraint dropped.
    DropCheck { table: String, check: Check },
    /// The table comment changed.
    SetTableComment { table: String, from: Option<String>, to: Option<String> },
    /// The table's options changed (SQLite's `AUTOINCREMENT`, `WITHOUT ROWID`, `STRICT`: a table rebuild).
    SetTableOptions { table: String, from: Vec<TableOption>, to: Vec<TableOption> },
}

impl Change {
    /// The change that undoes this one.
    pub fn inverse(&self) -> Change {
        use Change::*;
        match self.clone() {
            CreateTable { table } => DropTable { table },
            DropTable { table } => CreateTable { table },
            RenameTable { from, to } => RenameTable { from: to, to: from },
            AddColumn { table, column, position } => DropColumn { table, column, position },
            DropColumn { table, column, position } => AddColumn { table, column, position },
            RenameColumn { table, from, to } => RenameColumn { table, from: to, to: from },
            AlterColumn { table, from, to } => AlterColumn { table, from: to, to: from },
            AddPrimaryKey { table, key } => DropPrimaryKey { table, key },
            DropPrimaryKey { table, key } => AddPrimaryKey { table, key },
            AddIndex { table, index } => DropIndex { table, index },
            DropIndex { table, index } => AddIndex { table, index },
            AddUnique { table, unique } => DropUnique { table, unique },
            DropUnique { table, unique } => AddUnique { table, unique },
            AddForeignKey { table, key } => DropForeignKey { table, key },
            DropForeignKey { table, key } => AddForeignKey { table, key },
            AddCheck { table, check } => DropCheck { table, check },
            DropCheck { table, check } => AddCheck { table, check },
            SetTableComment { table, from, to } => SetTableComment { table, from: to, to: from },
            SetTableOptions { table, from, to } => SetTableOptions { table, from: to, to: from },
        }
    }

    /// The table the change is about (the new name for a rename).
    pub fn table(&self) -> &str {
        use Change::*;
        match self {
            CreateTable { table } | DropTable { table } => &table.name,
            RenameTable { to, .. } => to,
            AddColumn { table, .. }
            | DropColumn { table, .. }
            | RenameColumn { table, .. }
            | AlterColumn { table, .. }
            | AddPrimaryKey { table, .. }
            | DropPrimaryKey { table, .. }
            | AddIndex { table, .. }
            | DropIndex { table, .. }
            | AddUnique { table, .. }
            | DropUnique { table, .. }
            | AddForeignKey { table, .. }
            | DropForeignKey { table, .. }
            | AddCheck { table, .. }
            | DropCheck { table, .. }
            | SetTableComment { table, .. }
            | SetTableOptions { table, .. } => table,
        }
    }

    /// The order class of the change: lower runs first. Drops of dependents come before what they depend on;
    /// additions of dependents after.
    fn phase(&self) -> u8 {
        use Change::*;
        match self {
            DropForeignKey { .. } => 0,
            DropIndex { .. } | DropUnique { .. } | DropCheck { .. } => 1,
            DropPrimaryKey { .. } => 2,
            RenameTable { .. } => 3,
            RenameColumn { .. } => 4,
            CreateTable { .. } => 5,
            // Drops before adds, so that an added column's position counts only the columns that stay.
            DropColumn { .. } => 6,
            AddColumn { .. } => 7,
            AlterColumn { .. } => 8,
            DropTable { .. } => 9,
            AddPrimaryKey { .. } => 10,
            AddUnique { .. } | AddIndex { .. } | AddCheck { .. } => 11,
            AddForeignKey { .. } => 12,
            SetTableComment { .. } | SetTableOptions { .. } => 13,
        }
    }
}

/// How risky a change is to apply to a database with data in it (the `check` command's ceiling).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Safety {
    /// Cannot fail or lose anything (a new table, a nullable column, an index).
    Safe,
    /// Safe for the data, but visible to code (renames, comments, widening a type).
    Info,
    /// Can fail on existing rows or lock a big table (NOT NULL, a narrower type, a unique or foreign key).
    Warn,
    /// Loses data (a dropped table or column).
    Critical,
}

impl std::fmt::Display for Safety {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Safety::Safe => "SAFE",
            Safety::Info => "INFO",
            Safety::Warn => "WARN",
            Safety::Critical => "CRITICAL",
        })
    }
}

impl Change {
    /// The safety level of this change among `changes` (the migration it belongs to): a key, index or constraint
    /// added to a table that migration creates meets no rows, so it is SAFE; otherwise [`Change::safety`].
    ///
    /// ```
    /// use dbwarden_core::diff::{Change, Safety};
    /// use dbwarden_core::schema::{Index, Table};
    /// let table = Table { name: "t".into(), ..Table::default() };
    /// let index = Index { name: "ux".into(), columns: vec!["a".into()], unique: true };
    /// let add = Change::AddIndex { table: "t".into(), index };
    /// assert_eq!(add.safety(), Safety::Warn);
    /// assert_eq!(add.safety_among(&[Change::CreateTable { table }, add.clone()]), Safety::Safe);
    /// ```
    pub fn safety_among(&self, changes: &[Change]) -> Safety {
        use Change::*;
        let on_new_table =
            |name: &str| changes.iter().any(|c| matches!(c, CreateTable { table } if table.name == name));
        match self {
            AddIndex { table, .. }
            | AddUnique { table, .. }
            | AddForeignKey { table, .. }
            | AddCheck { table, .. }
            | AddPrimaryKey { table, .. }
                if on_new_table(table) =>
            {
                Safety::Safe
            }
            _ => self.safety(),
        }
    }

    /// The safety level of applying this change (to a table that may hold rows).
    pub fn safety(&self) -> Safety {
        use Change::*;
        match self {
            CreateTable { .. } | AddIndex { index: Index { unique: false, .. }, .. } => Safety::Safe,
            AddColumn { column, .. } if column.nullable || column.default.is_some() => Safety::Safe,
            AddColumn { .. } => Safety::Warn, // NOT NULL without a default fails on a table with rows
            RenameTable { .. } | RenameColumn { .. } | SetTableComment { .. } | DropIndex { .. } => Safety::Info,
            DropUnique { .. } | DropCheck { .. } | DropForeignKey { .. } | DropPrimaryKey { .. } => Safety::Info,
            AlterColumn { from, to, .. } if loses_values(&from.ty, &to.ty) => Safety::Critical,
            AlterColumn { from, to, .. } => {
                let tightened = from.nullable && !to.nullable;
                let retyped = from.ty != to.ty && !widens(&from.ty, &to.ty);
                // Another collation can make values equal that were not (a unique key then fails).
                let recollated = from.collation != to.collation;
                if tightened || retyped || recollated {
                    Safety::Warn
                } else {
                    Safety::Info
                }
            }
            AddIndex { .. } | AddUnique { .. } | AddForeignKey { .. } | AddCheck { .. } | AddPrimaryKey { .. } => {
                Safety::Warn
            }
            DropTable { .. } | DropColumn { .. } => Safety::Critical,
            // Rows are stored or numbered otherwise (a number may be given again, a type no longer enforced).
            SetTableOptions { .. } => Safety::Warn,
        }
    }

    /// One line for people: `add column posts.title (varchar(255) NOT NULL)`.
    pub fn describe(&self) -> String {
        use Change::*;
        let cols = |c: &[String]| c.join(", ");
        match self {
            CreateTable { table } => format!("create table {}", table.name),
            DropTable { table } => format!("drop table {}", table.name),
            RenameTable { from, to } => format!("rename table {from} to {to}"),
            AddColumn { table, column, .. } => {
                format!("add column {table}.{} ({})", column.name, column_summary(column))
            }
            DropColumn { table, column, .. } => format!("drop column {table}.{}", column.name),
            RenameColumn { table, from, to } => format!("rename column {table}.{from} to {to}"),
            AlterColumn { table, from, to } => format!(
                "alter column {table}.{} ({} -> {}){}",
                to.name,
                column_summary(from),
                column_summary(to),
                if loses_values(&from.ty, &to.ty) { ": rounds or cuts existing values" } else { "" }
            ),
            AddPrimaryKey { table, key } => format!("add primary key {table} ({})", cols(&key.columns)),
            DropPrimaryKey { table, key } => format!("drop primary key {table} ({})", cols(&key.columns)),
            AddIndex { table, index } => format!(
                "create {}index {} on {table} ({})",
                if index.unique { "unique " } else { "" },
                index.name,
                cols(&index.columns)
            ),
            DropIndex { index, .. } => format!("drop index {}", index.name),
            AddUnique { table, unique } => format!("add unique {} on {table} ({})", unique.name, cols(&unique.columns)),
            DropUnique { unique, .. } => format!("drop unique {}", unique.name),
            AddForeignKey { table, key } => format!(
                "add foreign key {} on {table} ({}) -> {} ({})",
                key.name,
                cols(&key.columns),
                key.ref_table,
                cols(&key.ref_columns)
            ),
            DropForeignKey { key, .. } => format!("drop foreign key {}", key.name),
            AddCheck { table, check } => format!("add check {} on {table}", check.name),
            DropCheck { check, .. } => format!("drop check {}", check.name),
            SetTableComment { table, .. } => format!("set comment of {table}"),
            SetTableOptions { table, from, to } => {
                let list = |o: &[TableOption]| match o {
                    [] => "none".to_string(),
                    _ => o.iter().map(|o| o.sql()).collect::<Vec<_>>().join(", "),
                };
                format!("set options of {table} ({} -> {})", list(from), list(to))
            }
        }
    }
}

fn column_summary(c: &Column) -> String {
    let mut s = c.ty.to_string();
    if !c.nullable {
        s.push_str(" NOT NULL");
    }
    if let Some(d) = &c.default {
        s.push_str(&format!(" DEFAULT {d}"));
    }
    if c.auto_increment {
        s.push_str(" AUTO_INCREMENT");
    }
    if let Some(comment) = &c.comment {
        s.push_str(&format!(" COMMENT '{}'", comment.replace('\'', "''")));
    }
    if let Some(collation) = &c.collation {
        s.push_str(&format!(" COLLATE {collation}"));
    }
    if let Some(on_update) = &c.on_update {
        s.push_str(&format!(" ON UPDATE {on_update}"));
    }
    s
}

/// Whether the servers carry out a change from `from` to `to` by changing values without a word: rounding to fewer
/// decimals or to an integer, keeping fewer significant digits, dropping a timestamp's time or date, folding numbers
/// into true and false. (A value that does not fit at all, a too long text or too large number, fails the
/// migration instead, on PostgreSQL and MariaDB: that is only WARN.)
fn loses_values(from: &crate::schema::ColumnType, to: &crate::schema::ColumnType) -> bool {
    use crate::schema::ColumnType::*;
    match (from, to) {
        (Decimal(_, s1), Decimal(_, s2)) => s2 < s1,
        (Decimal(_, s), SmallInt | Integer | BigInt) => *s > 0,
        (Real | Double, SmallInt | Integer | BigInt) => true,
        (Double, Real) => true,
        // A float into fixed decimals is rounded to the scale; a wide integer into a float keeps fewer digits.
        (Real | Double, Decimal(..)) => true,
        (Integer | BigInt, Real) | (BigInt, Double) => true,
        (Decimal(..), Real) => true,
        (Decimal(p, _), Double) => *p > 15,
        (Timestamp | TimestampTz, Date | Time) => true,
        (SmallInt | Integer | BigInt | Decimal(..) | Real | Double, Boolean) => true,
        // Text read as a number with a fraction or as a date or time: '1.555' into DECIMAL(5, 2) is 1.56, a long
        // fraction into a float keeps fewer digits, '2024-01-02 10:11:12' into DATE loses its time (both servers,
        // without an error). Into an integer, a fraction is an error instead.
        // Into a timestamp PostgreSQL drops a zone ('10:00+05' is 10:00) and rounds past microseconds.
        (Varchar(_) | Char(_) | Text, Decimal(..) | Real | Double | Date | Time | Timestamp) => true,
        // MySQL copies an ENUM into a number as its position ('y' of ('x', 'y') becomes 2).
        (Enum(_), SmallInt | Integer | BigInt | Decimal(..) | Real | Double | Boolean) => true,
        _ => false,
    }
}

/// Whether every value of `from` fits `to` unchanged (a type change that cannot fail).
fn widens(from: &crate::schema::ColumnType, to: &crate::schema::ColumnType) -> bool {
    use crate::schema::ColumnType::*;
    match (from, to) {
        (SmallInt, Integer | BigInt) | (Integer, BigInt) | (Real, Double) => true,
        (Varchar(a), Varchar(b)) | (Char(a), Varchar(b)) => a <= b,
        (Varchar(_) | Char(_), Text) => true,
        (Decimal(p1, s1), Decimal(p2, s2)) => p2 - s2.min(p2) >= p1 - s1.min(p1) && s2 >= s1,
        _ => false,
    }
}

/// Renames to apply: tables (old -> new) and columns (table, old -> new), from `renamed_from` or `--rename`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Renames {
    /// Table renames: (old name, new name).
    pub tables: Vec<(String, String)>,
    /// Column renames: (new table name, old column, new column).
    pub columns: Vec<(String, String, String)>,
}

impl Renames {
    /// The renames the models declare with `renamed_from` (table and column), for the models of one database.
    ///
    /// ```
    /// let tables = dbwarden_core::manifest::parse(
    ///     "[[table]]\nname = \"accounts\"\nrenamed_from = \"users\"\n[[table.column]]\nname = \"mail\"\ntype = \"Text\"\nrenamed_from = \"email\"\n",
    ///     "s.toml",
    /// ).unwrap();
    /// let r = dbwarden_core::diff::Renames::from_models(&tables);
    /// assert_eq!(r.tables, [("users".to_string(), "accounts".to_string())]);
    /// assert_eq!(r.columns, [("accounts".to_string(), "email".to_string(), "mail".to_string())]);
    /// ```
    pub fn from_models(models: &[crate::schema::ModelTable]) -> Renames {
        let mut out = Renames::default();
        for m in models {
            if let Some(old) = &m.renamed_from {
                out.tables.push((old.clone(), m.table.name.clone()));
            }
            for (new, old) in &m.column_renames {
                out.columns.push((m.table.name.clone(), old.clone(), new.clone()));
            }
        }
        out
    }
}

/// How a database compares names: whether two spellings are one name to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NameFolding {
    /// Only the same spelling (PostgreSQL's quoted names, MySQL's table names on a case-sensitive server).
    #[default]
    Exact,
    /// ASCII letters without case (SQLite's names: `Users` is `users`, `É` is not `é`).
    Ascii,
    /// Letters without case, character by character (MySQL's column names: `É` is `é` too).
    Unicode,
}

/// `c` in upper case when that is one character.
fn upper(c: char) -> char {
    let mut up = c.to_uppercase();
    match (up.next(), up.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

impl NameFolding {
    /// Whether `a` and `b` are one name.
    ///
    /// ```
    /// use dbwarden_core::diff::NameFolding;
    /// assert!(NameFolding::Ascii.same("Users", "users") && !NameFolding::Ascii.same("É", "é"));
    /// assert!(NameFolding::Unicode.same("É", "é") && !NameFolding::Unicode.same("e", "é"));
    /// assert!(!NameFolding::Exact.same("Users", "users") && !NameFolding::Unicode.same("straße", "STRASSE"));
    /// ```
    pub fn same(self, a: &str, b: &str) -> bool {
        match self {
            NameFolding::Exact => a == b,
            NameFolding::Ascii => a.eq_ignore_ascii_case(b),
            // Character by character, as MySQL folds: `ß` stays `ß` (its upper case is two letters).
            NameFolding::Unicode => a.chars().map(upper).eq(b.chars().map(upper)),
        }
    }
}

impl Renames {
    /// These renames, for a database that compares names with `folding` (tables, columns), with what that adds:
    /// a declared rename from a spelling of a name the old schema has (`renamed_from = "Email"` of the
    /// database's `email`) is from that name; and a name of `new` that is one of `old`'s spelled otherwise is
    /// that name renamed (the models' `users` of a table the database calls `Users`), not a new table beside a
    /// dropped one (which the database would refuse, or, for a column, drop its data with it). A name that
    /// matches several, or one a rename already accounts for, is left as it is.
    ///
    /// ```
    /// use dbwarden_core::diff::{NameFolding::Ascii, Renames};
    /// use dbwarden_core::schema::{Column, ColumnType, Schema, Table};
    /// let table = |name: &str, column: &str| Schema { tables: vec![Table { name: name.into(),
    ///     columns: vec![Column::new(column, ColumnType::Text, true)], ..Table::default() }] };
    /// let folded = Renames::default().with_case_folded(&table("Users", "email"), &table("users", "Email"), (Ascii, Ascii));
    /// assert_eq!(folded.tables, [("Users".to_string(), "users".to_string())]);
    /// assert_eq!(folded.columns, [("users".to_string(), "email".to_string(), "Email".to_string())]);
    /// ```
    pub fn with_case_folded(
        &self,
        old: &Schema,
        new: &Schema,
        (tables, columns): (NameFolding, NameFolding),
    ) -> Renames {
        let mut out = self.clone();
        if tables == NameFolding::Exact && columns == NameFolding::Exact {
            return out;
        }
        let (old_tables, new_tables) = (by_name(old), by_name(new));
        // The one name of `names` that is `name` spelled otherwise, if `name` itself is not there.
        let spelled = |folding: NameFolding, name: &str, names: &mut dyn Iterator<Item = &str>| -> Option<String> {
            let mut alike = names.filter(|n| folding.same(n, name));
            match (alike.next(), alike.next()) {
                (Some(only), None) if only != name => Some(only.to_string()),
                _ => None,
            }
        };
        if tables != NameFolding::Exact {
            for (from, _) in &mut out.tables {
                if !old_tables.contains_key(from.as_str()) {
                    if let Some(live) = spelled(tables, from, &mut old.tables.iter().map(|t| t.name.as_str())) {
                        *from = live;
                    }
                }
            }
            // A rename to the name the database has is done (a `renamed_from` left in the model after it ran).
            out.tables.retain(|(from, to)| from != to);
            let from: HashSet<String> = out.tables.iter().map(|(f, _)| f.clone()).collect();
            let to: HashSet<String> = out.tables.iter().map(|(_, t)| t.clone()).collect();
            let gone: Vec<&str> = old
                .tables
                .iter()
                .map(|t| t.name.as_str())
                .filter(|n| !new_tables.contains_key(n) && !from.contains(*n))
                .collect();
            let came: Vec<&str> = new
                .tables
                .iter()
                .map(|t| t.name.as_str())
                .filter(|n| !gone.is_empty() && !old_tables.contains_key(n) && !to.contains(*n))
                .collect();
            let alike = |list: &[&'_ str], name: &str| list.iter().filter(|n| tables.same(n, name)).count();
            for name in &came {
                let mut olds = gone.iter().filter(|o| tables.same(o, name));
                if let (Some(o), None) = (olds.next(), olds.next()) {
                    if alike(&came, o) == 1 {
                        out.tables.push((o.to_string(), name.to_string()));
                    }
                }
            }
        }
        if columns != NameFolding::Exact {
            // The table renames that apply (old, new): not one left in a model after it ran.
            let owned = |(o, n): (&str, &str)| (o.to_string(), n.to_string());
            let applying: Vec<(String, String)> =
                active(&out, &old_tables, &new_tables).0.into_iter().map(owned).collect();
            let old_name_of = |name: &str| -> String {
                applying.iter().find(|(_, n)| n == name).map_or(name, |(o, _)| o.as_str()).to_string()
            };
            for (table, from, _) in &mut out.columns {
                let Some(before) = old_tables.get(old_name_of(table).as_str()) else { continue };
                if before.column(from).is_none() {
                    if let Some(live) = spelled(columns, from, &mut before.columns.iter().map(|c| c.name.as_str())) {
                        *from = live;
                    }
                }
            }
            out.columns.retain(|(_, from, to)| from != to);
            // The column renames that apply (table, old, new).
            let declared: Vec<(String, String, String)> = active(&out, &old_tables, &new_tables)
                .1
                .into_iter()
                .map(|((t, f), n)| (t.to_string(), f.to_string(), n.to_string()))
                .collect();
            for t in &new.tables {
                let name = t.name.as_str();
                let Some(before) = old_tables.get(old_name_of(name).as_str()) else { continue };
                let renamed = |c: &&(String, String, String)| c.0 == name;
                let from: HashSet<&str> = declared.iter().filter(renamed).map(|c| c.1.as_str()).collect();
                let to: HashSet<&str> = declared.iter().filter(renamed).map(|c| c.2.as_str()).collect();
                let mut used: HashSet<&str> = HashSet::new();
                for c in &t.columns {
                    let column = c.name.as_str();
                    if before.column(column).is_some() || to.contains(column) {
                        continue;
                    }
                    let alike: Vec<&str> = before
                        .columns
                        .iter()
                        .map(|o| o.name.as_str())
                        .filter(|o| columns.same(o, column) && t.column(o).is_none())
                        .filter(|o| !from.contains(o) && !used.contains(o))
                        .collect();
                    if let [o] = alike[..] {
                        used.insert(o);
                        out.columns.push((name.to_string(), o.to_string(), column.to_string()));
                    }
                }
            }
        }
        out
    }
}

/// The changes that turn `old` into `new`, in an order where every foreign key resolves.
///
/// ```
/// use dbwarden_core::diff::{diff, Change, Renames};
/// use dbwarden_core::schema::{Column, ColumnType, Schema, Table};
/// let col = |n: &str| Column { name: n.into(), ty: ColumnType::BigInt, nullable: false, default: None, auto_increment: false, comment: None,
///     collation: None, on_update: None };
/// let old = Schema { tables: vec![Table { name: "t".into(), columns: vec![col("a")], ..Default::default() }] };
/// let new = Schema { tables: vec![Table { name: "t".into(), columns: vec![col("a"), col("b")], ..Default::default() }] };
/// let changes = diff(&old, &new, &Renames::default());
/// assert!(matches!(&changes[..], [Change::AddColumn { position: 1, .. }]));
/// ```
pub fn diff(old: &Schema, new: &Schema, renames: &Renames) -> Vec<Change> {
    let mut changes = Vec::new();
    // Tables by name: a lookup per table in a list would make the diff quadratic in the number of tables.
    let old_tables = by_name(old);
    let new_tables = by_name(new);
    let (table_renames, column_renames) = active(renames, &old_tables, &new_tables);
    let renamed_to: BTreeSet<&str> = table_renames.values().copied().collect();
    let cx = Cx { table_renames: &table_renames, column_renames: &column_renames };

    for old_table in &old.tables {
        let target = cx.new_name(&old_table.name);
        match new_tables.get(target) {
            Some(new_table) => {
                if target != old_table.name {
                    changes.push(Change::RenameTable { from: old_table.name.clone(), to: target.to_string() });
                }
                diff_table(old_table, new_table, &cx, &mut changes);
            }
            None => {
                for key in &old_table.foreign_keys {
                    changes.push(Change::DropForeignKey { table: old_table.name.clone(), key: key.clone() });
                }
                changes.push(Change::DropTable { table: Table { foreign_keys: Vec::new(), ..old_table.clone() } });
            }
        }
    }
    for new_table in &new.tables {
        let name = new_table.name.as_str();
        let existed = old_tables.contains_key(name) && !table_renames.contains_key(name) || renamed_to.contains(name);
        if !existed {
            changes.push(Change::CreateTable { table: Table { foreign_keys: Vec::new(), ..new_table.clone() } });
            for key in &new_table.foreign_keys {
                changes.push(Change::AddForeignKey { table: new_table.name.clone(), key: key.clone() });
            }
        }
    }
    recreate_retyped_foreign_keys(old, &new_tables, &cx, &mut changes);
    order(changes, (old, &old_tables), (new, &new_tables))
}

/// Table renames (old -> new name) and column renames ((new table, old column) -> new column).
type Active<'a> = (BTreeMap<&'a str, &'a str>, BTreeMap<(&'a str, &'a str), &'a str>);

/// The renames that apply: the old name exists before and the new one after. A `renamed_from` left in a model
/// after its migration names nothing any more, or, once a new table or column takes the old name, names one on
/// both sides while the new name exists before too: stale, unless another rename of the set frees the old name
/// (a swap, which [`rename_onto_existing`] refuses).
fn active<'a>(
    renames: &'a Renames,
    old_tables: &HashMap<&str, &Table>,
    new_tables: &HashMap<&str, &Table>,
) -> Active<'a> {
    let table_renames: BTreeMap<&str, &str> = renames
        .tables
        .iter()
        .filter(|(o, n)| old_tables.contains_key(o.as_str()) && new_tables.contains_key(n.as_str()))
        .filter(|(o, n)| {
            let stale = new_tables.contains_key(o.as_str()) && old_tables.contains_key(n.as_str());
            !stale || renames.tables.iter().any(|(_, to)| to == o)
        })
        .map(|(o, n)| (o.as_str(), n.as_str()))
        .collect();
    let mut column_renames: BTreeMap<(&str, &str), &str> = BTreeMap::new();
    for (table, from, to) in &renames.columns {
        let (Some(before), Some(after)) =
            (old_tables.get(old_table_of(&table_renames, table)), new_tables.get(table.as_str()))
        else {
            continue;
        };
        let valid = before.column(from).is_some() && after.column(to).is_some();
        let stale = after.column(from).is_some()
            && before.column(to).is_some()
            && !renames.columns.iter().any(|(t, _, other_to)| t == table && other_to == from);
        if valid && !stale {
            column_renames.insert((table.as_str(), from.as_str()), to.as_str());
        }
    }
    (table_renames, column_renames)
}

fn old_table_of<'a>(table_renames: &BTreeMap<&'a str, &'a str>, table: &'a str) -> &'a str {
    table_renames.iter().find(|(_, n)| **n == table).map_or(table, |(o, _)| o)
}

/// A rename onto a name the old schema already has: a table or column that would have to go first (the models
/// drop it), or one renamed away in the same set (a swap or a chain). [`diff`] would write a rename the server
/// refuses, and the drop it hides is never rated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{what}`{from}` is renamed to `{to}` (renamed_from or --rename), but {place} has a {kind} `{to}` already: a \
     rename cannot replace it"
)]
pub struct RenameOntoExisting {
    /// "table" or "column".
    pub kind: &'static str,
    /// What is renamed, before its old name: "table " or "column `t`.".
    pub what: String,
    /// The old name.
    pub from: String,
    /// The new name, which exists already.
    pub to: String,
    /// "the database" or "table `t`".
    pub place: String,
}

/// The first rename of `renames` from `old` to `new` whose new name `old` already has (see [`RenameOntoExisting`]).
///
/// ```
/// use dbwarden_core::diff::{rename_onto_existing, Renames};
/// let tables = |toml: &str| dbwarden_core::schema::Schema {
///     tables: dbwarden_core::manifest::parse(toml, "s.toml").unwrap().into_iter().map(|m| m.table).collect(),
/// };
/// let old = tables("[[table]]\nname = \"t\"\n[[table.column]]\nname = \"first\"\ntype = \"Text\"\n[[table.column]]\nname = \"last\"\ntype = \"Text\"\n");
/// let new = tables("[[table]]\nname = \"t\"\n[[table.column]]\nname = \"last\"\ntype = \"Text\"\nrenamed_from = \"first\"\n");
/// let renames = Renames { columns: vec![("t".into(), "first".into(), "last".into())], ..Renames::default() };
/// let e = rename_onto_existing(&old, &new, &renames).unwrap();
/// assert_eq!(e.to_string(), "column `t`.`first` is renamed to `last` (renamed_from or --rename), but table `t` has a column `last` already: a rename cannot replace it");
/// ```
pub fn rename_onto_existing(old: &Schema, new: &Schema, renames: &Renames) -> Option<RenameOntoExisting> {
    rename_onto_existing_folded(old, new, renames, Default::default())
}

/// [`rename_onto_existing`] where the database compares names with `folding` (tables, columns, as in
/// [`Renames::with_case_folded`]): a rename onto another spelling of a name the old schema has is onto that name
/// (a case-only rename of the name itself is not).
pub fn rename_onto_existing_folded(
    old: &Schema,
    new: &Schema,
    renames: &Renames,
    (tables, columns): (NameFolding, NameFolding),
) -> Option<RenameOntoExisting> {
    let (old_tables, new_tables) = (by_name(old), by_name(new));
    let (table_renames, column_renames) = active(renames, &old_tables, &new_tables);
    let has_table = |to: &str, from: &str| old.tables.iter().any(|t| t.name != from && tables.same(&t.name, to));
    for (from, to) in &table_renames {
        if old_tables.contains_key(to) || has_table(to, from) {
            return Some(RenameOntoExisting {
                kind: "table",
                what: "table ".into(),
                from: from.to_string(),
                to: to.to_string(),
                place: "the database".into(),
            });
        }
    }
    for ((table, from), to) in &column_renames {
        let old_table = old_table_of(&table_renames, table);
        let has =
            |t: &Table| t.columns.iter().any(|c| c.name == **to || (c.name != **from && columns.same(&c.name, to)));
        if old_tables.get(old_table).is_some_and(|t| has(t)) {
            return Some(RenameOntoExisting {
                kind: "column",
                what: format!("column `{old_table}`."),
                from: from.to_string(),
                to: to.to_string(),
                place: format!("table `{old_table}`"),
            });
        }
    }
    None
}

/// A schema's tables by name (the first of a name, as [`Schema::table`] finds it).
fn by_name(schema: &Schema) -> HashMap<&str, &Table> {
    let mut tables = HashMap::with_capacity(schema.tables.len());
    for t in &schema.tables {
        tables.entry(t.name.as_str()).or_insert(t);
    }
    tables
}

/// What a table needs to know about the renames of the whole change set.
struct Cx<'a> {
    /// An old table name -> its new name.
    table_renames: &'a BTreeMap<&'a str, &'a str>,
    /// (new table, old column) -> new column.
    column_renames: &'a BTreeMap<(&'a str, &'a str), &'a str>,
}

impl<'a> Cx<'a> {
    /// No renames at all: every old name is the new one.
    fn is_identity(&self) -> bool {
        self.table_renames.is_empty() && self.column_renames.is_empty()
    }

    /// The new name of old table `table`.
    fn new_name<'s>(&self, table: &'s str) -> &'s str
    where
        'a: 's,
    {
        self.table_renames.get(table).copied().unwrap_or(table)
    }

    /// A column of (new) table `table` under its new name.
    fn column<'s>(&self, table: &str, column: &'s str) -> &'s str
    where
        'a: 's,
    {
        if self.column_renames.is_empty() {
            return column;
        }
        self.column_renames.get(&(table, column)).copied().unwrap_or(column)
    }

    /// Columns of (new) table `table` under their new names.
    fn columns(&self, table: &str, columns: &[String]) -> Vec<String> {
        columns.iter().map(|c| self.column(table, c).to_string()).collect()
    }

    /// An old foreign key of old table `table` as it reads after the renames (its own and its target's).
    fn foreign_key(&self, table: &str, k: &ForeignKey) -> ForeignKey {
        let ref_table = self.new_name(&k.ref_table);
        ForeignKey {
            columns: self.columns(self.new_name(table), &k.columns),
            ref_columns: self.columns(ref_table, &k.ref_columns),
            ref_table: ref_table.to_string(),
            ..k.clone()
        }
    }
}

/// MySQL refuses to change the type of a column a foreign key uses (on either side), and the key's two column types
/// must stay compatible: a key whose columns change type is dropped before and added back after.
fn recreate_retyped_foreign_keys(old: &Schema, new_tables: &HashMap<&str, &Table>, cx: &Cx, changes: &mut Vec<Change>) {
    let retyped: BTreeSet<(String, String)> = changes
        .iter()
        .filter_map(|c| match c {
            // A collation too: the two sides of a key must share theirs.
            Change::AlterColumn { table, from, to } if from.ty != to.ty || from.collation != to.collation => {
                Some((table.clone(), to.name.clone()))
            }
            _ => None,
        })
        .collect();
    // A unique key dropped from columns a kept key references (renaming a column renames the unique key, so it is
    // dropped and added): PostgreSQL and MySQL refuse to drop it while the foreign key depends on it.
    let mut unkeyed: BTreeSet<(String, String)> = BTreeSet::new();
    for change in changes.iter() {
        let (table, columns) = match change {
            Change::DropUnique { table, unique } => (table, &unique.columns),
            Change::DropIndex { table, index } if index.unique => (table, &index.columns),
            _ => continue,
        };
        let now = cx.new_name(table);
        for c in columns {
            // (By its old name and its new one: which the change holds does not matter here.)
            unkeyed.insert((now.to_string(), c.clone()));
            unkeyed.insert((now.to_string(), cx.column(now, c).to_string()));
        }
    }
    if retyped.is_empty() && unkeyed.is_empty() {
        return;
    }
    let referenced =
        |table: &str, cols: &[String]| cols.iter().any(|c| unkeyed.contains(&(table.to_string(), c.clone())));
    let touched = |table: &str, cols: &[String]| cols.iter().any(|c| retyped.contains(&(table.to_string(), c.clone())));
    let mut extra = Vec::new();
    for old_table in &old.tables {
        let Some(new_table) = new_tables.get(cx.new_name(&old_table.name)) else { continue };
        for k in &old_table.foreign_keys {
            let now = cx.foreign_key(&old_table.name, k);
            // Only keys kept as they are: a changed key is dropped and added already.
            if !new_table.foreign_keys.contains(&now) {
                continue;
            }
            if touched(&new_table.name, &now.columns)
                || touched(&now.ref_table, &now.ref_columns)
                || referenced(&now.ref_table, &now.ref_columns)
            {
                extra.push(Change::DropForeignKey { table: old_table.name.clone(), key: k.clone() });
                extra.push(Change::AddForeignKey { table: new_table.name.clone(), key: now });
            }
        }
    }
    changes.extend(extra);
}

fn diff_table(old: &Table, new: &Table, cx: &Cx, changes: &mut Vec<Change>) {
    let t = new.name.as_str();
    // Drops run before the renames, so they name the table and columns as they were; additions run after.
    let o = old.name.as_str();
    let mut column_renames: Vec<(String, String)> = old
        .columns
        .iter()
        .filter_map(|c| {
            let to = cx.column(t, &c.name);
            (to != c.name).then(|| (c.name.clone(), to.to_string()))
        })
        .collect();
    column_renames.sort();
    for (from, to) in column_renames {
        changes.push(Change::RenameColumn { table: t.to_string(), from, to });
    }
    for (position, column) in old.columns.iter().enumerate() {
        let name = cx.column(t, &column.name);
        match new.column(name) {
            Some(now) => {
                if !same_definition(column, now) {
                    let before = Column { name: name.to_string(), ..column.clone() };
                    changes.push(Change::AlterColumn { table: t.to_string(), from: before, to: now.clone() });
                }
            }
            None => changes.push(Change::DropColumn { table: t.to_string(), column: column.clone(), position }),
        }
    }
    let old_names: HashSet<&str> = old.columns.iter().map(|c| cx.column(t, &c.name)).collect();
    for (position, column) in new.columns.iter().enumerate() {
        if !old_names.contains(column.name.as_str()) {
            changes.push(Change::AddColumn { table: t.to_string(), column: column.clone(), position });
        }
    }
    // Constraints and indexes are compared after applying the column renames to the old side (without a copy when
    // nothing is renamed).
    let identity = cx.is_identity();
    let rename_cols = |cols: &[String]| cx.columns(t, cols);
    let old_pk = match &old.primary_key {
        Some(k) if !identity => Some(Cow::Owned(PrimaryKey { columns: rename_cols(&k.columns) })),
        other => other.as_ref().map(Cow::Borrowed),
    };
    if old_pk.as_deref() != new.primary_key.as_ref() {
        if let Some(key) = &old.primary_key {
            changes.push(Change::DropPrimaryKey { table: o.to_string(), key: key.clone() });
        }
        if let Some(key) = &new.primary_key {
            changes.push(Change::AddPrimaryKey { table: t.to_string(), key: key.clone() });
        }
    }
    set_diff(
        &old.indexes,
        &new.indexes,
        |i| {
            if identity {
                Cow::Borrowed(i)
            } else {
                Cow::Owned(Index { columns: rename_cols(&i.columns), ..i.clone() })
            }
        },
        |i| &i.name,
        changes,
        |index| Change::DropIndex { table: o.to_string(), index },
        |index| Change::AddIndex { table: t.to_string(), index },
    );
    set_diff(
        &old.uniques,
        &new.uniques,
        |u| {
            if identity {
                Cow::Borrowed(u)
            } else {
                Cow::Owned(Unique { columns: rename_cols(&u.columns), ..u.clone() })
            }
        },
        |u| &u.name,
        changes,
        |unique| Change::DropUnique { table: o.to_string(), unique },
        |unique| Change::AddUnique { table: t.to_string(), unique },
    );
    set_diff(
        &old.foreign_keys,
        &new.foreign_keys,
        |k| if identity { Cow::Borrowed(k) } else { Cow::Owned(cx.foreign_key(o, k)) },
        |k| &k.name,
        changes,
        |key| Change::DropForeignKey { table: o.to_string(), key },
        |key| Change::AddForeignKey { table: t.to_string(), key },
    );
    // A check's expression names columns, which a rename changes under it: compared as written.
    set_diff(
        &old.checks,
        &new.checks,
        |c: &Check| Cow::Borrowed(c),
        |c| &c.name,
        changes,
        |check| Change::DropCheck { table: o.to_string(), check },
        |check| Change::AddCheck { table: t.to_string(), check },
    );
    if old.comment != new.comment {
        changes.push(Change::SetTableComment {
            table: t.to_string(),
            from: old.comment.clone(),
            to: new.comment.clone(),
        });
    }
    if old.options != new.options {
        changes.push(Change::SetTableOptions {
            table: t.to_string(),
            from: old.options.clone(),
            to: new.options.clone(),
        });
    }
}

/// Whether two columns are defined alike, their names aside (compared without copying either).
fn same_definition(a: &Column, b: &Column) -> bool {
    // Exhaustive on purpose: a new field of `Column` must be considered here.
    let Column { name: _, ty, nullable, default, auto_increment, comment, collation, on_update } = a;
    *ty == b.ty
        && *nullable == b.nullable
        && *default == b.default
        && *auto_increment == b.auto_increment
        && *comment == b.comment
        && *collation == b.collation
        && *on_update == b.on_update
}

/// Gives each column of `new` the collation and MySQL `ON UPDATE` value its column in `old` has (after the
/// renames), where `new` names none and the column keeps a type that can have them (`collatable`: the dialect's text
/// types; a type left unchanged keeps both). Models name no `ON UPDATE` and often no collation: without
/// this, a collation or `ON UPDATE CURRENT_TIMESTAMP` set by hand would count as a change, and an `ALTER` that restates
/// the column for another reason (MySQL's `MODIFY`, PostgreSQL's `TYPE`, a SQLite rebuild) would drop it: values
/// would compare and sort otherwise (on MySQL, be converted to the table's character set), or a timestamp stop
/// following updates. Likewise each table of `new` that names no [`Table::options`] takes those of its table in
/// `old` that it can still have ([`TableOption::fits`]): a SQLite rebuild would otherwise drop `AUTOINCREMENT`
/// (numbers of deleted rows given again), `WITHOUT ROWID` or `STRICT`. And a column whose default the dialect
/// stores otherwise than the models write it (`same_default`: MariaDB's `lcase` for `lower`, PostgreSQL's casts)
/// takes the database's spelling of it, so that an unchanged default is no change.
///
/// ```
/// use dbwarden_core::diff::{diff, keep_unmodelled, Renames};
/// use dbwarden_core::schema::{Column, ColumnType, Schema, Table};
///
/// let code = |ty, collation: Option<&str>| Column { name: "code".into(), ty, nullable: true, default: None,
///     auto_increment: false, comment: None, collation: collation.map(str::to_string), on_update: None };
/// let table = |c| Schema { tables: vec![Table { name: "t".into(), columns: vec![c], ..Table::default() }] };
/// let live = table(code(ColumnType::Varchar(10), Some("utf8mb4_bin")));
/// let mut models = table(code(ColumnType::Varchar(20), None));
/// let text = |ty: &ColumnType| matches!(ty, ColumnType::Text | ColumnType::Varchar(_) | ColumnType::Char(_));
/// keep_unmodelled(&live, &mut models, &Renames::default(), &text, &|_, a, b| a == b);
/// assert_eq!(models.tables[0].columns[0].collation.as_deref(), Some("utf8mb4_bin"));
/// assert_eq!(diff(&live, &models, &Renames::default()).len(), 1); // the type change only
/// ```
pub fn keep_unmodelled(
    old: &Schema,
    new: &mut Schema,
    renames: &Renames,
    collatable: &dyn Fn(&crate::schema::ColumnType) -> bool,
    same_default: &dyn Fn(&crate::schema::ColumnType, &str, &str) -> bool,
) {
    let held = |c: &Column| c.collation.is_some() || c.on_update.is_some() || c.default.is_some();
    if !old.tables.iter().any(|t| !t.options.is_empty() || t.columns.iter().any(held)) {
        return;
    }
    // What a column of `new` (table, column) takes of its column in `old`, found first: `new` is borrowed by the
    // lookups.
    struct Kept {
        collation: Option<String>,
        on_update: Option<String>,
        default: Option<String>,
    }
    let mut kept: Vec<(usize, usize, Kept)> = Vec::new();
    // (table, the old table's options) of `new`.
    let mut kept_options: Vec<(usize, Vec<TableOption>)> = Vec::new();
    {
        let (old_tables, new_tables) = (by_name(old), by_name(new));
        let (table_renames, column_renames) = active(renames, &old_tables, &new_tables);
        let cx = Cx { table_renames: &table_renames, column_renames: &column_renames };
        for (t, table) in new.tables.iter().enumerate() {
            let name = table.name.as_str();
            let from = old_table_of(&table_renames, name);
            // A new table that takes the name of one renamed away is not that table.
            if from == name && table_renames.contains_key(name) {
                continue;
            }
            let Some(before) = old_tables.get(from) else { continue };
            if table.options.is_empty() && !before.options.is_empty() {
                kept_options.push((t, before.options.clone()));
            }
            for (c, column) in table.columns.iter().enumerate() {
                let Some(was) = before.columns.iter().find(|o| cx.column(name, &o.name) == column.name) else {
                    continue;
                };
                let collation = was
                    .collation
                    .as_ref()
                    .filter(|_| column.collation.is_none() && (was.ty == column.ty || collatable(&column.ty)));
                let on_update = was
                    .on_update
                    .as_ref()
                    .filter(|_| column.on_update.is_none() && stays_timestamp(&was.ty, &column.ty));
                let default = was.default.as_ref().filter(|d| {
                    column
                        .default
                        .as_ref()
                        .is_some_and(|n| n != *d && was.ty == column.ty && same_default(&column.ty, d, n))
                });
                if collation.is_some() || on_update.is_some() || default.is_some() {
                    let taken = Kept {
                        collation: collation.cloned(),
                        on_update: on_update.cloned(),
                        default: default.cloned(),
                    };
                    kept.push((t, c, taken));
                }
            }
        }
    }
    for (t, c, taken) in kept {
        let column = &mut new.tables[t].columns[c];
        column.collation = taken.collation.or(column.collation.take());
        column.on_update = taken.on_update.or(column.on_update.take());
        column.default = taken.default.or(column.default.take());
    }
    for (t, options) in kept_options {
        let table = &mut new.tables[t];
        table.options = options;
        let fitting: Vec<TableOption> = table.options.iter().copied().filter(|o| o.fits(table)).collect();
        table.options = fitting;
    }
}

/// Whether a column of type `from` with an `ON UPDATE` value (MySQL's) can keep it as type `to`.
fn stays_timestamp(from: &crate::schema::ColumnType, to: &crate::schema::ColumnType) -> bool {
    use crate::schema::ColumnType::*;
    let written =
        |sql: &str| ["datetime", "timestamp"].iter().any(|t| sql.trim_start().to_ascii_lowercase().starts_with(t));
    from == to || matches!(to, Timestamp | TimestampTz) || matches!(to, Custom(sql) if written(sql))
}

/// Items matched by name: gone => drop, new => add, changed => drop and add (an index or constraint has no ALTER).
/// `renamed` is an old item as it reads after the renames, for the comparison; drops carry the old item as it was.
fn set_diff<T: Clone + PartialEq>(
    old: &[T],
    new: &[T],
    renamed: impl Fn(&T) -> Cow<'_, T>,
    name: impl Fn(&T) -> &String,
    changes: &mut Vec<Change>,
    drop: impl Fn(T) -> Change,
    add: impl Fn(T) -> Change,
) {
    for o in old {
        match new.iter().find(|n| name(n) == name(o)) {
            Some(n) if *n == *renamed(o) => {}
            _ => changes.push(drop(o.clone())),
        }
    }
    for n in new {
        match old.iter().find(|o| name(o) == name(n)) {
            Some(o) if *renamed(o) == *n => {}
            _ => changes.push(add(n.clone())),
        }
    }
}

/// Sorts changes by phase; within a phase, tables are created in foreign key order and dropped in reverse.
fn order(mut changes: Vec<Change>, old: Indexed<'_>, new: Indexed<'_>) -> Vec<Change> {
    if changes.is_empty() {
        return changes;
    }
    let create_rank = dependency_rank(new);
    let drop_rank = dependency_rank(old);
    let key = |c: &Change| {
        let table_rank = match c {
            Change::CreateTable { table } => create_rank.get(table.name.as_str()).copied().unwrap_or(0) as i64,
            Change::DropTable { table } => -(drop_rank.get(table.name.as_str()).copied().unwrap_or(0) as i64),
            _ => 0,
        };
        // Added columns left to right; dropped ones right to left, so the rollback re-adds them left to right.
        let column_rank = match c {
            Change::AddColumn { position, .. } => *position as i64,
            Change::DropColumn { position, .. } => -(*position as i64),
            _ => 0,
        };
        (c.phase(), table_rank, column_rank)
    };
    // Stable: changes of one table and rank keep the order the diff found them in.
    changes.sort_by(|a, b| {
        let ((pa, ta, ca), (pb, tb, cb)) = (key(a), key(b));
        (pa, ta, a.table(), ca).cmp(&(pb, tb, b.table(), cb))
    });
    changes
}

/// A schema and its tables by name.
type Indexed<'a> = (&'a Schema, &'a HashMap<&'a str, &'a Table>);

/// For each table, the length of its longest chain of foreign keys to other tables (0: references nothing).
/// Tables are visited in the schema's order, so a cycle breaks at the same place every time.
fn dependency_rank<'a>((schema, tables): Indexed<'a>) -> HashMap<&'a str, usize> {
    fn rank<'a>(
        tables: &HashMap<&'a str, &'a Table>,
        name: &'a str,
        seen: &mut HashSet<&'a str>,
        memo: &mut HashMap<&'a str, usize>,
    ) -> usize {
        if let Some(r) = memo.get(name) {
            return *r;
        }
        if !seen.insert(name) {
            return 0; // A cycle: foreign keys are added after all tables exist, so any order works.
        }
        let r = tables
            .get(name)
            .map(|t| {
                t.foreign_keys
                    .iter()
                    .filter(|k| k.ref_table != name)
                    .map(|k| 1 + rank(tables, &k.ref_table, seen, memo))
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        seen.remove(name);
        memo.insert(name, r);
        r
    }
    let mut memo = HashMap::new();
    for t in &schema.tables {
        rank(tables, &t.name, &mut HashSet::new(), &mut memo);
    }
    memo
}

/// The rollback of `upgrade`: the inverses in reverse order.
pub fn rollback(upgrade: &[Change]) -> Vec<Change> {
    upgrade.iter().rev().map(Change::inverse).collect()
}

/// Applies changes to a schema in memory: what the database looks like after running them. Used to prove that
/// `apply(old, diff(old, new)) == new` and that the rollback restores `old` (and for offline snapshots).
pub fn apply(schema: &Schema, changes: &[Change]) -> Schema {
    let mut s = schema.clone();
    for change in changes {
        apply_one(&mut s, change);
    }
    s.normalize();
    s
}

/// Applies one change in place: what [`apply`] does, without copying the schema or normalising the tables the change
/// does not touch (renderers walk a change list this way, so a long list over a big schema stays linear).
pub fn apply_in_place(schema: &mut Schema, change: &Change) {
    apply_one(schema, change);
    schema.tables.sort_by(|a, b| a.name.cmp(&b.name));
    if let Some(t) = schema.tables.iter_mut().find(|t| t.name == change.table()) {
        t.normalize();
    }
}

/// The tables of `schema` that `changes` name (under any of their names): all a renderer walking the changes with
/// [`apply_in_place`] ever looks up, copied instead of the whole schema.
///
/// ```
/// use dbwarden_core::diff::{touched, Change};
/// use dbwarden_core::schema::{Schema, Table};
/// let t = |name: &str| Table { name: name.into(), ..Default::default() };
/// let schema = Schema { tables: vec![t("a"), t("b"), t("c")] };
/// let changes = [Change::RenameTable { from: "b".into(), to: "d".into() }];
/// assert_eq!(touched(&schema, &changes).tables, vec![t("b")]);
/// ```
pub fn touched(schema: &Schema, changes: &[Change]) -> Schema {
    let mut names: HashSet<&str> = changes.iter().map(Change::table).collect();
    for change in changes {
        if let Change::RenameTable { from, to } = change {
            names.insert(from);
            names.insert(to);
        }
    }
    Schema { tables: schema.tables.iter().filter(|t| names.contains(t.name.as_str())).cloned().collect() }
}

fn apply_one(s: &mut Schema, change: &Change) {
    use Change::*;
    match change {
        CreateTable { table } => s.tables.push(table.clone()),
        DropTable { table } => s.tables.retain(|t| t.name != table.name),
        RenameTable { from, to } => {
            if let Some(t) = s.tables.iter_mut().find(|t| &t.name == from) {
                t.name = to.clone();
            }
            // As every server does, the keys that reference the table follow it.
            for k in s.tables.iter_mut().flat_map(|t| t.foreign_keys.iter_mut()).filter(|k| &k.ref_table == from) {
                k.ref_table = to.clone();
            }
        }
        RenameColumn { table, from, to } => {
            for k in s.tables.iter_mut().flat_map(|t| t.foreign_keys.iter_mut()).filter(|k| &k.ref_table == table) {
                k.ref_columns.iter_mut().filter(|c| *c == from).for_each(|c| *c = to.clone());
            }
            apply_to_table(s, change);
        }
        _ => apply_to_table(s, change),
    }
}

fn apply_to_table(s: &mut Schema, change: &Change) {
    use Change::*;
    let Some(i) = s.tables.iter().position(|t| t.name == change.table()) else { return };
    let t = &mut s.tables[i];
    match change {
        AddColumn { column, position, .. } => t.columns.insert((*position).min(t.columns.len()), column.clone()),
        DropColumn { column, .. } => t.columns.retain(|c| c.name != column.name),
        RenameColumn { from, to, .. } => {
            for c in &mut t.columns {
                if &c.name == from {
                    c.name = to.clone();
                }
            }
            let rename = |cols: &mut Vec<String>| cols.iter_mut().filter(|c| *c == from).for_each(|c| *c = to.clone());
            if let Some(k) = &mut t.primary_key {
                rename(&mut k.columns);
            }
            t.indexes.iter_mut().for_each(|i| rename(&mut i.columns));
            t.uniques.iter_mut().for_each(|u| rename(&mut u.columns));
            t.foreign_keys.iter_mut().for_each(|k| rename(&mut k.columns));
        }
        AlterColumn { to, .. } => {
            if let Some(c) = t.columns.iter_mut().find(|c| c.name == to.name) {
                *c = to.clone();
            }
        }
        AddPrimaryKey { key, .. } => t.primary_key = Some(key.clone()),
        DropPrimaryKey { .. } => t.primary_key = None,
        AddIndex { index, .. } => t.indexes.push(index.clone()),
        DropIndex { index, .. } => t.indexes.retain(|i| i.name != index.name),
        AddUnique { unique, .. } => t.uniques.push(unique.clone()),
        DropUnique { unique, .. } => t.uniques.retain(|u| u.name != unique.name),
        AddForeignKey { key, .. } => t.foreign_keys.push(key.clone()),
        DropForeignKey { key, .. } => t.foreign_keys.retain(|k| k.name != key.name),
        AddCheck { check, .. } => t.checks.push(check.clone()),
        DropCheck { check, .. } => t.checks.retain(|c| c.name != check.name),
        SetTableComment { to, .. } => t.comment = to.clone(),
        SetTableOptions { to, .. } => t.options = to.clone(),
        // Handled by `apply_one`.
        CreateTable { .. } | DropTable { .. } | RenameTable { .. } => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{ColumnType, FkAction};
    use proptest::prelude::*;

    fn col(name: &str, ty: ColumnType, nullable: bool) -> Column {
        Column::new(name, ty, nullable)
    }

    #[test]
    fn collations_are_kept_through_renames_and_dropped_for_numbers() {
        let coll = |c: Column| Column { collation: Some("utf8mb4_bin".into()), ..c };
        let old = Schema {
            tables: vec![Table {
                name: "users".into(),
                columns: vec![
                    col("id", ColumnType::BigInt, false),
                    coll(col("email", ColumnType::Varchar(255), false)),
                    coll(col("code", ColumnType::Varchar(10), true)),
                    coll(col("tag", ColumnType::Text, true)),
                ],
                ..Default::default()
            }],
        };
        // users -> accounts, email -> mail (widened), code retyped to a number, tag unchanged; a new table takes
        // the old name `users` and a column `email`: not the old table.
        let mut new = Schema {
            tables: vec![
                Table {
                    name: "accounts".into(),
                    columns: vec![
                        col("id", ColumnType::BigInt, false),
                        col("mail", ColumnType::Varchar(500), false),
                        col("code", ColumnType::BigInt, true),
                        col("tag", ColumnType::Text, true),
                    ],
                    ..Default::default()
                },
                Table {
                    name: "users".into(),
                    columns: vec![col("email", ColumnType::Text, true)],
                    ..Default::default()
                },
            ],
        };
        let renames = Renames {
            tables: vec![("users".into(), "accounts".into())],
            columns: vec![("accounts".into(), "email".into(), "mail".into())],
        };
        let text = |ty: &ColumnType| matches!(ty, ColumnType::Text | ColumnType::Varchar(_));
        keep_unmodelled(&old, &mut new, &renames, &text, &|_, a, b| a == b);
        let got: Vec<Option<&str>> =
            new.tables.iter().flat_map(|t| t.columns.iter().map(|c| c.collation.as_deref())).collect();
        assert_eq!(got, [None, Some("utf8mb4_bin"), None, Some("utf8mb4_bin"), None]);
        // Only the widening and the retyping are changes; a collation of its own would be one too.
        let changes = diff(&old, &new, &renames);
        let alters = changes.iter().filter(|c| matches!(c, Change::AlterColumn { .. })).count();
        assert_eq!(alters, 2, "{changes:?}");
        let mut other = new.clone();
        other.tables[0].columns[3].collation = Some("utf8mb4_general_ci".into());
        let recollated = diff(&new, &other, &Renames::default());
        assert!(matches!(&recollated[..], [c @ Change::AlterColumn { .. }] if c.safety() == Safety::Warn));
        assert!(recollated[0].describe().ends_with("text COLLATE utf8mb4_general_ci)"), "{}", recollated[0].describe());
    }

    /// Table options follow their table through a rename, and go where the models' table cannot have them:
    /// `AUTOINCREMENT` without a numbered integer key, `WITHOUT ROWID` when the models want the key numbered.
    #[test]
    fn table_options_are_kept_where_they_fit() {
        use crate::schema::TableOption::*;
        let id = |auto: bool, ty: ColumnType| Column { auto_increment: auto, ..col("id", ty, false) };
        let table = |name: &str, id: Column, options: Vec<TableOption>| Table {
            name: name.into(),
            columns: vec![id, col("n", ColumnType::Integer, true)],
            primary_key: Some(PrimaryKey { columns: vec!["id".into()] }),
            options,
            ..Default::default()
        };
        let old = Schema {
            tables: vec![
                table("counted", id(true, ColumnType::BigInt), vec![Autoincrement, Strict]),
                table("keyed", id(false, ColumnType::Text), vec![WithoutRowid]),
                table("old_name", id(true, ColumnType::BigInt), vec![Autoincrement]),
                table("retyped", id(true, ColumnType::BigInt), vec![Autoincrement]),
            ],
        };
        let mut new = Schema {
            tables: vec![
                table("counted", id(true, ColumnType::BigInt), vec![]),
                table("keyed", id(true, ColumnType::BigInt), vec![]),
                table("new_name", id(true, ColumnType::BigInt), vec![]),
                table("retyped", id(false, ColumnType::Text), vec![]),
            ],
        };
        let renames = Renames { tables: vec![("old_name".into(), "new_name".into())], columns: vec![] };
        keep_unmodelled(&old, &mut new, &renames, &|_| true, &|_, a, b| a == b);
        let options: Vec<&[TableOption]> = new.tables.iter().map(|t| t.options.as_slice()).collect();
        assert_eq!(options, [&[Autoincrement, Strict][..], &[], &[Autoincrement], &[]]);
        let changes = diff(&old, &new, &renames);
        let set: Vec<String> = changes
            .iter()
            .filter(|c| matches!(c, Change::SetTableOptions { .. }))
            .map(|c| format!("{} {}", c.safety(), c.describe()))
            .collect();
        assert_eq!(
            set,
            [
                "WARN set options of keyed (WITHOUT ROWID -> none)",
                "WARN set options of retyped (AUTOINCREMENT -> none)"
            ]
        );
        // The rollback puts them back.
        let mut back = new.clone();
        for change in rollback(&changes) {
            apply_in_place(&mut back, &change);
        }
        assert_eq!(back.table("keyed").unwrap().options, [WithoutRowid]);
    }

    /// Case-only spellings become renames only where unambiguous and not already accounted for.
    #[test]
    fn case_folded_renames() {
        let table = |name: &str, columns: &[&str]| Table {
            name: name.into(),
            columns: columns.iter().map(|c| col(c, ColumnType::Text, true)).collect(),
            ..Default::default()
        };
        let schema = |tables: Vec<Table>| Schema { tables };
        let old = schema(vec![table("Users", &["email", "EMAIL2", "Tag", "TAG"]), table("logs", &["at"])]);
        let new = schema(vec![table("users", &["Email", "email2", "tag"]), table("LOGS", &["AT"]), table("Logs", &[])]);
        use NameFolding::{Ascii, Exact};
        let folded = Renames::default().with_case_folded(&old, &new, (Ascii, Ascii));
        // `logs` matches two new tables: left alone; `Tag`/`TAG` are two candidates for `tag`: left alone.
        assert_eq!(folded.tables, [("Users".to_string(), "users".to_string())]);
        let columns: Vec<(&str, &str)> = folded.columns.iter().map(|(_, f, t)| (f.as_str(), t.as_str())).collect();
        assert_eq!(columns, [("email", "Email"), ("EMAIL2", "email2")]);
        // Columns only (MySQL): the tables are other tables.
        assert_eq!(Renames::default().with_case_folded(&old, &new, (Exact, Ascii)), Renames::default());
        assert_eq!(Renames::default().with_case_folded(&old, &new, (Exact, Exact)), Renames::default());
        // A declared rename wins.
        let declared = Renames { tables: vec![("Users".into(), "LOGS".into())], columns: vec![] };
        let folded = declared.with_case_folded(&old, &new, (Ascii, Exact));
        let pairs: Vec<(&str, &str)> = folded.tables.iter().map(|(f, t)| (f.as_str(), t.as_str())).collect();
        assert_eq!(pairs, [("Users", "LOGS"), ("logs", "Logs")], "`Logs` is then the only spelling of `logs`");

        // A declared rename from another spelling of the database's name is from that name.
        let old = schema(vec![table("people", &["id", "mail", "É"])]);
        let new = schema(vec![table("persons", &["id", "email", "é"])]);
        let declared = Renames {
            tables: vec![("PEOPLE".into(), "persons".into())],
            columns: vec![("persons".into(), "MAIL".into(), "email".into())],
        };
        let folded = declared.with_case_folded(&old, &new, (Ascii, NameFolding::Unicode));
        assert_eq!(folded.tables, [("people".to_string(), "persons".to_string())]);
        let columns: Vec<(&str, &str)> = folded.columns.iter().map(|(_, f, t)| (f.as_str(), t.as_str())).collect();
        assert_eq!(columns, [("mail", "email"), ("É", "é")], "MySQL's É is é");
        let ascii = declared.with_case_folded(&old, &new, (Ascii, Ascii));
        assert_eq!(ascii.columns.len(), 1, "SQLite's É is not é: {:?}", ascii.columns);
    }

    /// A case-only `renamed_from` left in the models after its migration ran names the table or column as it is
    /// now: done, not a rename onto itself (which was refused on every later run); and a table rename left in the
    /// models that no longer applies does not hide the table's columns from folding.
    #[test]
    fn renames_left_in_the_models_after_they_ran() {
        use NameFolding::Ascii;
        let table = |name: &str, columns: &[&str]| Table {
            name: name.into(),
            columns: columns.iter().map(|c| col(c, ColumnType::Text, true)).collect(),
            ..Default::default()
        };
        let live = Schema { tables: vec![table("users", &["Email"]), table("accounts", &["email"])] };
        let models = Schema { tables: vec![table("users", &["Email"]), table("accounts", &["Email"])] };
        let left = Renames {
            tables: vec![("Users".into(), "users".into()), ("people".into(), "accounts".into())],
            columns: vec![("users".into(), "email".into(), "Email".into())],
        };
        let folded = left.with_case_folded(&live, &models, (Ascii, Ascii));
        assert_eq!(folded.tables, [("people".to_string(), "accounts".to_string())], "Users -> users is done");
        assert_eq!(folded.columns, [("accounts".to_string(), "email".to_string(), "Email".to_string())]);
        assert_eq!(rename_onto_existing_folded(&live, &models, &folded, (Ascii, Ascii)), None);
        let steps: Vec<String> = diff(&live, &models, &folded).iter().map(Change::describe).collect();
        assert_eq!(steps, ["rename column accounts.email to Email"]);
    }

    /// A rename onto another spelling of a name the database has is onto that name, where names fold; renaming a
    /// name to another spelling of itself is not.
    #[test]
    fn renames_onto_another_spelling() {
        use NameFolding::{Ascii, Exact};
        let table = |columns: &[&str]| Schema {
            tables: vec![Table {
                name: "t".into(),
                columns: columns.iter().map(|c| col(c, ColumnType::Text, true)).collect(),
                ..Default::default()
            }],
        };
        let (old, new) = (table(&["email", "old"]), table(&["EMAIL"]));
        let onto = Renames { columns: vec![("t".into(), "old".into(), "EMAIL".into())], ..Renames::default() };
        assert_eq!(rename_onto_existing_folded(&old, &new, &onto, (Exact, Exact)), None, "PostgreSQL: two names");
        let e = rename_onto_existing_folded(&old, &new, &onto, (Ascii, Ascii)).unwrap();
        assert_eq!((e.from.as_str(), e.to.as_str()), ("old", "EMAIL"));
        let itself = Renames { columns: vec![("t".into(), "email".into(), "EMAIL".into())], ..Renames::default() };
        let (old, new) = (table(&["email"]), table(&["EMAIL"]));
        assert_eq!(rename_onto_existing_folded(&old, &new, &itself, (Ascii, Ascii)), None);
    }

    fn users() -> Table {
        Table {
            name: "users".into(),
            columns: vec![col("id", ColumnType::BigInt, false), col("email", ColumnType::Varchar(255), false)],
            primary_key: Some(PrimaryKey { columns: vec!["id".into()] }),
            ..Default::default()
        }
    }

    fn posts() -> Table {
        Table {
            name: "posts".into(),
            columns: vec![col("id", ColumnType::BigInt, false), col("user_id", ColumnType::BigInt, false)],
            primary_key: Some(PrimaryKey { columns: vec!["id".into()] }),
            foreign_keys: vec![ForeignKey {
                name: "fk_posts_user_id_users".into(),
                columns: vec!["user_id".into()],
                ref_table: "users".into(),
                ref_columns: vec!["id".into()],
                on_delete: FkAction::Cascade,
                on_update: FkAction::NoAction,
            }],
            ..Default::default()
        }
    }

    fn schema(tables: Vec<Table>) -> Schema {
        let mut s = Schema { tables };
        s.normalize();
        s
    }

    fn round_trip(old: &Schema, new: &Schema, renames: &Renames) -> Vec<Change> {
        let up = diff(old, new, renames);
        assert_eq!(&apply(old, &up), new, "upgrade does not reach the new schema: {up:#?}");
        assert_eq!(&apply(new, &rollback(&up)), old, "rollback does not restore the old schema");
        up
    }

    #[test]
    fn create_tables_in_foreign_key_order_and_drop_in_reverse() {
        let up = round_trip(&Schema::default(), &schema(vec![posts(), users()]), &Renames::default());
        let ops: Vec<String> = up.iter().map(|c| format!("{}:{}", c.phase(), c.table())).collect();
        assert_eq!(ops, ["5:users", "5:posts", "12:posts"], "users before posts, FK last");
        let down = rollback(&up);
        assert!(matches!(&down[0], Change::DropForeignKey { .. }));
        assert!(matches!(&down[1], Change::DropTable { table } if table.name == "posts"));
        assert!(matches!(&down[2], Change::DropTable { table } if table.name == "users"));
    }

    #[test]
    fn type_and_nullability_changes_are_alters_never_drop_add() {
        let mut new_users = users();
        new_users.columns[1] = col("email", ColumnType::Varchar(320), true);
        let up = round_trip(&schema(vec![users()]), &schema(vec![new_users]), &Renames::default());
        assert!(matches!(&up[..], [Change::AlterColumn { .. }]), "{up:?}");
    }

    #[test]
    fn type_changes_that_round_or_cut_values_are_critical() {
        use ColumnType::*;
        let alter = |from: ColumnType, to: ColumnType| Change::AlterColumn {
            table: "t".into(),
            from: col("c", from, true),
            to: col("c", to, true),
        };
        for (from, to) in [
            (Decimal(12, 4), Decimal(12, 2)),
            (Decimal(10, 2), Decimal(10, 1)),
            (Decimal(10, 2), Integer),
            (Double, Integer),
            (Real, BigInt),
            (Double, Real),
            (Decimal(20, 4), Double),
            (Timestamp, Date),
            (TimestampTz, Time),
            (Integer, Boolean),
            (Double, Decimal(10, 2)),
            (Integer, Real),
            (BigInt, Double),
            (Varchar(20), Decimal(5, 2)),
            (Varchar(20), Double),
            (Text, Real),
            (Varchar(30), Date),
            (Char(8), Time),
            (Text, Timestamp),
            (Enum(vec!["x".into(), "y".into()]), Integer),
        ] {
            let change = alter(from.clone(), to.clone());
            assert_eq!(change.safety(), Safety::Critical, "{from} -> {to}");
            assert!(change.describe().ends_with(": rounds or cuts existing values"), "{}", change.describe());
        }
        // Changes that keep every value, or fail on one that does not fit, are not.
        for (from, to) in [
            (Decimal(12, 2), Decimal(14, 4)),
            (Decimal(12, 2), Decimal(8, 2)),
            (Decimal(10, 0), Integer),
            (Integer, Double),
            (SmallInt, Real),
            (Real, Double),
            (Decimal(10, 2), Double),
            (Date, Timestamp),
            (BigInt, Integer),
            (Text, Varchar(10)),
            (Boolean, Integer),
            (Varchar(10), Integer),
            (Text, TimestampTz),
        ] {
            let change = alter(from.clone(), to.clone());
            assert_ne!(change.safety(), Safety::Critical, "{from} -> {to}");
            assert!(!change.describe().contains("rounds"), "{}", change.describe());
        }
    }

    #[test]
    fn a_stale_rename_is_ignored_and_a_swap_refused() {
        let t = |name: &str, cols: &[&str]| Table {
            name: name.into(),
            columns: cols.iter().map(|c| col(c, ColumnType::Text, true)).collect(),
            ..Table::default()
        };
        // `name` was renamed to `full_name` long ago, and a new `name` added since: nothing to do.
        let both = schema(vec![t("people", &["full_name", "name"]), t("accounts", &[]), t("users", &[])]);
        let stale = Renames {
            tables: vec![("users".into(), "accounts".into())],
            columns: vec![("people".into(), "name".into(), "full_name".into())],
        };
        assert_eq!(diff(&both, &both, &stale), Vec::<Change>::new());
        assert_eq!(rename_onto_existing(&both, &both, &stale), None);
        // The same names swapped are not stale: refused.
        let mut swap = stale.clone();
        swap.columns.push(("people".into(), "full_name".into(), "name".into()));
        let e = rename_onto_existing(&both, &both, &swap).unwrap();
        assert!(e.kind == "column" && ["name", "full_name"].contains(&e.to.as_str()), "{e}");
    }

    #[test]
    fn renames_keep_the_data() {
        let mut renamed = users();
        renamed.name = "accounts".into();
        renamed.columns[1].name = "mail".into();
        let renames = Renames {
            tables: vec![("users".into(), "accounts".into())],
            columns: vec![("accounts".into(), "email".into(), "mail".into())],
        };
        let up = round_trip(&schema(vec![users()]), &schema(vec![renamed.clone()]), &renames);
        assert!(matches!(&up[..], [Change::RenameTable { .. }, Change::RenameColumn { .. }]), "{up:?}");
        // Without the renames it is a drop and a create.
        let up = round_trip(&schema(vec![users()]), &schema(vec![renamed]), &Renames::default());
        assert!(up.iter().any(|c| matches!(c, Change::DropTable { .. })));
    }

    #[test]
    fn drops_in_a_renamed_table_name_it_as_it_was() {
        let mut old_users = users();
        old_users.indexes.push(Index { name: "ix_users_email".into(), columns: vec!["email".into()], unique: false });
        let mut accounts = users();
        accounts.name = "accounts".into();
        accounts.columns[1].name = "mail".into();
        accounts.primary_key = Some(PrimaryKey { columns: vec!["id".into(), "mail".into()] });
        accounts.indexes.push(Index { name: "ix_accounts_mail".into(), columns: vec!["mail".into()], unique: true });
        // An explicitly named key to the renamed table survives the rename unchanged.
        let mut old_posts = posts();
        old_posts.foreign_keys[0].name = "fk_author".into();
        let mut new_posts = old_posts.clone();
        new_posts.foreign_keys[0].ref_table = "accounts".into();
        let renames = Renames {
            tables: vec![("users".into(), "accounts".into())],
            columns: vec![("accounts".into(), "email".into(), "mail".into())],
        };
        let up = round_trip(&schema(vec![old_users, old_posts]), &schema(vec![accounts, new_posts]), &renames);
        for c in &up {
            match c {
                Change::DropIndex { table, index } => {
                    assert_eq!((table.as_str(), &index.columns[..]), ("users", &["email".to_string()][..]))
                }
                Change::DropPrimaryKey { table, .. } => assert_eq!(table, "users"),
                Change::AddIndex { table, .. } | Change::AddPrimaryKey { table, .. } => assert_eq!(table, "accounts"),
                Change::DropForeignKey { .. } | Change::AddForeignKey { .. } => {
                    panic!("the key follows the rename: {up:?}")
                }
                _ => {}
            }
        }
    }

    #[test]
    fn a_key_whose_columns_change_type_is_dropped_and_added_back() {
        let mut new_users = users();
        new_users.columns[0].ty = ColumnType::Integer;
        let mut new_posts = posts();
        new_posts.columns[1].ty = ColumnType::Integer;
        let up = round_trip(&schema(vec![users(), posts()]), &schema(vec![new_users, new_posts]), &Renames::default());
        let ops: Vec<u8> = up.iter().map(Change::phase).collect();
        assert_eq!(ops, [0, 8, 8, 12], "{up:?}");
    }

    #[test]
    fn no_change_no_changes() {
        let s = schema(vec![users(), posts()]);
        assert!(diff(&s, &s, &Renames::default()).is_empty());
    }

    fn arb_schema() -> impl Strategy<Value = Schema> {
        crate::schema::arbitrary::schemas()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]
        #[test]
        fn upgrade_reaches_new_and_rollback_restores_old(old in arb_schema(), new in arb_schema()) {
            let up = diff(&old, &new, &Renames::default());
            prop_assert_eq!(&apply(&old, &up), &new);
            prop_assert_eq!(&apply(&new, &rollback(&up)), &old);
            prop_assert!(diff(&new, &new, &Renames::default()).is_empty());
            // Foreign keys always resolve: a table is created before any key that references it is added.
            let mut state = old.clone();
            for change in &up {
                state = apply(&state, std::slice::from_ref(change));
                if let Change::AddForeignKey { key, .. } = change {
                    prop_assert!(state.table(&key.ref_table).is_some());
                }
                if let Change::DropTable { table } = change {
                    prop_assert!(state.tables.iter().all(|t| t.foreign_keys.iter().all(|k| k.ref_table != table.name)));
                }
            }
        }

        /// The same with renames: table `b` renamed to `b2` and column `c1` of `a` to `c1x` where both schemas have
        /// them (keys keep their names, so they must follow the renames). Every drop names the table and columns
        /// as they are at that point, or `apply` would miss it and the round trip would fail.
        #[test]
        fn renames_round_trip(old in arb_schema(), new in arb_schema(), table in any::<bool>(), column in any::<bool>()) {
            let mut new = new;
            let mut renames = Renames::default();
            if table && old.table("b").is_some() && new.table("b").is_some() {
                for t in &mut new.tables {
                    if t.name == "b" {
                        t.name = "b2".into();
                    }
                    t.foreign_keys.iter_mut().filter(|k| k.ref_table == "b").for_each(|k| k.ref_table = "b2".into());
                }
                renames.tables.push(("b".into(), "b2".into()));
            }
            let has_c1 = |s: &Schema| s.table("a").is_some_and(|t| t.column("c1").is_some());
            if column && has_c1(&old) && has_c1(&new) {
                let a = new.tables.iter_mut().find(|t| t.name == "a").unwrap();
                let rename = |cols: &mut Vec<String>| cols.iter_mut().filter(|c| *c == "c1").for_each(|c| *c = "c1x".into());
                a.columns.iter_mut().filter(|c| c.name == "c1").for_each(|c| c.name = "c1x".into());
                a.indexes.iter_mut().for_each(|i| rename(&mut i.columns));
                a.uniques.iter_mut().for_each(|u| rename(&mut u.columns));
                renames.columns.push(("a".into(), "c1".into(), "c1x".into()));
            }
            new.normalize();
            let up = diff(&old, &new, &renames);
            prop_assert_eq!(&apply(&old, &up), &new, "{:#?}", up);
            prop_assert_eq!(&apply(&new, &rollback(&up)), &old);
        }
    }
}

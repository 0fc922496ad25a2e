//! The schema manifest, `dbwarden.schema.toml` (SPEC §2): tables declared in TOML with SQLAlchemy's vocabulary,
//! parsed into the same [`ModelTable`]s `#[derive(Table)]` produces, so a project with no Rust structs (or one sharing
//! tables with a Python service) uses the same workflow.
//!
//! ```toml
//! [[table]]
//! name = "users"
//! comment = "Core user accounts"
//! # database = "primary"        the database it belongs to (default: the default database)
//! # renamed_from = "old_users"  a rename, not a drop and a create
//! # primary_key = ["a", "b"]    a composite key (or `primary_key = true` on several columns)
//!
//! [[table.column]]
//! name = "id"
//! type = "BigInteger"
//! primary_key = true            # a lone integer key with no default and no foreign key numbers itself
//!                               # (SQLAlchemy's autoincrement="auto"; `autoincrement = false/true` overrides)
//!
//! [[table.column]]
//! name = "email"
//! type = "String(255)"
//! unique = true                 # with index = true as well: a unique index, as in SQLAlchemy
//! nullable = false              # default: true, except for primary key columns
//!
//! [[table.column]]
//! name = "status"
//! type = "Enum('draft', 'published')"
//! server_default = "'draft'"    # SQL text; `default` is a synonym; numbers and booleans are accepted too
//!
//! [[table.column]]
//! name = "owner_id"
//! type = "BigInteger"
//! foreign_key = "users.id"      # `table.column`
//! on_delete = "CASCADE"         # and on_update: CASCADE, SET NULL, SET DEFAULT, RESTRICT, NO ACTION
//! index = true
//! # comment = "...", renamed_from = "old_name", sql_type = "CITEXT" (instead of `type`)
//! # collation = "utf8mb4_bin"     on a text column: as the database names it ("C", NOCASE, utf8mb4_bin)
//!
//! [[table.index]]
//! name = "ix_users_status_email"  # optional: ix_<table>_<columns> when absent
//! columns = ["status", "email"]
//! unique = false
//!
//! [[table.unique]]                # optional name: uq_<table>_<columns>
//! columns = ["owner_id", "email"]
//!
//! [[table.check]]                 # the constraint is named ck_<table>_<name>, Alembic's convention
//! name = "email_has_at"
//! expr = "email LIKE '%@%'"
//!
//! [[table.foreign_key]]           # a composite foreign key; optional name: fk_<table>_<columns>_<ref table>
//! columns = ["a", "b"]
//! references = ["other.a", "other.b"]
//! ```
//!
//! Types (any case, `Integer()` accepted): Integer, BigInteger, SmallInteger, String(n) (no length: Text), Text,
//! Boolean, Date, DateTime, DateTime(timezone=True), Time, Numeric(p, s) (Numeric(p): scale 0; Numeric: (38, 10)),
//! Float (Float(n): n <= 24 single, else double precision), Double, LargeBinary, JSON, Uuid (`as_uuid` ignored),
//! Enum('a', 'b') (`name=` ignored; a native ENUM on MySQL, elsewhere a VARCHAR with a check
//! `ck_<table>_<column>_enum` restricting the values). Anything else is `sql_type = "..."`.
//!
//! A check's `expr` is portable SQL: quote an identifier that needs it with double quotes (`"order" > 0`); MySQL
//! is given backticks.
//!
//! [`parse`] checks one table at a time (and names that must be unique across the file); whether foreign keys point
//! at declared tables and keys is [`check_references`], run once every model (derived or declared) is known.

use std::collections::HashMap;

use serde::Deserialize;
use toml::Spanned;

use crate::schema::{
    check_name, fk_name, index_name, unique_name, Check, Column, ColumnType, FkAction, ForeignKey, Index, ModelTable,
    PrimaryKey, Table, Unique,
};

/// The default manifest file name.
pub const FILE_NAME: &str = "dbwarden.schema.toml";

/// The longest identifier every backend keeps whole (PostgreSQL truncates at 63 bytes, MySQL refuses past 64).
const MAX_IDENT: usize = 63;

/// A manifest that cannot be used. Every message names the place (`file:line`), the table or column, and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// The file could not be read.
    #[error("{file}: {message}")]
    Read {
        /// The file.
        file: String,
        /// The operating system's reason.
        message: String,
    },
    /// A syntax error, an unknown key, a value of the wrong kind or a declaration that does not hold together;
    /// `line` is 1-based.
    #[error("{file}:{line}: {message}")]
    Invalid {
        /// The file.
        file: String,
        /// The 1-based line.
        line: usize,
        /// What is wrong and what to do.
        message: String,
    },
    /// A foreign key whose target table, columns or key is not declared ([`check_references`]).
    #[error("{origin}: {message}")]
    Reference {
        /// Where the referencing table is declared ([`ModelTable::origin`]: `file:line`).
        origin: String,
        /// The referencing table.
        table: String,
        /// What is wrong and what to do.
        message: String,
    },
}

impl ManifestError {
    /// The 1-based line the error is about, when it has one.
    pub fn line(&self) -> Option<usize> {
        match self {
            ManifestError::Invalid { line, .. } => Some(*line),
            ManifestError::Reference { origin, .. } => origin.rsplit(':').next().and_then(|l| l.parse().ok()),
            ManifestError::Read { .. } => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The file as written.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    table: Vec<Spanned<RawTable>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    name: Spanned<String>,
    comment: Option<String>,
    database: Option<Spanned<String>>,
    renamed_from: Option<Spanned<String>>,
    primary_key: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    column: Vec<Spanned<RawColumn>>,
    #[serde(default)]
    index: Vec<Spanned<RawIndex>>,
    #[serde(default)]
    unique: Vec<Spanned<RawUnique>>,
    #[serde(default)]
    check: Vec<Spanned<RawCheck>>,
    #[serde(default)]
    foreign_key: Vec<Spanned<RawForeignKey>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawColumn {
    name: Spanned<String>,
    #[serde(rename = "type")]
    ty: Option<Spanned<String>>,
    sql_type: Option<Spanned<String>>,
    primary_key: Option<Spanned<bool>>,
    nullable: Option<Spanned<bool>>,
    autoincrement: Option<Spanned<bool>>,
    #[serde(default)]
    unique: bool,
    #[serde(default)]
    index: bool,
    server_default: Option<Spanned<toml::Value>>,
    default: Option<Spanned<toml::Value>>,
    foreign_key: Option<Spanned<String>>,
    on_delete: Option<Spanned<String>>,
    on_update: Option<Spanned<String>>,
    comment: Option<String>,
    renamed_from: Option<Spanned<String>>,
    collation: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIndex {
    name: Option<Spanned<String>>,
    columns: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    unique: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUnique {
    name: Option<Spanned<String>>,
    columns: Spanned<Vec<Spanned<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheck {
    name: Spanned<String>,
    expr: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawForeignKey {
    name: Option<Spanned<String>>,
    columns: Spanned<Vec<Spanned<String>>>,
    references: Spanned<Vec<Spanned<String>>>,
    on_delete: Option<Spanned<String>>,
    on_update: Option<Spanned<String>>,
}

// ---------------------------------------------------------------------------------------------------------------
// Parsing.

/// Parses the text of a schema manifest into its tables, in file order, each with its columns in file order;
/// `file` names it in messages and in [`ModelTable::origin`] (`file:line` of the `[[table]]` entry).
///
/// Column-level `unique`, `index` and `foreign_key` come first (in column order), then the table-level entries in
/// file order; unnamed ones get the names of [`crate::schema`]'s naming helpers. Defaults are kept as written (the
/// registry normalises). Foreign-key targets are checked by [`check_references`], not here.
///
/// ```
/// use dbwarden_core::manifest;
/// use dbwarden_core::schema::ColumnType;
///
/// let text = r#"
/// [[table]]
/// name = "users"
///
/// [[table.column]]
/// name = "id"
/// type = "BigInteger"
/// primary_key = true
///
/// [[table.column]]
/// name = "email"
/// type = "String(255)"
/// unique = true
/// nullable = false
/// "#;
/// let tables = manifest::parse(text, "dbwarden.schema.toml").unwrap();
/// let users = &tables[0];
/// assert_eq!(users.origin, "dbwarden.schema.toml:2");
/// assert_eq!(users.table.columns[1].ty, ColumnType::Varchar(255));
/// assert!(users.table.columns[0].auto_increment);
/// assert_eq!(users.table.uniques[0].name, "uq_users_email");
/// manifest::check_references(&tables).unwrap();
///
/// let err = manifest::parse("[[table]]\nname = \"t\"\n[[table.column]]\nname = \"a\"\ntype = \"Strin(9)\"\n", "s.toml");
/// assert!(err.unwrap_err().to_string().starts_with("s.toml:5: table `t`, column `a`: unknown type `Strin(9)`"));
/// ```
pub fn parse(text: &str, file: &str) -> Result<Vec<ModelTable>, ManifestError> {
    let cx = Cx { text, file };
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        cx.err(
            offset,
            match e.message().trim_end() {
                m if m.starts_with("missing field") => format!("{m}: add it to this entry"),
                m => m.to_string(),
            },
        )
    })?;
    let mut tables: Vec<ModelTable> = Vec::with_capacity(raw.table.len());
    // (database, lower-cased name) -> line of the first declaration.
    let mut seen: HashMap<(Option<String>, String), usize> = HashMap::new();
    let mut renames: Vec<(Option<String>, String, usize, String)> = Vec::new();
    // Index and constraint names are per database on PostgreSQL (indexes) and MySQL (foreign keys).
    let mut object_names: HashMap<(Option<String>, String), (usize, String)> = HashMap::new();
    for raw_table in raw.table {
        let line = cx.line(raw_table.span().start);
        let name_span = raw_table.get_ref().name.span().start;
        let (table, names) = build_table(&cx, raw_table)?;
        let key = (table.database.clone(), table.table.name.to_ascii_lowercase());
        if let Some(first) = seen.get(&key) {
            return Err(cx.err(
                name_span,
                format!(
                    "a second table named `{}` (the first is at line {first}; names differing only in case are the \
                     same on SQLite and MySQL): rename one",
                    table.table.name
                ),
            ));
        }
        seen.insert(key, line);
        if let Some(old) = &table.renamed_from {
            renames.push((table.database.clone(), old.clone(), line, table.table.name.clone()));
        }
        for (object, offset) in names {
            let key = (table.database.clone(), object.to_ascii_lowercase());
            if let Some((first, owner)) = object_names.get(&key) {
                if *owner != table.table.name {
                    return Err(cx.err(
                        offset,
                        format!(
                            "table `{}`: the name `{object}` is already used by table `{owner}` (line {first}); index \
                             and constraint names must be unique in a database: give this one another `name`",
                            table.table.name
                        ),
                    ));
                }
            }
            object_names.insert(key, (cx.line(offset), table.table.name.clone()));
        }
        tables.push(table);
    }
    for (i, (db, old, line, new)) in renames.iter().enumerate() {
        let lower = old.to_ascii_lowercase();
        // A rename that only changes case (`Users` -> `users`) finds the renamed table itself under that key.
        let case_only = lower == new.to_ascii_lowercase();
        if let Some(first) = seen.get(&(db.clone(), lower.clone())).filter(|_| !case_only) {
            return Err(cx.err_line(
                *line,
                format!(
                    "table `{new}`: renamed_from = \"{old}\" but a table `{old}` is still declared (line {first}): \
                     remove `renamed_from` or the old table"
                ),
            ));
        }
        if let Some((_, _, first, other)) =
            renames[..i].iter().find(|(d, o, _, _)| d == db && o.to_ascii_lowercase() == lower)
        {
            return Err(cx.err_line(
                *line,
                format!("table `{new}`: table `{other}` (line {first}) is already renamed_from \"{old}\": keep one"),
            ));
        }
    }
    Ok(tables)
}

/// Reads and parses a manifest file (see [`parse`]).
pub fn load(path: &std::path::Path) -> Result<Vec<ModelTable>, ManifestError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| ManifestError::Read { file: file.clone(), message: e.to_string() })?;
    parse(&text, &file)
}

struct Cx<'a> {
    text: &'a str,
    file: &'a str,
}

impl Cx<'_> {
    fn line(&self, offset: usize) -> usize {
        let bytes = self.text.as_bytes();
        bytes[..offset.min(bytes.len())].iter().filter(|&&b| b == b'\n').count() + 1
    }

    fn err(&self, offset: usize, message: String) -> ManifestError {
        self.err_line(self.line(offset), message)
    }

    fn err_line(&self, line: usize, message: String) -> ManifestError {
        ManifestError::Invalid { file: self.file.to_string(), line, message }
    }
}

/// A column as the rest of the table sees it while building.
struct Built {
    column: Column,
    line: usize,
    primary_key: Option<Spanned<bool>>,
    nullable: Option<Spanned<bool>>,
    autoincrement: Option<Spanned<bool>>,
}

/// Builds one table; also returns every index and constraint name with the offset that declared it.
fn build_table(cx: &Cx, raw: Spanned<RawTable>) -> Result<(ModelTable, Vec<(String, usize)>), ManifestError> {
    let origin = format!("{}:{}", cx.file, cx.line(raw.span().start));
    let table_offset = raw.span().start;
    let raw = raw.into_inner();
    let tname = raw.name.get_ref().clone();
    ident(cx, raw.name.span().start, "table name", &tname, "")?;
    let here = format!("table `{tname}`");

    let database = match raw.database {
        Some(db) => {
            let name = db.get_ref();
            let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(cx.err(
                    db.span().start,
                    format!(
                        "{here}: database = \"{name}\" must be a database name of dbwarden.toml ([a-zA-Z][a-zA-Z0-9_]*)"
                    ),
                ));
            }
            Some(name.clone())
        }
        None => None,
    };
    let renamed_from = match raw.renamed_from {
        Some(old) => {
            ident(cx, old.span().start, "renamed_from", old.get_ref(), &format!("{here}: "))?;
            if old.get_ref() == &tname {
                return Err(
                    cx.err(old.span().start, format!("{here}: renamed_from is the table's own name: remove it"))
                );
            }
            Some(old.into_inner())
        }
        None => None,
    };

    if raw.column.is_empty() {
        return Err(cx.err(
            table_offset,
            format!("{here} has no columns: add [[table.column]] entries (name, type) after its [[table]] line"),
        ));
    }

    // Columns.
    let mut built: Vec<Built> = Vec::with_capacity(raw.column.len());
    let mut column_renames = Vec::new();
    let mut uniques = Vec::new();
    let mut indexes = Vec::new();
    let mut foreign_keys = Vec::new();
    let mut names: Vec<(String, usize)> = Vec::new();
    let mut pending_renames: Vec<(String, String, usize)> = Vec::new();
    for raw_col in raw.column {
        let col_offset = raw_col.span().start;
        let c = raw_col.into_inner();
        let cname = c.name.get_ref().clone();
        let name_offset = c.name.span().start;
        ident(cx, name_offset, "column name", &cname, &format!("{here}: "))?;
        // MySQL compares column names without case, `É` and `é` included.
        let same = |a: &str| crate::diff::NameFolding::Unicode.same(a, &cname);
        if let Some(first) = built.iter().find(|b| same(&b.column.name)) {
            return Err(cx.err(
                name_offset,
                format!(
                    "{here}: a second column named `{cname}` (the first is at line {}; names differing only in case \
                     are the same on SQLite and MySQL): rename one",
                    first.line
                ),
            ));
        }
        let at = format!("{here}, column `{cname}`");
        let ty = match (&c.ty, &c.sql_type) {
            (Some(_), Some(sql)) => {
                return Err(cx.err(
                    sql.span().start,
                    format!("{at}: both `type` and `sql_type`: keep `type` for a portable type or `sql_type` for the database's own"),
                ))
            }
            (Some(ty), None) => {
                parse_type(ty.get_ref()).map_err(|message| cx.err(ty.span().start, format!("{at}: {message}")))?
            }
            (None, Some(sql)) => {
                let text = sql.get_ref().trim();
                if text.is_empty() {
                    return Err(cx.err(sql.span().start, format!("{at}: sql_type is empty: give the type's SQL, such as \"CITEXT\"")));
                }
                ColumnType::Custom(text.to_string())
            }
            (None, None) => {
                return Err(cx.err(
                    col_offset,
                    format!("{at} has no type: add `type = \"Integer\"` (SQLAlchemy's names) or `sql_type = \"...\"`"),
                ))
            }
        };
        let collation = match &c.collation {
            None => None,
            Some(name) if name.get_ref().trim().is_empty() => {
                return Err(
                    cx.err(name.span().start, format!("{at}: collation is empty: name one, such as \"utf8mb4_bin\""))
                );
            }
            Some(name) if !ty.is_text_like() && !matches!(ty, ColumnType::Custom(_)) => {
                return Err(cx.err(
                    name.span().start,
                    format!("{at}: a collation applies to text columns (String, Text, Enum, or an sql_type), not {ty}"),
                ));
            }
            Some(name) => Some(name.get_ref().trim().to_string()),
        };
        let default = match (c.server_default, c.default) {
            (Some(_), Some(d)) => {
                return Err(
                    cx.err(d.span().start, format!("{at}: both `server_default` and `default` (synonyms): keep one"))
                )
            }
            (Some(d), None) | (None, Some(d)) => Some(default_sql(cx, &at, &ty, d)?),
            (None, None) => None,
        };
        let line = cx.line(col_offset);

        // Column-level foreign key.
        match &c.foreign_key {
            Some(fk) => {
                let (ref_table, ref_column) = split_reference(fk.get_ref()).ok_or_else(|| {
                    cx.err(
                        fk.span().start,
                        format!(
                            "{at}: foreign_key = \"{}\" is not of the form `table.column` (as in \"users.id\")",
                            fk.get_ref()
                        ),
                    )
                })?;
                let on_delete = fk_action(cx, &at, "on_delete", c.on_delete.as_ref())?;
                let on_update = fk_action(cx, &at, "on_update", c.on_update.as_ref())?;
                let name = fk_name(&tname, &[&cname], &ref_table);
                names.push((name.clone(), fk.span().start));
                foreign_keys.push((
                    ForeignKey {
                        name,
                        columns: vec![cname.clone()],
                        ref_table,
                        ref_columns: vec![ref_column],
                        on_delete,
                        on_update,
                    },
                    fk.span().start,
                ));
            }
            None => {
                if let Some(action) = c.on_delete.as_ref().or(c.on_update.as_ref()) {
                    let key = if c.on_delete.is_some() { "on_delete" } else { "on_update" };
                    return Err(cx.err(
                        action.span().start,
                        format!(
                            "{at}: {key} without foreign_key: add `foreign_key = \"table.column\"` or remove {key}"
                        ),
                    ));
                }
            }
        }
        if c.unique && c.index {
            // SQLAlchemy: Column(..., unique=True, index=True) is one unique index.
            let name = index_name(&tname, &[&cname]);
            names.push((name.clone(), name_offset));
            indexes.push(Index { name, columns: vec![cname.clone()], unique: true });
        } else if c.unique {
            let name = unique_name(&tname, &[&cname]);
            names.push((name.clone(), name_offset));
            uniques.push(Unique { name, columns: vec![cname.clone()] });
        } else if c.index {
            let name = index_name(&tname, &[&cname]);
            names.push((name.clone(), name_offset));
            indexes.push(Index { name, columns: vec![cname.clone()], unique: false });
        }
        if let Some(old) = c.renamed_from {
            ident(cx, old.span().start, "renamed_from", old.get_ref(), &format!("{at}: "))?;
            if old.get_ref() == &cname {
                return Err(cx.err(old.span().start, format!("{at}: renamed_from is the column's own name: remove it")));
            }
            pending_renames.push((cname.clone(), old.get_ref().clone(), old.span().start));
            column_renames.push((cname.clone(), old.into_inner()));
        }
        built.push(Built {
            column: Column {
                name: cname,
                ty,
                // Set below, once the primary key is known.
                nullable: true,
                default,
                auto_increment: false,
                comment: c.comment,
                collation,
                on_update: None,
            },
            line,
            primary_key: c.primary_key,
            nullable: c.nullable,
            autoincrement: c.autoincrement,
        });
    }
    for (i, (new, old, offset)) in pending_renames.iter().enumerate() {
        // (Not the renamed column itself, when only the case changes: `email` -> `Email`.)
        if let Some(other) = built.iter().find(|b| b.column.name.eq_ignore_ascii_case(old) && b.column.name != *new) {
            return Err(cx.err(
                *offset,
                format!(
                    "{here}, column `{new}`: renamed_from = \"{old}\" but column `{}` (line {}) still exists: remove \
                     `renamed_from` or that column",
                    other.column.name, other.line
                ),
            ));
        }
        if let Some((other, _, _)) = pending_renames[..i].iter().find(|(_, o, _)| o.eq_ignore_ascii_case(old)) {
            return Err(cx.err(
                *offset,
                format!("{here}, column `{new}`: column `{other}` is already renamed_from \"{old}\": keep one"),
            ));
        }
    }

    // The primary key: `primary_key = true` on columns (in column order) or `primary_key = [...]` on the table.
    let column_pk: Vec<usize> = built
        .iter()
        .enumerate()
        .filter(|(_, b)| b.primary_key.as_ref().is_some_and(|p| *p.get_ref()))
        .map(|(i, _)| i)
        .collect();
    let pk_columns: Vec<usize> = match raw.primary_key {
        Some(list) => {
            if let Some(&i) = column_pk.first() {
                return Err(cx.err(
                    list.span().start,
                    format!(
                        "{here}: primary_key is declared twice, on the table and on column `{}` (line {}): keep one",
                        built[i].column.name, built[i].line
                    ),
                ));
            }
            let list_offset = list.span().start;
            let list = list.into_inner();
            if list.is_empty() {
                return Err(
                    cx.err(list_offset, format!("{here}: primary_key = [] is empty: name its columns or remove it"))
                );
            }
            column_list(cx, &here, "primary_key", &built, &list)?
        }
        None => column_pk,
    };
    for &i in &pk_columns {
        if let Some(n) = &built[i].nullable {
            if *n.get_ref() {
                return Err(cx.err(
                    n.span().start,
                    format!(
                        "{here}, column `{}`: nullable = true on a primary key column: primary keys are never NULL; \
                         remove `nullable`",
                        built[i].column.name
                    ),
                ));
            }
        }
    }
    for (i, b) in built.iter_mut().enumerate() {
        b.column.nullable = match &b.nullable {
            Some(n) => *n.get_ref(),
            None => !pk_columns.contains(&i),
        };
    }
    let primary_key = (!pk_columns.is_empty())
        .then(|| PrimaryKey { columns: pk_columns.iter().map(|&i| built[i].column.name.clone()).collect() });

    // Table-level indexes, uniques, foreign keys and checks.
    for entry in raw.index {
        let offset = entry.span().start;
        let entry = entry.into_inner();
        let cols = non_empty_columns(cx, &here, "[[table.index]]", &built, &entry.columns)?;
        let name = explicit_or(cx, &here, entry.name.as_ref(), || index_name(&tname, &cols))?;
        names.push((name.clone(), entry.name.as_ref().map_or(offset, |n| n.span().start)));
        indexes.push(Index { name, columns: cols, unique: entry.unique });
    }
    for entry in raw.unique {
        let offset = entry.span().start;
        let entry = entry.into_inner();
        let cols = non_empty_columns(cx, &here, "[[table.unique]]", &built, &entry.columns)?;
        let name = explicit_or(cx, &here, entry.name.as_ref(), || unique_name(&tname, &cols))?;
        names.push((name.clone(), entry.name.as_ref().map_or(offset, |n| n.span().start)));
        uniques.push(Unique { name, columns: cols });
    }
    for entry in raw.foreign_key {
        let offset = entry.span().start;
        let entry = entry.into_inner();
        let cols = non_empty_columns(cx, &here, "[[table.foreign_key]]", &built, &entry.columns)?;
        let refs_offset = entry.references.span().start;
        let refs = entry.references.into_inner();
        if refs.len() != cols.len() {
            return Err(cx.err(
                refs_offset,
                format!(
                    "{here}: [[table.foreign_key]] has {} columns but {} references: give one `table.column` per column",
                    cols.len(),
                    refs.len()
                ),
            ));
        }
        let mut ref_table: Option<String> = None;
        let mut ref_columns = Vec::with_capacity(refs.len());
        for r in &refs {
            let (t, c) = split_reference(r.get_ref()).ok_or_else(|| {
                cx.err(
                    r.span().start,
                    format!("{here}: references entry \"{}\" is not of the form `table.column`", r.get_ref()),
                )
            })?;
            match &ref_table {
                Some(first) if *first != t => {
                    return Err(cx.err(
                        r.span().start,
                        format!("{here}: a foreign key references one table, but this one names `{first}` and `{t}`"),
                    ))
                }
                _ => ref_table = Some(t),
            }
            ref_columns.push(c);
        }
        let ref_table = ref_table.unwrap_or_default();
        let at = format!("{here}, [[table.foreign_key]]");
        let on_delete = fk_action(cx, &at, "on_delete", entry.on_delete.as_ref())?;
        let on_update = fk_action(cx, &at, "on_update", entry.on_update.as_ref())?;
        let name = explicit_or(cx, &here, entry.name.as_ref(), || fk_name(&tname, &cols, &ref_table))?;
        names.push((name.clone(), entry.name.as_ref().map_or(offset, |n| n.span().start)));
        foreign_keys.push((ForeignKey { name, columns: cols, ref_table, ref_columns, on_delete, on_update }, offset));
    }
    let mut checks = Vec::new();
    for entry in raw.check {
        let entry = entry.into_inner();
        ident(cx, entry.name.span().start, "check name", entry.name.get_ref(), &format!("{here}: "))?;
        if entry.expr.get_ref().trim().is_empty() {
            return Err(cx.err(
                entry.expr.span().start,
                format!("{here}, check `{}`: expr is empty: give a boolean SQL expression", entry.name.get_ref()),
            ));
        }
        if !crate::schema::balanced(entry.expr.get_ref()) {
            return Err(cx.err(
                entry.expr.span().start,
                format!(
                    "{here}, check `{}`: expr `{}` leaves a quote or a parenthesis open: close it (a quote inside a \
                     string is written twice: 'it''s')",
                    entry.name.get_ref(),
                    entry.expr.get_ref()
                ),
            ));
        }
        let given = entry.name.get_ref();
        // Alembic's convention ck_<table>_<name>, unless the name already follows it.
        let name = if given.starts_with(&format!("ck_{tname}_")) { given.clone() } else { check_name(&tname, given) };
        names.push((name.clone(), entry.name.span().start));
        checks.push(Check { name, expr: entry.expr.into_inner() });
    }

    // SQLAlchemy's autoincrement="auto": a single-column integer primary key with no default and no foreign key
    // numbers itself (the derive does the same); `autoincrement` overrides it.
    let single_integer_pk = pk_columns.len() == 1 && built[pk_columns[0]].column.ty.is_integer();
    for (i, b) in built.iter_mut().enumerate() {
        let eligible = single_integer_pk && pk_columns[0] == i && b.column.default.is_none();
        let referencing = foreign_keys.iter().any(|(fk, _)| fk.columns.contains(&b.column.name));
        b.column.auto_increment = match &b.autoincrement {
            Some(a) if *a.get_ref() && !eligible => {
                return Err(cx.err(
                    a.span().start,
                    format!(
                        "{here}, column `{}`: autoincrement = true needs the column to be the table's only primary key \
                         column, an integer (Integer, BigInteger, SmallInteger) and without a default",
                        b.column.name
                    ),
                ))
            }
            Some(a) => *a.get_ref(),
            None => eligible && !referencing,
        };
    }

    // SET NULL needs nullable columns (MySQL refuses the DDL, the others fail at the first delete).
    for (fk, offset) in &foreign_keys {
        for action in [fk.on_delete, fk.on_update] {
            if action != FkAction::SetNull {
                continue;
            }
            if let Some(b) = fk
                .columns
                .iter()
                .filter_map(|c| built.iter().find(|b| &b.column.name == c))
                .find(|b| !b.column.nullable)
            {
                return Err(cx.err(
                    *offset,
                    format!(
                        "{here}, column `{}`: foreign key `{}` does SET NULL but the column is NOT NULL: make it \
                         nullable or choose another action",
                        b.column.name, fk.name
                    ),
                ));
            }
        }
    }

    // One name per index or constraint in the table.
    for (i, (name, offset)) in names.iter().enumerate() {
        if let Some((_, first)) = names[..i].iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            return Err(cx.err(
                *offset,
                format!(
                    "{here}: two indexes or constraints are named `{name}` (the first at line {}): give one a different \
                     `name`, or remove the duplicate",
                    cx.line(*first)
                ),
            ));
        }
    }

    let table = Table {
        name: tname,
        columns: built.into_iter().map(|b| b.column).collect(),
        primary_key,
        indexes,
        uniques,
        foreign_keys: foreign_keys.into_iter().map(|(fk, _)| fk).collect(),
        checks,
        comment: raw.comment,
        options: Vec::new(), // kept from the database, never declared
    };
    Ok((ModelTable { table, database, renamed_from, column_renames, origin }, names))
}

/// Checks a name every backend accepts as a quoted identifier.
fn ident(cx: &Cx, offset: usize, what: &str, name: &str, context: &str) -> Result<(), ManifestError> {
    let problem = if name.is_empty() {
        "is empty".to_string()
    } else if name.trim() != name {
        "has leading or trailing spaces".to_string()
    } else if name.contains('\0') {
        "contains a NUL character".to_string()
    } else if name.len() > MAX_IDENT {
        format!("is {} bytes long; PostgreSQL cuts names at {MAX_IDENT}: shorten it", name.len())
    } else {
        return Ok(());
    };
    Err(cx.err(offset, format!("{context}{what} `{name}` {problem}")))
}

fn explicit_or(
    cx: &Cx,
    here: &str,
    name: Option<&Spanned<String>>,
    generated: impl FnOnce() -> String,
) -> Result<String, ManifestError> {
    match name {
        Some(n) => {
            ident(cx, n.span().start, "name", n.get_ref(), &format!("{here}: "))?;
            Ok(n.get_ref().clone())
        }
        None => Ok(generated()),
    }
}

fn non_empty_columns(
    cx: &Cx,
    here: &str,
    what: &str,
    built: &[Built],
    list: &Spanned<Vec<Spanned<String>>>,
) -> Result<Vec<String>, ManifestError> {
    if list.get_ref().is_empty() {
        return Err(cx.err(list.span().start, format!("{here}: {what} has columns = []: name at least one column")));
    }
    let idx = column_list(cx, here, what, built, list.get_ref())?;
    Ok(idx.into_iter().map(|i| built[i].column.name.clone()).collect())
}

/// Resolves column names (exact case) to positions; each once.
fn column_list(
    cx: &Cx,
    here: &str,
    what: &str,
    built: &[Built],
    list: &[Spanned<String>],
) -> Result<Vec<usize>, ManifestError> {
    let mut out = Vec::with_capacity(list.len());
    for (n, name) in list.iter().enumerate() {
        let Some(i) = built.iter().position(|b| &b.column.name == name.get_ref()) else {
            let hint = match built.iter().find(|b| b.column.name.eq_ignore_ascii_case(name.get_ref())) {
                Some(b) => format!("did you mean `{}`?", b.column.name),
                None => format!(
                    "its columns are {}",
                    built.iter().map(|b| format!("`{}`", b.column.name)).collect::<Vec<_>>().join(", ")
                ),
            };
            return Err(cx.err(
                name.span().start,
                format!("{here}: {what} names column `{}`, which the table does not have; {hint}", name.get_ref()),
            ));
        };
        if list[..n].iter().any(|o| o.get_ref() == name.get_ref()) {
            return Err(cx.err(name.span().start, format!("{here}: {what} names column `{}` twice", name.get_ref())));
        }
        out.push(i);
    }
    Ok(out)
}

/// `table.column` -> (table, column); exactly one dot, neither side empty.
fn split_reference(text: &str) -> Option<(String, String)> {
    let (t, c) = text.split_once('.')?;
    let (t, c) = (t.trim(), c.trim());
    if t.is_empty() || c.is_empty() || c.contains('.') {
        return None;
    }
    Some((t.to_string(), c.to_string()))
}

fn fk_action(cx: &Cx, at: &str, key: &str, value: Option<&Spanned<String>>) -> Result<FkAction, ManifestError> {
    match value {
        None => Ok(FkAction::NoAction),
        Some(v) => FkAction::parse(v.get_ref()).ok_or_else(|| {
            cx.err(
                v.span().start,
                format!(
                    "{at}: {key} = \"{}\" is not an action: use CASCADE, SET NULL, SET DEFAULT, RESTRICT or NO ACTION",
                    v.get_ref()
                ),
            )
        }),
    }
}

/// A default as SQL text: a string is SQL as written; numbers and booleans are their SQL literals.
fn default_sql(cx: &Cx, at: &str, ty: &ColumnType, value: Spanned<toml::Value>) -> Result<String, ManifestError> {
    let offset = value.span().start;
    let sql = match value.into_inner() {
        toml::Value::String(s) => {
            let t = s.trim();
            if t.is_empty() {
                return Err(cx.err(
                    offset,
                    format!("{at}: the default is empty: give SQL such as \"''\" (an empty string) or remove the key"),
                ));
            }
            // SQLAlchemy quotes a plain server_default string; here it is SQL, so `draft` would be a column name.
            let bare_word = t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && t.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && !matches!(
                    t.to_ascii_uppercase().as_str(),
                    "TRUE"
                        | "FALSE"
                        | "NULL"
                        | "CURRENT_TIMESTAMP"
                        | "CURRENT_DATE"
                        | "CURRENT_TIME"
                        | "LOCALTIMESTAMP"
                );
            if !crate::schema::balanced(t) {
                return Err(
                    cx.err(offset, format!("{at}: the default `{t}` leaves a quote or a parenthesis open: close it"))
                );
            }
            let textual = ty.is_text_like();
            if bare_word && textual {
                return Err(cx.err(
                    offset,
                    format!(
                        "{at}: the default is SQL, so `{t}` would be read as a name: write \"'{t}'\" for the string"
                    ),
                ));
            }
            if let ColumnType::Enum(values) = ty {
                if let Some(literal) = t.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
                    let literal = literal.replace("''", "'");
                    if !values.contains(&literal) {
                        return Err(cx.err(
                            offset,
                            format!(
                                "{at}: the default '{literal}' is not one of the Enum's values ({})",
                                values.iter().map(|v| format!("'{v}'")).collect::<Vec<_>>().join(", ")
                            ),
                        ));
                    }
                }
            }
            s
        }
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) if f.is_finite() => f.to_string(),
        toml::Value::Boolean(b) => if b { "TRUE" } else { "FALSE" }.to_string(),
        _ => {
            return Err(cx.err(
                offset,
                format!(
                    "{at}: a default is SQL text (\"'draft'\", \"CURRENT_TIMESTAMP\"), a number or a boolean; quote \
                     anything else as SQL"
                ),
            ))
        }
    };
    Ok(sql)
}

// ---------------------------------------------------------------------------------------------------------------
// Types: SQLAlchemy's names.

const TYPES: &str = "Integer, BigInteger, SmallInteger, String(n), Text, Boolean, Date, DateTime, \
                     DateTime(timezone=True), Time, Numeric(p, s), Float, Double, LargeBinary, JSON, Uuid, Enum('a', 'b')";

#[derive(Debug, Clone, PartialEq)]
enum Arg {
    Str(String),
    Int(u64),
    Word(String),
}

/// Parses a SQLAlchemy type expression: `Name`, `Name()`, `Name(arg, key=arg, ...)`.
fn parse_type(text: &str) -> Result<ColumnType, String> {
    let t = text.trim();
    let unknown = |hint: &str| {
        format!(
            "unknown type `{text}`{hint}: use one of {TYPES}, or give the database's own type as `sql_type = \"...\"`"
        )
    };
    let head_len = t.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(t.len());
    let head = &t[..head_len];
    let rest = t[head_len..].trim();
    let args: Vec<(Option<String>, Arg)> = if rest.is_empty() {
        Vec::new()
    } else {
        let inner = match rest.strip_prefix('(') {
            Some(r) => r.strip_suffix(')').ok_or_else(|| format!("`{text}` has a `(` without its `)`"))?,
            None => return Err(unknown("")),
        };
        parse_args(inner).ok_or_else(|| format!("cannot read the arguments of `{text}`: write them as in Python, such as String(255), Numeric(10, 2), Enum('a', 'b')"))?
    };
    let lower = head.to_ascii_lowercase();
    let no_args = |ty: ColumnType| -> Result<ColumnType, String> {
        if args.is_empty() {
            Ok(ty)
        } else {
            Err(format!("`{head}` takes no arguments (in `{text}`)"))
        }
    };
    // Keyword arguments that only matter to Python and may be ignored here.
    let python_only = |key: &str| matches!(key, "asdecimal" | "as_uuid" | "decimal_return_scale");
    let args_ignoring_python: Vec<(Option<String>, Arg)> =
        args.iter().filter(|(k, _)| !k.as_deref().is_some_and(python_only)).cloned().collect();
    match lower.as_str() {
        "integer" => no_args(ColumnType::Integer),
        "biginteger" => no_args(ColumnType::BigInt),
        "smallinteger" => no_args(ColumnType::SmallInt),
        "text" => no_args(ColumnType::Text),
        "boolean" => no_args(ColumnType::Boolean),
        "date" => no_args(ColumnType::Date),
        "largebinary" => no_args(ColumnType::Blob),
        "json" => no_args(ColumnType::Json),
        "uuid" => match args_ignoring_python.as_slice() {
            [] => Ok(ColumnType::Uuid),
            _ => Err(format!("`Uuid` takes no arguments but as_uuid (in `{text}`)")),
        },
        "double" => match args_ignoring_python.as_slice() {
            [] => Ok(ColumnType::Double),
            _ => Err(format!("`Double` takes no arguments (in `{text}`)")),
        },
        "string" => {
            match args.as_slice() {
                [] => Ok(ColumnType::Text),
                [(key, Arg::Int(n))] if matches!(key.as_deref(), None | Some("length")) => {
                    let n = u32::try_from(*n).ok().filter(|&n| n > 0).ok_or_else(|| {
                    format!("String length {n} is out of range (in `{text}`): give 1 or more, or String for unbounded text")
                })?;
                    Ok(ColumnType::Varchar(n))
                }
                _ => Err(format!("`String` takes one length, as in String(255) (in `{text}`); String alone is Text")),
            }
        }
        "datetime" | "time" => {
            let timezone = match args.as_slice() {
                [] => false,
                [(key, Arg::Word(w))] if matches!(key.as_deref(), None | Some("timezone")) => match boolean(w) {
                    Some(b) => b,
                    None => return Err(format!("timezone must be True or False (in `{text}`)")),
                },
                _ => return Err(format!("`{head}` takes only timezone=True or timezone=False (in `{text}`)")),
            };
            match (lower.as_str(), timezone) {
                ("datetime", false) => Ok(ColumnType::Timestamp),
                ("datetime", true) => Ok(ColumnType::TimestampTz),
                (_, false) => Ok(ColumnType::Time),
                (_, true) => Err(format!(
                    "`{text}`: a time of day with a time zone has no portable type (only PostgreSQL has one): use Time, \
                     or sql_type = \"TIME WITH TIME ZONE\""
                )),
            }
        }
        "numeric" => {
            let (mut precision, mut scale) = (None, None);
            for (i, (key, arg)) in args_ignoring_python.iter().enumerate() {
                let Arg::Int(n) = arg else {
                    return Err(format!("Numeric takes whole numbers, as in Numeric(10, 2) (in `{text}`)"));
                };
                let n = u32::try_from(*n).map_err(|_| format!("{n} is out of range (in `{text}`)"))?;
                let slot = match (key.as_deref(), i) {
                    (Some("precision"), _) | (None, 0) => &mut precision,
                    (Some("scale"), _) | (None, 1) => &mut scale,
                    _ => return Err(format!("Numeric takes precision and scale, as in Numeric(10, 2) (in `{text}`)")),
                };
                if slot.replace(n).is_some() {
                    return Err(format!("Numeric is given the same argument twice (in `{text}`)"));
                }
            }
            let (p, s) = match (precision, scale) {
                (None, None) => (38, 10),
                (Some(p), s) => (p, s.unwrap_or(0)),
                (None, Some(_)) => {
                    return Err(format!("Numeric with a scale needs a precision, as in Numeric(10, 2) (in `{text}`)"))
                }
            };
            if p == 0 || s > p {
                return Err(format!("Numeric({p}, {s}): the precision must be at least 1 and at least the scale"));
            }
            Ok(ColumnType::Decimal(p, s))
        }
        "float" => match args_ignoring_python.as_slice() {
            [] => Ok(ColumnType::Real),
            [(key, Arg::Int(n))] if matches!(key.as_deref(), None | Some("precision")) => match n {
                1..=24 => Ok(ColumnType::Real),
                25..=53 => Ok(ColumnType::Double),
                _ => Err(format!("Float precision {n} is out of range 1..=53 (in `{text}`)")),
            },
            _ => Err(format!("`Float` takes at most a precision in bits, as in Float(53) (in `{text}`)")),
        },
        "enum" => {
            let mut values: Vec<String> = Vec::new();
            for (key, arg) in &args {
                match (key.as_deref(), arg) {
                    (None, Arg::Str(v)) => {
                        if values.contains(v) {
                            return Err(format!("Enum value '{v}' is given twice (in `{text}`)"));
                        }
                        values.push(v.clone());
                    }
                    // The PostgreSQL type name SQLAlchemy would create; dbwarden names enum types itself.
                    (Some("name"), Arg::Str(_)) => {}
                    _ => {
                        return Err(format!("Enum takes quoted values, as in Enum('draft', 'published') (in `{text}`)"))
                    }
                }
            }
            if values.is_empty() {
                return Err(format!("Enum needs at least one value, as in Enum('draft', 'published') (in `{text}`)"));
            }
            Ok(ColumnType::Enum(values))
        }
        _ => {
            let hint = match lower.as_str() {
                "int" | "int4" | "int32" => " (did you mean Integer?)",
                "bigint" | "int8" | "int64" => " (did you mean BigInteger?)",
                "smallint" | "int2" | "int16" => " (did you mean SmallInteger?)",
                "varchar" | "unicode" | "str" | "char" | "nvarchar" => " (did you mean String(n)?)",
                "unicodetext" | "clob" | "mediumtext" | "longtext" => " (did you mean Text?)",
                "bool" => " (did you mean Boolean?)",
                "timestamp" | "timestamptz" => " (did you mean DateTime or DateTime(timezone=True)?)",
                "decimal" => " (did you mean Numeric(p, s)?)",
                "real" | "float4" => " (did you mean Float?)",
                "double_precision" | "float8" => " (did you mean Double?)",
                "blob" | "bytea" | "binary" | "varbinary" | "bytes" => " (did you mean LargeBinary?)",
                "jsonb" => " (did you mean JSON?)",
                _ => "",
            };
            Err(unknown(hint))
        }
    }
}

fn boolean(word: &str) -> Option<bool> {
    match word.to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// Reads `arg, key=arg, ...` where an arg is a quoted string ('' or "", doubled quote or backslash escapes), a whole
/// number or a word (True, False).
fn parse_args(inner: &str) -> Option<Vec<(Option<String>, Arg)>> {
    let mut out = Vec::new();
    let mut chars = inner.chars().peekable();
    let skip_ws = |chars: &mut std::iter::Peekable<std::str::Chars>| {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
    };
    skip_ws(&mut chars);
    if chars.peek().is_none() {
        return Some(out);
    }
    loop {
        skip_ws(&mut chars);
        let mut key = None;
        let arg = match *chars.peek()? {
            q @ ('\'' | '"') => {
                chars.next();
                let mut value = String::new();
                loop {
                    match chars.next()? {
                        '\\' => value.push(chars.next()?),
                        c if c == q && chars.peek() == Some(&q) => {
                            chars.next();
                            value.push(q);
                        }
                        c if c == q => break,
                        c => value.push(c),
                    }
                }
                Arg::Str(value)
            }
            c if c.is_ascii_digit() => {
                let mut digits = String::new();
                while chars.peek().is_some_and(|c| c.is_ascii_digit()) {
                    digits.push(chars.next()?);
                }
                Arg::Int(digits.parse().ok()?)
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut word = String::new();
                while chars.peek().is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_') {
                    word.push(chars.next()?);
                }
                skip_ws(&mut chars);
                if chars.peek() == Some(&'=') {
                    chars.next();
                    skip_ws(&mut chars);
                    key = Some(word.to_ascii_lowercase());
                    match *chars.peek()? {
                        q @ ('\'' | '"') => {
                            chars.next();
                            let mut value = String::new();
                            loop {
                                match chars.next()? {
                                    c if c == q => break,
                                    c => value.push(c),
                                }
                            }
                            Arg::Str(value)
                        }
                        c if c.is_ascii_digit() => {
                            let mut digits = String::new();
                            while chars.peek().is_some_and(|c| c.is_ascii_digit()) {
                                digits.push(chars.next()?);
                            }
                            Arg::Int(digits.parse().ok()?)
                        }
                        _ => {
                            let mut word = String::new();
                            while chars.peek().is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_') {
                                word.push(chars.next()?);
                            }
                            if word.is_empty() {
                                return None;
                            }
                            Arg::Word(word)
                        }
                    }
                } else {
                    Arg::Word(word)
                }
            }
            _ => return None,
        };
        if key.is_none() && out.iter().any(|(k, _): &(Option<String>, Arg)| k.is_some()) {
            return None; // a positional argument after a keyword one, as Python forbids
        }
        out.push((key, arg));
        skip_ws(&mut chars);
        match chars.next() {
            None => return Some(out),
            Some(',') => {
                skip_ws(&mut chars);
                if chars.peek().is_none() {
                    return Some(out); // a trailing comma
                }
            }
            Some(_) => return None,
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Cross-table checks.

/// Checks every foreign key of `tables` (from the manifest, the derives, or both): the referenced table is declared
/// in the same database, the referenced columns exist and are its primary key or a unique constraint or index, and
/// the column types match (MySQL refuses foreign keys between different types). Errors name the referencing table's
/// [`ModelTable::origin`].
pub fn check_references(tables: &[ModelTable]) -> Result<(), ManifestError> {
    for t in tables {
        for fk in &t.table.foreign_keys {
            let err = |message: String| ManifestError::Reference {
                origin: t.origin.clone(),
                table: t.table.name.clone(),
                message: format!(
                    "table `{}`, foreign key `{}` ({}): {message}",
                    t.table.name,
                    fk.name,
                    fk.columns.join(", ")
                ),
            };
            let Some(target) = tables.iter().find(|o| o.database == t.database && o.table.name == fk.ref_table) else {
                let elsewhere = tables.iter().find(|o| o.table.name == fk.ref_table);
                let ci = tables
                    .iter()
                    .find(|o| o.database == t.database && o.table.name.eq_ignore_ascii_case(&fk.ref_table));
                let hint = match (ci, elsewhere) {
                    (Some(o), _) => format!("did you mean `{}` ({})?", o.table.name, o.origin),
                    (None, Some(o)) => format!(
                        "it is declared in database `{}` ({}), and a foreign key cannot cross databases",
                        o.database.as_deref().unwrap_or("(default)"),
                        o.origin
                    ),
                    (None, None) => "declare it, or fix the reference".to_string(),
                };
                return Err(err(format!("references table `{}`, which is not declared; {hint}", fk.ref_table)));
            };
            if fk.columns.len() != fk.ref_columns.len() {
                return Err(err(format!(
                    "{} columns reference {} columns: give one referenced column per column",
                    fk.columns.len(),
                    fk.ref_columns.len()
                )));
            }
            for (col, ref_col) in fk.columns.iter().zip(&fk.ref_columns) {
                let Some(referenced) = target.table.column(ref_col) else {
                    let names: Vec<String> = target.table.columns.iter().map(|c| format!("`{}`", c.name)).collect();
                    return Err(err(format!(
                        "references `{}.{ref_col}`, but that table has no column `{ref_col}` (its columns: {})",
                        fk.ref_table,
                        names.join(", ")
                    )));
                };
                let Some(own) = t.table.column(col) else {
                    return Err(err(format!("the table has no column `{col}`")));
                };
                if !own.ty.joins_by_foreign_key(&referenced.ty) {
                    return Err(err(format!(
                        "column `{col}` is {} but `{}.{ref_col}` is {}: make the types the same (MySQL refuses foreign \
                         keys between different types)",
                        own.ty, fk.ref_table, referenced.ty
                    )));
                }
            }
            let same_set =
                |cols: &[String]| cols.len() == fk.ref_columns.len() && fk.ref_columns.iter().all(|c| cols.contains(c));
            let keyed = target.table.primary_key.as_ref().is_some_and(|pk| same_set(&pk.columns))
                || target.table.uniques.iter().any(|u| same_set(&u.columns))
                || target.table.indexes.iter().any(|i| i.unique && same_set(&i.columns));
            if !keyed {
                return Err(err(format!(
                    "the referenced columns `{}` ({}) are not its primary key nor unique: databases require one; make \
                     them the primary key or add a unique constraint",
                    fk.ref_columns.join(", "),
                    fk.ref_table
                )));
            }
        }
    }
    Ok(())
}

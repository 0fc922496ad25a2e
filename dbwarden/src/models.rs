//! The models registry: every `#[derive(Table)]` struct (and schema manifest) linked into the program.
//!
//! The models are the source of truth of the schema. Each struct deriving [`Table`](crate::Table) becomes a
//! [`ModelTable`] and is registered at compile time, so the program that links it finds it in [`registered()`]
//! without a list (model discovery); [`schema()`] turns the models of one database into a checked, normalised
//! [`Schema`].
//!
//! ```
//! use dbwarden::Table;
//! use dbwarden::schema::{ColumnType, FkAction};
//!
//! #[derive(Table)]
//! #[dbwarden(name = "users", comment = "Core user accounts")]
//! pub struct User {
//!     #[dbwarden(primary_key)] // integer PK => auto-increment on each backend
//!     pub id: i64,
//!     #[dbwarden(length = 255, unique)]
//!     pub email: String, // String => TEXT, or VARCHAR(n) with length
//!     pub bio: Option<String>, // Option<T> => nullable
//! }
//!
//! #[derive(Table)]
//! #[dbwarden(name = "posts", index(name = "ix_posts_created_at", columns("created_at")))]
//! pub struct Post {
//!     #[dbwarden(primary_key)]
//!     pub id: i64,
//!     #[dbwarden(length = 255)]
//!     pub title: String,
//!     pub body: String,
//!     #[dbwarden(references = "users.id", on_delete = "cascade")]
//!     pub user_id: i64,
//!     #[dbwarden(sql_type = "timestamp", default = "CURRENT_TIMESTAMP")]
//!     pub created_at: String,
//! }
//!
//! let models = dbwarden::models::registered();
//! let schema = dbwarden::models::schema(&models, None, "primary").unwrap();
//! let posts = schema.table("posts").unwrap();
//! assert_eq!(posts.column("title").unwrap().ty, ColumnType::Varchar(255));
//! assert!(posts.column("id").unwrap().auto_increment);
//! assert_eq!(posts.foreign_keys[0].name, "fk_posts_user_id_users");
//! assert_eq!(posts.foreign_keys[0].on_delete, FkAction::Cascade);
//! assert_eq!(schema.table("users").unwrap().uniques[0].name, "uq_users_email");
//! ```
//!
//! # Table attributes (`#[dbwarden(...)]` on the struct)
//!
//! | attribute | meaning |
//! |---|---|
//! | `name = "users"` | the table name; default: the struct name in snake_case (`UserProfile` => `user_profile`) |
//! | `comment = "..."` | the table comment |
//! | `database = "analytics"` | the database it belongs to; default: the project's default database |
//! | `index(name = "ix", columns("a", "b"), unique)` | an index; `name` defaults to `ix_<table>_<a>_<b>` |
//! | `unique(name = "uq", columns("a", "b"))` | a unique constraint; `name` defaults to `uq_<table>_<a>_<b>` |
//! | `check(name = "positive", expr = "price > 0")` | a check constraint named `ck_<table>_<name>` (a name already starting with `ck_<table>_` is kept) |
//! | `primary_key("a", "b")` | a composite primary key (instead of `primary_key` on fields) |
//! | `renamed_from = "old"` | the table's previous name: a rename, keeping the data |
//!
//! # Column attributes (`#[dbwarden(...)]` on a field)
//!
//! | attribute | meaning |
//! |---|---|
//! | `primary_key` | part of the primary key (several fields make a composite key, in field order) |
//! | `unique` / `index` | a one-column unique constraint `uq_<table>_<col>` / index `ix_<table>_<col>` |
//! | `length = 255` | `String` => `VARCHAR(255)` instead of `TEXT` |
//! | `precision = 10`, `scale = 2` | `Decimal` => `DECIMAL(10,2)`; default `(38,10)`; `precision` alone means scale 0 |
//! | `default = "<sql expr>"` | the column default, as SQL: `"0"`, `"'draft'"`, `"CURRENT_TIMESTAMP"` |
//! | `references = "table.column"` | a foreign key `fk_<table>_<col>_<ref table>` |
//! | `on_delete = "cascade"`, `on_update = "..."` | `cascade`, `restrict`, `set null`, `set default`, `no action` |
//! | `column = "name"` | the column name; default: the field name |
//! | `comment = "..."` | the column comment |
//! | `renamed_from = "old"` | the column's previous name: a rename, keeping the data |
//! | `sql_type = "CITEXT"` | the SQL type, verbatim ([`ColumnType::Custom`](crate::schema::ColumnType::Custom)); the field type is then free |
//! | `collation = "utf8mb4_bin"` | a text column's collation, as the database names it (`"C"`, `NOCASE`); without it the column keeps the one it has |
//! | `skip` | not a column |
//!
//! # Types
//!
//! By the last segment of the field's type path (so no feature or dependency of dbwarden is involved):
//! `i16`/`i32`/`i64` => smallint/integer/bigint, `f32`/`f64` => real/double, `bool`, `String` => text or
//! varchar(n), `Vec<u8>` => blob, `NaiveDate`/`Date` => date, `NaiveTime`/`Time` => time,
//! `NaiveDateTime`/`PrimitiveDateTime` => timestamp, `DateTime<_>`/`OffsetDateTime` => timestamptz, `Uuid`,
//! `Decimal` => decimal(p,s), `Value`/`JsonValue`/`Json<T>` => json. `Option<T>` is nullable; every other column is
//! NOT NULL. A single integer primary key column without a foreign key or default numbers itself
//! (`auto_increment`). Any other type needs `sql_type = "..."`.
//!
//! Mistakes one struct can make (an unknown attribute, a type with no mapping, two fields with one column name, a
//! bad `references` or `on_delete`, `length` on a non-`String`, a primary key declared twice, an index naming a
//! missing column, ...) are compile errors at the attribute; what needs all the models (a foreign key to a missing
//! table or column, two tables with one name) is a [`ModelError`] from [`schema()`].

use std::collections::{BTreeMap, BTreeSet};

use dbwarden_core::schema::Expression;

pub use dbwarden_core::schema::{ModelTable, Schema};

/// A table model: implemented by `#[derive(Table)]`.
pub trait Model {
    /// The table this model declares.
    fn model() -> ModelTable;
}

/// A registration made by `#[derive(Table)]`, found by [`registered()`] without being named.
#[doc(hidden)]
pub struct Registration(pub fn() -> ModelTable);

inventory::collect!(Registration);

/// A table registered by `schema_manifest!()`, serialised at compile time from a manifest that parsed.
#[doc(hidden)]
pub fn __from_manifest(json: &str) -> ModelTable {
    serde_json::from_str(json).expect("schema_manifest! wrote this JSON from the same IR version")
}

/// Every model registered by `#[derive(Table)]` (or `schema_manifest!()`) in the linked program, sorted by database (default first), table
/// name and origin. Duplicates are kept: [`schema()`] reports them.
pub fn registered() -> Vec<ModelTable> {
    let mut all: Vec<ModelTable> = inventory::iter::<Registration>.into_iter().map(|r| (r.0)()).collect();
    all.sort_by(|a, b| (&a.database, &a.table.name, &a.origin).cmp(&(&b.database, &b.table.name, &b.origin)));
    all
}

/// What to do about a foreign key to a missing table, in the words of where the model is declared: a manifest
/// (its origin is `file.toml:line`) or a derive (`struct Name (file.rs:line)`).
fn declare_or_fix(origin: &str) -> String {
    if origin.starts_with("struct ") {
        format!("declare that table with #[derive(Table)] or {}", fix_reference(origin))
    } else {
        format!("declare that table in a [[table]] of the manifest, or {}", fix_reference(origin))
    }
}

/// How the reference is written where the model is declared (see [`declare_or_fix`]).
fn fix_reference(origin: &str) -> &'static str {
    if origin.starts_with("struct ") {
        "fix `references = \"table.column\"`"
    } else {
        "fix the column's `foreign_key = \"table.column\"` (or the `references` of a [[table.foreign_key]])"
    }
}

/// A mistake only the whole set of models shows, found by [`schema()`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// Two models declare one table.
    #[error(
        "table `{table}` of database `{database}` is declared twice: by {first} and by {second}; \
         give one of them another `name = \"...\"` (or `database = \"...\"`)"
    )]
    DuplicateTable {
        /// The database.
        database: String,
        /// The table name.
        table: String,
        /// Where the first one is declared.
        first: String,
        /// Where the second one is declared.
        second: String,
    },
    /// A foreign key names a table no model of the database declares.
    #[error(
        "{origin}: foreign key `{name}` references `{reference}`, but no model of database `{database}` declares \
         table `{ref_table}`{hint}; {}",
        declare_or_fix(.origin)
    )]
    MissingTable {
        /// Where the referencing model is declared.
        origin: String,
        /// The database.
        database: String,
        /// The foreign key's name.
        name: String,
        /// The reference as written: `users.id`.
        reference: String,
        /// The missing table.
        ref_table: String,
        /// More about it (` (it is in database `x`: a foreign key cannot cross databases)`), or empty.
        hint: String,
    },
    /// A foreign key names a column its table does not have.
    #[error(
        "{origin}: foreign key `{name}` references `{reference}`, but table `{ref_table}` ({ref_origin}) has no \
         column `{column}` (its columns: {columns}); {}",
        fix_reference(.origin)
    )]
    MissingColumn {
        /// Where the referencing model is declared.
        origin: String,
        /// The foreign key's name.
        name: String,
        /// The reference as written: `users.id`.
        reference: String,
        /// The referenced table.
        ref_table: String,
        /// Where the referenced table is declared.
        ref_origin: String,
        /// The missing column.
        column: String,
        /// The referenced table's columns, comma-separated.
        columns: String,
    },
    /// A foreign key joins columns of different types.
    #[error(
        "{origin}: foreign key `{name}`: column `{column}` is {ty} but `{reference}` is {ref_ty}; make the types \
         the same (MySQL refuses foreign keys between different types, PostgreSQL most of them)"
    )]
    TypeMismatch {
        /// Where the referencing model is declared.
        origin: String,
        /// The foreign key's name.
        name: String,
        /// The referencing column.
        column: String,
        /// Its type.
        ty: String,
        /// The referenced column: `users.id`.
        reference: String,
        /// Its type.
        ref_ty: String,
    },
    /// A foreign key's referenced columns are not the primary key or unique in their table.
    #[error(
        "{origin}: foreign key `{name}` references `{reference}`, which is neither the primary key nor unique in \
         table `{ref_table}` ({ref_origin}); databases require that: reference the primary key, or mark the \
         column `unique`"
    )]
    NotUnique {
        /// Where the referencing model is declared.
        origin: String,
        /// The foreign key's name.
        name: String,
        /// The reference: `users.email`.
        reference: String,
        /// The referenced table.
        ref_table: String,
        /// Where the referenced table is declared.
        ref_origin: String,
    },
    /// A foreign key's column count differs from its referenced column count (a manifest mistake).
    #[error("{origin}: foreign key `{name}` has {columns} column(s) but references {ref_columns}")]
    ColumnCount {
        /// Where the model is declared.
        origin: String,
        /// The foreign key's name.
        name: String,
        /// Its column count.
        columns: usize,
        /// The referenced column count.
        ref_columns: usize,
    },
    /// Two indexes or constraints of one database share a name (PostgreSQL and SQLite name indexes per database,
    /// MySQL foreign keys and checks too).
    #[error(
        "two indexes or constraints of database `{database}` are named `{name}`: in {first} and in {second}; \
         give one of them another `name = \"...\"`"
    )]
    DuplicateName {
        /// The database.
        database: String,
        /// The shared name.
        name: String,
        /// Where the first one is declared.
        first: String,
        /// Where the second one is declared.
        second: String,
    },
    /// A check or default whose SQL leaves a quote or a parenthesis open: the migration would not split.
    #[error(
        "{origin}: {what} `{expr}` leaves a quote or a parenthesis open: close it (a quote inside a string is \
         written twice: 'it''s')"
    )]
    OpenExpression {
        /// Where the model is declared.
        origin: String,
        /// `check `c` of table `t``, or `the default of `t.c``.
        what: String,
        /// The SQL as written.
        expr: String,
    },
    /// A `renamed_from` names a table that a model still declares, or one that two models claim.
    #[error("{origin}: `renamed_from = \"{old}\"` but {other}; remove `renamed_from` or fix the name")]
    RenameConflict {
        /// Where the renamed model is declared.
        origin: String,
        /// The previous name.
        old: String,
        /// What else uses it.
        other: String,
    },
}

/// The tables of one database, checked as a whole and normalised into a [`Schema`].
///
/// `database` is the database to keep (`None`: the default one); a model without `database = "..."` belongs to
/// `default_db`. The errors are what no single struct can see: two tables with one name, a foreign key to a missing
/// table or column (or to columns that are not unique), two indexes or constraints with one name, a `renamed_from`
/// naming a table that still exists. The first error found (in table-name order) is returned.
#[allow(clippy::result_large_err)] // rare, and every field is for the message
pub fn schema(models: &[ModelTable], database: Option<&str>, default_db: &str) -> Result<Schema, ModelError> {
    let target = database.unwrap_or(default_db);
    let db_of = |m: &ModelTable| m.database.as_deref().unwrap_or(default_db).to_string();
    let mut mine: Vec<&ModelTable> = models.iter().filter(|m| db_of(m) == target).collect();
    mine.sort_by(|a, b| (&a.table.name, &a.origin).cmp(&(&b.table.name, &b.origin)));

    let mut by_name: BTreeMap<&str, &ModelTable> = BTreeMap::new();
    for m in &mine {
        if let Some(first) = by_name.insert(&m.table.name, m) {
            return Err(ModelError::DuplicateTable {
                database: target.to_string(),
                table: m.table.name.clone(),
                first: first.origin.clone(),
                second: m.origin.clone(),
            });
        }
    }

    let mut renamed: BTreeMap<&str, &ModelTable> = BTreeMap::new();
    for m in &mine {
        let Some(old) = m.renamed_from.as_deref() else { continue };
        if let Some(other) = by_name.get(old) {
            return Err(ModelError::RenameConflict {
                origin: m.origin.clone(),
                old: old.to_string(),
                other: format!("{} still declares table `{old}`", other.origin),
            });
        }
        if let Some(other) = renamed.insert(old, m) {
            return Err(ModelError::RenameConflict {
                origin: m.origin.clone(),
                old: old.to_string(),
                other: format!("{} is renamed from it too", other.origin),
            });
        }
    }

    let mut names: BTreeMap<&str, &ModelTable> = BTreeMap::new();
    for m in &mine {
        let t = &m.table;
        let mut own: BTreeSet<&str> = BTreeSet::new();
        let all = t.indexes.iter().map(|i| i.name.as_str()).chain(t.uniques.iter().map(|u| u.name.as_str()));
        let all =
            all.chain(t.foreign_keys.iter().map(|f| f.name.as_str())).chain(t.checks.iter().map(|c| c.name.as_str()));
        for name in all {
            let clash = if !own.insert(name) { Some(*m) } else { names.insert(name, m) };
            if let Some(first) = clash {
                return Err(ModelError::DuplicateName {
                    database: target.to_string(),
                    name: name.to_string(),
                    first: first.origin.clone(),
                    second: m.origin.clone(),
                });
            }
        }

        // (Checked here for derived models and manifests alike: the generated file would not read back.)
        if let Some((at, expr)) = t.expressions().find(|(_, expr)| !dbwarden_core::schema::balanced(expr)) {
            let what = match at {
                Expression::Check(c) => format!("check `{}` of table `{}`", c.name, t.name),
                Expression::Default(c) => format!("the default of `{}.{}`", t.name, c.name),
            };
            return Err(ModelError::OpenExpression { origin: m.origin.clone(), what, expr: expr.to_string() });
        }

        for fk in &t.foreign_keys {
            let reference = format!("{}.{}", fk.ref_table, fk.ref_columns.join(", "));
            if fk.columns.len() != fk.ref_columns.len() {
                return Err(ModelError::ColumnCount {
                    origin: m.origin.clone(),
                    name: fk.name.clone(),
                    columns: fk.columns.len(),
                    ref_columns: fk.ref_columns.len(),
                });
            }
            let Some(target_model) = by_name.get(fk.ref_table.as_str()) else {
                let elsewhere: Vec<String> =
                    models.iter().filter(|o| o.table.name == fk.ref_table && db_of(o) != target).map(db_of).collect();
                let hint = match elsewhere.first() {
                    // (A caller that does not know the default database's name passes one no database has.)
                    Some(db) if db.chars().all(char::is_control) => {
                        " (it is in the default database: a foreign key cannot cross databases)".to_string()
                    }
                    Some(db) => format!(" (it is in database `{db}`: a foreign key cannot cross databases)"),
                    None => String::new(),
                };
                return Err(ModelError::MissingTable {
                    origin: m.origin.clone(),
                    database: target.to_string(),
                    name: fk.name.clone(),
                    reference,
                    ref_table: fk.ref_table.clone(),
                    hint,
                });
            };
            let rt = &target_model.table;
            for column in &fk.ref_columns {
                if rt.column(column).is_none() {
                    let columns: Vec<&str> = rt.columns.iter().map(|c| c.name.as_str()).collect();
                    return Err(ModelError::MissingColumn {
                        origin: m.origin.clone(),
                        name: fk.name.clone(),
                        reference,
                        ref_table: fk.ref_table.clone(),
                        ref_origin: target_model.origin.clone(),
                        column: column.clone(),
                        columns: columns.join(", "),
                    });
                }
            }
            for (column, ref_column) in fk.columns.iter().zip(&fk.ref_columns) {
                let (Some(own), Some(referenced)) = (t.column(column), rt.column(ref_column)) else { continue };
                if !own.ty.joins_by_foreign_key(&referenced.ty) {
                    return Err(ModelError::TypeMismatch {
                        origin: m.origin.clone(),
                        name: fk.name.clone(),
                        column: column.clone(),
                        ty: own.ty.to_string(),
                        reference: format!("{}.{ref_column}", fk.ref_table),
                        ref_ty: referenced.ty.to_string(),
                    });
                }
            }
            let wanted: BTreeSet<&str> = fk.ref_columns.iter().map(String::as_str).collect();
            let keyed = rt.primary_key.as_ref().is_some_and(|pk| col_set(&pk.columns) == wanted)
                || rt.uniques.iter().any(|u| col_set(&u.columns) == wanted)
                || rt.indexes.iter().any(|i| i.unique && col_set(&i.columns) == wanted);
            if !keyed {
                return Err(ModelError::NotUnique {
                    origin: m.origin.clone(),
                    name: fk.name.clone(),
                    reference,
                    ref_table: fk.ref_table.clone(),
                    ref_origin: target_model.origin.clone(),
                });
            }
        }
    }

    let mut schema = Schema { tables: mine.iter().map(|m| m.table.clone()).collect() };
    schema.normalize();
    Ok(schema)
}

fn col_set(cols: &[String]) -> BTreeSet<&str> {
    cols.iter().map(String::as_str).collect()
}

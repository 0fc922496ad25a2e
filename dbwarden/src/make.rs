//! `make-migrations` and its read-only siblings (`diff`, `check-db`): the models of one database, its baseline (the
//! live database when it is reachable and fully migrated, else the committed [`Snapshot`]), and the next migration
//! file.
//!
//! The models are every `#[derive(Table)]` linked into the running binary plus the schema manifest
//! (`dbwarden.schema.toml`) when there is one, so the standalone `dbwarden` binary works from a manifest alone.

use std::path::{Path, PathBuf};

use dbwarden_core::diff::{Change, Renames, Safety};
use dbwarden_core::manifest::ManifestError;
use dbwarden_core::schema::{ForeignKey, Index, ModelTable, PrimaryKey, Schema, Table, TableOption};
use dbwarden_core::Dialect;
use serde::Serialize;

use crate::backend::ConnectSpec;
use crate::config::DatabaseConfig;
use crate::generate::{compare, Compared, Generated, STEPS_STAMP};
use crate::migrator::EntryState;
use crate::models::ModelError;
use crate::render::{Dependent, Options};
use crate::snapshot::{Snapshot, SnapshotError};
use crate::Error;

/// The manifest file read when it exists and no other is named.
pub const MANIFEST_FILE: &str = "dbwarden.schema.toml";

/// Why models could not be turned into a migration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MakeError {
    /// The models are inconsistent.
    #[error(transparent)]
    Models(#[from] ModelError),
    /// The schema manifest is wrong.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The snapshot cannot be used.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    /// Reading the migrations or the database failed.
    #[error(transparent)]
    Runtime(#[from] Error),
    /// No models at all.
    #[error(
        "no models for database `{database}`: this program links no #[derive(dbwarden::Table)] for it, and {manifest}"
    )]
    NoModels {
        /// The database.
        database: String,
        /// What the manifest said: "dbwarden.schema.toml declares none" or "there is no dbwarden.schema.toml".
        manifest: String,
    },
    /// A `--rename` that names no table or column.
    #[error("{0}")]
    Rename(String),
    /// The manifest named with `--schema` does not exist.
    #[error("{}: no such schema manifest", .path.display())]
    NoManifest {
        /// The path given.
        path: PathBuf,
    },
    /// Neither the database nor the snapshot can say what the migrations produce.
    #[error("{database}: {reason}")]
    NoBaseline {
        /// The database.
        database: String,
        /// Why.
        reason: String,
    },
    /// A rename onto a name that exists already.
    #[error(transparent)]
    RenameOnto(#[from] dbwarden_core::diff::RenameOntoExisting),
    /// A key the dialect can only build over a prefix of a column, which the models cannot say.
    #[error(
        "table `{table}`: {key} includes column `{column}` of type {ty}, which {dialect} keys only by a prefix \
         length (`{column}(255)`); dbwarden does not write those, and the server would refuse the migration"
    )]
    KeyNeedsLength {
        /// The table.
        table: String,
        /// The key: "the primary key", "index `ix`", "foreign key `fk`".
        key: String,
        /// The column.
        column: String,
        /// Its type.
        ty: String,
        /// The database type.
        dialect: Dialect,
    },
    /// A column type a SQLite `STRICT` table refuses, in a table the migration builds.
    #[error(
        "table `{table}` is STRICT, which takes only {} columns, and the models make column `{column}` {ty}: \
         SQLite would refuse the migration",
        crate::types::sqlite::STRICT_TYPES.join(", ")
    )]
    StrictType {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// The type as SQLite would be given it.
        ty: String,
    },
    /// A foreign key between columns the models give two collations, which the dialect refuses.
    #[error(
        "table `{table}`: foreign key `{key}` joins column `{column}` ({collation}) to `{ref_table}`.`{ref_column}` \
         ({ref_collation}), and {dialect} refuses a key between two collations"
    )]
    KeyCollations {
        /// The table of the key.
        table: String,
        /// The key.
        key: String,
        /// Its column.
        column: String,
        /// That column's collation.
        collation: String,
        /// The referenced table.
        ref_table: String,
        /// The referenced column.
        ref_column: String,
        /// The referenced column's collation.
        ref_collation: String,
        /// The database type.
        dialect: Dialect,
    },
    /// A `VARCHAR` longer than the dialect takes.
    #[error("table `{table}`, column `{column}`: VARCHAR({length}) is longer than {dialect} takes (at most {max})")]
    VarcharTooLong {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// Its length.
        length: u32,
        /// The dialect's limit.
        max: u32,
        /// The database type.
        dialect: Dialect,
    },
    /// A model (or the table it is renamed from) outside the `tables` the config lets dbwarden read.
    #[error("database `{database}`: table `{table}` is in the models but not in its `tables` list in the config")]
    OutsideTables {
        /// The database.
        database: String,
        /// The table.
        table: String,
    },
    /// A check or default the dialect's lexer cannot read (a quote left open as this dialect reads strings): the
    /// migration would not read back.
    #[error("table `{table}`: {what} `{expr}` does not read as {dialect} SQL ({message})")]
    UnreadableExpression {
        /// The table.
        table: String,
        /// `check `c`` or `the default of column `c``.
        what: String,
        /// The SQL as written.
        expr: String,
        /// The dialect.
        dialect: Dialect,
        /// The lexer's error.
        message: String,
    },
    /// The migration generated does not read back as a migration file (a defect of dbwarden's): nothing written.
    #[error("the migration generated does not read back: {message}; nothing was written")]
    Unreadable {
        /// The reader's error.
        message: String,
    },
    /// A check the dialect refuses because it names a column the server changes by itself.
    #[error("table `{table}`: check `{check}` names column `{column}`, {why}, and {dialect} refuses such a check")]
    CheckOnChangingColumn {
        /// The table.
        table: String,
        /// The check.
        check: String,
        /// The column it names.
        column: String,
        /// What the column is: "an auto-increment column", "in foreign key `fk` with ON DELETE SET NULL".
        why: String,
        /// The database type.
        dialect: Dialect,
    },
    /// A SQLite table rebuilt in a migration that also renames it or one of its columns, while it has triggers or
    /// indexes outside the schema model: SQLite rewrites their text on the rename, so the text read now cannot be
    /// created again after it.
    #[error(
        "table `{table}` is rebuilt by this migration, which also renames it or one of its columns, and has {kind} \
         `{name}`, which the rebuild must create again from its text, and SQLite rewrites that text on a rename"
    )]
    RebuildAfterRename {
        /// The table.
        table: String,
        /// "trigger" or "index".
        kind: &'static str,
        /// Its name.
        name: String,
    },
    /// A SQLite table the migration rebuilds has something the schema model does not hold, which the rebuild
    /// would lose.
    #[error("table `{table}` has {what}, which dbwarden does not model and this migration's rebuild of it would lose")]
    RebuildLoses {
        /// The table.
        table: String,
        /// What it has ("generated columns", "an ON CONFLICT clause").
        what: &'static str,
    },
    /// A column the migration drops that a trigger or an index outside the schema model uses.
    #[error("table `{table}`: column `{column}` is dropped, but {kind} `{name}` uses it")]
    DroppedColumnInUse {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// "trigger" or "index".
        kind: &'static str,
        /// Its name.
        name: String,
    },
    /// A collation the models name that the server does not have.
    #[error("table `{table}`, column `{column}`: the database has no collation {collation}")]
    UnknownCollation {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// The collation, as the database would name it.
        collation: String,
        /// Collations the database has by a similar name.
        like: Vec<String>,
    },
    /// Writing the migration file failed.
    #[error("{path}: {message}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

impl MakeError {
    /// What to do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            MakeError::NoModels { .. } => Some(
                "run make-migrations from the binary that links your models (`cargo run --example generate`, or a \
                 binary whose main calls dbwarden::cli::main()), or declare the tables in dbwarden.schema.toml"
                    .into(),
            ),
            MakeError::Rename(_) => Some(
                "write --rename old_table:new_table or table.old_column:new_column, with the names as they are in the \
                 database and in the models"
                    .into(),
            ),
            MakeError::NoManifest { .. } => {
                Some(format!("check the path given to --schema (without it, {MANIFEST_FILE} is read when it exists)"))
            }
            MakeError::NoBaseline { reason, .. } if reason.contains("edited, missing or part-way") => Some(
                "`dbwarden status` names them: restore edited files (or accept the edit with `dbwarden repair`), \
                 restore missing ones, finish part-way ones with migrate or rollback; then make-migrations again"
                    .into(),
            ),
            MakeError::NoBaseline { .. } => Some(
                "start the database and run `dbwarden migrate`, then make-migrations again (it rewrites the snapshot)"
                    .into(),
            ),
            MakeError::RenameOnto(e) => Some(format!(
                "drop (or rename) the existing `{}` in a migration of its own first, then rename; a swap or a chain \
                 of renames takes one migration per step, or a temporary name",
                e.to
            )),
            MakeError::KeyNeedsLength { .. } => Some(
                "give the column a length, so that it is a VARCHAR(N) (`length = N` on a String field, \
                 `type = \"String(N)\"` in the manifest), or leave it out of the key"
                    .into(),
            ),
            MakeError::StrictType { .. } => Some(
                "declare the column with a type that is one of those (`i32`, `String` without a length, `f32`, \
                 `Vec<u8>` in a struct; `Integer`, `Text`, `Float`, `LargeBinary` in the manifest), or rebuild the \
                 table without STRICT by hand before generating"
                    .into(),
            ),
            MakeError::UnknownCollation { like, .. } if !like.is_empty() => {
                Some(format!("name one it has, such as {}", like.join(", ")))
            }
            MakeError::UnknownCollation { .. } => {
                Some("name one it has (PostgreSQL: SELECT collname FROM pg_collation; MySQL: SHOW COLLATION)".into())
            }
            MakeError::DroppedColumnInUse { kind, name, .. } => Some(format!(
                "the schema model does not hold {kind} `{name}`: drop or change it first (a hand-written migration, \
                 `dbwarden new`), or keep the column"
            )),
            MakeError::RebuildLoses { what, .. } => Some(if what.contains("generated") {
                "drop the VIRTUAL generated columns in a hand-written migration (`dbwarden new`) first and add them \
                 again after this one; a STORED one cannot be added to a table with rows: make this change by hand"
                    .into()
            } else {
                "make this change by hand (`dbwarden new`): create the new table with the clause, copy the rows, drop \
                 the old one and rename the new one"
                    .into()
            }),
            MakeError::RebuildAfterRename { .. } => Some(
                "make the rename a migration of its own: declare only the rename (renamed_from or --rename), run \
                 make-migrations and migrate, then make the other changes"
                    .into(),
            ),
            MakeError::KeyCollations { .. } => Some("give both columns the same `collation` (or neither one)".into()),
            MakeError::VarcharTooLong { .. } => Some(
                "declare it as text without a length (`String` with no `length`, `type = \"Text\"`): a MySQL row holds \
                 at most 65,535 bytes of VARCHARs, fewer characters in utf8mb4"
                    .into(),
            ),
            MakeError::OutsideTables { table, .. } => Some(format!(
                "add `{table}` to `tables` in dbwarden.toml (dbwarden reads only those tables of the database), or \
                 give its model another `database`"
            )),
            MakeError::UnreadableExpression { .. } => Some(
                "close the quote or the parenthesis; on PostgreSQL and SQLite a backslash does not escape a quote, \
                 write it twice ('it''s')"
                    .into(),
            ),
            MakeError::Unreadable { .. } => Some(
                "this is a defect of dbwarden: please report it with the model change, and write this migration by \
                 hand (`dbwarden new`) meanwhile"
                    .into(),
            ),
            MakeError::CheckOnChangingColumn { .. } => Some(
                "drop the check (or keep its rule in the application), or give the key NO ACTION or RESTRICT".into(),
            ),
            MakeError::Runtime(e) => e.hint(),
            MakeError::Snapshot(_) => Some(format!(
                "{} is written by make-migrations; delete it and run make-migrations with the database reachable",
                crate::snapshot::FILE_NAME
            )),
            _ => None,
        }
    }
}

/// Every model the program sees: the linked `#[derive(Table)]` structs and, when `manifest` exists, its tables
/// (unless `schema_manifest!()` compiled that same file in already).
pub fn model_tables(manifest: Option<&Path>) -> Result<Vec<ModelTable>, MakeError> {
    let mut tables = crate::models::registered();
    if let Some(path) = manifest.filter(|p| p.exists()) {
        let prefix = format!("{}:", path.display());
        if !tables.iter().any(|t| t.origin.starts_with(&prefix)) {
            tables.extend(dbwarden_core::manifest::load(path)?);
        }
    }
    Ok(tables)
}

/// The schema and renames the models declare for `db`, reading `manifest` (default: [`MANIFEST_FILE`]) beside the
/// linked derives; with `required`, no model at all is an error.
fn declared(db: &DatabaseConfig, manifest: Option<&Path>, required: bool) -> Result<(Schema, Renames), MakeError> {
    if let Some(path) = manifest.filter(|p| !p.exists()) {
        return Err(MakeError::NoManifest { path: path.to_path_buf() });
    }
    let manifest = manifest.map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from(MANIFEST_FILE));
    let (target, renames) = model_schema(&model_tables(Some(&manifest))?, db)?;
    if required && target.tables.is_empty() {
        let manifest = if manifest.exists() {
            format!("{} declares none", manifest.display())
        } else {
            format!("there is no {}", manifest.display())
        };
        return Err(MakeError::NoModels { database: db.name.clone(), manifest });
    }
    Ok((target, renames))
}

/// The schema the models declare for `db`, and the renames they ask for (`renamed_from`).
pub fn model_schema(models: &[ModelTable], db: &DatabaseConfig) -> Result<(Schema, Renames), MakeError> {
    // Models without `database = "..."` belong to the default database; for another one, a name no database can
    // have (config names are [a-zA-Z][a-zA-Z0-9_]*) keeps them out.
    let default_db = if db.default { db.name.as_str() } else { "\u{0}" };
    let schema = crate::models::schema(models, Some(&db.name), default_db)?;
    let mine: Vec<ModelTable> =
        models.iter().filter(|m| m.database.as_deref().unwrap_or(default_db) == db.name).cloned().collect();
    let renames = Renames::from_models(&mine);
    if !db.tables.is_empty() {
        // `tables` limits what is read of the database: a model outside it (or renamed from a table outside it)
        // would be compared with nothing, and written as a new table or not at all.
        let outside = schema.tables.iter().map(|t| &t.name).chain(renames.tables.iter().map(|(from, _)| from));
        if let Some(table) = outside.into_iter().find(|name| !db.tables.contains(name)) {
            return Err(MakeError::OutsideTables { database: db.name.clone(), table: table.clone() });
        }
    }
    Ok((schema, renames))
}

/// Reads the live schema of `db` (read-only), leaving out dbwarden's own tables and, when the config lists
/// `tables`, every other table.
pub async fn live_schema(db: &DatabaseConfig) -> Result<Schema, Error> {
    Ok(live(db, false).await?.0)
}

/// The live schema and, with `extras`, what a table rebuild must create again and the collations the server has.
async fn live(db: &DatabaseConfig, extras: bool) -> Result<(Schema, Extras), Error> {
    let mut backend = crate::backend::connect(&ConnectSpec { url: db.url.clone(), create: false })
        .await
        .map_err(|source| Error::Db { context: format!("connecting to {}", crate::url::mask(&db.url)), source })?;
    let only = (!db.tables.is_empty()).then_some(db.tables.as_slice());
    let read = async {
        let mut schema = crate::introspect::introspect(backend.as_mut(), only).await?;
        schema.tables.retain(|t| t.name != db.migration_table);
        let mut read = Extras::default();
        if extras {
            read.dependents = crate::introspect::dependents(backend.as_mut()).await?;
            read.collations = crate::introspect::collations(backend.as_mut()).await?;
            read.unkept = crate::introspect::unkept(backend.as_mut()).await?;
        }
        Ok((schema, read))
    };
    let read = read.await.map_err(|source| Error::Db { context: "reading the schema".into(), source });
    backend.close().await;
    read
}

/// What is read from the live database besides its schema, for a migration to be generated against it.
#[derive(Debug, Clone, Default)]
pub struct Extras {
    /// The triggers and unmodelled indexes a SQLite table rebuild creates again.
    pub dependents: Vec<Dependent>,
    /// The collations the server has (not on SQLite), to check the models' against.
    pub collations: Option<Vec<String>>,
    /// What tables have that a SQLite rebuild would lose (generated columns, `ON CONFLICT` clauses).
    pub unkept: Vec<crate::introspect::Unkept>,
}

/// Where a baseline came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BaselineOrigin {
    /// The live database, fully migrated.
    Live,
    /// The committed snapshot.
    Snapshot,
    /// No migrations yet and no database: the empty schema.
    Empty,
}

impl std::fmt::Display for BaselineOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BaselineOrigin::Live => "the live database",
            BaselineOrigin::Snapshot => "the snapshot",
            BaselineOrigin::Empty => "an empty schema (no migrations yet)",
        })
    }
}

/// The schema the existing migration files produce, and where it was read.
#[derive(Debug, Clone)]
pub struct Baseline {
    /// The schema.
    pub schema: Schema,
    /// Where it came from.
    pub origin: BaselineOrigin,
    /// Why the live database was not used, when it was not.
    pub note: Option<String>,
    /// What the live database tells besides the schema (empty unless live).
    pub live: Extras,
}

/// The versioned migration files of `db`'s folder: the newest one and a digest of them all.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Files {
    newest: Option<(u64, String)>,
    digest: String,
}

fn files(db: &DatabaseConfig) -> Result<Files, Error> {
    let found = dbwarden_core::file::read_dir(&db.migrations_dir)?;
    let resolved = dbwarden_core::file::resolve_files(found, Some(&db.name))?;
    let versioned: Vec<_> = resolved.iter().filter(|f| f.name.version.is_some()).collect();
    let listing: String = versioned.iter().map(|f| format!("{}:{}\n", f.filename, f.checksum)).collect();
    Ok(Files {
        newest: versioned.iter().filter_map(|f| f.name.version.map(|v| (v.0, f.filename.clone()))).max(),
        digest: dbwarden_core::checksum::section_checksum(&listing),
    })
}

/// The version of a new migration: the one after `newest` (the newest file's version and name), or the first.
pub(crate) fn next_version(newest: Option<(u64, &str)>) -> Result<dbwarden_core::file::Version, Error> {
    use dbwarden_core::file::Version;
    match newest {
        None => Ok(Version(1)),
        Some((v, file)) => Version(v).next().ok_or_else(|| Error::NoVersionAfter { newest: file.to_string() }),
    }
}

/// The snapshot of the current files and `schema`, which is canonical already (as [`compare`] returns it).
fn snapshot_of(db: &DatabaseConfig, schema: &Schema) -> Result<Snapshot, Error> {
    let now = files(db)?;
    let mut snapshot = Snapshot::new(db.dialect, now.newest.map(|(_, f)| f), schema.clone());
    snapshot.files = Some(now.digest);
    Ok(snapshot)
}

/// The baseline of `db`: the live database when reachable (unless `offline`) with every migration file applied;
/// otherwise the snapshot, which must cover exactly the migration files there are; with no files and no snapshot,
/// empty.
pub async fn baseline(db: &DatabaseConfig, offline: bool) -> Result<Baseline, MakeError> {
    baseline_because(db, offline, "offline mode was asked for").await
}

/// [`baseline`], saying why the live database is not used when `offline`.
async fn baseline_because(db: &DatabaseConfig, offline: bool, why_offline: &str) -> Result<Baseline, MakeError> {
    let now = files(db)?;
    let mut note = None;
    if !offline {
        match db.migrator_or_empty().status(&ConnectSpec { url: db.url.clone(), create: false }).await {
            Ok(status) if status.pending == 0 && !status.has_problems() => {
                let (schema, live) = live(db, true).await?;
                return Ok(Baseline { schema, origin: BaselineOrigin::Live, note: None, live });
            }
            Ok(status) if status.has_problems() => {
                return Err(MakeError::NoBaseline {
                    database: db.name.clone(),
                    reason: "the database has edited, missing or part-way migrations (see `dbwarden status`)".into(),
                })
            }
            Ok(status) => note = Some(format!("{} migration(s) not applied to the database", status.pending)),
            Err(e) => note = Some(format!("database not reachable: {e}")),
        }
    }
    let why_not_live = note.clone().unwrap_or_else(|| why_offline.into());
    let refuse = |reason: String| MakeError::NoBaseline { database: db.name.clone(), reason };
    match Snapshot::load(&db.migrations_dir)? {
        Some(snapshot) => {
            if snapshot.dialect != db.dialect {
                return Err(refuse(format!(
                    "the snapshot was written for {} but the database is {}",
                    snapshot.dialect, db.dialect
                )));
            }
            let covered = snapshot.covers.as_deref();
            let newest = now.newest.as_ref().map(|(_, f)| f.as_str());
            if covered != newest {
                return Err(refuse(match newest {
                    Some(file) => format!(
                        "{file} was not written by make-migrations (the snapshot covers {}) and {why_not_live}",
                        covered.unwrap_or("no file")
                    ),
                    None => format!(
                        "the snapshot covers {} but there are no migration files any more, and {why_not_live}",
                        covered.unwrap_or("no file")
                    ),
                }));
            }
            if snapshot.files.as_ref().is_some_and(|d| d != &now.digest) {
                return Err(refuse(format!(
                    "migration files were edited, added or removed since the snapshot was written, and {why_not_live}"
                )));
            }
            Ok(Baseline { schema: snapshot.schema, origin: BaselineOrigin::Snapshot, note, live: Extras::default() })
        }
        None if now.newest.is_none() => {
            Ok(Baseline { schema: Schema::default(), origin: BaselineOrigin::Empty, note, live: Extras::default() })
        }
        None => Err(refuse(format!(
            "there is no {} in {} and {why_not_live}",
            crate::snapshot::FILE_NAME,
            db.migrations_dir.display()
        ))),
    }
}

/// What `make-migrations` asks for.
#[derive(Debug, Clone, Default)]
pub struct MakeOptions {
    /// The description (the file's slug); derived from the changes when empty.
    pub description: String,
    /// Print only: write no file.
    pub print_only: bool,
    /// Renames given on the command line, on top of the models' `renamed_from`.
    pub renames: Renames,
    /// Use the snapshot even when the database is reachable.
    pub offline: bool,
    /// The manifest to read (default: `dbwarden.schema.toml` when it exists).
    pub manifest: Option<PathBuf>,
}

/// One step of a generated migration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedStep {
    /// SAFE, INFO, WARN or CRITICAL.
    pub safety: Safety,
    /// What it does.
    pub step: String,
}

/// What `make-migrations` did.
#[derive(Debug, Clone, Serialize)]
pub struct MakeReport {
    /// The database.
    pub database: String,
    /// Where the baseline came from.
    pub baseline: BaselineOrigin,
    /// Why the live database was not the baseline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The file written (or that would be written with `print_only`); none when nothing changed.
    pub path: Option<PathBuf>,
    /// Whether the file was written.
    pub written: bool,
    /// The steps.
    pub steps: Vec<PlannedStep>,
    /// The highest safety level.
    pub safety: Option<Safety>,
    /// The file text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The snapshot written, if it changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<PathBuf>,
}

/// The steps of a change list on `dialect`, for reports (see [`crate::generate::rated`]).
pub fn steps(dialect: Dialect, changes: &[Change]) -> Vec<PlannedStep> {
    crate::generate::rated(dialect, changes).into_iter().map(|(safety, step)| PlannedStep { safety, step }).collect()
}

/// A description from the changes when none is given: `create_table_users`, or the first step `_and_more`.
fn describe(changes: &[Change]) -> String {
    let first = changes.first().map(Change::describe).unwrap_or_default();
    let first: String = first.split(" (").next().unwrap_or_default().to_string();
    if changes.len() > 1 {
        format!("{first} and more")
    } else {
        first
    }
}

/// A `--rename` must name a table (or column) of the baseline and one of the models: a typo would otherwise be
/// ignored and the change written as a drop and a create.
fn unmatched_rename(
    dialect: Dialect,
    renames: &Renames,
    all: &Renames,
    old: &Schema,
    new: &Schema,
) -> Result<(), MakeError> {
    let fail = |what: String| Err(MakeError::Rename(what));
    // Names match as the database matches them (`Users` is `users` on SQLite), as `compare` will.
    let (tables, columns) = crate::backend::dialect::of(dialect).name_folding();
    let old_table = |name: &str| old.tables.iter().find(|t| t.name == name || tables.same(&t.name, name));
    for (from, to) in &renames.tables {
        if old_table(from).is_none() {
            return fail(format!(
                "--rename {from}:{to}: the current schema (database or snapshot) has no table `{from}`"
            ));
        }
        if new.table(to).is_none() {
            return fail(format!("--rename {from}:{to}: the models declare no table `{to}`"));
        }
        // (Unless another rename gives that name to a table: a swap or a chain, refused later with its own error.)
        let taken_over = all.tables.iter().any(|(f, t)| t == from && f != from);
        if from != to && new.table(from).is_some() && !taken_over {
            return fail(format!(
                "--rename {from}:{to}: the models still declare table `{from}`, so it is not renamed; remove it from \
                 the models, or leave out the --rename"
            ));
        }
    }
    // Two renames onto one name (a model's `renamed_from` and a --rename, or two --renames).
    for (i, (from, to)) in all.tables.iter().enumerate() {
        if let Some((other, _)) = all.tables[i + 1..].iter().find(|(f, t)| t == to && f != from) {
            return fail(format!("table `{to}` is the new name of both `{from}` and `{other}`: keep one rename"));
        }
    }
    for (i, (table, from, to)) in all.columns.iter().enumerate() {
        if let Some((_, other, _)) = all.columns[i + 1..].iter().find(|(t, f, c)| t == table && c == to && f != from) {
            return fail(format!(
                "column `{table}.{to}` is the new name of both `{from}` and `{other}`: keep one rename"
            ));
        }
    }
    for (table, from, to) in &renames.columns {
        // The table's old name, renamed by a model's `renamed_from` or by another --rename.
        let before = all.tables.iter().find(|(_, t)| t == table).map_or(table.as_str(), |(f, _)| f.as_str());
        let has = |t: &Table| t.columns.iter().any(|c| c.name == *from || columns.same(&c.name, from));
        if !old_table(before).is_some_and(has) {
            return fail(format!("--rename {table}.{from}:{to}: the current schema (database or snapshot) has no column `{before}.{from}`"));
        }
        if new.table(table).and_then(|t| t.column(to)).is_none() {
            return fail(format!("--rename {table}.{from}:{to}: the models declare no column `{table}.{to}`"));
        }
        let taken_over = all.columns.iter().any(|(t, f, c)| t == table && c == from && f != from);
        if from != to && new.table(table).and_then(|t| t.column(from)).is_some() && !taken_over {
            return fail(format!(
                "--rename {table}.{from}:{to}: the models still declare column `{table}.{from}`, so it is not \
                 renamed; remove it from the models, or leave out the --rename"
            ));
        }
    }
    Ok(())
}

/// The renames are those `compare` found the changes with (the given ones, spelled as the database names them).
fn refuse_rename_onto_existing(dialect: Dialect, compared: &Compared) -> Result<(), MakeError> {
    let folding = crate::backend::dialect::of(dialect).name_folding();
    dbwarden_core::diff::rename_onto_existing_folded(&compared.old, &compared.new, &compared.renames, folding)
        .map_or(Ok(()), |e| Err(e.into()))
}

/// The keys MariaDB cannot build over a column that needs a prefix length, named for messages: a primary key, a
/// foreign key, and a non-unique index of several columns (a lone column in a plain or unique index is keyed all
/// the same: by a prefix it picks, by a hash).
fn pk_key(pk: &PrimaryKey) -> (String, &[String]) {
    ("the primary key".to_string(), pk.columns.as_slice())
}

fn fk_key(fk: &ForeignKey) -> (String, &[String]) {
    (format!("foreign key `{}`", fk.name), fk.columns.as_slice())
}

fn index_key(index: &Index) -> Option<(String, &[String])> {
    (!index.unique && index.columns.len() > 1).then(|| (format!("index `{}`", index.name), index.columns.as_slice()))
}

/// Those keys of `t` (see [`pk_key`]).
fn prefix_bound_keys(t: &Table) -> Vec<(String, &[String])> {
    let pk = t.primary_key.iter().map(pk_key);
    pk.chain(t.indexes.iter().filter_map(index_key)).chain(t.foreign_keys.iter().map(fk_key)).collect()
}

/// The first key the migration builds that `dialect` cannot build from the models (see
/// [`TypeMap::key_needs_length`]): one a created table has, one added, or one over a column retyped into such a
/// type. Keys left as they are (one made by hand with a prefix length reads back as the plain column) pass.
///
/// [`TypeMap::key_needs_length`]: crate::types::TypeMap::key_needs_length
fn check_keys(dialect: Dialect, compared: &Compared) -> Result<(), MakeError> {
    let types = crate::types::of(dialect);
    let new = &compared.new;
    // (table, key, its columns, the only column to look at)
    let mut built: Vec<(&str, String, &[String], Option<&str>)> = Vec::new();
    for change in &compared.changes {
        match change {
            Change::CreateTable { table } => {
                let t = new.table(&table.name).unwrap_or(table);
                built.extend(prefix_bound_keys(t).into_iter().map(|(k, c)| (t.name.as_str(), k, c, None)));
            }
            Change::AddPrimaryKey { table, key } => {
                let (k, c) = pk_key(key);
                built.push((table, k, c, None));
            }
            Change::AddIndex { table, index } => {
                built.extend(index_key(index).map(|(k, c)| (table.as_str(), k, c, None)));
            }
            Change::AddForeignKey { table, key } => {
                let (k, c) = fk_key(key);
                built.push((table, k, c, None));
            }
            Change::AlterColumn { table, from, to }
                if types.key_needs_length(&to.ty) && !types.key_needs_length(&from.ty) =>
            {
                if let Some(t) = new.table(table) {
                    let keys = prefix_bound_keys(t).into_iter().filter(|(_, c)| c.contains(&to.name));
                    built.extend(keys.map(|(k, c)| (table.as_str(), k, c, Some(to.name.as_str()))));
                }
            }
            _ => {}
        }
    }
    for (table, key, columns, only) in built {
        let Some(t) = new.table(table) else { continue };
        let looked_at = columns.iter().filter(|c| only.is_none_or(|o| o == c.as_str()));
        if let Some(c) = looked_at.filter_map(|c| t.column(c)).find(|c| types.key_needs_length(&c.ty)) {
            return Err(MakeError::KeyNeedsLength {
                table: table.to_string(),
                key,
                column: c.name.clone(),
                ty: c.ty.to_string(),
                dialect,
            });
        }
    }
    Ok(())
}

/// The first column the migration creates or changes with a `VARCHAR` longer than `dialect` takes at all (MariaDB
/// refused it after the statements before it had committed).
fn check_varchar_lengths(dialect: Dialect, compared: &Compared) -> Result<(), MakeError> {
    use dbwarden_core::schema::ColumnType;
    let Some(max) = crate::types::of(dialect).max_varchar() else { return Ok(()) };
    // The column's length, when it is too long.
    let too_long = |c: &dbwarden_core::schema::Column| match c.ty {
        ColumnType::Varchar(n) if n > max => Some(n),
        _ => None,
    };
    for change in &compared.changes {
        let found = match change {
            Change::CreateTable { table } => {
                table.columns.iter().find_map(|c| too_long(c).map(|n| (&table.name, c, n)))
            }
            Change::AddColumn { table, column, .. } | Change::AlterColumn { table, to: column, .. } => {
                too_long(column).map(|n| (table, column, n))
            }
            _ => None,
        };
        if let Some((table, column, length)) = found {
            return Err(MakeError::VarcharTooLong {
                table: table.clone(),
                column: column.name.clone(),
                length,
                max,
                dialect,
            });
        }
    }
    Ok(())
}

/// The first column of a SQLite `STRICT` table of the models whose type such a table refuses, when the migration
/// changes anything. (A table the migration leaves alone has the types the database has, which fit.)
fn check_strict(dialect: Dialect, compared: &Compared) -> Result<(), MakeError> {
    if compared.changes.is_empty() {
        return Ok(());
    }
    let types = crate::types::of(dialect);
    for t in compared.new.tables.iter().filter(|t| t.options.contains(&TableOption::Strict)) {
        if let Some(c) = t.columns.iter().find(|c| !types.fits_strict_table(&c.ty, c.auto_increment)) {
            return Err(MakeError::StrictType {
                table: t.name.clone(),
                column: c.name.clone(),
                ty: types.render(&c.ty, c.auto_increment),
            });
        }
    }
    Ok(())
}

/// The first collation of the models the live database does not have (`known`: its collations, when the baseline
/// is live and the dialect lists them), which the migration would meet after its earlier statements had run (on
/// MySQL, committed).
fn check_collations_known(compared: &Compared, known: Option<&[String]>) -> Result<(), MakeError> {
    let Some(known) = known else { return Ok(()) };
    for t in &compared.new.tables {
        for c in &t.columns {
            let Some(collation) = &c.collation else { continue };
            if known.iter().any(|k| k == collation) {
                continue;
            }
            // Similar: the nearest few by edit distance, case and quotes aside.
            let bare = |name: &str| name.replace('"', "").to_ascii_lowercase();
            let wanted = bare(collation);
            let mut near: Vec<(usize, &String)> = known
                .iter()
                .map(|k| (edit_distance(&wanted, &bare(k)), k))
                .filter(|(d, _)| *d <= (wanted.len() / 3).max(2))
                .collect();
            near.sort();
            let like = near.into_iter().take(3).map(|(_, k)| k.clone()).collect();
            return Err(MakeError::UnknownCollation {
                table: t.name.clone(),
                column: c.name.clone(),
                collation: collation.clone(),
                like,
            });
        }
    }
    Ok(())
}

/// A SQLite rebuild of a table with dependents (its triggers, indexes outside the model) in a migration that also
/// renames: its guard would refuse it on every database, the generating one included (see
/// [`MakeError::RebuildAfterRename`]). Only SQLite has dependents.
fn check_rebuild_after_rename(compared: &Compared, dependents: &[Dependent]) -> Result<(), MakeError> {
    if dependents.is_empty() {
        return Ok(());
    }
    for table in crate::render::sqlite::rebuilt_tables(&compared.changes, &compared.old) {
        // The name it had when the dependents were read.
        let before = name_before_renames(compared, &table);
        let stale = |d: &&Dependent| {
            d.table.eq_ignore_ascii_case(before)
                && crate::render::sqlite::rewritten_by_renames(&compared.changes, d, &table)
        };
        if let Some(d) = dependents.iter().find(stale) {
            return Err(MakeError::RebuildAfterRename { table, kind: d.kind.noun(), name: d.name.clone() });
        }
    }
    Ok(())
}

/// The first table the migration rebuilds (SQLite) that has something the schema model does not hold, which the
/// rebuild would lose ([`crate::introspect::Unkept`]); the migration's guard would refuse it at `migrate`.
fn check_unkept(compared: &Compared, unkept: &[crate::introspect::Unkept]) -> Result<(), MakeError> {
    if unkept.is_empty() {
        return Ok(());
    }
    for table in crate::render::sqlite::rebuilt_tables(&compared.changes, &compared.old) {
        let before = name_before_renames(compared, &table);
        if let Some(u) = unkept.iter().find(|u| u.table.eq_ignore_ascii_case(before)) {
            return Err(MakeError::RebuildLoses { table, what: u.what });
        }
    }
    Ok(())
}

/// The name `table` had before the migration's table renames (the name the live database knows it by).
fn name_before_renames<'c>(compared: &'c Compared, table: &'c str) -> &'c str {
    compared
        .changes
        .iter()
        .find_map(|c| match c {
            Change::RenameTable { from, to } if to == table => Some(from.as_str()),
            _ => None,
        })
        .unwrap_or(table)
}

/// The first column the migration drops that a dependent of its table (a trigger, an index outside the schema
/// model) names in its text, which SQLite would meet at migrate with "no such column". A name inside a string in
/// that text counts too: better refused here, naming it, than failed there.
fn check_dropped_columns(compared: &Compared, dependents: &[Dependent]) -> Result<(), MakeError> {
    for change in &compared.changes {
        let Change::DropColumn { table, column, .. } = change else { continue };
        let uses = |d: &&Dependent| {
            d.table.eq_ignore_ascii_case(table)
                && d.sql
                    .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .any(|word| word.eq_ignore_ascii_case(&column.name))
        };
        if let Some(d) = dependents.iter().find(uses) {
            return Err(MakeError::DroppedColumnInUse {
                table: table.clone(),
                column: column.name.clone(),
                kind: d.kind.noun(),
                name: d.name.clone(),
            });
        }
    }
    Ok(())
}

/// Levenshtein's distance between `a` and `b`, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (row[j] + 1).min(row[j + 1] + 1).min(diagonal + usize::from(ca != *cb));
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// What `make-migrations` refuses to write and `diff` to show as a fix: a migration the database would refuse or
/// that would lose something (see each check); `live` is what the live database told, when it is the baseline.
fn refusals(dialect: Dialect, compared: &Compared, live: &Extras) -> Result<(), MakeError> {
    check_expressions(dialect, compared)?;
    refuse_rename_onto_existing(dialect, compared)?;
    check_keys(dialect, compared)?;
    check_collations_known(compared, live.collations.as_deref())?;
    check_rebuild_after_rename(compared, &live.dependents)?;
    check_dropped_columns(compared, &live.dependents)?;
    check_unkept(compared, &live.unkept)?;
    check_strict(dialect, compared)?;
    check_varchar_lengths(dialect, compared)?;
    check_checks_on_changing_columns(dialect, compared)?;
    check_key_collations(dialect, compared)
}

/// The first check or default of a table the migration touches that the dialect's lexer cannot read (models are
/// checked for balance without a dialect; `E'it\'s'` or `'it\'s'` read on one backend only).
fn check_expressions(dialect: Dialect, compared: &Compared) -> Result<(), MakeError> {
    use dbwarden_core::schema::Expression;
    for t in compared.new.tables.iter().filter(|t| touches(compared, &t.name)) {
        for (at, expr) in t.expressions() {
            if let Err(e) = dbwarden_core::lexer::split(&format!("SELECT ({expr})"), dialect) {
                let what = match at {
                    Expression::Check(c) => format!("check `{}`", c.name),
                    Expression::Default(c) => format!("the default of column `{}`", c.name),
                };
                let (table, expr, message) = (t.name.clone(), expr.to_string(), e.to_string());
                return Err(MakeError::UnreadableExpression { table, what, expr, dialect, message });
            }
        }
    }
    Ok(())
}

/// The first check of a table the migration touches that names a column the server changes by itself (an
/// auto-increment column, a column of a key with a referential action), where `dialect` refuses such a check.
fn check_checks_on_changing_columns(dialect: Dialect, compared: &Compared) -> Result<(), MakeError> {
    use dbwarden_core::schema::FkAction;
    if compared.changes.is_empty() || !crate::types::of(dialect).check_refuses_changing_columns() {
        return Ok(());
    }
    let changes = |a: FkAction| matches!(a, FkAction::Cascade | FkAction::SetNull | FkAction::SetDefault);
    for t in compared.new.tables.iter().filter(|t| touches(compared, &t.name)) {
        for check in &t.checks {
            for name in identifiers(&check.expr) {
                let Some(column) = t.columns.iter().find(|c| c.name.eq_ignore_ascii_case(&name)) else { continue };
                let key = t
                    .foreign_keys
                    .iter()
                    .find(|k| k.columns.contains(&column.name) && (changes(k.on_delete) || changes(k.on_update)));
                let why = match key {
                    _ if column.auto_increment => "an auto-increment column".to_string(),
                    Some(k) => format!("a column of foreign key `{}`, which has ON DELETE/ON UPDATE actions", k.name),
                    None => continue,
                };
                return Err(MakeError::CheckOnChangingColumn {
                    table: t.name.clone(),
                    check: check.name.clone(),
                    column: column.name.clone(),
                    why,
                    dialect,
                });
            }
        }
    }
    Ok(())
}

/// Whether a change of the migration is to table `name` (a table the database has already, and has accepted, is
/// not judged again).
fn touches(compared: &Compared, name: &str) -> bool {
    compared.changes.iter().any(|c| c.table() == name)
}

/// The identifiers a MySQL expression names: bare words and backquoted names, strings (single or double quotes)
/// left out.
fn identifiers(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = expr.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' | '`' => {
                let mut text = String::new();
                while let Some(d) = chars.next() {
                    if d == c {
                        if chars.peek() == Some(&c) {
                            chars.next();
                        } else {
                            break;
                        }
                    }
                    text.push(d);
                }
                if c == '`' {
                    out.push(text);
                }
            }
            c if c.is_alphanumeric() || c == '_' => {
                let mut word = c.to_string();
                while let Some(&d) = chars.peek().filter(|d| d.is_alphanumeric() || **d == '_' || **d == '$') {
                    word.push(d);
                    chars.next();
                }
                out.push(word);
            }
            _ => {}
        }
    }
    out
}

/// The first foreign key of the models between two columns of two named collations, where `dialect` refuses
/// such a key. (A column without one has its table's default, which only the server knows: not judged here.)
fn check_key_collations(dialect: Dialect, compared: &Compared) -> Result<(), MakeError> {
    if compared.changes.is_empty() || !crate::types::of(dialect).foreign_key_needs_one_collation() {
        return Ok(());
    }
    let new = &compared.new;
    // Keys of the tables the migration touches (a key the database has already was accepted by it).
    for t in &new.tables {
        for key in &t.foreign_keys {
            if !touches(compared, &t.name) && !touches(compared, &key.ref_table) {
                continue;
            }
            let Some(parent) = new.table(&key.ref_table) else { continue };
            for (column, ref_column) in key.columns.iter().zip(&key.ref_columns) {
                let (Some(c), Some(r)) = (t.column(column), parent.column(ref_column)) else { continue };
                if let (Some(a), Some(b)) = (&c.collation, &r.collation) {
                    if a != b {
                        return Err(MakeError::KeyCollations {
                            table: t.name.clone(),
                            key: key.name.clone(),
                            column: c.name.clone(),
                            collation: a.clone(),
                            ref_table: parent.name.clone(),
                            ref_column: r.name.clone(),
                            ref_collation: b.clone(),
                            dialect,
                        });
                    }
                }
            }
        }
    }
    Ok(())
}

/// Diffs the models of `db` against its baseline and writes the next migration file and the snapshot.
///
/// ```no_run
/// # async fn run() -> Result<(), dbwarden::make::MakeError> {
/// let db = dbwarden::config::Config::load("dbwarden.toml".as_ref()).unwrap().default_database().unwrap().clone();
/// let report = dbwarden::make::make_migrations(&db, &Default::default()).await?;
/// if let Some(path) = &report.path {
///     println!("wrote {}", path.display());
/// }
/// # Ok(()) }
/// ```
pub async fn make_migrations(db: &DatabaseConfig, options: &MakeOptions) -> Result<MakeReport, MakeError> {
    let (target, mut renames) = declared(db, options.manifest.as_deref(), true)?;
    renames.tables.extend(options.renames.tables.iter().cloned());
    renames.columns.extend(options.renames.columns.iter().cloned());
    let base = baseline(db, options.offline).await?;
    unmatched_rename(db.dialect, &options.renames, &renames, &base.schema, &target)?;
    let mut report = MakeReport {
        database: db.name.clone(),
        baseline: base.origin,
        note: base.note.clone(),
        path: None,
        written: false,
        steps: Vec::new(),
        safety: None,
        text: None,
        snapshot: None,
    };
    let compared = compare(db.dialect, base.schema, target, &renames);
    refusals(db.dialect, &compared, &base.live)?;
    let render = Options { column_order: db.column_order, dependents: base.live.dependents };
    // `compared.new` is the models as the database reads them back: what the snapshot records.
    let target = &compared.new;
    let Some(Generated { changes, text, safety }) = compared.migration(db.dialect, &render) else {
        // In step with a fully migrated database: bring a missing or stale snapshot up to date, so that offline
        // runs (CI) see what the database sees.
        if base.origin == BaselineOrigin::Live && !options.print_only {
            let fresh = snapshot_of(db, target)?;
            if Snapshot::load(&db.migrations_dir)?.as_ref() != Some(&fresh) && fresh.covers.is_some() {
                report.snapshot = Some(fresh.save(&db.migrations_dir)?);
            }
        }
        return Ok(report);
    };
    let description =
        if options.description.trim().is_empty() { describe(&changes) } else { options.description.clone() };
    let newest = files(db)?.newest;
    let next = next_version(newest.as_ref().map(|(v, file)| (*v, file.as_str())))?;
    let filename = format!("{}__{next}_{}.sql", db.name, dbwarden_core::file::slugify(&description));
    let path = db.migrations_dir.join(&filename);
    let text = format!("{}\n{text}", dbwarden_core::file::title_line(&description));
    report.steps = steps(db.dialect, &changes);
    report.safety = Some(safety);
    report.path = Some(path.clone());
    // What was generated must read back as a migration file, or every command would stop on it.
    let reads_back = dbwarden_core::file::MigrationFile::parse(&filename, &text).and_then(|file| {
        file.statements(&file.upgrade, db.dialect)?;
        file.statements(&file.rollback, db.dialect).map(|_| ())
    });
    if let Err(e) = reads_back {
        return Err(MakeError::Unreadable { message: e.to_string() });
    }
    if !options.print_only {
        let write =
            |path: &Path, e: std::io::Error| MakeError::Write { path: path.to_path_buf(), message: e.to_string() };
        std::fs::create_dir_all(&db.migrations_dir).map_err(|e| write(&db.migrations_dir, e))?;
        // Never overwrite: a file by that name appearing meanwhile is someone else's migration.
        let mut file =
            std::fs::OpenOptions::new().write(true).create_new(true).open(&path).map_err(|e| write(&path, e))?;
        std::io::Write::write_all(&mut file, text.as_bytes()).map_err(|e| write(&path, e))?;
        report.snapshot = Some(snapshot_of(db, target)?.save(&db.migrations_dir)?);
        report.written = true;
    }
    report.text = Some(text);
    Ok(report)
}

/// What `diff` found: the changes that would turn the baseline into the models.
#[derive(Debug, Clone, Serialize)]
pub struct DiffReport {
    /// The database.
    pub database: String,
    /// What was compared with the models.
    pub baseline: BaselineOrigin,
    /// The differences, as migration steps.
    pub steps: Vec<PlannedStep>,
    /// The upgrade SQL that would fix them.
    pub sql: Vec<String>,
}

/// Models versus the live database (or, `offline`, the snapshot), read-only.
pub async fn diff(db: &DatabaseConfig, manifest: Option<&Path>, offline: bool) -> Result<DiffReport, MakeError> {
    // Without models every table would read as "drop": refuse instead of advising that.
    let (target, renames) = declared(db, manifest, true)?;
    let (schema, origin, live_extras) = if offline {
        let base = baseline(db, true).await?;
        (base.schema, base.origin, base.live)
    } else {
        let (schema, extras) = live(db, true).await?;
        (schema, BaselineOrigin::Live, extras)
    };
    let compared = compare(db.dialect, schema, target, &renames);
    refusals(db.dialect, &compared, &live_extras)?;
    let Compared { old, new, changes, .. } = compared;
    let options = Options { column_order: db.column_order, dependents: live_extras.dependents };
    let sql = crate::render::render(db.dialect, &changes, &old, &new, &options).into_iter().map(|s| s.sql).collect();
    Ok(DiffReport { database: db.name.clone(), baseline: origin, steps: steps(db.dialect, &changes), sql })
}

/// The CREATE statements of a schema (for `check-db -o sql`).
pub fn schema_sql(dialect: Dialect, schema: &Schema) -> Vec<String> {
    let empty = Schema::default();
    let changes = dbwarden_core::diff::diff(&empty, schema, &Renames::default());
    crate::render::render(dialect, &changes, &empty, schema, &Options::default()).into_iter().map(|s| s.sql).collect()
}

/// The safety of one pending migration file.
#[derive(Debug, Clone, Serialize)]
pub struct FileSafety {
    /// The file.
    pub file: String,
    /// Its version.
    pub version: Option<u64>,
    /// Its highest level.
    pub safety: Safety,
    /// Its steps: from the header of a generated file, else one per statement, classified by its leading keywords.
    pub steps: Vec<PlannedStep>,
}

/// What `check` found: the safety of what `migrate` and `make-migrations` would do next.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// The database.
    pub database: String,
    /// Pending migration files (not applied to the database).
    pub files: Vec<FileSafety>,
    /// Model changes no migration file holds yet.
    pub models: Vec<PlannedStep>,
    /// Why the models could not be compared (with files pending, the snapshot must cover them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub models_unchecked: Option<String>,
    /// The highest level of all.
    pub safety: Option<Safety>,
}

/// The safety of each pending (or part-applied) migration file of `db`, in apply order (`create`: a missing SQLite
/// file is created, as `migrate` would).
pub async fn check_files(db: &DatabaseConfig, create: bool) -> Result<Vec<FileSafety>, MakeError> {
    Ok(check_pending(db, create).await?.0)
}

/// Classifies the pending migration files of `db` and the model changes not generated yet.
pub async fn check(db: &DatabaseConfig, manifest: Option<&Path>) -> Result<CheckReport, MakeError> {
    let (files, any_pending) = check_pending(db, false).await?;
    let mut report =
        CheckReport { database: db.name.clone(), files, models: Vec::new(), models_unchecked: None, safety: None };
    let (target, renames) = declared(db, manifest, false)?;
    if !target.tables.is_empty() {
        // With files pending, the snapshot (which includes them) is the baseline; else the live database.
        let base = if any_pending {
            match baseline_because(db, true, "migrations are pending, so the snapshot is the baseline").await {
                Ok(b) => Some((b.schema, b.live)),
                Err(e) => {
                    report.models_unchecked = Some(e.to_string());
                    None
                }
            }
        } else {
            Some(live(db, true).await?)
        };
        if let Some((base, extras)) = base {
            let compared = compare(db.dialect, base, target, &renames);
            // A change `make-migrations` would refuse is no step to rate: the same error, so CI stops on it here.
            refusals(db.dialect, &compared, &extras)?;
            report.models = steps(db.dialect, &compared.changes);
        }
    }
    report.safety = report.files.iter().map(|f| f.safety).chain(report.models.iter().map(|s| s.safety)).max();
    Ok(report)
}

/// The pending versioned files with their safety, and whether any file is pending.
async fn check_pending(db: &DatabaseConfig, create: bool) -> Result<(Vec<FileSafety>, bool), MakeError> {
    let status = db.migrator_or_empty().status(&ConnectSpec { url: db.url.clone(), create }).await?;
    let pending: Vec<&str> = status
        .entries
        .iter()
        .filter(|e| {
            matches!(e.state, EntryState::Pending | EntryState::Partial | EntryState::OutOfOrder) && e.version.is_some()
        })
        .map(|e| e.filename.as_str())
        .collect();
    let files = dbwarden_core::file::read_dir(&db.migrations_dir).map_err(Error::from)?;
    let files = dbwarden_core::file::resolve_files(files, Some(&db.name)).map_err(Error::from)?;
    let mut out = Vec::new();
    for file in files.iter().filter(|f| pending.contains(&f.filename.as_str())) {
        let raw = std::fs::read_to_string(db.migrations_dir.join(&file.filename)).unwrap_or_default();
        let steps = file_steps(db.dialect, file, &raw);
        let safety = steps.iter().map(|s| s.safety).max().unwrap_or(Safety::Safe);
        out.push(FileSafety { file: file.filename.clone(), version: file.name.version.map(|v| v.0), safety, steps });
    }
    Ok((out, !pending.is_empty()))
}

/// The steps of a migration file (`text` is the whole file): the stamped steps header `generate` writes, or else
/// each statement classified by its leading keywords.
pub fn file_steps(dialect: Dialect, file: &dbwarden_core::file::MigrationFile, text: &str) -> Vec<PlannedStep> {
    // The header is trusted only for the upgrade section it was written with: an edited file is classified by its
    // statements.
    let header: Vec<&str> = text.lines().take_while(|l| l.trim() != "-- upgrade").collect();
    let stamp = format!("{STEPS_STAMP}{}):", &file.checksum[..16.min(file.checksum.len())]);
    let stamped = header.iter().any(|l| l.trim() == stamp);
    let mut from_header = Vec::new();
    for line in header.iter().filter(|_| stamped) {
        let Some(rest) = line.strip_prefix("--   ") else { continue };
        let (level, step) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        let safety = match level {
            "SAFE" => Safety::Safe,
            "INFO" => Safety::Info,
            "WARN" => Safety::Warn,
            "CRITICAL" => Safety::Critical,
            _ => continue,
        };
        from_header.push(PlannedStep { safety, step: step.trim().to_string() });
    }
    if !from_header.is_empty() {
        return from_header;
    }
    let statements = dbwarden_core::lexer::split(&file.upgrade.text, dialect).unwrap_or_default();
    statements.iter().map(|s| classify(s.sql, dialect)).collect()
}

/// A hand-written statement's safety, from its keywords (the lexer's words: comments and strings left out, a
/// quoted name counted, so `DROP "email"` drops a column and `DEFAULT 'drop it'` drops nothing).
fn classify(sql: &str, dialect: Dialect) -> PlannedStep {
    let words = dbwarden_core::lexer::words(sql, dialect);
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let starts = |prefix: &[&str]| words.len() >= prefix.len() && words[..prefix.len()] == *prefix;
    let has = |w: &str| words.contains(&w);
    // (MySQL's `ALTER IGNORE TABLE` deletes the rows a new unique key finds duplicated.)
    let ignoring = starts(&["ALTER", "IGNORE", "TABLE"]);
    let alter = starts(&["ALTER", "TABLE"]) || ignoring;
    // In ALTER TABLE, DROP followed by anything but a constraint, index, default or the like drops a column
    // (COLUMN is optional on PostgreSQL and MySQL), and any of several actions may be one.
    const NOT_A_COLUMN: [&str; 12] = [
        "CONSTRAINT",
        "INDEX",
        "KEY",
        "DEFAULT",
        "NOT",
        "FOREIGN",
        "PRIMARY",
        "CHECK",
        "IDENTITY",
        "EXPRESSION",
        // (DROP PARTITION deletes rows, so it is not here; MariaDB's SYSTEM VERSIONING, rated apart, and PERIOD
        // are no columns.)
        "SYSTEM",
        "PERIOD",
    ];
    let drops_column = alter && words.windows(2).any(|w| w[0] == "DROP" && !NOT_A_COLUMN.contains(&w[1]));
    // A data-changing statement inside a WITH or a MERGE, or run by EXPLAIN ANALYZE.
    let wrapped = starts(&["WITH"]) || starts(&["MERGE"]) || starts(&["EXPLAIN"]) && has("ANALYZE");
    // A body whose statements the words do not show (a PostgreSQL DO block is one string; a procedure may do
    // anything): a ceiling must stop before it, so it counts as what it might do at worst.
    let opaque = starts(&["DO"]) || starts(&["CALL"]) || starts(&["EXECUTE"]) || starts(&["EXEC"]);
    // Dropping a type, domain or extension with CASCADE drops the columns of that type; `DROP OWNED` a role's
    // tables.
    let cascades = starts(&["DROP"]) && has("CASCADE") && ["TYPE", "DOMAIN", "EXTENSION"].iter().any(|w| has(w));
    // MySQL/MariaDB: emptying a partition or a tablespace, storing nothing (BLACKHOLE), dropping the history of a
    // system-versioned table.
    let pair = |a: &str, b: &str| words.windows(2).any(|w| w[0] == a && w[1] == b);
    let empties = alter
        && (pair("TRUNCATE", "PARTITION")
            || pair("DISCARD", "TABLESPACE")
            || pair("ENGINE", "BLACKHOLE")
            || words.windows(3).any(|w| w == ["DROP", "SYSTEM", "VERSIONING"]));
    let safety = if starts(&["DROP", "TABLE"])
        || starts(&["DROP", "SCHEMA"])
        || starts(&["DROP", "DATABASE"])
        || starts(&["DROP", "OWNED"])
        || cascades
        || starts(&["TRUNCATE"])
        || starts(&["DELETE"])
        || drops_column
        || empties
        || ignoring
        || wrapped && (has("DELETE") || has("TRUNCATE"))
        || opaque
    {
        Safety::Critical
    } else if alter
        && (has("TYPE")
            || has("MODIFY")
            || words.get(3) == Some(&"CHANGE")
            || pair("CHANGE", "COLUMN")
            || has("NOT")
            || has("UNIQUE")
            || has("CONSTRAINT"))
        || starts(&["UPDATE"])
        || starts(&["CREATE", "UNIQUE"])
        || wrapped && has("UPDATE")
        // Replacing a row deletes the one it conflicts with; an upsert overwrites it.
        || starts(&["REPLACE"])
        || starts(&["INSERT", "OR", "REPLACE"])
        || starts(&["INSERT"]) && has("UPDATE")
    {
        Safety::Warn
    } else if starts(&["CREATE"]) || starts(&["INSERT"]) {
        Safety::Safe
    } else {
        Safety::Info
    };
    let step: String = sql.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(80).collect();
    PlannedStep { safety, step }
}

#[cfg(test)]
mod classify_tests {
    use super::{classify, Dialect, Safety};

    #[test]
    fn data_loss_is_critical_however_it_is_spelt() {
        for sql in [
            "ALTER TABLE users DROP email",
            "ALTER TABLE users DROP COLUMN email",
            "alter table users add column a int, add column b int, drop column name",
            "DROP SCHEMA arch CASCADE",
            "DROP TABLE t",
            "TRUNCATE t",
            "DELETE FROM t",
            "ALTER TABLE users DROP `email`",
            "ALTER TABLE users DROP \"email\"",
            "ALTER TABLE t -- don't\n DROP COLUMN c",
            "ALTER TABLE t DROP PARTITION p2019",
            "WITH d AS (DELETE FROM a RETURNING *) SELECT 1",
            "DO $$ BEGIN DROP TABLE a; END $$",
            "CALL purge_old_rows()",
            "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE",
            "EXPLAIN ANALYZE DELETE FROM t",
            "DROP TYPE mood CASCADE",
            "DROP DOMAIN posint CASCADE",
            "DROP EXTENSION hstore CASCADE",
            "DROP OWNED BY app",
            "ALTER IGNORE TABLE dup ADD CONSTRAINT uq UNIQUE (email)",
            "ALTER TABLE logs TRUNCATE PARTITION p0",
            "ALTER TABLE t DISCARD TABLESPACE",
            "ALTER TABLE t ENGINE = BLACKHOLE",
            "ALTER TABLE t DROP SYSTEM VERSIONING",
        ] {
            for dialect in [Dialect::Postgres, Dialect::MySql, Dialect::Sqlite] {
                assert_eq!(classify(sql, dialect).safety, Safety::Critical, "{dialect}: {sql}");
            }
        }
        for sql in [
            "ALTER TABLE users DROP CONSTRAINT uq",
            "ALTER TABLE users DROP INDEX ix",
            "ALTER TABLE users ALTER COLUMN a DROP DEFAULT",
            "ALTER TABLE users ALTER COLUMN a DROP NOT NULL",
            "ALTER TABLE users ADD COLUMN note TEXT DEFAULT 'drop it'",
            "DROP TYPE mood",
            "ALTER TABLE t DROP PERIOD FOR p",
            "ALTER TABLE t ADD COLUMN discard BOOLEAN",
            "ALTER TABLE t ADD COLUMN truncate_at INT",
            "ALTER TABLE t /* drop column x */ ADD COLUMN y INT",
            "WITH x AS (SELECT 1) SELECT * FROM x",
        ] {
            for dialect in [Dialect::Postgres, Dialect::MySql, Dialect::Sqlite] {
                assert_ne!(classify(sql, dialect).safety, Safety::Critical, "{dialect}: {sql}");
            }
        }
        // Overwriting rows: WARN, as an UPDATE is.
        for sql in [
            "INSERT OR REPLACE INTO t VALUES (1)",
            "REPLACE INTO t VALUES (1)",
            "WITH u AS (UPDATE t SET a = 1 RETURNING *) SELECT 1",
            "INSERT INTO t VALUES (1, 2) ON CONFLICT (id) DO UPDATE SET a = 2",
            "INSERT INTO t VALUES (1, 2) ON DUPLICATE KEY UPDATE a = 2",
            "ALTER TABLE dup CHANGE amount amount_int DECIMAL(8,0)",
        ] {
            assert_eq!(classify(sql, Dialect::Postgres).safety, Safety::Warn, "{sql}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("utf8mb4_bni", "utf8mb4_bin"), 2);
        assert_eq!(edit_distance("ucs_basik", "ucs_basic"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}

//! `verify`: replays every migration upgrade -> rollback -> upgrade on a scratch database and compares the schemas,
//! so a rollback that forgets an index or a NOT NULL is found before anyone needs it.
//!
//! For each versioned migration, in order, on a database that starts empty:
//! 1. apply its upgrade and read the schema (`S_i`);
//! 2. roll it back and compare with the schema before it (`S_{i-1}`);
//! 3. apply the upgrade again and compare with `S_i`.
//!
//! It stops at the first migration that fails one of these, or that cannot be rolled back on purpose (marked
//! `-- dbwarden: irreversible`). An empty rollback section is checked like any other: it is what `rollback` runs,
//! so when the upgrade changed the schema, verify reports what the rollback leaves behind. When every versioned migration passes, the repeatable
//! ones are applied once (they have no rollback to check).
//!
//! Schemas are compared through [`introspect`](crate::introspect::introspect): tables, columns (type, NOT NULL,
//! default, comment), primary keys, indexes, unique constraints, foreign keys and checks. On MySQL/MariaDB and SQLite
//! column order counts too; on PostgreSQL it does not (PostgreSQL cannot put a re-added column back in its place).
//! The objects the IR does not model are compared as well: views, triggers, routines, sequences, enum, composite
//! and range types and domains, expression and partial indexes, events, extensions and schemas, by name, and by
//! definition on PostgreSQL and MySQL/MariaDB, compared token by token (spacing, comments and the case of unquoted
//! words do not count: servers keep bodies as written). SQLite rewrites a view's text when a table it names is
//! renamed, so there only names count.
//!
//! All the work goes through [`Migrator`]: the same statement splitting, transactions and bookkeeping as `migrate`
//! and `rollback`, so an SQL error names its file, line and statement exactly as they do.

use std::collections::HashSet;
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use dbwarden_core::diff::{diff, Change, Renames};
use dbwarden_core::file::{MigrationFile, MigrationKind};
use dbwarden_core::schema::Schema;
use dbwarden_core::Dialect;
use serde::Serialize;

use crate::backend::{connect, Backend, ConnectSpec};
use crate::error::{DbError, Error};
use crate::introspect::{Other, OtherChange};
use crate::migrator::{Migrator, RollbackTo};
use crate::render::ColumnOrder;

/// Where `verify` runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scratch {
    /// A throwaway database created for the run and dropped afterwards, whatever happens (errors and panics
    /// included): `dbwarden_verify_<pid>_<nanos>` on the server of this URL, reached with its credentials (it needs
    /// the right to create databases). For SQLite, a file in the temporary folder.
    NextTo(String),
    /// This database, as it is (config `dev_url`). It must be empty: verify refuses one that holds anything. When
    /// verify returns (with a report or an error), it drops what it created there (tables, views, sequences,
    /// routines, types, schemas, extensions), so the next run finds it empty again; after a panic or a cancelled
    /// run, the next run refuses it and lists what is left.
    Use(String),
}

impl Scratch {
    /// The scratch database for a project: its `dev_url` when it has one, else a throwaway next to its database.
    pub fn new(project_url: &str, dev_url: Option<&str>) -> Scratch {
        match dev_url {
            Some(url) => Scratch::Use(url.to_string()),
            None => Scratch::NextTo(project_url.to_string()),
        }
    }
}

/// What `verify` found.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// The database name of the migrations (`primary`).
    pub database: String,
    /// The scratch database used, password masked (a throwaway one is gone by now).
    pub scratch: String,
    /// Every migration checked, in order. Unless all passed, the last one is where verify stopped.
    pub checked: Vec<Checked>,
    /// Migration files not reached because verify stopped first.
    pub not_reached: Vec<String>,
    /// Things that went wrong around the check itself (cleaning the scratch database).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl VerifyReport {
    /// Whether every migration passed (versioned ones round-tripped, repeatable ones applied).
    pub fn ok(&self) -> bool {
        self.not_reached.is_empty() && self.checked.iter().all(|c| c.verdict == Verdict::Ok)
    }

    /// Whether verify found a problem: a rollback or re-upgrade that does not give the same schema, or an SQL
    /// error. Stopping at an irreversible migration is not a problem (it was said on purpose).
    pub fn failed(&self) -> bool {
        self.checked.iter().any(|c| c.verdict.is_problem())
    }

    /// Where verify stopped: the first migration that did not pass, if any.
    pub fn stopped_at(&self) -> Option<&Checked> {
        self.checked.iter().find(|c| c.verdict != Verdict::Ok)
    }
}

/// One migration and what verify found about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Checked {
    /// `0001`, or none for a repeatable migration.
    pub version: Option<String>,
    /// The file name.
    pub filename: String,
    /// The outcome.
    pub verdict: Verdict,
}

/// The outcome for one migration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Upgrade, rollback and upgrade again ran, and each schema was the expected one (a repeatable: it applied).
    Ok,
    /// After the rollback, the schema is not the one before the upgrade.
    RollbackDiffers {
        /// What the rollback would still have to do to restore it, one line each (`drop index ix_posts_title`).
        differences: Vec<String>,
    },
    /// The upgrade, run again after the rollback, gives another schema than the first time.
    ReupgradeDiffers {
        /// What would turn the second result into the first, one line each.
        differences: Vec<String>,
    },
    /// The migration cannot be rolled back, on purpose: verify stops here (its upgrade did apply).
    Irreversible {
        /// Why: the `-- dbwarden: irreversible` directive.
        reason: String,
    },
    /// A statement failed.
    SqlError(SqlFailure),
}

impl Verdict {
    /// Whether this is a problem found (not `Ok`, not `Irreversible`).
    pub fn is_problem(&self) -> bool {
        matches!(self, Verdict::RollbackDiffers { .. } | Verdict::ReupgradeDiffers { .. } | Verdict::SqlError(_))
    }

    /// The differences listed by a schema mismatch (none for the other outcomes).
    pub fn differences(&self) -> &[String] {
        match self {
            Verdict::RollbackDiffers { differences } | Verdict::ReupgradeDiffers { differences } => differences,
            _ => &[],
        }
    }
}

/// A statement of a migration that failed during verify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SqlFailure {
    /// Which run of the migration failed.
    pub phase: Phase,
    /// The migration file.
    pub file: String,
    /// The line of the statement in the file.
    pub line: u32,
    /// 1-based index of the statement in its section.
    pub index: usize,
    /// Statements in the section.
    pub total: usize,
    /// The statement's SQL.
    pub statement: String,
    /// What the server said (with its code).
    pub error: String,
    /// The whole message, as `migrate` and `rollback` print it (file, line, statement number, server message).
    pub message: String,
    /// The server's error code (SQLSTATE, or SQLite's result code).
    pub code: Option<String>,
}

/// Which run of a migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// The first upgrade.
    Upgrade,
    /// The rollback.
    Rollback,
    /// The upgrade run again after the rollback.
    Reupgrade,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Upgrade => "upgrade",
            Phase::Rollback => "rollback",
            Phase::Reupgrade => "upgrade (again, after the rollback)",
        })
    }
}

impl fmt::Display for Verdict {
    /// One line: `ok`, `rollback does not restore the previous schema (2 differences)`, ...
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Ok => f.write_str("ok"),
            Verdict::RollbackDiffers { differences } => {
                write!(f, "rollback does not restore the previous schema ({} difference(s))", differences.len())
            }
            Verdict::ReupgradeDiffers { differences } => write!(
                f,
                "upgrading again after the rollback gives another schema ({} difference(s))",
                differences.len()
            ),
            Verdict::Irreversible { reason } => write!(f, "irreversible ({reason}): its rollback is not checked"),
            Verdict::SqlError(e) => {
                write!(f, "{} failed at line {} (statement {} of {}): {}", e.phase, e.line, e.index, e.total, e.error)
            }
        }
    }
}

impl fmt::Display for Checked {
    /// `<file>: <verdict>`, then one indented line per difference, or the failed statement's first line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.filename, self.verdict)?;
        for d in self.verdict.differences() {
            write!(f, "\n    {d}")?;
        }
        if let Verdict::SqlError(e) = &self.verdict {
            let mut lines = e.statement.lines();
            if let Some(first) = lines.next() {
                write!(f, "\n    {first}{}", if lines.next().is_some() { " …" } else { "" })?;
            }
        }
        Ok(())
    }
}

/// Replays every migration of `migrator` upgrade -> rollback -> upgrade on a scratch database and compares the
/// schemas (see the [module documentation](self)).
///
/// Problems found with the migrations are in the report ([`VerifyReport::failed`], [`VerifyReport::stopped_at`]);
/// `Err` means verify itself could not run: the scratch database could not be created or reached, a file is
/// malformed, or a [`Scratch::Use`] database is not empty ([`Error::ScratchNotEmpty`]). A throwaway scratch database
/// is dropped on every path. The migrator's options (history table, lock timeout) apply; it must not be set to
/// dry-run or baseline.
///
/// ```no_run
/// use dbwarden::verify::{verify, Scratch};
///
/// # async fn run() -> Result<(), dbwarden::Error> {
/// let migrator = dbwarden::Migrator::new(dbwarden::Source::dir("migrations/primary"));
/// // A throwaway `dbwarden_verify_<pid>_<nanos>` database next to `main`, dropped afterwards.
/// let scratch = Scratch::new("postgres://app@127.0.0.1:5432/main", None);
/// let report = verify(&migrator, &scratch).await?;
/// for checked in &report.checked {
///     println!("{checked}");
/// }
/// if report.failed() {
///     std::process::exit(1);
/// }
/// # Ok(()) }
/// ```
pub async fn verify(migrator: &Migrator, scratch: &Scratch) -> Result<VerifyReport, Error> {
    verify_with(migrator, scratch, VerifyOptions::default()).await
}

/// How `verify` walks the history.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VerifyOptions {
    /// Apply a migration marked irreversible (its upgrade is still checked) and go on with the next ones, instead
    /// of stopping there: real histories have such files early.
    pub past_irreversible: bool,
    /// With [`ColumnOrder::Exact`], a rollback must restore column order on PostgreSQL too (it always must on
    /// MySQL and SQLite).
    pub column_order: ColumnOrder,
    /// Stop at Ctrl-C or SIGTERM, dropping (or emptying) the scratch database first, and return
    /// [`Error::Interrupted`] (the CLI sets it; a library caller handles its own signals).
    pub stop_on_signal: bool,
}

/// Ctrl-C or (Unix) SIGTERM; never, where no handler can be installed.
async fn signalled() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// `check_all`, stopped by a signal when `options` say so.
async fn check_until_signal(migrator: &Migrator, url: &str, options: VerifyOptions) -> Result<VerifyReport, Error> {
    if !options.stop_on_signal {
        return check_all(migrator, url, options).await;
    }
    tokio::select! {
        result = check_all(migrator, url, options) => result,
        _ = signalled() => Err(Error::Interrupted),
    }
}

/// [`verify`] with options.
pub async fn verify_with(
    migrator: &Migrator,
    scratch: &Scratch,
    options: VerifyOptions,
) -> Result<VerifyReport, Error> {
    match scratch {
        Scratch::NextTo(base) => {
            let throwaway = Throwaway::create(base).await?;
            let result = check_until_signal(migrator, &throwaway.url, options).await;
            let removed = throwaway.remove().await;
            match (result, removed) {
                (Ok(mut report), Err(e)) => {
                    report.warnings.push(e.to_string());
                    Ok(report)
                }
                (Err(e), Err(removal)) => {
                    tracing::warn!(error = %removal, "dropping the scratch database failed");
                    Err(e)
                }
                (result, Ok(())) => result,
            }
        }
        Scratch::Use(url) => {
            if is_memory(url) {
                return Err(Error::Usage(format!(
                    "{}: an in-memory SQLite database cannot be a scratch database (each connection sees its own)",
                    crate::url::mask(url)
                )));
            }
            let spec = ConnectSpec { url: url.clone(), create: true };
            let mut backend = connect(&spec).await.map_err(Error::db("connecting to the scratch database"))?;
            let found = objects(backend.as_mut()).await;
            backend.close().await;
            let found = found.map_err(Error::db("listing the objects of the scratch database"))?;
            if !found.is_empty() {
                return Err(Error::ScratchNotEmpty {
                    url: crate::url::mask(url),
                    objects: found.into_iter().map(|(what, _)| what).collect(),
                });
            }
            let result = check_until_signal(migrator, url, options).await;
            let emptied = empty(&spec).await;
            match (result, emptied) {
                (Ok(mut report), Err(e)) => {
                    report.warnings.push(e);
                    Ok(report)
                }
                (result, _) => result,
            }
        }
    }
}

/// Everything `check_one` needs.
struct Ctx<'a> {
    migrator: &'a Migrator,
    target: ConnectSpec,
    dialect: Dialect,
    /// Whether column order counts on PostgreSQL.
    column_order: ColumnOrder,
    /// A session for introspection, open for the whole run.
    reader: Box<dyn Backend>,
}

/// What verify compares: the schema in the IR, and the objects outside it.
#[derive(Default)]
struct State {
    schema: Schema,
    others: Vec<Other>,
}

impl Ctx<'_> {
    async fn state(&mut self, when: &str) -> Result<State, Error> {
        let context = format!("reading the scratch schema {when}");
        let schema =
            crate::introspect::introspect(self.reader.as_mut(), None).await.map_err(Error::db(context.clone()))?;
        let others = crate::introspect::others(self.reader.as_mut()).await.map_err(Error::db(context))?;
        Ok(State { schema, others })
    }

    /// What would turn `found` into `expected`, one line per difference; empty when they match.
    fn differences(&self, found: &State, expected: &State) -> Vec<String> {
        let others = crate::introspect::other_differences(&found.others, &expected.others);
        // An index that changed between plain (in the schema model) and on an expression or partial (outside it)
        // shows on both sides: one index to restore, not one to drop and one to create.
        let in_model = |s: &Schema, name: &str| s.tables.iter().any(|t| t.indexes.iter().any(|i| i.name == name));
        let flipped: HashSet<&str> = others
            .iter()
            .filter_map(|o| match o {
                OtherChange::Drop(_) => o.index().filter(|n| in_model(&expected.schema, n)),
                OtherChange::Create(_) => o.index().filter(|n| in_model(&found.schema, n)),
                OtherChange::Restore(_) => None,
            })
            .collect();
        let mut lines = differences(self.dialect, self.column_order, &found.schema, &expected.schema, &flipped);
        lines.extend(others.iter().filter(|o| !o.index().is_some_and(|n| flipped.contains(n))).map(|o| o.to_string()));
        lines
    }
}

/// Runs the checks on `url`, a database with nothing in it.
async fn check_all(migrator: &Migrator, url: &str, options: VerifyOptions) -> Result<VerifyReport, Error> {
    let loaded = migrator.source().load()?;
    let dialect = crate::url::dialect_of(url).map_err(|e| Error::Usage(e.to_string()))?;
    let target = ConnectSpec { url: url.to_string(), create: true };
    // Rolling back nothing creates the bookkeeping tables, so that every schema compared below has them alike
    // (a custom history table is not skipped by introspection).
    migrator.rollback(&target, RollbackTo::Version(0)).await?;
    let reader = connect(&target).await.map_err(Error::db("connecting to the scratch database"))?;
    let mut ctx = Ctx { migrator, target, dialect, column_order: options.column_order, reader };
    let mut report = VerifyReport {
        database: loaded.db.clone(),
        scratch: crate::url::mask(url),
        checked: Vec::new(),
        not_reached: Vec::new(),
        warnings: Vec::new(),
    };
    let result = walk(&mut ctx, &loaded.files, &mut report, options).await;
    ctx.reader.close().await;
    result.map(|()| report)
}

async fn walk(
    ctx: &mut Ctx<'_>,
    files: &[MigrationFile],
    report: &mut VerifyReport,
    options: VerifyOptions,
) -> Result<(), Error> {
    let versioned: Vec<&MigrationFile> = files.iter().filter(|f| f.name.kind == MigrationKind::Versioned).collect();
    let mut before = ctx.state("before the first migration").await?;
    for (i, file) in versioned.iter().enumerate() {
        let (verdict, after) = check_one(ctx, file, &before).await?;
        let passed = matches!(verdict, Verdict::Irreversible { .. }) && options.past_irreversible;
        let stop = verdict != Verdict::Ok && !passed;
        tracing::info!(file = %file.filename, verdict = %verdict, "verified");
        report.checked.push(Checked {
            version: file.name.version.map(|v| v.to_string()),
            filename: file.filename.clone(),
            verdict,
        });
        if stop {
            report.not_reached = versioned[i + 1..]
                .iter()
                .map(|f| f.filename.clone())
                .chain(files.iter().filter(|f| f.name.kind != MigrationKind::Versioned).map(|f| f.filename.clone()))
                .collect();
            return Ok(());
        }
        before = after;
    }
    // Repeatables run after the versioned ones, when migrating to the end.
    let repeatables: Vec<&MigrationFile> = files.iter().filter(|f| f.name.kind != MigrationKind::Versioned).collect();
    if repeatables.is_empty() {
        return Ok(());
    }
    match ctx.migrator.run(&ctx.target).await {
        Ok(run) => {
            // A migrator given a target version or a count skips the repeatables: say so rather than pass them.
            let (ran, skipped): (Vec<&&MigrationFile>, Vec<&&MigrationFile>) =
                repeatables.iter().partition(|f| run.steps.iter().any(|s| s.filename == f.filename));
            report.checked.extend(ran.iter().map(|f| Checked {
                version: None,
                filename: f.filename.clone(),
                verdict: Verdict::Ok,
            }));
            report.not_reached.extend(skipped.iter().map(|f| f.filename.clone()));
        }
        Err(Error::Statement { at, source }) => {
            let failing = repeatables.iter().position(|f| f.filename == at.file);
            let file = failing.map(|i| repeatables[i]);
            let failure = sql_failure(Phase::Upgrade, file, ctx.dialect, at, source);
            let failing = failing.unwrap_or(0);
            report.checked.extend(repeatables[..failing].iter().map(|f| Checked {
                version: None,
                filename: f.filename.clone(),
                verdict: Verdict::Ok,
            }));
            report.checked.push(Checked {
                version: None,
                filename: failure.file.clone(),
                verdict: Verdict::SqlError(failure),
            });
            report.not_reached =
                repeatables[(failing + 1).min(repeatables.len())..].iter().map(|f| f.filename.clone()).collect();
        }
        Err(e) => return Err(e),
    }
    Ok(())
}

/// The round trip of one versioned migration, from the state `before` it. Returns the verdict and the state after
/// it (meaningful when the verdict is `Ok`).
async fn check_one(ctx: &mut Ctx<'_>, file: &MigrationFile, before: &State) -> Result<(Verdict, State), Error> {
    let version = file.name.version.expect("versioned").0;
    let up = ctx.migrator.clone().target_version(version);

    if let Some(failure) = upgrade(ctx, &up, file, Phase::Upgrade).await? {
        return Ok((Verdict::SqlError(failure), State::default()));
    }
    let upgraded = ctx.state(&format!("after the upgrade of {}", file.filename)).await?;

    if let Some(reason) = irreversible(file) {
        return Ok((Verdict::Irreversible { reason }, upgraded));
    }

    match ctx.migrator.rollback(&ctx.target, RollbackTo::Count(1)).await {
        Ok(report) => expect_step(&report.steps, file, "rolling back")?,
        Err(Error::Statement { at, source }) => {
            return Ok((Verdict::SqlError(sql_failure(Phase::Rollback, Some(file), ctx.dialect, at, source)), upgraded))
        }
        Err(e) => return Err(e),
    }
    let rolled_back = ctx.state(&format!("after the rollback of {}", file.filename)).await?;
    let missing = ctx.differences(&rolled_back, before);
    if !missing.is_empty() {
        return Ok((Verdict::RollbackDiffers { differences: missing }, rolled_back));
    }

    if let Some(failure) = upgrade(ctx, &up, file, Phase::Reupgrade).await? {
        return Ok((Verdict::SqlError(failure), rolled_back));
    }
    let again = ctx.state(&format!("after the second upgrade of {}", file.filename)).await?;
    let missing = ctx.differences(&again, &upgraded);
    if !missing.is_empty() {
        return Ok((Verdict::ReupgradeDiffers { differences: missing }, again));
    }
    Ok((Verdict::Ok, again))
}

/// Applies `file` (the next pending migration) with `up`, a migrator targeting its version.
async fn upgrade(
    ctx: &Ctx<'_>,
    up: &Migrator,
    file: &MigrationFile,
    phase: Phase,
) -> Result<Option<SqlFailure>, Error> {
    match up.run(&ctx.target).await {
        Ok(report) if report.dry_run => {
            Err(Error::Usage("verify needs a migrator that applies migrations; this one is set to dry-run".into()))
        }
        Ok(report) if report.steps.iter().any(|s| s.baseline) => {
            Err(Error::Usage("verify needs a migrator that applies migrations; this one is set to baseline".into()))
        }
        Ok(report) => expect_step(&report.steps, file, "applying").map(|()| None),
        Err(Error::Statement { at, source }) => Ok(Some(sql_failure(phase, Some(file), ctx.dialect, at, source))),
        Err(e) => Err(e),
    }
}

/// Checks that a run did exactly `file`, no more, no less.
fn expect_step(steps: &[crate::migrator::Step], file: &MigrationFile, doing: &str) -> Result<(), Error> {
    match steps {
        [one] if one.filename == file.filename => Ok(()),
        _ => {
            let did: Vec<&str> = steps.iter().map(|s| s.filename.as_str()).collect();
            Err(Error::Usage(format!(
                "verify: {doing} {} on the scratch database ran [{}] instead; is the scratch database shared with another run?",
                file.filename,
                did.join(", ")
            )))
        }
    }
}

/// Why `file` cannot be rolled back, if it cannot.
fn irreversible(file: &MigrationFile) -> Option<String> {
    file.directives.irreversible.then(|| "marked `-- dbwarden: irreversible`".into())
}

fn sql_failure(
    phase: Phase,
    file: Option<&MigrationFile>,
    dialect: Dialect,
    at: crate::error::FailedStatement,
    source: DbError,
) -> SqlFailure {
    let statement = file
        .and_then(|f| {
            let section = if at.rollback { &f.rollback } else { &f.upgrade };
            let statements = f.statements(section, dialect).ok()?;
            statements.get(at.index.checked_sub(1)?).map(|s| s.sql.trim().to_string())
        })
        .unwrap_or_default();
    let (code, error) = (source.code.clone(), source.to_string());
    let (file, line, index, total) = (at.file.clone(), at.line, at.index, at.total);
    let message = Error::Statement { at, source }.to_string();
    SqlFailure { phase, file, line, index, total, statement, error, message, code }
}

/// What would turn `found` into `expected`, one line per difference; empty when they match. Column order counts
/// except on PostgreSQL with [`ColumnOrder::Append`]. An index named in `restored` changed kind (see
/// `Ctx::differences`): one line to restore it.
fn differences(
    dialect: Dialect,
    order: ColumnOrder,
    found: &Schema,
    expected: &Schema,
    restored: &HashSet<&str>,
) -> Vec<String> {
    let mut lines: Vec<String> = diff(found, expected, &Renames::default())
        .iter()
        .map(|c| match c {
            Change::AddIndex { index, .. } | Change::DropIndex { index, .. }
                if restored.contains(index.name.as_str()) =>
            {
                format!("restore index {} as it was (its definition differs)", index.name)
            }
            _ => c.describe(),
        })
        .collect();
    if dialect != Dialect::Postgres || order == ColumnOrder::Exact {
        for want in &expected.tables {
            let Some(have) = found.table(&want.name) else { continue };
            let names = |t: &dbwarden_core::schema::Table| t.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
            let (have, want_names) = (names(have), names(want));
            let mut sorted = (have.clone(), want_names.clone());
            sorted.0.sort();
            sorted.1.sort();
            if have != want_names && sorted.0 == sorted.1 {
                lines.push(format!(
                    "reorder the columns of {}: ({}) -> ({})",
                    want.name,
                    have.join(", "),
                    want_names.join(", ")
                ));
            }
        }
    }
    lines
}

fn is_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

// ---------------------------------------------------------------------------------------------------------------
// The throwaway database.

/// A database created for one run; dropped by [`Throwaway::remove`], or on drop if that never ran (panic, dropped
/// future).
struct Throwaway {
    url: String,
    place: Place,
    removed: bool,
}

#[derive(Clone)]
enum Place {
    /// A database on a server, dropped through `admin` (a URL of another database on the same server).
    Server { dialect: Dialect, admin: String, name: String },
    /// An SQLite file.
    File(PathBuf),
}

/// `dbwarden_verify_<pid>_<nanos>`, unique within the process even when the clock is coarse.
fn throwaway_name() -> String {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    let prev = LAST.fetch_max(now, Ordering::SeqCst);
    let nanos = if now > prev { now } else { LAST.fetch_add(1, Ordering::SeqCst) + 1 };
    format!("dbwarden_verify_{}_{nanos}", std::process::id())
}

/// `url` with its database (path) replaced; `None` for no database at all.
fn with_database(url: &str, name: Option<&str>) -> Result<String, Error> {
    let mut parsed = url::Url::parse(url).map_err(|e| {
        Error::Usage(format!("{}: not a URL verify can derive a scratch database from ({e})", crate::url::mask(url)))
    })?;
    parsed.set_path(&name.map_or(String::new(), |n| format!("/{n}")));
    // libpq-style `?dbname=` would win over the path: drop it.
    if parsed.query_pairs().any(|(k, _)| k == "dbname") {
        let kept: Vec<(String, String)> = parsed
            .query_pairs()
            .filter(|(k, _)| k != "dbname")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        parsed.set_query(None);
        if !kept.is_empty() {
            parsed.query_pairs_mut().extend_pairs(kept);
        }
    }
    Ok(parsed.to_string())
}

/// URLs to run CREATE/DROP DATABASE through, in the order to try: the project's own database first.
fn admin_urls(dialect: Dialect, base: &str) -> Result<Vec<String>, Error> {
    Ok(match dialect {
        Dialect::Postgres => {
            vec![base.to_string(), with_database(base, Some("postgres"))?, with_database(base, Some("template1"))?]
        }
        _ => vec![base.to_string(), with_database(base, None)?],
    })
}

/// A session on the first admin URL that connects, and that URL.
async fn admin_session(urls: &[String]) -> Result<(Box<dyn Backend>, String), DbError> {
    let mut first = None;
    for url in urls {
        match connect(&ConnectSpec { url: url.clone(), create: false }).await {
            Ok(b) => return Ok((b, url.clone())),
            Err(e) => {
                first.get_or_insert(e);
            }
        }
    }
    Err(first.unwrap_or_else(|| DbError::connect("no URL to connect to".into())))
}

impl Throwaway {
    async fn create(base: &str) -> Result<Throwaway, Error> {
        let dialect = crate::url::dialect_of(base).map_err(|e| Error::Usage(e.to_string()))?;
        let name = throwaway_name();
        if dialect == Dialect::Sqlite {
            let path = std::env::temp_dir().join(format!("{name}.db"));
            let url = format!("sqlite://{}?mode=rwc", path.display());
            return Ok(Throwaway { url, place: Place::File(path), removed: false });
        }
        let urls = admin_urls(dialect, base)?;
        let context = format!("creating the scratch database {name}");
        let (mut admin, admin_url) = admin_session(&urls).await.map_err(Error::db(context.clone()))?;
        let created = match dialect {
            Dialect::Postgres => admin.execute(&format!("CREATE DATABASE \"{name}\"")).await,
            _ => {
                // Same character set and collation as the project's database, when connected to it.
                let rows = admin
                    .query(
                        "SELECT CAST(default_character_set_name AS CHAR), CAST(default_collation_name AS CHAR) \
                         FROM information_schema.schemata WHERE schema_name = DATABASE()",
                    )
                    .await
                    .unwrap_or_default();
                let options = match rows.first().map(|r| (r.first().cloned().flatten(), r.get(1).cloned().flatten())) {
                    Some((Some(charset), Some(collation))) => {
                        format!(" CHARACTER SET {charset} COLLATE {collation}")
                    }
                    _ => String::new(),
                };
                admin.execute(&format!("CREATE DATABASE `{name}`{options}")).await
            }
        };
        admin.close().await;
        created.map_err(Error::db(context))?;
        let url = with_database(base, Some(&name))?;
        let place = Place::Server { dialect, admin: admin_url, name };
        Ok(Throwaway { url, place, removed: false })
    }

    async fn remove(mut self) -> Result<(), Error> {
        self.removed = true;
        remove_place(&self.place).await
    }
}

async fn remove_place(place: &Place) -> Result<(), Error> {
    match place {
        Place::File(path) => {
            for suffix in ["", "-wal", "-shm", "-journal"] {
                let mut p = path.clone().into_os_string();
                p.push(suffix);
                match std::fs::remove_file(&p) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(Error::Usage(format!(
                            "removing the scratch database {}: {e}",
                            PathBuf::from(p).display()
                        )))
                    }
                }
            }
            Ok(())
        }
        Place::Server { dialect, admin, name } => {
            let context = format!("dropping the scratch database {name} (drop it by hand)");
            let mut session = connect(&ConnectSpec { url: admin.clone(), create: false })
                .await
                .map_err(Error::db(context.clone()))?;
            let result = match dialect {
                Dialect::Postgres => {
                    // FORCE (PostgreSQL 13+) ends sessions still connected to it; older servers refuse the syntax.
                    match session.execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await {
                        Err(e) if e.code.as_deref() == Some("42601") => {
                            session.execute(&format!("DROP DATABASE IF EXISTS \"{name}\"")).await
                        }
                        other => other,
                    }
                }
                _ => session.execute(&format!("DROP DATABASE IF EXISTS `{name}`")).await,
            };
            session.close().await;
            result.map_err(Error::db(context))
        }
    }
}

impl Drop for Throwaway {
    fn drop(&mut self) {
        if self.removed {
            return;
        }
        // A panic or a dropped future got here first. Drop may run inside a runtime, which must not block on a
        // future: remove it from a thread with a runtime of its own.
        let place = self.place.clone();
        let done =
            std::thread::spawn(move || match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt.block_on(remove_place(&place)),
                Err(e) => Err(Error::Usage(format!("no runtime to drop the scratch database: {e}"))),
            })
            .join();
        if let Ok(Err(e)) = done {
            tracing::warn!(error = %e, "dropping the scratch database failed");
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// A `dev_url` database: checked empty before, emptied after.

/// The objects in the database (PostgreSQL: in its current schema, plus other schemas and extensions), each with
/// the statement that drops it.
async fn objects(backend: &mut dyn Backend) -> Result<Vec<(String, String)>, DbError> {
    let sql = match backend.dialect() {
        Dialect::Postgres => PG_OBJECTS,
        Dialect::MySql => MYSQL_OBJECTS,
        Dialect::Sqlite => SQLITE_OBJECTS,
    };
    Ok(backend
        .query(sql)
        .await?
        .into_iter()
        .filter_map(|row| {
            let mut row = row.into_iter();
            Some((row.next()??, row.next()??))
        })
        .collect())
}

/// Drops everything in a `dev_url` database (which was empty before the run, so all of it is verify's). Returns a
/// warning when something stays.
async fn empty(spec: &ConnectSpec) -> Result<(), String> {
    let masked = crate::url::mask(&spec.url);
    let mut backend =
        connect(spec).await.map_err(|e| format!("emptying the scratch database {masked}: connecting: {e}"))?;
    let prelude = match backend.dialect() {
        Dialect::MySql => "SET FOREIGN_KEY_CHECKS = 0",
        Dialect::Sqlite => "PRAGMA foreign_keys = OFF",
        Dialect::Postgres => "",
    };
    if !prelude.is_empty() {
        let _ = backend.execute(prelude).await;
    }
    let mut left = Vec::new();
    // CASCADE does most of it in one pass; a few more passes cover what depended on each other the other way.
    for _ in 0..4 {
        left = match objects(backend.as_mut()).await {
            Ok(list) => list,
            Err(e) => {
                backend.close().await;
                return Err(format!("emptying the scratch database {masked}: {e}"));
            }
        };
        if left.is_empty() {
            break;
        }
        for (_, drop) in &left {
            if let Err(e) = backend.execute(drop).await {
                tracing::debug!(statement = %drop, error = %e, "emptying the scratch database");
            }
        }
    }
    backend.close().await;
    if left.is_empty() {
        Ok(())
    } else {
        let names: Vec<String> = left.into_iter().map(|(what, _)| what).collect();
        Err(format!("the scratch database {masked} could not be emptied; drop by hand: {}", names.join(", ")))
    }
}

const PG_OBJECTS: &str = r#"
SELECT what, stmt FROM (
    SELECT CAST('extension ' || e.extname AS TEXT) AS what,
           format('DROP EXTENSION IF EXISTS %I CASCADE', e.extname) AS stmt, 1 AS rank
      FROM pg_extension e WHERE e.extname <> 'plpgsql'
    UNION ALL
    SELECT CAST('schema ' || n.nspname AS TEXT), format('DROP SCHEMA IF EXISTS %I CASCADE', n.nspname), 2
      FROM pg_namespace n
     WHERE n.nspname <> current_schema() AND n.nspname NOT IN ('public', 'information_schema')
       AND n.nspname NOT LIKE 'pg\_%'
    UNION ALL
    SELECT CAST(k.word || ' ' || c.relname AS TEXT),
           format('DROP %s IF EXISTS %I.%I CASCADE', upper(k.word), n.nspname, c.relname), 3
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN (VALUES ('r', 'table'), ('p', 'table'), ('v', 'view'), ('m', 'materialized view'), ('S', 'sequence'),
                   ('f', 'foreign table'), ('c', 'type')) AS k(kind, word) ON k.kind = CAST(c.relkind AS TEXT)
     WHERE n.nspname = current_schema()
       AND NOT EXISTS (SELECT 1 FROM pg_depend d
                        WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
    UNION ALL
    SELECT CAST('routine ' || p.oid::regprocedure AS TEXT),
           format('DROP %s IF EXISTS %s CASCADE',
                  CASE p.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE' ELSE 'FUNCTION' END,
                  p.oid::regprocedure), 4
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE n.nspname = current_schema()
       AND NOT EXISTS (SELECT 1 FROM pg_depend d
                        WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
    UNION ALL
    SELECT CAST('type ' || t.typname AS TEXT),
           format('DROP %s IF EXISTS %I.%I CASCADE', CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END,
                  n.nspname, t.typname), 5
      FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
     WHERE n.nspname = current_schema() AND t.typtype IN ('e', 'd', 'r')
       AND NOT EXISTS (SELECT 1 FROM pg_depend d
                        WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')
) o ORDER BY rank, what"#;

const MYSQL_OBJECTS: &str = r#"
SELECT CAST(CONCAT(LOWER(table_type), ' ', table_name) AS CHAR),
       CAST(CONCAT('DROP ', CASE table_type WHEN 'VIEW' THEN 'VIEW' WHEN 'SEQUENCE' THEN 'SEQUENCE' ELSE 'TABLE' END,
                   ' IF EXISTS `', REPLACE(table_name, '`', '``'), '`') AS CHAR)
  FROM information_schema.tables WHERE table_schema = DATABASE()
UNION ALL
SELECT CAST(CONCAT(LOWER(routine_type), ' ', routine_name) AS CHAR),
       CAST(CONCAT('DROP ', routine_type, ' IF EXISTS `', REPLACE(routine_name, '`', '``'), '`') AS CHAR)
  FROM information_schema.routines WHERE routine_schema = DATABASE()
UNION ALL
SELECT CAST(CONCAT('event ', event_name) AS CHAR),
       CAST(CONCAT('DROP EVENT IF EXISTS `', REPLACE(event_name, '`', '``'), '`') AS CHAR)
  FROM information_schema.events WHERE event_schema = DATABASE()"#;

const SQLITE_OBJECTS: &str = r#"
SELECT type || ' ' || name, 'DROP ' || upper(type) || ' IF EXISTS "' || replace(name, '"', '""') || '"'
  FROM sqlite_master
 WHERE name NOT LIKE 'sqlite\_%' ESCAPE '\'
 ORDER BY CASE type WHEN 'trigger' THEN 1 WHEN 'view' THEN 2 WHEN 'index' THEN 3 ELSE 4 END, name"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratch_urls_keep_server_credentials_and_options() {
        assert_eq!(
            with_database("postgres://u:p@h:5432/main?sslmode=disable", Some("x")).unwrap(),
            "postgres://u:p@h:5432/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h/main?dbname=main&a=b", Some("x")).unwrap(), "postgres://h/x?a=b");
        assert_eq!(with_database("mysql://root@127.0.0.1:3306/test", None).unwrap(), "mysql://root@127.0.0.1:3306");
        assert_eq!(with_database("mysql://root@127.0.0.1:3306", Some("x")).unwrap(), "mysql://root@127.0.0.1:3306/x");
    }

    #[test]
    fn throwaway_names_are_unique_and_valid() {
        let a = throwaway_name();
        let b = throwaway_name();
        assert_ne!(a, b);
        assert!(a.starts_with(&format!("dbwarden_verify_{}_", std::process::id())), "{a}");
        assert!(a.len() <= 63 && a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_'), "{a}");
    }

    #[test]
    fn reports_read_as_json_and_as_text() {
        let failure = SqlFailure {
            phase: Phase::Rollback,
            file: "primary__0002_tags.sql".into(),
            line: 4,
            index: 1,
            total: 1,
            statement: "DROP TABLE tagz".into(),
            error: "no such table: tagz (code 1)".into(),
            message: "primary__0002_tags.sql:4: rollback statement 1 of 1 failed: no such table: tagz (code 1)".into(),
            code: Some("1".into()),
        };
        let checked = Checked {
            version: Some("0002".into()),
            filename: "primary__0002_tags.sql".into(),
            verdict: Verdict::SqlError(failure),
        };
        let json = serde_json::to_value(&checked).unwrap();
        assert_eq!(json["verdict"]["verdict"], "sql_error");
        assert_eq!(json["verdict"]["phase"], "rollback");
        assert_eq!(json["verdict"]["statement"], "DROP TABLE tagz");
        assert_eq!(
            checked.to_string(),
            "primary__0002_tags.sql: rollback failed at line 4 (statement 1 of 1): no such table: tagz (code 1)\n    DROP TABLE tagz"
        );
        let differs = Verdict::RollbackDiffers { differences: vec!["drop index ix".into()] };
        assert_eq!(serde_json::to_value(&differs).unwrap()["differences"][0], "drop index ix");
        assert_eq!(serde_json::to_value(Verdict::Ok).unwrap()["verdict"], "ok");
    }

    #[test]
    fn column_order_counts_except_on_postgres_appending() {
        use dbwarden_core::schema::{Column, ColumnType, Table};
        let col = |n: &str| Column::new(n, ColumnType::BigInt, true);
        let t = |cols: &[&str]| Schema {
            tables: vec![Table {
                name: "t".into(),
                columns: cols.iter().map(|c| col(c)).collect(),
                ..Default::default()
            }],
        };
        let (append, exact) = (ColumnOrder::Append, ColumnOrder::Exact);
        let none = HashSet::new();
        assert!(differences(Dialect::Postgres, append, &t(&["a", "c", "b"]), &t(&["a", "b", "c"]), &none).is_empty());
        let reorder = ["reorder the columns of t: (a, c, b) -> (a, b, c)"];
        assert_eq!(differences(Dialect::Postgres, exact, &t(&["a", "c", "b"]), &t(&["a", "b", "c"]), &none), reorder);
        assert_eq!(differences(Dialect::MySql, append, &t(&["a", "c", "b"]), &t(&["a", "b", "c"]), &none), reorder);
        assert_eq!(differences(Dialect::Sqlite, append, &t(&["a", "b"]), &t(&["a"]), &none), ["drop column t.b"]);
    }
}

//! What a run returns and what `status` reports: one [`Step`] per migration applied or reverted, the [`Report`] of a
//! run, the [`Status`] of each file against the history table.

use dbwarden_core::file::MigrationFile;
use serde::Serialize;

use dbwarden_core::file::MigrationKind;

use super::plan::{changed_since_run, is_edited, ran_first, same_migration, unsplittable};
use crate::history::{AppliedMigration, RowState};
use crate::source::Loaded;

/// One migration applied or reverted (or that would be, in a dry run).
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// `0001`, or none for a repeatable.
    pub version: Option<String>,
    /// The file name.
    pub filename: String,
    /// The description (slug words).
    pub description: String,
    /// Statements run (or to run).
    pub statements: usize,
    /// Wall time.
    pub elapsed_ms: u64,
    /// The SQL that runs, in a dry run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sql: Option<String>,
    /// Recorded without running (`--baseline`).
    pub baseline: bool,
}

/// What `migrate` or `rollback` did.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The database name.
    pub database: String,
    /// Migrations applied (migrate) or reverted (rollback), in order.
    pub steps: Vec<Step>,
    /// Nothing was written.
    pub dry_run: bool,
}

/// The state of one migration in `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryState {
    /// Applied, file unchanged.
    Applied,
    /// Not applied yet.
    Pending,
    /// Applied, but the upgrade section changed since.
    Edited,
    /// Applied, but the file is gone.
    Missing,
    /// Stopped part-way in an upgrade.
    Partial,
    /// Stopped part-way in a rollback.
    RollingBack,
    /// Not applied, and older than the newest applied version: `migrate` refuses it without `out_of_order`.
    OutOfOrder,
    /// Another file has the version of an applied migration (applied under another name, with another upgrade):
    /// `migrate`, `rollback` and `repair` refuse it; it needs a version of its own.
    VersionTaken,
}

/// One line of `status`.
#[derive(Debug, Clone, Serialize)]
pub struct StatusEntry {
    /// `0001`, or none for a repeatable.
    pub version: Option<String>,
    /// The file name.
    pub filename: String,
    /// `versioned`, `repeatable_always`, `repeatable_on_change`.
    pub kind: String,
    /// Its state.
    pub state: EntryState,
    /// When it was applied.
    pub applied_at: Option<String>,
    /// Why `migrate` would refuse this pending file before running anything (a section that cannot be split into
    /// statements), naming the file and line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// For a migration stopped part-way (`Partial`, `RollingBack`): how many statements of the section ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statements_done: Option<usize>,
}

/// What `status` reports.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// The database name.
    pub database: String,
    /// Every migration, files and history merged, in order.
    pub entries: Vec<StatusEntry>,
    /// Count of pending entries.
    pub pending: usize,
    /// Count of applied entries (edited ones included).
    pub applied: usize,
    /// Files on disk that the running binary does not embed.
    pub not_embedded: Vec<String>,
    /// PostgreSQL indexes of the session's schemas marked INVALID (schema-qualified): what a `CREATE INDEX
    /// CONCURRENTLY` that failed or was cut off leaves behind, which the next run of it meets as "already exists"
    /// (one running now is INVALID too until it finishes). Not a problem of the history ([`Status::has_problems`]),
    /// but `dbwarden status` flags them.
    pub invalid_indexes: Vec<String>,
}

impl Status {
    /// Whether something needs attention: what stops `migrate` (edited, missing versioned or part-way entries, out
    /// of order files) or files not embedded. A repeatable whose file is gone is listed but is not a problem: migrate
    /// goes on without it, and `repair` forgets its row.
    pub fn has_problems(&self) -> bool {
        !self.not_embedded.is_empty()
            || self.entries.iter().any(|e| e.problem.is_some())
            || self.entries.iter().any(|e| match e.state {
                EntryState::Edited
                | EntryState::Partial
                | EntryState::RollingBack
                | EntryState::OutOfOrder
                | EntryState::VersionTaken => true,
                EntryState::Missing => e.version.is_some(),
                EntryState::Applied | EntryState::Pending => false,
            })
    }
}

pub(super) fn step(
    file: &MigrationFile,
    statements: usize,
    elapsed_ms: u64,
    sql: Option<String>,
    baseline: bool,
) -> Step {
    Step {
        version: file.name.version.map(|v| v.to_string()),
        filename: file.filename.clone(),
        description: file.name.description(),
        statements,
        elapsed_ms,
        sql,
        baseline,
    }
}

pub(super) fn build_status(loaded: &Loaded, rows: &[AppliedMigration], dialect: dbwarden_core::Dialect) -> Status {
    let mut entries = Vec::new();
    // As `migrate` decides: against the newest version fully applied.
    let newest =
        rows.iter().filter(|r| r.state == RowState::Applied).filter_map(AppliedMigration::version_number).max();
    for file in &loaded.files {
        let row = rows.iter().find(|r| same_migration(r, file));
        let state = match row {
            None if file.name.version.is_some_and(|v| newest.is_some_and(|n| v.0 < n)) => EntryState::OutOfOrder,
            None => EntryState::Pending,
            // (As `migrate` tells a part-way row under another name: this file's, renamed, or another migration's.)
            Some(r) if r.state == RowState::Partial && r.filename != file.filename && !ran_first(r, file, dialect) => {
                EntryState::VersionTaken
            }
            Some(r) if r.state == RowState::Partial => EntryState::Partial,
            Some(r) if r.state == RowState::RollingBack => EntryState::RollingBack,
            Some(r) if file.name.kind == MigrationKind::RepeatableOnChange && changed_since_run(r, file) => {
                EntryState::Pending
            }
            Some(r) if file.name.kind == MigrationKind::Versioned && is_edited(r, file) => {
                if r.filename == file.filename {
                    EntryState::Edited
                } else {
                    EntryState::VersionTaken
                }
            }
            Some(_) => EntryState::Applied,
        };
        // What `migrate` would refuse before running anything: a pending file whose sections cannot be split.
        let problem = match state {
            EntryState::Pending | EntryState::OutOfOrder => unsplittable(file, dialect),
            _ => None,
        };
        entries.push(StatusEntry {
            version: file.name.version.map(|v| v.to_string()),
            filename: file.filename.clone(),
            kind: file.name.kind.as_str().to_string(),
            state,
            applied_at: row.and_then(|r| r.applied_at.clone()),
            problem,
            statements_done: row.filter(|r| r.state != RowState::Applied).map(|r| r.statements_done),
        });
    }
    for row in rows {
        let known = loaded.files.iter().any(|f| same_migration(row, f));
        if !known {
            // A row that stopped part-way stays a problem whether its file is there or not: something ran.
            let state = match row.state {
                RowState::Partial => EntryState::Partial,
                RowState::RollingBack => EntryState::RollingBack,
                RowState::Applied => EntryState::Missing,
            };
            entries.push(StatusEntry {
                version: row.version.clone(),
                filename: row.filename.clone(),
                kind: row.migration_type.clone(),
                state,
                applied_at: row.applied_at.clone(),
                problem: None,
                statements_done: (row.state != RowState::Applied).then_some(row.statements_done),
            });
        }
    }
    entries.sort_by_key(|e| {
        (e.version.is_none(), e.version.as_ref().and_then(|v| v.parse::<u64>().ok()), e.filename.clone())
    });
    let pending = entries.iter().filter(|e| matches!(e.state, EntryState::Pending | EntryState::OutOfOrder)).count();
    let applied = entries
        .iter()
        .filter(|e| matches!(e.state, EntryState::Applied | EntryState::Edited | EntryState::VersionTaken))
        .count();
    Status {
        database: loaded.db.clone(),
        entries,
        pending,
        applied,
        not_embedded: loaded.not_embedded.clone(),
        invalid_indexes: Vec::new(),
    }
}

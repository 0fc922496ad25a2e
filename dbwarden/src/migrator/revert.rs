//! Reverting (`rollback`, `downgrade`) and `repair`.

use std::collections::HashMap;
use std::time::Instant;

use dbwarden_core::checksum;
use dbwarden_core::file::MigrationFile;

use super::exec::{
    exec_unit, joins_records, replay_session_setup, sets_up_only, tables_locked_after, units, with_earlier,
    with_heartbeat, Direction, ExecCtx, RanSoFar,
};
use super::plan::{check_section, is_edited, same_migration};
use super::report::{step, Report};
use super::{Migrator, RollbackTo, Run};
use crate::error::Error;
use crate::history::{AppliedMigration, RowState};
use crate::source::Loaded;
/// While a rollback is part-way, the row's rollback checksum holds this prefix and the checksum of the rollback
/// statements that ran ([`checksum::statements_checksum`]); the row is deleted when the rollback completes.
const ROLLBACK_RAN: &str = "sha256-statements-run:";

impl Migrator {
    pub(super) async fn revert(&self, run: &mut Run<'_>, loaded: &Loaded, to: RollbackTo) -> Result<Report, Error> {
        run.history.ensure(run.backend).await?;
        let rows = run.history.read_existing(run.backend).await.map_err(Error::db("reading the history table"))?;
        let mut applied: Vec<&AppliedMigration> = rows.iter().filter(|r| r.version_number().is_some()).collect();
        applied.sort_by_key(|r| std::cmp::Reverse(r.version_number()));
        let chosen: Vec<&AppliedMigration> = match to {
            RollbackTo::Count(n) => applied.into_iter().take(n).collect(),
            RollbackTo::Version(v) => {
                if v != 0 && !rows.iter().any(|r| r.version_number() == Some(v)) {
                    return Err(Error::UnknownVersion { version: format!("{v:04}"), reason: "is not applied".into() });
                }
                applied.into_iter().filter(|r| r.version_number() > Some(v)).collect()
            }
        };
        let files: HashMap<u64, &MigrationFile> =
            loaded.files.iter().filter_map(|f| Some((f.name.version?.0, f))).collect();
        // Check every chosen migration before reverting any, so a predictable refusal never stops part-way.
        let mut plan = Vec::new();
        let mut edited = Vec::new();
        for row in &chosen {
            let file = files
                .get(&row.version_number().expect("versioned"))
                .copied()
                .ok_or_else(|| Error::Missing { versions: vec![row.filename.clone()] })?;
            if file.directives.irreversible {
                return Err(Error::Irreversible { file: file.filename.clone() });
            }
            if row.state == RowState::Partial {
                return Err(Error::Partial {
                    file: file.filename.clone(),
                    state:
                        "upgrade stopped part-way; finish it with migrate or clear it with repair before rolling back"
                            .into(),
                    done: row.statements_done,
                    total: file.statements(&file.upgrade, run.backend.dialect())?.len(),
                });
            }
            // Matched by version: a file whose upgrade is not what ran (edited, or another file given the same
            // version) has a rollback written for something else.
            if is_edited(row, file) {
                if row.filename != file.filename {
                    // Not an edit that `repair` could accept: another migration, which must take another number.
                    return Err(Error::VersionTaken { file: file.filename.clone(), applied: row.filename.clone() });
                }
                edited.push(file.filename.clone());
            }
            let resume = if row.state == RowState::RollingBack { row.statements_done } else { 0 };
            // Lexed here for every chosen file, so a rollback section that cannot be split (or would break its
            // transaction) stops before any runs.
            let statements = file.statements(&file.rollback, run.backend.dialect())?;
            check_section(file, &statements, true, run.backend.dialect())?;
            // As for an upgrade: the rollback statements that ran must still be the file's.
            let ran = row.rollback_checksum.as_deref().and_then(|c| c.strip_prefix(ROLLBACK_RAN));
            if let Some(ran) = ran.filter(|_| resume > 0) {
                let texts: Vec<&str> = statements.iter().take(resume).map(|s| s.sql).collect();
                if texts.len() < resume || checksum::statements_checksum(&texts) != ran {
                    return Err(Error::RanStatementsEdited {
                        file: file.filename.clone(),
                        rollback: true,
                        ran: resume,
                        total: statements.len(),
                    });
                }
            }
            plan.push((file, *row, resume, statements));
        }
        if !edited.is_empty() {
            return Err(Error::Edited { files: edited });
        }
        run.history.prepare(run.backend).await;
        let mut steps = Vec::new();
        let count = plan.len();
        for (n, (file, row, resume, statements)) in plan.into_iter().enumerate() {
            let started = Instant::now();
            let total = statements.len();
            let transactional = run.backend.dialect().transactional_ddl() && !file.directives.no_transaction;
            let texts: Vec<&str> = statements.iter().map(|s| s.sql).collect();
            replay_session_setup(run, file, &statements, resume).await?;
            let join_records = joins_records(&statements, transactional, run.backend.dialect());
            let units = units(statements, transactional, resume);
            let defer_flush = n + 1 < count;
            let ctx =
                ExecCtx { file, total, direction: Direction::Down, resume, outer: false, join_records, defer_flush };
            let forget = run.history.delete(&row.filename);
            let forget = with_heartbeat(run, forget);
            if units.is_empty() {
                run.backend
                    .execute(&run.booked(&forget))
                    .await
                    .map_err(Error::db(format!("recording the rollback of {}", file.filename)))?;
            }
            let last = units.len().saturating_sub(1);
            let locked = tables_locked_after(run, &units);
            let mut ran = RanSoFar::new(&texts);
            let mut progressed = resume > 0;
            for (i, unit) in units.iter().enumerate() {
                let done = unit.statements.last().expect("non-empty unit").0 + 1;
                let record = if i == last {
                    forget.clone()
                } else if (!progressed && sets_up_only(run, unit)) || locked[i] {
                    String::new()
                } else {
                    let ran = format!("{ROLLBACK_RAN}{}", ran.through(done));
                    run.history.progress(&row.filename, RowState::RollingBack, done, &ran)
                };
                exec_unit(run, &ctx, unit, &record, progressed).await.map_err(|e| with_earlier(e, &steps))?;
                progressed |= !record.is_empty();
            }
            tracing::info!(file = %file.filename, "rolled back");
            steps.push(step(file, total, started.elapsed().as_millis() as u64, None, false));
        }
        // Every versioned migration reverted: what the repeatables built went with the tables they ran on, so their
        // rows go too and the next migrate runs them again, as on a new database. (After a partial rollback they
        // stay: a re-run of a seed on tables that kept their rows would duplicate them.)
        let versioned = rows.iter().filter(|r| r.version_number().is_some()).count();
        if !steps.is_empty() && steps.len() == versioned {
            for row in rows.iter().filter(|r| r.version_number().is_none()) {
                let forget = run.history.delete(&row.filename);
                let forget = run.booked(&forget);
                run.backend.execute(&forget).await.map_err(Error::db(format!("forgetting {}", row.filename)))?;
            }
        }
        Ok(Report { database: loaded.db.clone(), steps, dry_run: false })
    }

    pub(super) async fn repair_locked(&self, run: &mut Run<'_>, loaded: &Loaded) -> Result<Vec<String>, Error> {
        run.history.ensure(run.backend).await?;
        let rows = run.history.read_existing(run.backend).await.map_err(Error::db("reading the history table"))?;
        // Another migration under an applied one's version is no edit to accept: refused before any row changes.
        for row in rows.iter().filter(|r| r.state == RowState::Applied && r.version.is_some()) {
            if let Some(file) = loaded.files.iter().find(|f| same_migration(row, f)) {
                if row.filename != file.filename && is_edited(row, file) {
                    return Err(Error::VersionTaken { file: file.filename.clone(), applied: row.filename.clone() });
                }
            }
        }
        let mut changed = Vec::new();
        for row in &rows {
            let file = loaded.files.iter().find(|f| same_migration(row, f));
            let sql = match (row.state, file) {
                (RowState::Partial | RowState::RollingBack, _) => run.history.delete(&row.filename),
                // A repeatable whose file is gone will not run again: its row only keeps the head record from
                // matching the files, so every start-up would read the whole history.
                // (Repeatable as `status` tells it: a row without a version.)
                (_, None) if row.version.is_none() => run.history.delete(&row.filename),
                // (Versioned only: a repeatable whose text changed is due to run again, which `migrate` does; accepting
                // its checksum here would mean its new text never runs.)
                (RowState::Applied, Some(file))
                    if row.version.is_some() && (is_edited(row, file) || row.checksum_algorithm.is_none()) =>
                {
                    run.history.set_checksums(&row.filename, &file.checksum, &file.rollback_checksum)
                }
                _ => continue,
            };
            run.backend.execute(&sql).await.map_err(Error::db(format!("repairing the row of {}", row.filename)))?;
            changed.push(row.filename.clone());
        }
        Ok(changed)
    }
}

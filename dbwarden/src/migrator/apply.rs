//! Applying: the pending migrations one by one (or all in one transaction), each with its history row.

use std::time::Instant;

use dbwarden_core::checksum;
use dbwarden_core::file::{fingerprint, Fingerprint, MigrationFile, MigrationKind};

use super::exec::{
    exec_unit, joins_records, replay_session_setup, sends_alone, sets_up_only, tables_locked_after, units,
    with_earlier, with_heartbeat, Direction, ExecCtx, RanSoFar,
};
use super::plan::{check_plan, is_edited, same_migration};
use super::report::{step, Report, Step};
use super::{Migrator, Run};
use crate::error::Error;
use crate::head;
use crate::history::{AppliedMigration, History, NewRow, RowState};
use crate::source::Loaded;

impl Migrator {
    pub(super) async fn apply_pending(&self, run: &mut Run<'_>, loaded: &Loaded) -> Result<Report, Error> {
        self.single_transaction_fits(&[], run.backend.dialect())?;
        run.history.ensure(run.backend).await?;
        let mut rows = run.history.read_existing(run.backend).await.map_err(Error::db("reading the history table"))?;
        adopt_legacy_rows(run, loaded, &mut rows).await?;
        let plan = self.plan(loaded, &rows, run.backend.dialect())?;
        check_plan(&plan, run.backend.dialect(), !self.baseline)?;
        if self.baseline {
            // A baseline records migrations as run without running them; one that stopped part-way ran in part.
            let partial = |f: &MigrationFile| rows.iter().any(|r| r.state == RowState::Partial && same_migration(r, f));
            if let Some((file, done)) = plan.iter().find(|(file, _)| partial(file)) {
                return Err(Error::Partial {
                    file: file.filename.clone(),
                    state: "upgrade stopped part-way, so --baseline cannot record it as never run; finish it with \
                            `dbwarden migrate`, or undo what ran and `dbwarden repair`"
                        .into(),
                    done: *done,
                    total: file.statements(&file.upgrade, run.backend.dialect())?.len(),
                });
            }
        }
        let mut steps = Vec::new();
        if plan.is_empty() {
            // Nothing ran: the rows just read under the lock are the history.
            write_head_if_complete(run, loaded, Some(&rows)).await;
            return Ok(Report { database: loaded.db.clone(), steps, dry_run: false });
        }
        run.history.prepare(run.backend).await;
        run.read_clock().await;
        let outer = self.single_transaction && !self.baseline;
        if outer {
            self.single_transaction_fits(&plan, run.backend.dialect())?;
            run.backend.execute(run.d.begin()).await.map_err(Error::db("beginning the transaction"))?;
        }
        let mut records = Vec::new();
        let count = plan.len();
        for (n, (file, resume)) in plan.into_iter().enumerate() {
            let existing = Self::row_of(&rows, file);
            match self.apply_one(run, file, resume, existing, outer, n + 1 < count).await {
                Ok((step, record)) => {
                    tracing::info!(file = %file.filename, ms = step.elapsed_ms, "applied");
                    records.extend(record);
                    steps.push(step);
                }
                Err(e) => {
                    if outer {
                        let _ = run.backend.execute("ROLLBACK").await;
                        return Err(e);
                    }
                    return Err(with_earlier(e, &steps));
                }
            }
        }
        if outer {
            // One multi-row INSERT records the whole run, inside the same transaction.
            let sql = format!("{};\nCOMMIT", run.booked(&run.history.insert_run(&records)));
            if let Err(e) = run.backend.execute(&sql).await {
                let _ = run.backend.execute("ROLLBACK").await;
                return Err(Error::db("recording the migrations")(e));
            }
        }
        write_head_if_complete(run, loaded, None).await;
        Ok(Report { database: loaded.db.clone(), steps, dry_run: false })
    }

    /// Applies one migration. In single-transaction mode (`outer`) its history row is returned instead of written,
    /// so the whole run is recorded by one INSERT.
    async fn apply_one<'f>(
        &self,
        run: &mut Run<'_>,
        file: &'f MigrationFile,
        resume: usize,
        row: Option<&AppliedMigration>,
        outer: bool,
        defer_flush: bool,
    ) -> Result<(Step, Option<(NewRow<'f>, u128)>), Error> {
        let started = Instant::now();
        let wall_started = run.db_now();
        let dialect = run.backend.dialect();
        let row_exists = row.is_some();
        let statements = file.statements(&file.upgrade, dialect)?;
        let total = statements.len();
        let texts: Vec<&str> = statements.iter().map(|s| s.sql).collect();
        // Resuming runs statements resume+1.. of the file as it is now: the ones before must be those that ran.
        let mut ran = RanSoFar::new(&texts);
        ran.check(file, resume, row)?;
        if let Some(old) = row.filter(|r| r.filename != file.filename) {
            // Stopped part-way and renamed since: the row takes the file's new name, and the run goes on with it.
            let rename = run.history.rename(&old.filename, &file.filename, &file.name.description());
            let booked = run.booked(&rename).into_owned();
            run.backend.execute(&booked).await.map_err(Error::db(format!("recording {}'s new name", old.filename)))?;
        }
        let repeatable = file.name.kind != MigrationKind::Versioned;
        // (A repeatable stopped part-way goes on with its row, as a versioned migration does.)
        let fresh_repeatable = repeatable && resume == 0;
        let new_row = |state, done| NewRow {
            version: file.name.version.map(|v| v.to_string()),
            description: file.name.description(),
            filename: &file.filename,
            migration_type: file.name.kind.as_str(),
            checksum: &file.checksum,
            checksum_algorithm: checksum::ALGORITHM,
            rollback_checksum: &file.rollback_checksum,
            state,
            statements_done: done,
        };
        // A repeatable's row is replaced each time it runs; in a single transaction every run's row is written by
        // one INSERT at the end, so a row that is there (a resumed migration's) goes first.
        let replace = if row_exists && (fresh_repeatable || outer) {
            format!("{};\n", run.history.delete(&file.filename))
        } else {
            String::new()
        };
        if self.baseline {
            let sql = format!("{replace}{}", run.history.insert(&new_row(RowState::Applied, 0), "0"));
            run.backend.execute(&sql).await.map_err(Error::db(format!("recording {}", file.filename)))?;
            return Ok((step(file, total, 0, None, true), None));
        }
        let transactional = dialect.transactional_ddl() && !file.directives.no_transaction;
        replay_session_setup(run, file, &statements, resume).await?;
        let join_records = joins_records(&statements, transactional, dialect);
        let units = units(statements, transactional, resume);
        let ctx = ExecCtx { file, total, direction: Direction::Up, resume, outer, join_records, defer_flush };
        if outer {
            if !replace.is_empty() {
                run.backend
                    .execute(&run.booked(replace.trim_end_matches(";\n")))
                    .await
                    .map_err(Error::db(format!("recording {}", file.filename)))?;
            }
            for unit in &units {
                exec_unit(run, &ctx, unit, "", true).await?;
            }
            let elapsed = started.elapsed();
            return Ok((
                step(file, total, elapsed.as_millis() as u64, None, false),
                Some((new_row(RowState::Applied, 0), elapsed.as_millis())),
            ));
        }
        let mut row_written = row_exists && !fresh_repeatable;
        if units.is_empty() {
            let record = if row_written {
                run.history.finish(&file.filename, &file.checksum, &file.rollback_checksum, "0")
            } else {
                format!("{replace}{}", run.history.insert(&new_row(RowState::Applied, 0), "0"))
            };
            let record = with_heartbeat(run, record);
            let booked = run.booked(&record);
            run.backend.execute(&booked).await.map_err(Error::db(format!("recording {}", file.filename)))?;
            return Ok((step(file, total, started.elapsed().as_millis() as u64, None, false), None));
        }
        let last = units.len() - 1;
        let finish = |run: &mut Run<'_>, row_written: bool, elapsed: &str| {
            let record = if row_written {
                run.history.finish(&file.filename, &file.checksum, &file.rollback_checksum, elapsed)
            } else {
                format!("{replace}{}", run.history.insert(&new_row(RowState::Applied, 0), elapsed))
            };
            with_heartbeat(run, record)
        };
        let progress = |run: &Run<'_>, ran: &str, row_written: bool, done: usize| {
            if row_written {
                run.history.progress(&file.filename, RowState::Partial, done, ran)
            } else {
                let partial = NewRow {
                    checksum: ran,
                    checksum_algorithm: checksum::STATEMENTS_ALGORITHM,
                    ..new_row(RowState::Partial, done)
                };
                format!("{replace}{}", run.history.insert(&partial, "NULL"))
            }
        };
        let locked = tables_locked_after(run, &units);
        for (i, unit) in units.iter().enumerate() {
            let done = unit.statements.last().expect("non-empty unit").0 + 1;
            let record = if i == last {
                if sends_alone(run.d, unit, ctx.joins(run.d, unit, true)) {
                    // A statement that must go alone (CREATE INDEX CONCURRENTLY): its record follows in a round
                    // trip of its own anyway, so it is written once the statement is done, with the whole time.
                    exec_unit(run, &ctx, unit, "", row_written).await?;
                    let record = finish(run, row_written, &started.elapsed().as_millis().to_string());
                    let booked = run.booked(&record);
                    run.backend.execute(&booked).await.map_err(Error::db(format!("recording {}", file.filename)))?;
                    break;
                }
                let elapsed = run.d.elapsed_ms(wall_started, started.elapsed().as_millis());
                finish(run, row_written, &elapsed)
            } else if (!row_written && sets_up_only(run, unit)) || locked[i] {
                String::new()
            } else {
                let ran = ran.through(done);
                progress(run, &ran, row_written, done)
            };
            match exec_unit(run, &ctx, unit, &record, row_written).await {
                Ok(()) => row_written |= !record.is_empty(),
                // Under table locks the statements that ran are not recorded yet: unlocked, they are, so the error
                // (which counts them as done) and the next run (which resumes after them) say what happened.
                Err(Error::Statement { mut at, source }) if i > 0 && locked[i - 1] && at.index - 1 > resume => {
                    // (Statements before the failed one ran and committed; none of them under the locks is recorded,
                    // so the error's count, which counts what is recorded, is set here.)
                    let done = at.index - 1;
                    let _ = run.backend.execute("UNLOCK TABLES").await;
                    let ran = ran.through(done);
                    let record = progress(run, &ran, row_written, done);
                    let record = run.booked(&record);
                    match run.backend.execute(&record).await {
                        Ok(()) => at.applied = done,
                        Err(e) => {
                            tracing::warn!(error = %e, file = %file.filename, "recording the statements that ran")
                        }
                    }
                    return Err(Error::Statement { at, source });
                }
                Err(e) => return Err(e),
            }
        }
        Ok((step(file, total, started.elapsed().as_millis() as u64, None, false), None))
    }
}

/// The fingerprint of history rows read by [`History::plan_sql`], when all of them are applied with our checksum.
pub(super) fn fingerprint_of(rows: &[AppliedMigration]) -> Option<Fingerprint> {
    let items = rows.iter().map(|r| {
        let checksum = r.checksum.as_deref().filter(|_| r.state == RowState::Applied)?;
        Some(fingerprint::item(r.version_number(), &r.filename, checksum))
    });
    Some(fingerprint::of_items(items.collect::<Option<Vec<_>>>()?))
}

/// Leaves the head record for [`unlock`] to write when the history holds exactly the files' set: `rows` as read
/// under the lock, or read again here (after migrations ran). A failure only costs the next start-up the full
/// read, so it is logged, not returned.
pub(super) async fn write_head_if_complete(run: &mut Run<'_>, loaded: &Loaded, rows: Option<&[AppliedMigration]>) {
    let Some(expected) = &loaded.fingerprint else { return };
    let plan_sql = run.history.plan_sql();
    let found = match rows {
        Some(rows) => fingerprint_of(rows),
        None => match run.restore_search_path().await.query(&plan_sql).await {
            Ok(rows) => History::plan_rows(rows).as_deref().and_then(fingerprint_of),
            Err(e) => {
                tracing::debug!(error = %e, "reading the history for the head record");
                return;
            }
        },
    };
    if found.as_ref() != Some(expected) {
        return;
    }
    run.head = Some(head::write_sql(run.d, &run.namespace, expected));
}

/// Python DBWarden rows carry no algorithm: those whose checksum matches the file get ours recorded. One that
/// does not is left alone: the plan refuses it as edited (`repair` accepts the file as it is).
async fn adopt_legacy_rows(run: &mut Run<'_>, loaded: &Loaded, rows: &mut [AppliedMigration]) -> Result<(), Error> {
    for row in rows.iter_mut().filter(|r| r.checksum_algorithm.is_none()) {
        let Some(file) = loaded.files.iter().find(|f| {
            f.filename == row.filename
                || (row.version_number().is_some() && f.name.version.map(|v| v.0) == row.version_number())
        }) else {
            continue;
        };
        if is_edited(row, file) {
            continue;
        }
        let sql = run.history.set_checksums(&row.filename, &file.checksum, &file.rollback_checksum);
        run.backend.execute(&sql).await.map_err(Error::db(format!("adopting the row of {}", row.filename)))?;
        row.checksum = Some(file.checksum.clone());
        row.checksum_algorithm = Some(checksum::ALGORITHM.to_string());
        row.rollback_checksum = Some(file.rollback_checksum.clone());
        tracing::info!(file = %file.filename, "adopted a Python DBWarden history row");
    }
    Ok(())
}

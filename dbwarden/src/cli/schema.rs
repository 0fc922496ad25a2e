//! The model commands: `make-migrations`, `diff`, `check-db`, `check`.

use dbwarden_core::diff::{Renames, Safety};

use super::{databases, Cli, Failure, Out};
use crate::make::{self, MakeError, MakeOptions, PlannedStep};

impl From<MakeError> for Failure {
    fn from(e: MakeError) -> Failure {
        Failure { hint: e.hint(), message: e.to_string(), code: 2 }
    }
}

/// Parses `--rename t.old:new` (a column) or `old:new` (a table).
pub(super) fn parse_rename(text: &str) -> Result<(Option<String>, String, String), String> {
    let bad = || format!("`{text}`: write table.old_column:new_column or old_table:new_table");
    let (from, to) = text.split_once(':').ok_or_else(bad)?;
    let (table, from) = match from.split_once('.') {
        Some((t, c)) => (Some(t.to_string()), c.to_string()),
        None => (None, from.to_string()),
    };
    if from.is_empty() || to.is_empty() || table.as_deref() == Some("") {
        return Err(bad());
    }
    Ok((table, from, to.to_string()))
}

fn renames(list: &[(Option<String>, String, String)]) -> Renames {
    let mut renames = Renames::default();
    for (table, from, to) in list {
        match table {
            Some(t) => renames.columns.push((t.clone(), from.clone(), to.clone())),
            None => renames.tables.push((from.clone(), to.clone())),
        }
    }
    renames
}

fn step_lines(out: &Out, steps: &[PlannedStep]) -> String {
    steps
        .iter()
        .map(|s| {
            let level = format!("{:<8}", s.safety.to_string());
            let level = match s.safety {
                Safety::Safe => out.green(&level),
                Safety::Info => level,
                Safety::Warn => out.yellow(&level),
                Safety::Critical => out.red(&level),
            };
            format!("  {level}  {}\n", s.step)
        })
        .collect()
}

/// A manifest table naming a database the config does not declare would be left out of every model command
/// without a word (a misspelt `database = "primry"`): an error naming the line and the databases there are. (Linked
/// `#[derive(Table)]` models may well belong to databases of another program sharing the models crate: those get a
/// warning in the log.) Not checked with `--url` and no config file, where the one database stands alone.
fn models_name_known_databases(cli: &Cli) -> Result<(), Failure> {
    if cli.url.is_some() && !cli.config.exists() {
        return Ok(());
    }
    let config = crate::config::Config::load(&cli.config)?;
    let manifest = cli.schema.clone().unwrap_or_else(|| make::MANIFEST_FILE.into());
    let known: Vec<&str> = config.databases.iter().map(|d| d.name.as_str()).collect();
    let unknown = |m: &dbwarden_core::schema::ModelTable| m.database.clone().filter(|d| !known.contains(&d.as_str()));
    for model in crate::models::registered() {
        if let Some(database) = unknown(&model) {
            tracing::warn!(model = %model.origin, database, "a linked model belongs to a database the config does not declare");
        }
    }
    let from_file =
        if manifest.exists() { dbwarden_core::manifest::load(&manifest).map_err(MakeError::from)? } else { Vec::new() };
    for model in from_file {
        let Some(database) = unknown(&model) else { continue };
        return Err(Failure {
            message: format!(
                "{}: table `{}` belongs to database `{database}`, which {} does not declare (it has: {})",
                model.origin,
                model.table.name,
                config.origin,
                known.join(", ")
            ),
            hint: Some(format!(
                "fix `database = \"{database}\"`, or add a [[database]] entry named `{database}` to {}",
                crate::config::FILE_NAME
            )),
            code: 2,
        });
    }
    Ok(())
}

/// `make-migrations`.
pub(super) async fn make_migrations(
    cli: &Cli,
    out: &Out,
    description: &str,
    database: Option<&str>,
    print_only: bool,
    rename: &[(Option<String>, String, String)],
    offline: bool,
) -> Result<u8, Failure> {
    models_name_known_databases(cli)?;
    let db = databases(cli, database, false)?.remove(0);
    let options = MakeOptions {
        description: description.to_string(),
        print_only,
        renames: renames(rename),
        offline,
        manifest: cli.schema.clone(),
    };
    let report = make::make_migrations(&db, &options).await?;
    out.emit(&report, |o| {
        let Some(path) = &report.path else {
            let mut text =
                format!("{}: no changes: the models match {}; no file written", report.database, report.baseline);
            if let Some(snapshot) = &report.snapshot {
                text.push_str(&format!("\n{}: brought {} up to date", report.database, snapshot.display()));
            }
            return text;
        };
        let mut text = if print_only {
            report.text.clone().unwrap_or_default()
        } else {
            format!("{}: wrote {} (compared with {})\n", report.database, path.display(), report.baseline)
        };
        if !print_only {
            text.push_str(&step_lines(o, &report.steps));
        }
        if let Some(note) = &report.note {
            text.push_str(&o.dim(&format!("  ({note})\n")));
        }
        text
    });
    Ok(0)
}

/// `diff`.
pub(super) async fn diff(
    cli: &Cli,
    out: &Out,
    database: Option<&str>,
    exit_code: bool,
    offline: bool,
    sql: bool,
) -> Result<u8, Failure> {
    models_name_known_databases(cli)?;
    let db = databases(cli, database, false)?.remove(0);
    let report = make::diff(&db, cli.schema.as_deref(), offline).await?;
    out.emit(&report, |o| {
        if report.steps.is_empty() {
            return format!("{}: the models match {}", report.database, report.baseline);
        }
        let mut text = format!(
            "{}: {} difference(s) between {} and the models\n",
            report.database,
            report.steps.len(),
            report.baseline
        );
        text.push_str(&step_lines(o, &report.steps));
        if sql {
            text.push_str(&report.sql.iter().map(|s| format!("{s};\n")).collect::<String>());
        }
        text
    });
    Ok(if exit_code && !report.steps.is_empty() { 1 } else { 0 })
}

/// `check-db -o`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CheckDbOutput {
    /// Tables and columns for people.
    Text,
    /// The schema IR as JSON.
    Json,
    /// CREATE statements.
    Sql,
}

/// `check-db`.
pub(super) async fn check_db(
    cli: &Cli,
    out: &Out,
    database: Option<&str>,
    format: CheckDbOutput,
) -> Result<u8, Failure> {
    let db = databases(cli, database, false)?.remove(0);
    let schema = make::live_schema(&db).await?;
    let format = if cli.json { CheckDbOutput::Json } else { format };
    match format {
        CheckDbOutput::Json => super::output::line(&serde_json::to_string_pretty(&schema).expect("serialisable")),
        CheckDbOutput::Sql => {
            for s in make::schema_sql(db.dialect, &schema) {
                super::output::line(&format!("{s};"));
            }
        }
        CheckDbOutput::Text => out.emit(&schema, |o| {
            let mut text = format!("{} ({}): {} table(s)\n", db.name, crate::url::mask(&db.url), schema.tables.len());
            for t in &schema.tables {
                text.push_str(&t.name);
                if !t.options.is_empty() {
                    let options: Vec<&str> = t.options.iter().map(|o| o.sql()).collect();
                    text.push_str(&o.dim(&format!("  ({})", options.join(", "))));
                }
                text.push('\n');
                for c in &t.columns {
                    let mut line = format!("  {:<24} {}", c.name, c.ty);
                    if !c.nullable {
                        line.push_str(" NOT NULL");
                    }
                    if let Some(d) = &c.default {
                        line.push_str(&format!(" DEFAULT {d}"));
                    }
                    if let Some(on_update) = &c.on_update {
                        line.push_str(&format!(" ON UPDATE {on_update}"));
                    }
                    if let Some(collation) = &c.collation {
                        line.push_str(&format!(" COLLATE {collation}"));
                    }
                    if t.primary_key.as_ref().is_some_and(|k| k.columns.contains(&c.name)) {
                        line.push_str(&o.dim("  (primary key)"));
                    }
                    text.push_str(&line);
                    text.push('\n');
                }
                for i in &t.indexes {
                    let kind = if i.unique { "unique index" } else { "index" };
                    text.push_str(&o.dim(&format!("  {kind} {} ({})\n", i.name, i.columns.join(", "))));
                }
                for u in &t.uniques {
                    text.push_str(&o.dim(&format!("  unique {} ({})\n", u.name, u.columns.join(", "))));
                }
                for k in &t.foreign_keys {
                    let mut actions = String::new();
                    if k.on_delete != Default::default() {
                        actions.push_str(&format!(" ON DELETE {}", k.on_delete.sql()));
                    }
                    if k.on_update != Default::default() {
                        actions.push_str(&format!(" ON UPDATE {}", k.on_update.sql()));
                    }
                    text.push_str(&o.dim(&format!(
                        "  foreign key {} ({}) -> {} ({}){actions}\n",
                        k.name,
                        k.columns.join(", "),
                        k.ref_table,
                        k.ref_columns.join(", ")
                    )));
                }
                for c in &t.checks {
                    text.push_str(&o.dim(&format!("  check {} ({})\n", c.name, c.expr)));
                }
            }
            text
        }),
    }
    Ok(0)
}

/// `check`: exit 1 when something is above the ceiling.
pub(super) async fn check(cli: &Cli, out: &Out, database: Option<&str>, ceiling: Safety) -> Result<u8, Failure> {
    models_name_known_databases(cli)?;
    // A folder named on the command line that is not there is a typo, not "nothing pending" (a CI gate passed).
    if let Some(dir) = cli.migrations_dir.as_ref().filter(|d| !d.is_dir()) {
        return Err(crate::Error::NoMigrationsDir { path: dir.clone() }.into());
    }
    let db = databases(cli, database, false)?.remove(0);
    let report = make::check(&db, cli.schema.as_deref()).await?;
    let above = report.safety.is_some_and(|s| s > ceiling);
    out.emit(&serde_json::json!({ "report": &report, "ceiling": ceiling, "above_ceiling": above }), |o| {
        let mut text = String::new();
        for f in &report.files {
            text.push_str(&format!("{}: pending {} ({})\n", report.database, f.file, f.safety));
            text.push_str(&step_lines(o, &f.steps));
        }
        if !report.models.is_empty() {
            text.push_str(&format!("{}: model changes with no migration yet\n", report.database));
            text.push_str(&step_lines(o, &report.models));
        }
        if let Some(why) = &report.models_unchecked {
            text.push_str(&o.yellow(&format!("{}: model changes not checked: {why}\n", report.database)));
        }
        match report.safety {
            None => text.push_str(&format!("{}: nothing pending", report.database)),
            Some(s) if above => text.push_str(&o.red(&format!("{s} is above the ceiling {ceiling}"))),
            Some(s) => text.push_str(&format!("highest level {s}, within the ceiling {ceiling}")),
        }
        if report.models_unchecked.is_some() && !above {
            // The exit code is 1 all the same: the model changes could not be checked.
            text.push_str(&o.yellow("; the model changes above could not be checked (exit 1)"));
        }
        text
    });
    Ok(if above || report.models_unchecked.is_some() { 1 } else { 0 })
}

/// Parses SAFE/INFO/WARN/CRITICAL (any case).
pub(super) fn parse_safety(text: &str) -> Result<Safety, String> {
    match text.to_ascii_uppercase().as_str() {
        "SAFE" => Ok(Safety::Safe),
        "INFO" => Ok(Safety::Info),
        "WARN" => Ok(Safety::Warn),
        "CRITICAL" => Ok(Safety::Critical),
        _ => Err(format!("`{text}`: one of SAFE, INFO, WARN, CRITICAL")),
    }
}

/// For `migrate --ceiling`: the first pending versioned migration above `ceiling`, as (its index among the pending
/// migrations, file name, level).
/// Only files the run would reach count (`count`, `to_version`); `create` as for `migrate` (not in a dry run).
pub(super) async fn first_above(
    db: &crate::config::DatabaseConfig,
    ceiling: Safety,
    count: Option<usize>,
    to_version: Option<u64>,
    create: bool,
) -> Result<Option<(usize, String, Safety)>, Failure> {
    let report = make::check_files(db, create).await?;
    Ok(report
        .iter()
        .enumerate()
        .take(count.unwrap_or(usize::MAX))
        .take_while(|(_, f)| to_version.is_none_or(|t| f.version.is_some_and(|v| v <= t)))
        .find(|(_, f)| f.safety > ceiling)
        .map(|(i, f)| (i, f.file.clone(), f.safety)))
}

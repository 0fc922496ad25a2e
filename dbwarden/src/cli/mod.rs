//! The `dbwarden` command line (SPEC §5). The same CLI runs inside a user's binary: `dbwarden::cli::main()`.
//!
//! Exit codes: 0 success or nothing to do; 1 a check found something (an edited or missing file); 2 an error
//! (config, connection, lock timeout, SQL error, bad file); 3 stopped part-way on purpose.

mod output;
mod schema;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use serde::Serialize;

use crate::backend::ConnectSpec;
use crate::config::{Config, ConfigError, DatabaseConfig};
use crate::migrator::{EntryState, Report, RollbackTo};
use crate::{url, Error};
use output::Out;

/// SQL-first database migrations for PostgreSQL, MySQL/MariaDB and SQLite.
#[derive(Debug, Parser)]
#[command(
    name = "dbwarden",
    version,
    about,
    after_help = "Without dbwarden.toml, the database is SQLite `app.db` (or DATABASE_URL) with migrations in migrations/primary."
)]
pub struct Cli {
    /// The config file.
    #[arg(long, global = true, default_value = crate::config::FILE_NAME)]
    pub config: PathBuf,
    /// Database URL; runs without a config file (the type comes from the scheme).
    #[arg(long, global = true)]
    pub url: Option<String>,
    /// Folder of migration files (default: `migrations/<db>`).
    // (`help` repeats the doc comment for `--help`, where `<db>` must not show as code; rustdoc wants it as code.)
    #[arg(long, global = true, help = "Folder of migration files (default: migrations/<db>)")]
    pub migrations_dir: Option<PathBuf>,
    /// The schema manifest (default: dbwarden.schema.toml when it exists), read with the linked models.
    #[arg(long, global = true)]
    pub schema: Option<PathBuf>,
    /// The database name from dbwarden.toml (default: the default one); before or after the command.
    #[arg(short = 'd', long = "database", global = true)]
    pub database: Option<String>,
    /// One JSON document on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// More logs on stderr (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write dbwarden.toml (SQLite default) and `migrations/<db>/`.
    // (`about` repeats it for `--help`, as `help` does for `--migrations-dir`.)
    #[command(
        about = "Write dbwarden.toml (SQLite default) and migrations/<db>/",
        after_help = "Example: dbwarden init"
    )]
    Init,
    /// Diff the models against the database (or the snapshot) and write the next migration file.
    #[command(
        name = "make-migrations",
        after_help = "Examples:\n  dbwarden make-migrations \"add user names\"\n  dbwarden make-migrations --sql\n  dbwarden make-migrations --rename users.name:full_name\n  cargo run --example generate   (the models linked into a binary; no arguments = make-migrations)"
    )]
    MakeMigrations {
        /// What it does; becomes the file's slug (default: from the changes).
        description: Vec<String>,
        /// Print the migration; write nothing.
        #[arg(long)]
        sql: bool,
        /// A rename, keeping the data: `table.old:new` (a column) or `old:new` (a table). Repeatable.
        #[arg(long, value_parser = schema::parse_rename)]
        rename: Vec<(Option<String>, String, String)>,
        /// Compare with the committed snapshot even when the database is reachable.
        #[arg(long)]
        offline: bool,
    },
    /// Models versus the live database (or, --offline, the snapshot); changes nothing.
    #[command(
        after_help = "Examples:\n  dbwarden diff\n  dbwarden diff --offline --exit-code   (in CI: models changed without a migration)"
    )]
    Diff {
        /// Exit 1 when there are differences.
        #[arg(long)]
        exit_code: bool,
        /// Compare with the committed snapshot instead of the database.
        #[arg(long)]
        offline: bool,
        /// Also print the SQL that would fix them.
        #[arg(long)]
        sql: bool,
    },
    /// Read-only dump of the live schema.
    #[command(name = "check-db", after_help = "Examples:\n  dbwarden check-db\n  dbwarden check-db -o sql")]
    CheckDb {
        /// text, json or sql.
        #[arg(short = 'o', long = "output", value_enum, default_value = "text")]
        output: schema::CheckDbOutput,
    },
    /// Safety (SAFE/INFO/WARN/CRITICAL) of pending migrations and of model changes with no migration yet; exit 1
    /// above the ceiling.
    #[command(after_help = "Examples:\n  dbwarden check\n  dbwarden check --ceiling info")]
    Check {
        /// The highest level accepted.
        #[arg(long, default_value = "WARN", value_parser = schema::parse_safety)]
        ceiling: dbwarden_core::diff::Safety,
    },
    /// Replay upgrade -> rollback -> upgrade of every migration on a scratch database and compare the schemas
    /// (exit 1 when a rollback does not restore the previous schema).
    #[command(
        after_help = "Examples:\n  dbwarden verify\n  dbwarden --url postgres://app@localhost/main verify   (a throwaway sibling database, dropped afterwards)\n\nThe scratch database is `dev_url` from dbwarden.toml when set (it must be empty), else a new database next to the project's."
    )]
    Verify {
        /// Apply migrations marked irreversible (their upgrade is still checked) and go on, instead of stopping.
        #[arg(long)]
        past_irreversible: bool,
    },
    /// Write an empty hand-written migration: the next version, an upgrade and a rollback section.
    #[command(after_help = "Example: dbwarden new \"add users email index\"")]
    New {
        /// What it does; becomes the file's slug.
        description: Vec<String>,
    },
    /// Apply pending migrations, behind the lock.
    #[command(
        after_help = "Examples:\n  dbwarden migrate\n  dbwarden migrate --to-version 0004 --dry-run\n  dbwarden --url postgres://app@localhost/main migrate"
    )]
    Migrate(MigrateArgs),
    /// Revert applied migrations, newest first (default: the newest one).
    #[command(
        after_help = "Examples:\n  dbwarden rollback\n  dbwarden rollback --count 3\n  dbwarden rollback --to-version 0002"
    )]
    Rollback {
        /// How many to revert (at least 1).
        #[arg(long, conflicts_with = "to_version", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
        count: Option<usize>,
        /// Revert everything newer than this version (0 reverts all).
        #[arg(long, value_parser = parse_version)]
        to_version: Option<u64>,
    },
    /// Revert everything newer than a version (`rollback --to-version`).
    #[command(after_help = "Example: dbwarden downgrade --to 0003")]
    Downgrade {
        /// The version to go back to (it stays applied; 0 reverts all).
        #[arg(long, value_parser = parse_version)]
        to: u64,
    },
    /// Pending and applied counts; edited, missing and part-way migrations flagged (exit 1 when any).
    #[command(after_help = "Example: dbwarden status --json")]
    Status,
    /// The rows of the history table.
    #[command(after_help = "Example: dbwarden history")]
    History,
    /// Who holds the migration lock.
    #[command(name = "lock-status", after_help = "Example: dbwarden lock-status")]
    LockStatus,
    /// Release a lock left behind; --force ends a live holder's session.
    #[command(after_help = "Example: dbwarden unlock --force")]
    Unlock {
        /// Release even when the holder is alive (ends its database session).
        #[arg(long)]
        force: bool,
    },
    /// Accept edited applied migrations (record their new checksums), forget rows of migrations that stopped
    /// part-way (after you undid their effects by hand) and rows of repeatable migrations whose file is gone.
    #[command(after_help = "Example: dbwarden repair")]
    Repair,
}

/// Options of `migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Apply up to and including this version.
    #[arg(long, value_parser = parse_version)]
    pub to_version: Option<u64>,
    /// Apply at most this many (at least 1).
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub count: Option<usize>,
    /// Print the SQL that would run; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Record pending migrations as applied without running them (adopt an existing schema).
    #[arg(long)]
    pub baseline: bool,
    /// Migrate every database of the config.
    #[arg(long, conflicts_with = "database")]
    pub all: bool,
    /// All pending migrations in one transaction, all or nothing (PostgreSQL, SQLite).
    #[arg(long)]
    pub single_transaction: bool,
    /// Run even when applied migrations have no file.
    #[arg(long)]
    pub ignore_missing: bool,
    /// Apply a pending migration older than the newest applied one.
    #[arg(long)]
    pub out_of_order: bool,
    /// How long to wait for the lock (e.g. 30s); default from the config, else 60s.
    #[arg(long, value_parser = parse_duration)]
    pub lock_timeout: Option<Duration>,
    /// Stop before the first pending migration whose safety is above this level (SAFE, INFO, WARN, CRITICAL);
    /// exit 3 when it stops there.
    #[arg(long, value_parser = schema::parse_safety)]
    pub ceiling: Option<dbwarden_core::diff::Safety>,
}

fn parse_version(text: &str) -> Result<u64, String> {
    dbwarden_core::file::Version::parse(text).map(|v| v.0).ok_or_else(|| format!("`{text}` is not a version number"))
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    crate::config::parse_duration(text).ok_or_else(|| format!("`{text}`: write a duration like 30s, 2m or 500ms"))
}

/// Runs the CLI with the process arguments; returns the exit code.
///
/// With no arguments at all it runs `make-migrations`, so `fn main() -> ExitCode { dbwarden::cli::main() }` in a
/// binary that links the models is the generator (`cargo run --example generate`).
pub fn main() -> ExitCode {
    main_with(std::env::args_os())
}

/// [`main`] with the given command line (its first item is the program name).
pub fn main_with(args: impl IntoIterator<Item = std::ffi::OsString>) -> ExitCode {
    let mut args: Vec<std::ffi::OsString> = args.into_iter().collect();
    if args.len() == 1 {
        args.push("make-migrations".into());
    }
    match Cli::try_parse_from(&args) {
        Ok(cli) => run(cli),
        // With --json, a usage error is a JSON document too (help and --version print as usual).
        Err(e) if args.iter().any(|a| a == "--json") && e.use_stderr() => {
            let message = e.kind().to_string();
            let rendered = e.render().to_string();
            // The error's paragraph: "the following required arguments were not provided:" goes on with the
            // arguments on the lines after it.
            let lines: Vec<&str> = rendered
                .lines()
                .skip_while(|l| !l.starts_with("error:"))
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect();
            let detail = if lines.is_empty() { message } else { lines.join(" ") };
            Out::new(true).error(&url::mask_in_text(detail.trim_start_matches("error: ")), Some("see --help"));
            ExitCode::from(2)
        }
        // A URL given where no URL belongs is echoed by clap: masked like every other message.
        Err(e) if e.use_stderr() => {
            eprint!("{}", url::mask_in_text(&e.render().to_string()));
            ExitCode::from(2)
        }
        Err(e) => e.exit(),
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> ExitCode {
    init_logging(cli.verbose);
    let out = Out::new(cli.json);
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            out.error(&format!("cannot start the async runtime: {e}"), None);
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(dispatch(&cli, &out)) {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            // (Messages echo what the user gave, a URL in the wrong option among it: `-d postgres://u:pw@h/x`.)
            let hint = failure.hint.as_deref().map(url::mask_in_text);
            out.error(&url::mask_in_text(&failure.message), hint.as_deref());
            ExitCode::from(failure.code)
        }
    }
}

fn init_logging(verbose: u8) {
    // sqlx warns of every statement over a second, printing dbwarden's own bookkeeping SQL: a migration is allowed
    // to be slow, so only its errors show.
    let default = match verbose {
        0 => "warn,sqlx=error",
        1 => "warn,sqlx=error,dbwarden=info",
        _ => "warn,dbwarden=debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("DBWARDEN_LOG").unwrap_or_else(|_| default.into());
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr()) && std::env::var_os("NO_COLOR").is_none();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| MaskedStderr(Vec::new()))
        .with_ansi(ansi)
        .with_target(false)
        .try_init();
}

/// Standard error for log lines, each written whole with [`url::mask_log_line`] applied: a driver's message or a
/// field may hold a URL or a password parameter.
struct MaskedStderr(Vec<u8>);

impl std::io::Write for MaskedStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for MaskedStderr {
    fn drop(&mut self) {
        // tracing-subscriber makes a writer per event and drops it when the event is written.
        let text = String::from_utf8_lossy(&self.0);
        let masked: String = text.split_inclusive('\n').map(url::mask_log_line).collect();
        let _ = std::io::Write::write_all(&mut std::io::stderr(), masked.as_bytes());
    }
}

/// A failed command: message, hint, exit code.
struct Failure {
    message: String,
    hint: Option<String>,
    code: u8,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        // SPEC §5: 1 is "a check found something"; the checks that stop `migrate` and `rollback` before anything
        // runs (an applied file edited, a versioned file missing, a file older than the newest applied) are that.
        let code = match e {
            Error::Edited { .. }
            | Error::RanStatementsEdited { .. }
            | Error::VersionTaken { .. }
            | Error::Missing { .. }
            | Error::OutOfOrder { .. } => 1,
            _ => 2,
        };
        Failure { hint: e.hint(), message: e.to_string(), code }
    }
}

impl From<ConfigError> for Failure {
    fn from(e: ConfigError) -> Failure {
        Failure { message: e.to_string(), hint: Some("see the Configuration section of the README".into()), code: 2 }
    }
}

impl Failure {
    fn usage(message: String) -> Failure {
        Failure { message, hint: None, code: 2 }
    }
}

/// The databases a command works on, with `--url`/`--migrations-dir` applied.
fn databases(cli: &Cli, name: Option<&str>, all: bool) -> Result<Vec<DatabaseConfig>, Failure> {
    chosen(cli, name, all, true)
}

/// [`databases`] for commands that touch only files (`init`, `new`): an unknown URL is no concern of theirs.
fn entries(cli: &Cli, name: Option<&str>, all: bool) -> Result<Vec<DatabaseConfig>, Failure> {
    chosen(cli, name, all, false)
}

fn chosen(cli: &Cli, name: Option<&str>, all: bool, need_url: bool) -> Result<Vec<DatabaseConfig>, Failure> {
    let explicit_config = cli.config != Path::new(crate::config::FILE_NAME);
    if explicit_config && !cli.config.exists() {
        return Err(Failure::usage(format!("{}: no such config file", cli.config.display())));
    }
    let config = if let (Some(url), false) = (&cli.url, cli.config.exists()) {
        // Ad hoc: no config file at all.
        let dialect = url::dialect_of(url).map_err(|e| Failure::usage(format!("--url {e}")))?;
        // The database of `--migrations-dir` is the one its files name (or the folder's own name), as for
        // `embed_migrations!` and `Source::dir`: the same lock and history namespace as the application's.
        let db_name = match (name, &cli.migrations_dir) {
            (Some(name), _) => name.to_string(),
            (None, Some(dir)) => dbwarden_core::file::database_of_dir(dir),
            (None, None) => "primary".into(),
        };
        Config { origin: "--url".into(), databases: vec![DatabaseConfig::new(&db_name, dialect, url.clone())] }
    } else {
        Config::load(&cli.config)?
    };
    let mut chosen = if all { config.databases.clone() } else { vec![config.entry(name)?.clone()] };
    for db in &mut chosen {
        if let Some(url) = &cli.url {
            db.dialect = url::dialect_of(url).map_err(|e| Failure::usage(format!("--url {e}")))?;
            db.url = url.clone();
            if need_url {
                crate::config::check_migration_table(&db.migration_table, db.dialect)
                    .map_err(|e| Failure::usage(format!("{e} (--url names a {} database)", db.dialect)))?;
            }
        } else if need_url {
            // Another database's unset url_env is no concern of this one.
            db.usable()?;
        }
        if let Some(dir) = &cli.migrations_dir {
            db.migrations_dir = dir.clone();
        }
    }
    Ok(chosen)
}

fn spec(db: &DatabaseConfig, create: bool) -> ConnectSpec {
    ConnectSpec { url: db.url.clone(), create }
}

/// Where `migrate --dry-run` plans: the database itself, or, for a SQLite file that `migrate` would create, an
/// empty in-memory database (so a new project can preview its first run; nothing is created either way).
fn preview_target(out: &Out, db: &DatabaseConfig) -> ConnectSpec {
    use std::str::FromStr;
    let options = db.url.starts_with("sqlite:").then(|| sqlx::sqlite::SqliteConnectOptions::from_str(&db.url).ok());
    let Some(options) = options.flatten() else { return spec(db, false) };
    // Only where `migrate` could create the file: in a folder that exists, and not read-only.
    match crate::backend::missing_file(&options, &db.url) {
        Some(missing) if missing.folder_problem.is_none() && missing.read_only.is_none() => {
            out.note(&format!(
                "{}: the database file does not exist yet; this is what `dbwarden migrate` would apply after creating it",
                options.get_filename().display()
            ));
            ConnectSpec { url: "sqlite::memory:".into(), create: false }
        }
        _ => spec(db, false),
    }
}

async fn dispatch(cli: &Cli, out: &Out) -> Result<u8, Failure> {
    let db = cli.database.as_deref();
    match &cli.command {
        Command::Init => init(cli, out),
        Command::MakeMigrations { description, sql, rename, offline } => {
            schema::make_migrations(cli, out, &description.join(" "), db, *sql, rename, *offline).await
        }
        Command::Diff { exit_code, offline, sql } => schema::diff(cli, out, db, *exit_code, *offline, *sql).await,
        Command::CheckDb { output } => schema::check_db(cli, out, db, *output).await,
        Command::Check { ceiling } => schema::check(cli, out, db, *ceiling).await,
        Command::Verify { past_irreversible } => verify(cli, out, db, *past_irreversible).await,
        Command::New { description } => new_file(cli, out, &description.join(" "), db),
        Command::Migrate(args) => migrate(cli, out, args).await,
        Command::Rollback { count, to_version } => {
            let to = match (count, to_version) {
                (_, Some(v)) => RollbackTo::Version(*v),
                (Some(n), None) => RollbackTo::Count(*n),
                (None, None) => RollbackTo::Count(1),
            };
            rollback(cli, out, db, to).await
        }
        Command::Downgrade { to } => rollback(cli, out, db, RollbackTo::Version(*to)).await,
        Command::Status => status(cli, out, db).await,
        Command::History => history(cli, out, db).await,
        Command::LockStatus => lock_status(cli, out, db).await,
        Command::Unlock { force } => unlock(cli, out, db, *force).await,
        Command::Repair => repair(cli, out, db).await,
    }
}

fn init(cli: &Cli, out: &Out) -> Result<u8, Failure> {
    let io = |path: &Path, e: std::io::Error| Failure::usage(format!("{}: {e}", path.display()));
    let mut written = Vec::new();
    if !cli.config.exists() {
        let text = "# dbwarden configuration: one [[database]] entry per database.\n\
                    [[database]]\nname = \"primary\"\ndefault = true\nurl = \"sqlite://app.db\"\n\
                    # type = \"sqlite\"  (the url's scheme says it; DATABASE_URL or DBWARDEN_PRIMARY_URL override the url)\n\
                    migrations_dir = \"migrations/primary\"\n# lock_timeout = \"60s\"\n# migration_table = \"_dbwarden_migrations\"\n";
        if let Some(folder) = cli.config.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder).map_err(|e| io(folder, e))?;
        }
        std::fs::write(&cli.config, text).map_err(|e| io(&cli.config, e))?;
        written.push(cli.config.display().to_string());
    }
    let mut folders = Vec::new();
    for db in entries(cli, None, true)? {
        if !db.migrations_dir.exists() {
            std::fs::create_dir_all(&db.migrations_dir).map_err(|e| io(&db.migrations_dir, e))?;
            written.push(format!("{}/", db.migrations_dir.display()));
        }
        // As cargo reads it: relative to the package (this folder) where it can be.
        let cwd = std::env::current_dir().unwrap_or_default();
        let folder = db.migrations_dir.strip_prefix(&cwd).unwrap_or(&db.migrations_dir).display().to_string();
        folders.push(folder.trim_start_matches("./").to_string());
    }
    // A crate embedding migrations must rebuild when a file is added: cargo reruns build.rs when the folder changes.
    // (The folder as a Rust string literal: a Windows path's backslashes, quotes or braces stay what they are.)
    let lines: Vec<String> =
        folders.iter().map(|f| format!("println!(\"cargo:rerun-if-changed={{}}\", {f:?});")).collect();
    let mut notes = Vec::new();
    if let Ok(manifest) = std::fs::read_to_string("Cargo.toml") {
        let manifest: toml::Table = manifest.parse().unwrap_or_default();
        let package = manifest.get("package").and_then(|p| p.as_table());
        let build = package.and_then(|p| p.get("build"));
        let add = format!("add {} to its main", lines.join(" "));
        match (package, build) {
            (None, _) => notes.push(format!(
                "Cargo.toml has no [package] (a workspace root): in the crate that embeds the migrations, {add}"
            )),
            (Some(_), Some(toml::Value::Boolean(false))) => notes.push(format!(
                "Cargo.toml turns build scripts off (build = false): to rebuild when a migration is added, {add}"
            )),
            (Some(_), Some(toml::Value::String(script))) if script != "build.rs" => {
                notes.push(format!("Cargo.toml names another build script ({script}): {add}"))
            }
            _ if Path::new("build.rs").exists() => {
                let text = std::fs::read_to_string("build.rs").unwrap_or_default();
                let watched =
                    |f: &str| text.contains(&format!("rerun-if-changed={f}\"")) || text.contains(&format!("{f:?})"));
                let missing: Vec<&String> =
                    lines.iter().zip(&folders).filter(|(_, f)| !watched(f)).map(|(l, _)| l).collect();
                if !missing.is_empty() {
                    notes.push(format!(
                        "build.rs does not watch the migrations: add {} to its main",
                        missing.iter().map(|l| l.as_str()).collect::<Vec<_>>().join(" ")
                    ));
                }
            }
            _ => {
                let text = format!(
                    "// Written by `dbwarden init`: rebuild when a migration file is added, so embed_migrations! sees it.\n\
                     fn main() {{\n{}}}\n",
                    lines.iter().map(|l| format!("    {l}\n")).collect::<String>()
                );
                std::fs::write("build.rs", text).map_err(|e| io(Path::new("build.rs"), e))?;
                written.push("build.rs".into());
            }
        }
    }
    out.emit(&serde_json::json!({ "written": written, "notes": notes }), |_| {
        let mut text: String = if written.is_empty() {
            "already initialised; nothing written\n".into()
        } else {
            written.iter().map(|w| format!("wrote {w}\n")).collect()
        };
        for note in &notes {
            text.push_str(&format!("note: {note}\n"));
        }
        text
    });
    Ok(0)
}

fn new_file(cli: &Cli, out: &Out, description: &str, name: Option<&str>) -> Result<u8, Failure> {
    let db = entries(cli, name, false)?.remove(0);
    let files = dbwarden_core::file::read_dir(&db.migrations_dir).map_err(|e| Failure::from(Error::from(e)))?;
    let resolved =
        dbwarden_core::file::resolve_files(files, Some(&db.name)).map_err(|e| Failure::from(Error::from(e)))?;
    if resolved.is_empty() {
        // The parent of the database folders (with migrations in them, or the database's own folder that `init`
        // made, still empty): a file written here would start a second folder for the database.
        let mut subfolders = dbwarden_core::file::subfolders_with_migrations(&db.migrations_dir);
        if db.migrations_dir.join(&db.name).is_dir() && !subfolders.contains(&db.name) {
            subfolders.push(db.name.clone());
            subfolders.sort();
        }
        if !subfolders.is_empty() {
            return Err(Error::MigrationsInSubfolders { path: db.migrations_dir.clone(), subfolders }.into());
        }
    }
    let newest = resolved.iter().filter_map(|f| f.name.version.map(|v| (v.0, f.filename.as_str()))).max();
    let next = crate::make::next_version(newest)?;
    let slug = dbwarden_core::file::slugify(description);
    let filename = format!("{}__{next}_{slug}.sql", db.name);
    let path = db.migrations_dir.join(&filename);
    std::fs::create_dir_all(&db.migrations_dir)
        .map_err(|e| Failure::usage(format!("{}: {e}", db.migrations_dir.display())))?;
    let text = format!(
        "{}\n-- Written by hand. Directives go here, e.g. `-- dbwarden: no-transaction` or `-- dbwarden: irreversible`.\n-- upgrade\n\n-- rollback\n",
        dbwarden_core::file::title_line(description)
    );
    std::fs::write(&path, text).map_err(|e| Failure::usage(format!("{}: {e}", path.display())))?;
    out.emit(&serde_json::json!({ "path": path, "version": next.to_string() }), |_| {
        format!("wrote {}", path.display())
    });
    Ok(0)
}

#[derive(Serialize)]
struct MultiReport {
    databases: Vec<Report>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    stopped: Vec<String>,
}

/// What an empty run with `--count` or `--to-version` says: repeatables and later files may still be pending
/// (`status` tells), so not "up to date".
const NOTHING_WITHIN_LIMIT: &str = "nothing to apply within --count/--to-version";

fn limited(args: &MigrateArgs) -> bool {
    args.count.is_some() || args.to_version.is_some()
}

/// The stop line of `database`, held back by `--ceiling` (see `migrate`).
fn held_back_line<'s>(stopped: &'s [String], database: &str) -> Option<&'s String> {
    stopped.iter().find(|s| s.strip_prefix(database).is_some_and(|rest| rest.starts_with(": ")))
}

async fn migrate(cli: &Cli, out: &Out, args: &MigrateArgs) -> Result<u8, Failure> {
    if args.dry_run && args.baseline {
        return Err(Failure::usage("--dry-run and --baseline do not go together".into()));
    }
    // (clap checks the conflict only when -d comes after the command.)
    if args.all && cli.database.is_some() {
        return Err(Failure::usage("--all and -d/--database do not go together: --all is every database".into()));
    }
    let mut reports = Vec::new();
    let mut stopped = Vec::new();
    if args.all && (cli.url.is_some() || cli.migrations_dir.is_some()) {
        // One URL or folder for every database would run each one's migrations against the same place.
        return Err(Failure::usage(
            "--all runs every database of the config with its own url and folder: leave out --url and \
             --migrations-dir, or pick one database with -d"
                .into(),
        ));
    }
    let dbs = databases(cli, cli.database.as_deref(), args.all)?;
    let names: Vec<String> = dbs.iter().map(|d| d.name.clone()).collect();
    for (i, db) in dbs.into_iter().enumerate() {
        // With --all, the databases after a failed one are not tried: the error says which.
        let later = |mut failure: Failure| {
            if i + 1 < names.len() {
                failure.message.push_str(&format!("\n(databases not tried: {})", names[i + 1..].join(", ")));
            }
            failure
        };
        let mut held_back = None;
        if let Some(ceiling) = args.ceiling {
            let create = !args.dry_run;
            if let Some((index, file, level)) =
                schema::first_above(&db, ceiling, args.count, args.to_version, create).await?
            {
                held_back = Some(index);
                stopped.push(format!("{}: stopped before {file}: it is {level}, above the ceiling {ceiling}", db.name));
            }
        }
        if held_back == Some(0) {
            // Nothing to apply below the ceiling: the database is in the report all the same, with no step.
            reports.push(Report { database: db.name.clone(), steps: Vec::new(), dry_run: args.dry_run });
            continue;
        }
        let mut m = db
            .migrator()
            .dry_run(args.dry_run)
            .baseline(args.baseline)
            .single_transaction(args.single_transaction)
            .ignore_missing(args.ignore_missing)
            .out_of_order(args.out_of_order);
        if let Some(v) = args.to_version {
            m = m.target_version(v);
        }
        match (args.count, held_back) {
            (Some(n), Some(h)) => m = m.count(n.min(h)),
            (Some(n), None) | (None, Some(n)) => m = m.count(n),
            (None, None) => {}
        }
        if let Some(t) = args.lock_timeout {
            m = m.lock_timeout(t);
        }
        let target = if args.dry_run { preview_target(out, &db) } else { spec(&db, true) };
        let report = match m.run(&target).await {
            Ok(report) => report,
            // With --all, what the databases before this one got stays: say so with the error.
            Err(e) if !reports.is_empty() => {
                let mut failure = Failure::from(e);
                let done: Vec<String> = reports
                    .iter()
                    .map(|r: &Report| {
                        let files: Vec<&str> = r.steps.iter().map(|s| s.filename.as_str()).collect();
                        match (files.as_slice(), held_back_line(&stopped, &r.database)) {
                            ([], Some(held)) => held.clone(),
                            ([], None) if limited(args) => format!("{}: {NOTHING_WITHIN_LIMIT}", r.database),
                            ([], None) => format!("{}: up to date", r.database),
                            (files, _) => format!("{}: applied {}", r.database, files.join(", ")),
                        }
                    })
                    .collect();
                failure.message = format!(
                    "{}: {}
(databases before it, done: {})",
                    db.name,
                    failure.message,
                    done.join("; ")
                );
                return Err(later(failure));
            }
            Err(e) => return Err(later(e.into())),
        };
        reports.push(report);
    }
    out.emit(&MultiReport { databases: reports.clone(), stopped: stopped.clone() }, |o| {
        let mut text = String::new();
        for r in &reports {
            let verb = if r.dry_run { "would apply" } else { "applied" };
            // (A database stopped before its first pending file is not up to date: its stop line says so.)
            if r.steps.is_empty() && held_back_line(&stopped, &r.database).is_none() {
                let what = if limited(args) { NOTHING_WITHIN_LIMIT } else { "up to date, nothing to apply" };
                text.push_str(&format!("{}: {what}\n", r.database));
            }
            for s in &r.steps {
                let how = if s.baseline {
                    " (baseline: recorded, not run)".to_string()
                } else {
                    format!(" ({} ms)", s.elapsed_ms)
                };
                let how = if r.dry_run { String::new() } else { how };
                text.push_str(&format!("{}: {} {}{}\n", r.database, o.green(verb), s.filename, o.dim(&how)));
                if let Some(sql) = &s.sql {
                    text.push_str(&format!("{sql}\n\n"));
                }
            }
        }
        for s in &stopped {
            text.push_str(&format!("{}\n", o.yellow(s)));
        }
        text
    });
    Ok(if stopped.is_empty() { 0 } else { 3 })
}

async fn rollback(cli: &Cli, out: &Out, name: Option<&str>, to: RollbackTo) -> Result<u8, Failure> {
    let db = databases(cli, name, false)?.remove(0);
    let report = db.migrator().rollback(&spec(&db, false), to).await?;
    out.emit(&report, |o| {
        if report.steps.is_empty() {
            return format!("{}: nothing to roll back", report.database);
        }
        report
            .steps
            .iter()
            .map(|s| format!("{}: {} {}\n", report.database, o.yellow("rolled back"), s.filename))
            .collect()
    });
    Ok(0)
}

async fn status(cli: &Cli, out: &Out, name: Option<&str>) -> Result<u8, Failure> {
    let db = databases(cli, name, false)?.remove(0);
    let status = db.migrator().status(&spec(&db, false)).await?;
    out.emit(&status, |o| {
        // Part-way migrations are neither applied nor pending: counted apart, so the line never says "0 and 0".
        let part_way =
            status.entries.iter().filter(|e| matches!(e.state, EntryState::Partial | EntryState::RollingBack)).count();
        let part_way = if part_way > 0 { format!(", {part_way} stopped part-way") } else { String::new() };
        let mut text = format!(
            "{} ({}): {} applied, {} pending{part_way}\n",
            status.database,
            url::mask(&db.url),
            status.applied,
            status.pending
        );
        for e in &status.entries {
            // Padded to the longest label before colouring (escape codes have no width).
            let label = |text: &str| format!("{text:<13}");
            let label = match e.state {
                EntryState::Applied => o.green(&label("applied")),
                EntryState::Pending => o.yellow(&label("pending")),
                EntryState::Edited => o.red(&label("EDITED")),
                EntryState::Missing if e.version.is_none() => o.yellow(&label("file gone")),
                EntryState::Missing => o.red(&label("MISSING FILE")),
                EntryState::Partial => o.red(&label("PART-APPLIED")),
                EntryState::RollingBack => o.red(&label("HALF-REVERTED")),
                EntryState::OutOfOrder => o.red(&label("OUT OF ORDER")),
                EntryState::VersionTaken => o.red(&label("VERSION TAKEN")),
            };
            let when = e.applied_at.as_deref().map(|a| o.dim(&format!("  {a}"))).unwrap_or_default();
            let done = e.statements_done.map(|n| format!(" ({n} statement(s) ran)")).unwrap_or_default();
            text.push_str(&format!("  {label}  {}{done}{when}\n", e.filename));
            if let Some(problem) = &e.problem {
                text.push_str(&format!("  {}  {problem}\n", o.red(&format!("{:<13}", "CANNOT RUN"))));
            }
        }
        for f in &status.not_embedded {
            text.push_str(&format!("  {}  {f} (on disk, not in this binary: rebuild)\n", o.red("NOT EMBEDDED ")));
        }
        if status.entries.iter().any(|e| e.state == EntryState::Edited) {
            text.push_str("edited files: restore them, or run `dbwarden repair` to accept the edit\n");
        }
        let gone = |repeatable: bool| status.entries.iter().any(|e| e.state == EntryState::Missing && e.version.is_none() == repeatable);
        if gone(false) {
            text.push_str(
                "missing files: migrate refuses to go on without them; restore them, or run `migrate --ignore-missing`\n",
            );
        }
        if gone(true) {
            text.push_str(
                "file gone: a repeatable migration ran but its file is no more; migrate goes on without it, and \
                 `dbwarden repair` forgets its row\n",
            );
        }
        if status.entries.iter().any(|e| e.problem.is_some()) {
            text.push_str("cannot run: migrate refuses these files before running anything; fix the line named\n");
        }
        if status.entries.iter().any(|e| e.state == EntryState::OutOfOrder) {
            text.push_str(
                "out of order: give them a version after the newest applied one, or run `migrate --out-of-order`\n",
            );
        }
        if status.entries.iter().any(|e| e.state == EntryState::VersionTaken) {
            text.push_str(
                "version taken: another migration was applied (or stopped part-way) under that version (its file \
                 name differs, and so does its upgrade); give the file the next free version and restore the \
                 recorded one\n",
            );
        }
        for index in &status.invalid_indexes {
            text.push_str(&format!("  {}  index {index}\n", o.red(&format!("{:<13}", "INVALID"))));
        }
        if !status.invalid_indexes.is_empty() {
            text.push_str(
                "invalid indexes: a CREATE INDEX CONCURRENTLY failed or was cut off (or is running now); when none \
                 runs, drop each one (DROP INDEX CONCURRENTLY name) and run migrate again, which builds it anew\n",
            );
        }
        text
    });
    Ok(if status.has_problems() || !status.invalid_indexes.is_empty() { 1 } else { 0 })
}

async fn history(cli: &Cli, out: &Out, name: Option<&str>) -> Result<u8, Failure> {
    let db = databases(cli, name, false)?.remove(0);
    let rows = db.migrator().history(&spec(&db, false)).await?;
    out.emit(&rows, |o| {
        if rows.is_empty() {
            return format!("{}: no migration applied yet", db.name);
        }
        rows.iter()
            .map(|r| {
                // A row that stopped part-way must not read as applied.
                let state = match r.state {
                    crate::history::RowState::Applied => String::new(),
                    crate::history::RowState::Partial => {
                        o.red(&format!("  PART-APPLIED ({} statement(s) ran)", r.statements_done))
                    }
                    crate::history::RowState::RollingBack => {
                        o.red(&format!("  HALF-REVERTED ({} rollback statement(s) ran)", r.statements_done))
                    }
                };
                format!(
                    "{}  {}  {}{}{state}\n",
                    r.version.as_deref().unwrap_or("----"),
                    r.applied_at.as_deref().unwrap_or("?"),
                    r.filename,
                    o.dim(&r.execution_time_ms.map(|t| format!("  {t} ms")).unwrap_or_default())
                )
            })
            .collect()
    });
    Ok(0)
}

async fn lock_status(cli: &Cli, out: &Out, name: Option<&str>) -> Result<u8, Failure> {
    let db = databases(cli, name, false)?.remove(0);
    let status = db.migrator().lock_status(&spec(&db, false)).await?;
    out.emit(&status, |o| match (&status.held, &status.holder) {
        (true, Some(h)) => format!(
            "{}: {} by {} (pid {} on {}, since {}){}",
            status.namespace,
            o.yellow("held"),
            h.owner,
            h.pid,
            h.host,
            h.since(),
            status.session.as_deref().map(|s| format!(", server session {s}")).unwrap_or_default()
        ),
        (true, None) => match status.session.as_deref() {
            Some(session) => format!("{}: {} by server session {session}", status.namespace, o.yellow("held")),
            None => format!(
                "{}: {} (a writer has the database file locked; its lock row can be read once it commits)",
                status.namespace,
                o.yellow("held")
            ),
        },
        (false, Some(h)) => format!(
            "{}: {} (stale record of {} left behind; `dbwarden unlock` clears it)",
            status.namespace,
            o.green("free"),
            h.owner
        ),
        (false, None) => format!("{}: {}", status.namespace, o.green("free")),
    });
    Ok(0)
}

async fn unlock(cli: &Cli, out: &Out, name: Option<&str>, force: bool) -> Result<u8, Failure> {
    let db = databases(cli, name, false)?.remove(0);
    let m = db.migrator();
    let target = spec(&db, false);
    let before = m.lock_status(&target).await?;
    if before.held && !force {
        return Err(Failure {
            message: format!("the lock {} is held by a live session", before.namespace),
            hint: Some(
                "wait for it, or pass --force (PostgreSQL, MariaDB: ends the holder's session; SQLite: releases a \
                 holder on another host, which cannot be checked from here)"
                    .into(),
            ),
            code: 2,
        });
    }
    if !before.held && before.holder.is_none() {
        out.emit(&serde_json::json!({ "namespace": before.namespace, "released": false, "was_held": false }), |_| {
            format!("{}: the lock is free; nothing to do", before.namespace)
        });
        return Ok(0);
    }
    let freed = m.force_unlock(&target).await?;
    if !freed {
        return Err(Failure {
            message: format!("could not release the lock {}", before.namespace),
            hint: Some(
                "the holder did not let go: PostgreSQL's pg_terminate_backend and MySQL's KILL need the right role or \
                 privilege; on SQLite another writer still has the file locked (see `dbwarden lock-status`)"
                    .into(),
            ),
            code: 2,
        });
    }
    // A statement that commits by itself (MySQL's DDL, CREATE INDEX CONCURRENTLY) may have run without its progress
    // row when its session was ended; on SQLite no session is ended, and the holder elsewhere may still be running.
    let warning = before.held.then(|| match db.dialect {
        dbwarden_core::Dialect::Sqlite => {
            "the lock row of a holder on another host was released, and that run may still be going: \
                            make sure it has stopped before migrating here"
                .to_string()
        }
        _ => "a running migration's session was ended; a statement of it that commits by itself (MySQL DDL, CREATE \
              INDEX CONCURRENTLY) may have taken effect without being recorded: check `dbwarden status` and that \
              statement before migrating again"
            .to_string(),
    });
    let json = serde_json::json!({
        "namespace": before.namespace, "released": true, "was_held": before.held, "warning": warning,
    });
    out.emit(&json, |o| format!("{}: {}", before.namespace, o.green("released")));
    if let Some(warning) = &warning {
        eprintln!("dbwarden: warning: {warning}");
    }
    Ok(0)
}

async fn repair(cli: &Cli, out: &Out, name: Option<&str>) -> Result<u8, Failure> {
    let db = databases(cli, name, false)?.remove(0);
    let changed = db.migrator().repair(&spec(&db, false)).await?;
    out.emit(&serde_json::json!({ "repaired": changed }), |_| {
        if changed.is_empty() {
            "nothing to repair".into()
        } else {
            changed.iter().map(|f| format!("repaired {f}\n")).collect()
        }
    });
    Ok(0)
}

async fn verify(cli: &Cli, out: &Out, name: Option<&str>, past_irreversible: bool) -> Result<u8, Failure> {
    let db = databases(cli, name, false)?.remove(0);
    let scratch = crate::verify::Scratch::new(&db.url, db.dev_url.as_deref());
    let options =
        crate::verify::VerifyOptions { past_irreversible, column_order: db.column_order, stop_on_signal: true };
    let report = crate::verify::verify_with(&db.migrator(), &scratch, options).await?;
    out.emit(&report, |o| {
        let mut text = format!("{}: verified on {}\n", report.database, report.scratch);
        for c in &report.checked {
            let line = c.to_string();
            text.push_str(&if c.verdict == crate::verify::Verdict::Ok {
                format!("  {} {line}\n", o.green("ok  "))
            } else if c.verdict.is_problem() {
                format!("  {} {line}\n", o.red("FAIL"))
            } else if past_irreversible {
                // Irreversible, applied and gone past on purpose.
                format!("  {} {line}\n", o.yellow("past"))
            } else {
                format!("  {} {line}\n", o.yellow("stop"))
            });
        }
        if !report.not_reached.is_empty() {
            text.push_str(&o.dim(&format!("  not reached: {}\n", report.not_reached.join(", "))));
        }
        for w in &report.warnings {
            text.push_str(&format!("  warning: {w}\n"));
        }
        text
    });
    // Stopping at an irreversible migration with files left unchecked is stopping part-way on purpose.
    Ok(if report.failed() {
        1
    } else if !report.not_reached.is_empty() {
        3
    } else {
        0
    })
}

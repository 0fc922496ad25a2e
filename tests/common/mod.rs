//! Shared test support: a fresh, uniquely named database per test on each backend (dropped afterwards), and the
//! `dbwarden` CLI run as a real child process.
//!
//! Servers come from DBWARDEN_TEST_PG_URL / DBWARDEN_TEST_MYSQL_URL (defaults: the local PostgreSQL and MariaDB of
//! SERVERS.md). A server that cannot be reached fails the test: nothing is skipped.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use dbwarden::Dialect;

pub const ALL: [Dialect; 3] = [Dialect::Sqlite, Dialect::Postgres, Dialect::MySql];

fn pg_admin() -> String {
    std::env::var("DBWARDEN_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

pub fn mysql_admin() -> String {
    std::env::var("DBWARDEN_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into())
}

/// A column with no identity and no comment, the shape most test schemas are made of.
pub fn column(
    name: &str,
    ty: dbwarden::schema::ColumnType,
    nullable: bool,
    default: Option<&str>,
) -> dbwarden::schema::Column {
    dbwarden::schema::Column {
        default: default.map(str::to_string),
        ..dbwarden::schema::Column::new(name, ty, nullable)
    }
}

/// A database of its own for one test; dropped when this value is.
pub struct TestDb {
    pub dialect: Dialect,
    pub url: String,
    pub name: String,
    pub dir: tempfile::TempDir,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn unique_name() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("dbw_{}_{}_{:x}", std::process::id(), COUNTER.fetch_add(1, Ordering::SeqCst), nanos)
}

/// `url` naming the database `name` instead, its query (`?sslmode=...`) kept.
fn replace_db(url: &str, name: &str) -> String {
    let (url, query) = url.split_once('?').map_or((url, None), |(u, q)| (u, Some(q)));
    let (base, _) = url.rsplit_once('/').expect("url with a database");
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

impl TestDb {
    pub async fn new(dialect: Dialect) -> TestDb {
        let name = unique_name();
        let dir = tempfile::tempdir().unwrap();
        let url = match dialect {
            Dialect::Sqlite => format!("sqlite://{}?mode=rwc", dir.path().join(format!("{name}.db")).display()),
            Dialect::Postgres => {
                admin_exec(Dialect::Postgres, &format!("CREATE DATABASE \"{name}\"")).await;
                replace_db(&pg_admin(), &name)
            }
            Dialect::MySql => {
                admin_exec(Dialect::MySql, &format!("CREATE DATABASE `{name}`")).await;
                replace_db(&mysql_admin(), &name)
            }
        };
        TestDb { dialect, url, name, dir }
    }

    /// Runs SQL on this database.
    pub async fn exec(&self, sql: &str) {
        self.try_exec(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Runs SQL on this database; the server's error as text.
    #[allow(dead_code)] // (not every test binary that includes this module uses it)
    pub async fn try_exec(&self, sql: &str) -> Result<(), String> {
        try_exec_at(self.dialect, &self.url, sql).await
    }

    /// Runs a query returning one text column.
    pub async fn strings(&self, sql: &str) -> Vec<String> {
        strings_at(self.dialect, &self.url, sql).await
    }

    /// Table names of the database, sorted, without dbwarden's own.
    pub async fn tables(&self) -> Vec<String> {
        tables_at(self.dialect, &self.url).await
    }

    /// Versions recorded in the history table, in order.
    pub async fn recorded(&self) -> Vec<String> {
        self.strings("SELECT version FROM _dbwarden_migrations WHERE version IS NOT NULL ORDER BY version").await
    }
}

/// Runs SQL on the database at `url`; the server's error as text.
async fn try_exec_at(dialect: Dialect, url: &str, sql: &str) -> Result<(), String> {
    use sqlx::Connection;
    macro_rules! go {
        ($conn:ty) => {{
            let mut c = <$conn>::connect(url).await.unwrap();
            sqlx::raw_sql(sql).execute(&mut c).await.map(drop).map_err(|e| e.to_string())
        }};
    }
    match dialect {
        Dialect::Postgres => go!(sqlx::PgConnection),
        Dialect::MySql => go!(sqlx::MySqlConnection),
        Dialect::Sqlite => go!(sqlx::SqliteConnection),
    }
}

/// A query's one text column, on the database at `url`.
async fn strings_at(dialect: Dialect, url: &str, sql: &str) -> Vec<String> {
    use sqlx::{Connection, Row};
    macro_rules! q {
        ($conn:ty) => {{
            let mut c = <$conn>::connect(url).await.unwrap();
            sqlx::raw_sql(sql)
                .fetch_all(&mut c)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
                .iter()
                .map(|r| r.try_get::<Option<String>, _>(0).unwrap().unwrap_or_default().trim_end().to_string())
                .collect()
        }};
    }
    match dialect {
        Dialect::Postgres => q!(sqlx::PgConnection),
        Dialect::MySql => q!(sqlx::MySqlConnection),
        Dialect::Sqlite => q!(sqlx::SqliteConnection),
    }
}

/// Table names of the database at `url`, sorted, without dbwarden's own.
async fn tables_at(dialect: Dialect, url: &str) -> Vec<String> {
    let sql = match dialect {
        Dialect::Postgres => "SELECT CAST(table_name AS TEXT) FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1",
        Dialect::MySql => "SELECT CAST(table_name AS CHAR) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY 1",
        Dialect::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY 1",
    };
    strings_at(dialect, url, sql)
        .await
        .into_iter()
        .filter(|t| !["_dbwarden_migrations", "dbwarden_lock", "dbwarden_head"].contains(&t.as_str()))
        .collect()
}

async fn admin_exec(dialect: Dialect, sql: &str) {
    use sqlx::Connection;
    match dialect {
        Dialect::Postgres => {
            let mut c = sqlx::PgConnection::connect(&pg_admin())
                .await
                .unwrap_or_else(|e| panic!("PostgreSQL at {} cannot be reached: {e}", pg_admin()));
            sqlx::raw_sql(sql).execute(&mut c).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        Dialect::MySql => {
            let mut c = sqlx::MySqlConnection::connect(&mysql_admin())
                .await
                .unwrap_or_else(|e| panic!("MariaDB at {} cannot be reached: {e}", mysql_admin()));
            sqlx::raw_sql(sql).execute(&mut c).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        Dialect::Sqlite => {}
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let (dialect, name) = (self.dialect, self.name.clone());
        if dialect == Dialect::Sqlite {
            return;
        }
        // Drop on a thread of its own: Drop may run inside a runtime, which cannot block.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let sql = match dialect {
                    Dialect::Postgres => format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
                    _ => format!("DROP DATABASE IF EXISTS `{name}`"),
                };
                admin_exec(dialect, &sql).await;
            });
        })
        .join();
    }
}

/// Writes migration files into a fresh folder `<root>/migrations/<db>/` and returns it.
pub fn write_migrations(root: &Path, db: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = root.join("migrations").join(db);
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    dir
}

/// What a CLI run printed and returned.
#[derive(Debug)]
pub struct CliOutput {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl CliOutput {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }
}

const CLI_ENV: &str = "DBWARDEN_TEST_CLI_ARGS";
const MARKER: &str = "\u{1}dbwarden-cli-output\n";

/// Runs the `dbwarden` CLI as a child process (this test binary, re-entered through [`cli_entry`]).
pub fn cli(cwd: &Path, args: &[&str]) -> CliOutput {
    output_of(cli_command(cwd, args))
}

/// Runs a [`cli_command`] (with an environment of its own, say) to its end.
pub fn output_of(mut command: Command) -> CliOutput {
    command
        .output()
        .map(|o| {
            let stdout = String::from_utf8_lossy(&o.stdout);
            let stdout = stdout.split_once(MARKER).map_or(String::new(), |(_, rest)| rest.to_string());
            CliOutput { code: o.status.code().unwrap_or(-1), stdout, stderr: String::from_utf8_lossy(&o.stderr).into() }
        })
        .unwrap()
}

/// The command for a CLI child process, to spawn several at once.
pub fn cli_command(cwd: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "cli_entry", "--nocapture", "--test-threads=1", "-q"])
        .env(CLI_ENV, serde_json::to_string(args).unwrap())
        .env("NO_COLOR", "1")
        .env_remove("DATABASE_URL")
        .env_remove("DBWARDEN_PRIMARY_URL")
        .current_dir(cwd);
    cmd
}

/// Put `cli_entry!();` in a test file that calls [`cli`]: it is the child's entry point.
#[macro_export]
macro_rules! cli_entry {
    () => {
        #[test]
        fn cli_entry() {
            $crate::common::run_cli_child();
        }
    };
}

pub fn run_cli_child() {
    let Ok(args) = std::env::var(CLI_ENV) else {
        return;
    };
    let args: Vec<String> = serde_json::from_str(&args).unwrap();
    use std::io::Write;
    print!("{MARKER}");
    std::io::stdout().flush().unwrap();
    let code = dbwarden::cli::main_with(std::iter::once("dbwarden".to_string()).chain(args).map(Into::into));
    // (A reader gone away is the CLI's business, see the broken-pipe test.)
    let _ = std::io::stdout().flush();
    // ExitCode has no accessor; compare against the codes the CLI uses.
    let code = (0u8..=3).find(|c| std::process::ExitCode::from(*c) == code).unwrap_or(2);
    std::process::exit(code as i32);
}

/// A PostgreSQL server of the test's own (initdb into a temporary folder, on a free port), for what the shared one
/// must not suffer: crashes. Its WAL writer can be frozen so that nothing reaches disk but what a commit waits for.
/// Needs PostgreSQL's server binaries (`pg_config --bindir`); run as root, the server runs as `postgres`.
pub struct PrivatePg {
    pub url: String,
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    /// Running as root: the server's programs run as `postgres` (initdb refuses root).
    as_root: bool,
    /// A WAL writer stopped by [`PrivatePg::freeze_wal_writer`] and not crashed yet (let go on drop).
    frozen: std::sync::Mutex<Option<String>>,
}

impl PrivatePg {
    pub async fn start() -> PrivatePg {
        let out = Command::new("pg_config").arg("--bindir").output().expect("pg_config (PostgreSQL's server package)");
        let bin = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let id = Command::new("id").arg("-u").output().expect("id -u");
        let pg = PrivatePg {
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            dir,
            bin,
            port,
            as_root: String::from_utf8_lossy(&id.stdout).trim() == "0",
            frozen: Default::default(),
        };
        if pg.as_root {
            pg.run("chown", &["postgres".as_ref(), pg.dir.path().as_os_str()]);
        }
        let data = pg.dir.path().join("data");
        pg.pg(
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-A".as_ref(),
                "trust".as_ref(),
                "-U".as_ref(),
                "postgres".as_ref(),
                "--no-sync".as_ref(),
            ],
        );
        pg.start_server();
        pg
    }

    fn run(&self, program: &str, args: &[&std::ffi::OsStr]) {
        Self::check(Command::new(program).args(args));
    }

    /// Runs `command`; its failure fails the test, with what it printed.
    fn check(command: &mut Command) {
        let out = command.output().unwrap_or_else(|e| panic!("{command:?}: {e}"));
        assert!(out.status.success(), "{command:?}: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// One of PostgreSQL's programs, to run as the server's owner.
    fn pg_command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_root {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(path);
            command
        } else {
            Command::new(path)
        }
    }

    /// Runs one of PostgreSQL's programs as the server's owner.
    fn pg(&self, program: &str, args: &[&std::ffi::OsStr]) {
        Self::check(self.pg_command(program).args(args));
    }

    fn start_server(&self) {
        let data = self.dir.path().join("data");
        let log = self.dir.path().join("log");
        // No background writes of data pages and no checkpoints during a test: what is on disk is what commits
        // and the WAL writer put there.
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c bgwriter_lru_maxpages=0 -c checkpoint_timeout=1h",
            self.port,
            self.dir.path().display()
        );
        self.pg(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-l".as_ref(),
                log.as_os_str(),
                "-o".as_ref(),
                options.as_ref(),
                "-w".as_ref(),
                "start".as_ref(),
            ],
        );
    }

    /// The WAL writer's process id.
    pub async fn wal_writer(&self) -> String {
        self.try_wal_writer().await.expect("the private PostgreSQL's WAL writer")
    }

    /// The WAL writer's process id, if the server answers.
    async fn try_wal_writer(&self) -> Option<String> {
        use sqlx::{Connection, Row};
        let mut c = sqlx::PgConnection::connect(&self.url).await.ok()?;
        let q = "SELECT CAST(pid AS TEXT) FROM pg_stat_activity WHERE backend_type = 'walwriter'";
        sqlx::query(q).fetch_one(&mut c).await.ok().map(|row| row.get(0))
    }

    /// Stops the WAL writer: from now on only a commit that waits for the disk puts the log there.
    pub async fn freeze_wal_writer(&self) -> String {
        let pid = self.wal_writer().await;
        self.run("kill", &["-STOP".as_ref(), pid.as_ref()]);
        *self.frozen.lock().unwrap() = Some(pid.clone());
        pid
    }

    /// Crashes the server (SIGKILL of its WAL writer: the postmaster kills every process and recovers from what
    /// is on disk, as after a power cut of the server alone) and waits until it accepts connections again.
    pub async fn crash(&self) {
        let pid = self.wal_writer().await;
        self.run("kill", &["-KILL".as_ref(), pid.as_ref()]);
        self.wait_for_restart(&pid).await;
    }

    /// Crashes the server through a WAL writer frozen by [`PrivatePg::freeze_wal_writer`].
    pub async fn crash_frozen(&self, pid: &str) {
        self.run("kill", &["-KILL".as_ref(), pid.as_ref()]);
        self.frozen.lock().unwrap().take();
        self.wait_for_restart(pid).await;
    }

    async fn wait_for_restart(&self, old_wal_writer: &str) {
        for _ in 0..300 {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            if self.try_wal_writer().await.is_some_and(|pid| pid != old_wal_writer) {
                return;
            }
        }
        panic!(
            "the private PostgreSQL did not come back after the crash; see {}",
            self.dir.path().join("log").display()
        );
    }

    /// Runs SQL (one simple query) on the server.
    pub async fn exec(&self, sql: &str) {
        try_exec_at(Dialect::Postgres, &self.url, sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// A query's one text column.
    pub async fn strings(&self, sql: &str) -> Vec<String> {
        strings_at(Dialect::Postgres, &self.url, sql).await
    }

    /// The server's user tables, sorted, without dbwarden's own.
    pub async fn tables(&self) -> Vec<String> {
        tables_at(Dialect::Postgres, &self.url).await
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        // (A test that failed between freezing and crashing: a stopped process would hold up the shutdown.)
        if let Some(pid) = self.frozen.lock().unwrap().take() {
            let _ = Command::new("kill").args(["-CONT", &pid]).output();
        }
        let data = self.dir.path().join("data");
        let _ = self.pg_command("pg_ctl").arg("-D").arg(&data).args(["-m", "immediate", "stop"]).output();
    }
}

//! Apply / no-op / roll back N small migrations (default 1,000: CREATE TABLE, ADD COLUMN, CREATE INDEX in turn) on
//! each backend with dbwarden, with sqlx's `Migrator` on the same SQL, and as a raw script through one connection
//! (statement by statement, autocommit, like `psql -f`). Each figure is the median of ROUNDS runs on a fresh
//! database; ratios are against the raw script measured in the same run. A fourth peer, "raw + a row", is the raw
//! script writing one row per statement to a one-column table in the statement's own transaction (a second commit on
//! MySQL, where DDL commits itself): the least that any migrator recording each migration durably can cost. The
//! no-op is measured at N/5 and N applied migrations, to show how it grows with the history.
//!
//! `cargo bench --bench migrate` (env: DBWARDEN_BENCH_N=1000, DBWARDEN_BENCH_ROUNDS=5,
//! DBWARDEN_BENCH_TX_REPEATS=3 single-transaction pairs per round, DBWARDEN_BENCH_BACKENDS=sqlite,postgres,mysql).

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/stats.rs"]
mod stats;

use std::path::Path;
use std::time::{Duration, Instant};

use common::TestDb;
use dbwarden::{Dialect, Migrator, RollbackTo, Source};
use sqlx::Connection;
use stats::{env_usize, median, paired, paired_range};

struct Step {
    up: String,
    down: String,
}

fn workload(n: usize, dialect: Dialect) -> Vec<Step> {
    (1..=n)
        .map(|i| match i % 3 {
            1 => Step {
                up: format!("CREATE TABLE t{i} (id INTEGER PRIMARY KEY, v VARCHAR(50))"),
                down: format!("DROP TABLE t{i}"),
            },
            2 => Step {
                up: format!("ALTER TABLE t{} ADD COLUMN c{i} INTEGER", i - 1),
                down: format!("ALTER TABLE t{} DROP COLUMN c{i}", i - 1),
            },
            _ => Step {
                up: format!("CREATE INDEX ix{i} ON t{} (v)", i - 2),
                down: if dialect == Dialect::MySql {
                    format!("DROP INDEX ix{i} ON t{}", i - 2)
                } else {
                    format!("DROP INDEX ix{i}")
                },
            },
        })
        .collect()
}

fn write_dbwarden(dir: &Path, steps: &[Step]) {
    std::fs::create_dir_all(dir).unwrap();
    for (i, s) in steps.iter().enumerate() {
        let text = format!("-- upgrade\n{};\n-- rollback\n{};\n", s.up, s.down);
        std::fs::write(dir.join(format!("bench__{:04}_step.sql", i + 1)), text).unwrap();
    }
}

fn write_sqlx(dir: &Path, steps: &[Step]) {
    std::fs::create_dir_all(dir).unwrap();
    for (i, s) in steps.iter().enumerate() {
        std::fs::write(dir.join(format!("{}_step.up.sql", i + 1)), format!("{};\n", s.up)).unwrap();
        std::fs::write(dir.join(format!("{}_step.down.sql", i + 1)), format!("{};\n", s.down)).unwrap();
    }
}

/// Runs SQL statements one by one on one connection (autocommit), optionally inside one transaction.
async fn raw(url: &str, dialect: Dialect, statements: &[&str], one_transaction: bool) -> Duration {
    macro_rules! go {
        ($conn:ty) => {{
            let mut c = <$conn>::connect(url).await.unwrap();
            let started = Instant::now();
            if one_transaction {
                sqlx::raw_sql("BEGIN").execute(&mut c).await.unwrap();
            }
            for s in statements {
                sqlx::raw_sql(s).execute(&mut c).await.unwrap();
            }
            if one_transaction {
                sqlx::raw_sql("COMMIT").execute(&mut c).await.unwrap();
            }
            started.elapsed()
        }};
    }
    match dialect {
        Dialect::Postgres => go!(sqlx::PgConnection),
        Dialect::MySql => go!(sqlx::MySqlConnection),
        Dialect::Sqlite => go!(sqlx::SqliteConnection),
    }
}

/// The floor of durable bookkeeping: `statements` as [`raw`] runs them, each with one row written (`up`) or deleted
/// in a one-column table in the same transaction where the server allows (PostgreSQL's implicit transaction of a
/// multi-statement query, SQLite's BEGIN .. COMMIT; MySQL commits DDL itself, so the row is a second commit there).
async fn raw_with_row(url: &str, dialect: Dialect, statements: &[&str], up: bool) -> Duration {
    let row = |i: usize| {
        if up {
            format!("INSERT INTO raw_log (filename) VALUES ('step_{i:05}.sql')")
        } else {
            format!("DELETE FROM raw_log WHERE filename = 'step_{:05}.sql'", statements.len() - i)
        }
    };
    let batch = |i: usize, s: &str| match dialect {
        Dialect::Sqlite => format!("BEGIN;\n{s};\n{};\nCOMMIT;", row(i)),
        _ => format!("{s};\n{}", row(i)),
    };
    macro_rules! go {
        ($conn:ty) => {{
            let mut c = <$conn>::connect(url).await.unwrap();
            if up {
                sqlx::raw_sql("CREATE TABLE raw_log (filename VARCHAR(500) NOT NULL PRIMARY KEY)")
                    .execute(&mut c)
                    .await
                    .unwrap();
            }
            let batches: Vec<String> = statements.iter().enumerate().map(|(i, s)| batch(i + 1, s)).collect();
            let started = Instant::now();
            for b in &batches {
                sqlx::raw_sql(b).execute(&mut c).await.unwrap();
            }
            started.elapsed()
        }};
    }
    match dialect {
        Dialect::Postgres => go!(sqlx::PgConnection),
        Dialect::MySql => go!(sqlx::MySqlConnection),
        Dialect::Sqlite => go!(sqlx::SqliteConnection),
    }
}

/// `warm`: run once on the pool before the clock starts (the migrator's own cost, without the server's first-query
/// work on a new connection, such as SQLite parsing the schema).
async fn sqlx_pool_run(url: &str, dialect: Dialect, dir: &Path, undo: bool, warm: bool) -> Duration {
    let m = sqlx::migrate::Migrator::new(dir).await.unwrap();
    macro_rules! go {
        ($pool:ty) => {{
            let pool = <$pool>::connect(url).await.unwrap();
            if warm {
                m.run(&pool).await.unwrap();
            }
            let started = Instant::now();
            if undo {
                m.undo(&pool, 0).await.unwrap();
            } else {
                m.run(&pool).await.unwrap();
            }
            started.elapsed()
        }};
    }
    match dialect {
        Dialect::Postgres => go!(sqlx::PgPool),
        Dialect::MySql => go!(sqlx::MySqlPool),
        Dialect::Sqlite => go!(sqlx::SqlitePool),
    }
}

/// The floor of a no-op: one query reading one history row through a fresh pool (what any first query on a new
/// connection pays, such as SQLite parsing a schema that grows with these migrations).
async fn one_query(url: &str, dialect: Dialect) -> Duration {
    macro_rules! go {
        ($pool:ty) => {{
            let pool = <$pool>::connect(url).await.unwrap();
            let started = Instant::now();
            sqlx::raw_sql("SELECT version FROM _dbwarden_migrations LIMIT 1").fetch_all(&pool).await.unwrap();
            started.elapsed()
        }};
    }
    match dialect {
        Dialect::Postgres => go!(sqlx::PgPool),
        Dialect::MySql => go!(sqlx::MySqlPool),
        Dialect::Sqlite => go!(sqlx::SqlitePool),
    }
}

/// [`paired`] as the tables print it.
fn ratio(a: &[Duration], b: &[Duration]) -> String {
    format!("{:.2}x", paired(a, b))
}

/// [`paired`] with the range of the single rounds, for dbwarden against the raw script.
fn ratio_range(a: &[Duration], b: &[Duration]) -> String {
    let (lo, hi) = paired_range(a, b);
    format!("{:.2}x ({lo:.2}–{hi:.2})", paired(a, b))
}

enum Op {
    Apply,
    ApplyOneTx,
    Rollback,
}

async fn dbwarden_pool_run(url: &str, dialect: Dialect, dir: &Path, op: Op, warm: bool) -> Duration {
    // Resolved before the clock starts, as sqlx's Migrator::new(dir) resolves its folder.
    let m = Migrator::new(Source::dir(dir)).resolve().unwrap();
    macro_rules! go {
        ($pool:ty) => {{
            let pool = <$pool>::connect(url).await.unwrap();
            if warm {
                m.run(&pool).await.unwrap();
            }
            let started = Instant::now();
            match op {
                Op::Apply => drop(m.run(&pool).await.unwrap()),
                Op::ApplyOneTx => drop(m.single_transaction(true).run(&pool).await.unwrap()),
                Op::Rollback => drop(m.rollback(&pool, RollbackTo::Version(0)).await.unwrap()),
            }
            started.elapsed()
        }};
    }
    match dialect {
        Dialect::Postgres => go!(sqlx::PgPool),
        Dialect::MySql => go!(sqlx::MySqlPool),
        Dialect::Sqlite => go!(sqlx::SqlitePool),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing useful: run only under cargo bench.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    // PostgreSQL in plaintext, as in the runs before TLS was built in (this machine's server offers TLS, which
    // sqlx's default `sslmode=prefer` would take): the protocol's cost, not the cipher's. (Set before any
    // connection or thread reads the environment.)
    if std::env::var_os("DBWARDEN_TEST_PG_URL").is_none() {
        std::env::set_var("DBWARDEN_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable");
    }
    let n = env_usize("DBWARDEN_BENCH_N", 1000);
    let rounds = env_usize("DBWARDEN_BENCH_ROUNDS", 5);
    let tx_repeats = env_usize("DBWARDEN_BENCH_TX_REPEATS", 3).max(1);
    let backends = std::env::var("DBWARDEN_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres,mysql".into());
    let small = (n / 5).max(1);
    println!("{n} migrations, {rounds} rounds ({tx_repeats} single-transaction pairs a round); times are medians, ratios are medians of per-pair ratios to the raw script\n");
    println!("| backend | case | raw script | raw + a row | sqlx Migrator | dbwarden | raw + a row / raw | sqlx / raw | dbwarden / raw (range of single rounds or pairs) | dbwarden / (raw + a row) |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut noop_lines = Vec::new();
    for name in backends.split(',') {
        let dialect = match name.trim() {
            "sqlite" => Dialect::Sqlite,
            "postgres" => Dialect::Postgres,
            "mysql" | "mariadb" => Dialect::MySql,
            other => panic!("unknown backend {other}"),
        };
        let steps = workload(n, dialect);
        let files = tempfile::tempdir().unwrap();
        let (dw_dir, sqlx_dir) = (files.path().join("dbwarden"), files.path().join("sqlx"));
        let (dw_small, sqlx_small) = (files.path().join("dbwarden_small"), files.path().join("sqlx_small"));
        write_dbwarden(&dw_dir, &steps);
        write_sqlx(&sqlx_dir, &steps);
        write_dbwarden(&dw_small, &steps[..small]);
        write_sqlx(&sqlx_small, &steps[..small]);
        let ups: Vec<&str> = steps.iter().map(|s| s.up.as_str()).collect();
        let downs: Vec<&str> = steps.iter().rev().map(|s| s.down.as_str()).collect();

        let (mut raw_up, mut raw_down, mut raw_tx) = (vec![], vec![], vec![]);
        let (mut row_up, mut row_down) = (vec![], vec![]);
        let (mut sqlx_up, mut sqlx_down) = (vec![], vec![]);
        let (mut dw_up, mut dw_down, mut dw_tx) = (vec![], vec![], vec![]);
        // No-op samples at `small` and at `n` applied migrations: (sqlx fresh, dbwarden fresh, one query).
        let mut noop: [(Vec<Duration>, Vec<Duration>, Vec<Duration>); 2] = Default::default();
        let (mut sqlx_warm, mut dw_warm) = (vec![], vec![]);
        for round in 0..rounds {
            // Apply with each tool on a fresh database, in an order that rotates every round so no tool always runs
            // after another one's burst of writes (checkpoints, fsync queues).
            let (raw_db, row_db, sqlx_db, dw_db) = (
                TestDb::new(dialect).await,
                TestDb::new(dialect).await,
                TestDb::new(dialect).await,
                TestDb::new(dialect).await,
            );
            for tool in (0..4).map(|i| (i + round) % 4) {
                match tool {
                    0 => raw_up.push(raw(&raw_db.url, dialect, &ups, false).await),
                    1 => row_up.push(raw_with_row(&row_db.url, dialect, &ups, true).await),
                    2 => sqlx_up.push(sqlx_pool_run(&sqlx_db.url, dialect, &sqlx_dir, false, false).await),
                    _ => dw_up.push(dbwarden_pool_run(&dw_db.url, dialect, &dw_dir, Op::Apply, false).await),
                }
            }
            // A no-op is a millisecond: ten pairs a round, each on a fresh pool as at start-up, at both history
            // lengths (the short one on databases of its own), then on a warm pool.
            let (sqlx_db_small, dw_db_small) = (TestDb::new(dialect).await, TestDb::new(dialect).await);
            sqlx_pool_run(&sqlx_db_small.url, dialect, &sqlx_small, false, false).await;
            dbwarden_pool_run(&dw_db_small.url, dialect, &dw_small, Op::Apply, false).await;
            let sizes =
                [(&sqlx_db_small, &dw_db_small, &sqlx_small, &dw_small), (&sqlx_db, &dw_db, &sqlx_dir, &dw_dir)];
            for _ in 0..10 {
                for (samples, (sqlx_db, dw_db, sqlx_dir, dw_dir)) in noop.iter_mut().zip(sizes) {
                    samples.0.push(sqlx_pool_run(&sqlx_db.url, dialect, sqlx_dir, false, false).await);
                    samples.1.push(dbwarden_pool_run(&dw_db.url, dialect, dw_dir, Op::Apply, false).await);
                    samples.2.push(one_query(&dw_db.url, dialect).await);
                }
                sqlx_warm.push(sqlx_pool_run(&sqlx_db.url, dialect, &sqlx_dir, false, true).await);
                dw_warm.push(dbwarden_pool_run(&dw_db.url, dialect, &dw_dir, Op::Apply, true).await);
            }
            for tool in (0..4).map(|i| (i + round) % 4) {
                match tool {
                    0 => raw_down.push(raw(&raw_db.url, dialect, &downs, false).await),
                    1 => row_down.push(raw_with_row(&row_db.url, dialect, &downs, false).await),
                    2 => sqlx_down.push(sqlx_pool_run(&sqlx_db.url, dialect, &sqlx_dir, true, false).await),
                    _ => dw_down.push(dbwarden_pool_run(&dw_db.url, dialect, &dw_dir, Op::Rollback, false).await),
                }
            }
            // A single transaction takes a few hundred milliseconds, where one stalled fsync shows: several pairs
            // a round, each on fresh databases, so its median rests on as many pairs as the others' several times.
            let tx_pairs = if dialect == Dialect::MySql { 0 } else { tx_repeats };
            for repeat in 0..tx_pairs {
                let (raw_db, dw_db) = (TestDb::new(dialect).await, TestDb::new(dialect).await);
                for tool in (0..2).map(|i| (i + round + repeat) % 2) {
                    match tool {
                        0 => raw_tx.push(raw(&raw_db.url, dialect, &ups, true).await),
                        _ => dw_tx.push(dbwarden_pool_run(&dw_db.url, dialect, &dw_dir, Op::ApplyOneTx, false).await),
                    }
                }
            }
        }
        let ms = |d: Duration| format!("{:.0} ms", d.as_secs_f64() * 1000.0);
        let opt = |v: Option<&[Duration]>, f: &dyn Fn(&[Duration]) -> String| v.map(f).unwrap_or_else(|| "-".into());
        let row =
            |case: &str, raw: &[Duration], floor: Option<&[Duration]>, sqlx: Option<&[Duration]>, dw: &[Duration]| {
                println!(
                    "| {dialect} | {case} | {} | {} | {} | {} | {} | {} | {} | {} |",
                    ms(median(raw.to_vec())),
                    opt(floor, &|f| ms(median(f.to_vec()))),
                    opt(sqlx, &|s| ms(median(s.to_vec()))),
                    ms(median(dw.to_vec())),
                    opt(floor, &|f| ratio(f, raw)),
                    opt(sqlx, &|s| ratio(s, raw)),
                    ratio_range(dw, raw),
                    opt(floor, &|f| ratio(dw, f)),
                )
            };
        row("apply, a transaction per migration", &raw_up, Some(&row_up), Some(&sqlx_up), &dw_up);
        if dialect != Dialect::MySql {
            row("apply, one transaction (raw: one transaction)", &raw_tx, None, None, &dw_tx);
        }
        row("roll back all", &raw_down, Some(&row_down), Some(&sqlx_down), &dw_down);
        // Sub-millisecond resolution: the no-op's growth with the history length is the point of these rows.
        let fine = |d: &[Duration]| format!("{:.2} ms", median(d.to_vec()).as_secs_f64() * 1000.0);
        let growth = |big: &[Duration], short: &[Duration]| {
            format!("{:.2}x", median(big.to_vec()).as_secs_f64() / median(short.to_vec()).as_secs_f64())
        };
        let [(s_sqlx, s_dw, s_one), (b_sqlx, b_dw, b_one)] = &noop;
        noop_lines.push(format!(
            "| {dialect} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} / {} |",
            fine(s_one),
            fine(s_sqlx),
            fine(s_dw),
            fine(b_one),
            fine(b_sqlx),
            fine(b_dw),
            growth(b_sqlx, s_sqlx),
            growth(b_dw, s_dw),
            ratio(b_dw, b_sqlx),
            fine(&sqlx_warm),
            fine(&dw_warm),
        ));
    }
    println!("\nNo-op migrate through a fresh pool (10 per round), beside one query reading one history row; growth is {n} over {small} applied:\n");
    println!("| backend | one query, {small} | sqlx, {small} | dbwarden, {small} | one query, {n} | sqlx, {n} | dbwarden, {n} | sqlx growth | dbwarden growth | dbwarden / sqlx at {n} | warm pool at {n}, sqlx / dbwarden |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for line in noop_lines {
        println!("{line}");
    }
}

//! Apply / no-op / roll back N small migrations (default 1,000: CREATE TABLE, ADD COLUMN, CREATE INDEX in turn) on
//! each backend with dbwarden, with sqlx's `Migrator` on the same SQL, and as a raw script through one connection
//! (statement by statement, autocommit, like `psql -f`). Each figure is the median of ROUNDS runs on a fresh
//! database; ratios are against the raw script measured in the same run.
//!
//! `cargo bench --bench migrate` (env: DBWARDEN_BENCH_N=1000, DBWARDEN_BENCH_ROUNDS=5,
//! DBWARDEN_BENCH_BACKENDS=sqlite,postgres,mysql).

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/stats.rs"]
mod stats;

use std::path::Path;
use std::time::{Duration, Instant};

use common::TestDb;
use dbwarden::{Dialect, Migrator, RollbackTo, Source};
use sqlx::Connection;
use stats::{env_usize, median, paired};

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
    let n = env_usize("DBWARDEN_BENCH_N", 1000);
    let rounds = env_usize("DBWARDEN_BENCH_ROUNDS", 5);
    let backends = std::env::var("DBWARDEN_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres,mysql".into());
    println!("{n} migrations, {rounds} rounds; times are medians, ratios are medians of per-round ratios to the raw script\n");
    println!("| backend | case | raw script | sqlx Migrator | dbwarden | sqlx / raw | dbwarden / raw |");
    println!("|---|---|---|---|---|---|---|");
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
        write_dbwarden(&dw_dir, &steps);
        write_sqlx(&sqlx_dir, &steps);
        let ups: Vec<&str> = steps.iter().map(|s| s.up.as_str()).collect();
        let downs: Vec<&str> = steps.iter().rev().map(|s| s.down.as_str()).collect();

        let (mut raw_up, mut raw_down, mut raw_tx) = (vec![], vec![], vec![]);
        let (mut sqlx_up, mut sqlx_down, mut sqlx_noop) = (vec![], vec![], vec![]);
        let (mut dw_up, mut dw_down, mut dw_noop, mut dw_tx) = (vec![], vec![], vec![], vec![]);
        let (mut sqlx_warm, mut dw_warm, mut floor) = (vec![], vec![], vec![]);
        for round in 0..rounds {
            // Apply with raw, sqlx and dbwarden on fresh databases, in an order that rotates every round so no
            // tool always runs after another one's burst of writes (checkpoints, fsync queues).
            let (raw_db, sqlx_db, dw_db) =
                (TestDb::new(dialect).await, TestDb::new(dialect).await, TestDb::new(dialect).await);
            for tool in (0..3).map(|i| (i + round) % 3) {
                match tool {
                    0 => raw_up.push(raw(&raw_db.url, dialect, &ups, false).await),
                    1 => sqlx_up.push(sqlx_pool_run(&sqlx_db.url, dialect, &sqlx_dir, false, false).await),
                    _ => dw_up.push(dbwarden_pool_run(&dw_db.url, dialect, &dw_dir, Op::Apply, false).await),
                }
            }
            // A no-op is a millisecond: ten pairs a round, each on a fresh pool as at start-up, then on a warm one.
            for _ in 0..10 {
                sqlx_noop.push(sqlx_pool_run(&sqlx_db.url, dialect, &sqlx_dir, false, false).await);
                dw_noop.push(dbwarden_pool_run(&dw_db.url, dialect, &dw_dir, Op::Apply, false).await);
                sqlx_warm.push(sqlx_pool_run(&sqlx_db.url, dialect, &sqlx_dir, false, true).await);
                dw_warm.push(dbwarden_pool_run(&dw_db.url, dialect, &dw_dir, Op::Apply, true).await);
                floor.push(one_query(&dw_db.url, dialect).await);
            }
            for tool in (0..3).map(|i| (i + round) % 3) {
                match tool {
                    0 => raw_down.push(raw(&raw_db.url, dialect, &downs, false).await),
                    1 => sqlx_down.push(sqlx_pool_run(&sqlx_db.url, dialect, &sqlx_dir, true, false).await),
                    _ => dw_down.push(dbwarden_pool_run(&dw_db.url, dialect, &dw_dir, Op::Rollback, false).await),
                }
            }
            if dialect != Dialect::MySql {
                let (raw_db, dw_db) = (TestDb::new(dialect).await, TestDb::new(dialect).await);
                for tool in (0..2).map(|i| (i + round) % 2) {
                    match tool {
                        0 => raw_tx.push(raw(&raw_db.url, dialect, &ups, true).await),
                        _ => dw_tx.push(dbwarden_pool_run(&dw_db.url, dialect, &dw_dir, Op::ApplyOneTx, false).await),
                    }
                }
            }
        }
        let ms = |d: Duration| format!("{:.0} ms", d.as_secs_f64() * 1000.0);
        let row = |case: &str, raw: &[Duration], sqlx: Option<&[Duration]>, dw: &[Duration]| {
            println!(
                "| {dialect} | {case} | {} | {} | {} | {} | {} |",
                ms(median(raw.to_vec())),
                sqlx.map(|s| ms(median(s.to_vec()))).unwrap_or_else(|| "-".into()),
                ms(median(dw.to_vec())),
                sqlx.map(|s| ratio(s, raw)).unwrap_or_else(|| "-".into()),
                ratio(dw, raw),
            )
        };
        row("apply, a transaction per migration", &raw_up, Some(&sqlx_up), &dw_up);
        if dialect != Dialect::MySql {
            row("apply, one transaction (raw: one transaction)", &raw_tx, None, &dw_tx);
        }
        row("roll back all", &raw_down, Some(&sqlx_down), &dw_down);
        // Sub-millisecond resolution: the no-op's flatness in the history length is the point of this row.
        let fine = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1000.0);
        println!(
            "| {dialect} | no-op migrate, {n} applied, fresh pool (raw: one query) | {} | {} | {} | - | dbwarden / sqlx {}, / one query {} |",
            fine(median(floor.clone())),
            fine(median(sqlx_noop.clone())),
            fine(median(dw_noop.clone())),
            ratio(&dw_noop, &sqlx_noop),
            ratio(&dw_noop, &floor)
        );
        println!(
            "| {dialect} | no-op migrate, {n} applied, warm pool | - | {} | {} | - | dbwarden / sqlx {} |",
            fine(median(sqlx_warm.clone())),
            fine(median(dw_warm.clone())),
            ratio(&dw_warm, &sqlx_warm)
        );
    }
}

//! Autogenerate on a big schema: introspect a live database of N tables (default 300: 3,000 columns, 300 foreign
//! keys, 400 indexes) and diff it against the models, on each backend (SQLite file, PostgreSQL, MariaDB; each in a
//! fresh, uniquely named database, dropped afterwards), against a floor measured in the same rounds.
//!
//! - floor: three bulk catalog queries (columns, constraints, indexes) for the whole schema through one connection
//!   with plain sqlx, all rows fetched (see [`floor_queries`]); on PostgreSQL, for context, also the same reads in
//!   their information_schema form ([`context_floor_queries`]);
//! - initial: introspection + generate against the unchanged models (asserted to find nothing);
//! - after 10 changes: the models changed in 10 places (2 add column, 2 drop column, 2 NULL -> NOT NULL, 2 add index,
//!   2 widen VARCHAR); introspection + generate of the migration text (asserted to find exactly those 10 changes);
//! - queries: the round trips dbwarden made per run (a multi-statement batch is one), counted by a wrapper around its
//!   `Backend`, and on MariaDB the statements the server counted (`SHOW SESSION STATUS LIKE 'Questions'` on the
//!   same connection), for N tables and for 30 tables (asserted equal).
//!
//! Each figure is the median of ROUNDS runs on the same database (the work is read-only), each on a fresh connection
//! opened before the clock starts, the sides in an order that rotates every round; ratios are medians of per-round
//! ratios to the floor. A second table splits the time: each catalog query, and generate (canonical + diff + render).
//!
//! `cargo bench --bench generate` (env: DBWARDEN_BENCH_TABLES=300, DBWARDEN_BENCH_ROUNDS=15,
//! DBWARDEN_BENCH_BACKENDS=sqlite,postgres,mysql); `cargo bench --bench generate -- --quick`: 3 rounds.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "support/stats.rs"]
mod stats;

use std::time::{Duration, Instant};

use common::{column as col, TestDb};
use dbwarden::backend::{Backend, ConnectSpec, EachRow, LockSession};
use dbwarden::diff::{Change, Renames};
use dbwarden::schema::{ColumnType, ForeignKey, Index, PrimaryKey, Schema, Table};
use dbwarden::{DbError, Dialect, Migrator, Source};
use sqlx::Connection;
use stats::{env_usize, median, paired};

// ---------------------------------------------------------------------------------------------------------------
// The schema

fn table_name(i: usize) -> String {
    format!("t{i:03}")
}

/// `n` tables t001..tNNN of 10 columns each (varied types, some nullable, some defaults), one foreign key each
/// (to the previous table; t001 to itself), an index on `c2` each and a second one, on `(c3, c4)`, on every third
/// table (unique on every sixth): 10n columns, n foreign keys, 4n/3 indexes.
fn model_schema(n: usize) -> Schema {
    let mut tables = Vec::new();
    for i in 1..=n {
        let name = table_name(i);
        let mut id = col("id", ColumnType::BigInt, false, None);
        id.auto_increment = true;
        let c8 = match i % 6 {
            0 => ColumnType::Date,
            1 => ColumnType::Double,
            2 => ColumnType::SmallInt,
            3 => ColumnType::Uuid,
            4 => ColumnType::Json,
            _ => ColumnType::Char(8),
        };
        let c9 = match i % 4 {
            0 => ColumnType::Varchar(200),
            1 => ColumnType::Blob,
            2 => ColumnType::TimestampTz,
            _ => ColumnType::Real,
        };
        let columns = vec![
            id,
            col("parent_id", ColumnType::BigInt, true, None),
            col("c2", ColumnType::Varchar(50 + (i % 5) as u32 * 50), false, (i % 2 == 1).then_some("'n/a'")),
            col("c3", ColumnType::Integer, false, Some("0")),
            col("c4", ColumnType::Timestamp, false, Some("CURRENT_TIMESTAMP")),
            col("c5", ColumnType::Boolean, false, Some("FALSE")),
            col("c6", ColumnType::Decimal(12, 2), true, None),
            col("c7", ColumnType::Text, true, None),
            col("c8", c8, true, None),
            col("c9", c9, true, None),
        ];
        let mut indexes = vec![Index { name: format!("ix_{name}_c2"), columns: vec!["c2".into()], unique: false }];
        if i % 3 == 0 {
            indexes.push(Index {
                name: format!("ix_{name}_c3_c4"),
                columns: vec!["c3".into(), "c4".into()],
                unique: i % 6 == 0,
            });
        }
        let parent = table_name(if i == 1 { 1 } else { i - 1 });
        let foreign_keys = vec![ForeignKey {
            name: format!("fk_{name}_parent_id_{parent}"),
            columns: vec!["parent_id".into()],
            ref_table: parent,
            ref_columns: vec!["id".into()],
            on_delete: if i % 2 == 0 { dbwarden::schema::FkAction::Cascade } else { Default::default() },
            on_update: Default::default(),
        }];
        tables.push(Table {
            name,
            columns,
            primary_key: Some(PrimaryKey { columns: vec!["id".into()] }),
            indexes,
            foreign_keys,
            ..Table::default()
        });
    }
    let mut schema = Schema { tables };
    schema.normalize();
    schema
}

/// A change made to the models, as the diff must report it: (kind, table, column or index).
type Expected = (&'static str, String, String);

/// The models with 10 changes, one table each (spread over the schema), and the changes the diff must find.
fn changed(models: &Schema) -> (Schema, Vec<Expected>) {
    let n = models.tables.len();
    let mut s = models.clone();
    let mut expected = Vec::new();
    let at = |j: usize| table_name(1 + j * n / 10);
    let mut edit = |j: usize, f: &mut dyn FnMut(&mut Table) -> (&'static str, String)| {
        let name = at(j);
        let t = s.tables.iter_mut().find(|t| t.name == name).unwrap();
        let (kind, what) = f(t);
        expected.push((kind, name, what));
    };
    // 2 add column: one nullable at the end, one NOT NULL with a default in the middle.
    edit(0, &mut |t| {
        t.columns.push(col("added_a", ColumnType::Varchar(40), true, None));
        ("add column", "added_a".into())
    });
    edit(1, &mut |t| {
        t.columns.insert(3, col("added_b", ColumnType::Integer, false, Some("7")));
        ("add column", "added_b".into())
    });
    // 2 drop column.
    for (j, c) in [(2, "c8"), (3, "c9")] {
        edit(j, &mut |t| {
            t.columns.retain(|x| x.name != c);
            ("drop column", c.into())
        });
    }
    // 2 NULL -> NOT NULL.
    for (j, c) in [(4, "c6"), (5, "c7")] {
        edit(j, &mut |t| {
            t.columns.iter_mut().find(|x| x.name == c).unwrap().nullable = false;
            ("alter column", c.into())
        });
    }
    // 2 add index.
    for (j, c) in [(6, "c6"), (7, "c3")] {
        edit(j, &mut |t| {
            let name = format!("ix_{}_{c}_extra", t.name);
            t.indexes.push(Index { name: name.clone(), columns: vec![c.into()], unique: false });
            ("add index", name)
        });
    }
    // 2 widen VARCHAR.
    for j in [8, 9] {
        edit(j, &mut |t| {
            let c = t.columns.iter_mut().find(|x| x.name == "c2").unwrap();
            let ColumnType::Varchar(len) = c.ty else { unreachable!() };
            c.ty = ColumnType::Varchar(len + 100);
            ("alter column", "c2".into())
        });
    }
    s.normalize();
    expected.sort();
    (s, expected)
}

fn found(changes: &[Change]) -> Vec<Expected> {
    let mut v: Vec<Expected> = changes
        .iter()
        .map(|c| match c {
            Change::AddColumn { table, column, .. } => ("add column", table.clone(), column.name.clone()),
            Change::DropColumn { table, column, .. } => ("drop column", table.clone(), column.name.clone()),
            Change::AlterColumn { table, to, .. } => ("alter column", table.clone(), to.name.clone()),
            Change::AddIndex { table, index } => ("add index", table.clone(), index.name.clone()),
            other => ("unexpected", other.table().to_string(), other.describe()),
        })
        .collect();
    v.sort();
    v
}

/// Creates `models` in the database: the upgrade section of `generate(empty -> models)`, applied by dbwarden.
async fn create(db: &TestDb, models: &Schema) {
    let g = dbwarden::generate::generate(db.dialect, Schema::default(), models.clone(), &Default::default()).unwrap();
    let dir = common::write_migrations(db.dir.path(), "app", &[("app__0001_create.sql", &g.text)]);
    Migrator::new(Source::dir(&dir)).run(db.url.as_str()).await.unwrap_or_else(|e| panic!("{}: {e}", db.dialect));
}

// ---------------------------------------------------------------------------------------------------------------
// Counting the queries dbwarden sends

/// A `Backend` that counts what goes through it and delegates everything.
struct Counting {
    inner: Box<dyn Backend>,
    sent: usize,
    /// Time and row count of each query, in order.
    log: Vec<(Duration, usize)>,
}

#[async_trait::async_trait]
impl Backend for Counting {
    fn dialect(&self) -> Dialect {
        self.inner.dialect()
    }
    async fn execute(&mut self, sql: &str) -> Result<(), DbError> {
        self.sent += 1;
        self.inner.execute(sql).await
    }
    async fn execute_counted(&mut self, sql: &str) -> Result<(), (usize, DbError)> {
        self.sent += 1;
        self.inner.execute_counted(sql).await
    }
    async fn query_each(&mut self, sql: &str, each: &mut EachRow<'_>) -> Result<(), DbError> {
        self.sent += 1;
        let started = Instant::now();
        let mut rows = 0;
        let result = self
            .inner
            .query_each(sql, &mut |cells| {
                rows += 1;
                each(cells)
            })
            .await;
        self.log.push((started.elapsed(), rows));
        result
    }
    async fn try_lock(
        &mut self,
        namespace: &str,
        me: &dbwarden::lock::LockHolder,
        then: &str,
    ) -> Result<bool, DbError> {
        self.sent += 1;
        self.inner.try_lock(namespace, me, then).await
    }
    fn table_lock(&self) -> bool {
        self.inner.table_lock()
    }
    async fn unlock(&mut self, namespace: &str, first: &str) -> Result<(), DbError> {
        self.sent += 1;
        self.inner.unlock(namespace, first).await
    }
    async fn lock_session(&mut self, namespace: &str) -> Result<Option<LockSession>, DbError> {
        self.sent += 1;
        self.inner.lock_session(namespace).await
    }
    async fn kill_session(&mut self, session: &str) -> Result<bool, DbError> {
        self.sent += 1;
        self.inner.kill_session(session).await
    }
    async fn close(self: Box<Self>) {
        self.inner.close().await
    }
}

/// MariaDB's own count of statements received on this session (`Questions`), read around the counted backend.
async fn questions(b: &mut Counting) -> Option<i64> {
    if b.dialect() != Dialect::MySql {
        return None;
    }
    let rows = b.inner.query("SHOW SESSION STATUS LIKE 'Questions'").await.unwrap();
    rows.first().and_then(|r| r.get(1).cloned().flatten()).and_then(|v| v.parse().ok())
}

// ---------------------------------------------------------------------------------------------------------------
// The runs

struct Run {
    total: Duration,
    introspect: Duration,
    sent: usize,
    server_count: Option<i64>,
    changes: Vec<Change>,
    /// Time and rows of each catalog query.
    log: Vec<(Duration, usize)>,
}

/// dbwarden: introspection + generate against `models`, on a connection opened before the clock starts.
async fn dbwarden_run(url: &str, models: &Schema) -> Run {
    let inner = dbwarden::backend::connect(&ConnectSpec { url: url.to_string(), create: false }).await.unwrap();
    let dialect = inner.dialect();
    let mut b = Counting { inner, sent: 0, log: Vec::new() };
    // Handed over owned, as `make-migrations` builds them from the registry (building them is not timed).
    let models = models.clone();
    let before = questions(&mut b).await;
    let started = Instant::now();
    let live = dbwarden::introspect::introspect(&mut b, None).await.unwrap();
    let introspect = started.elapsed();
    let generated = dbwarden::generate::generate(dialect, live, models, &Renames::default());
    let total = started.elapsed();
    let after = questions(&mut b).await;
    let (sent, log) = (b.sent, std::mem::take(&mut b.log));
    Box::new(b).close().await;
    let changes = generated
        .map(|g| {
            assert!(g.text.contains("-- upgrade") && g.text.contains("-- rollback"));
            g.changes
        })
        .unwrap_or_default();
    // The SHOW STATUS that took the second reading counts itself.
    let server_count = before.zip(after).map(|(b, a)| a - b - 1);
    Run { total, introspect, sent, server_count, changes, log }
}

/// The floor's three queries: one bulk catalog query each for columns (name, type, nullability, default),
/// constraints (name, kind, key columns, referenced table and columns) and indexes (name, uniqueness, columns), with
/// names resolved by joins and nothing rendered per row but the type and the default (no `pg_get_constraintdef`,
/// no `pg_indexes`, no join between MariaDB's information_schema views, which costs it several times the scans).
fn floor_queries(dialect: Dialect) -> Vec<String> {
    let q: [&str; 3] = match dialect {
        Dialect::Postgres => [
            "SELECT c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, \
             pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
             WHERE n.nspname = current_schema() AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped",
            "SELECT t.relname, c.conname, c.contype, c.conkey, rt.relname, c.confkey, c.confdeltype, c.confupdtype \
             FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace \
             LEFT JOIN pg_class rt ON rt.oid = c.confrelid WHERE n.nspname = current_schema()",
            "SELECT t.relname, ic.relname, i.indisunique, i.indkey FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid \
             JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_namespace n ON n.oid = t.relnamespace \
             WHERE n.nspname = current_schema()",
        ],
        Dialect::MySql => [
            "SELECT TABLE_NAME, ORDINAL_POSITION, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA \
             FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()",
            "SELECT TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION, COLUMN_NAME, REFERENCED_TABLE_NAME, \
             REFERENCED_COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = DATABASE()",
            "SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = DATABASE()",
        ],
        // The brief's pragma joins; the index query also joins pragma_index_info, which holds the indexes' columns.
        Dialect::Sqlite => [
            "SELECT m.name, p.* FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table'",
            "SELECT m.name, f.* FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f WHERE m.type = 'table'",
            "SELECT m.name, il.*, ii.* FROM sqlite_master m JOIN pragma_index_list(m.name) il \
             JOIN pragma_index_info(il.name) ii WHERE m.type = 'table'",
        ],
    };
    q.iter().map(|s| s.to_string()).collect()
}

/// For context only (PostgreSQL): the same three reads in the information_schema form a portable tool writes
/// (information_schema has no indexes: `pg_indexes`), likely what the peer floors measured.
fn context_floor_queries(dialect: Dialect) -> Option<Vec<String>> {
    (dialect == Dialect::Postgres).then(|| {
        [
            "SELECT table_name, column_name, ordinal_position, data_type, character_maximum_length, \
             numeric_precision, numeric_scale, is_nullable, column_default FROM information_schema.columns \
             WHERE table_schema = current_schema()",
            "SELECT tc.table_name, tc.constraint_name, tc.constraint_type, k.column_name, k.ordinal_position, \
             rc.unique_constraint_name, rc.update_rule, rc.delete_rule FROM information_schema.table_constraints tc \
             JOIN information_schema.key_column_usage k ON k.constraint_schema = tc.constraint_schema \
             AND k.constraint_name = tc.constraint_name \
             LEFT JOIN information_schema.referential_constraints rc ON rc.constraint_schema = tc.constraint_schema \
             AND rc.constraint_name = tc.constraint_name WHERE tc.table_schema = current_schema()",
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()",
        ]
        .iter()
        .map(|q| q.to_string())
        .collect()
    })
}

/// The floor: the three bulk catalog queries through one connection (opened before the clock), all rows fetched.
/// Returns the time and the time and rows of each query.
async fn floor_run(url: &str, dialect: Dialect, queries: &[String]) -> (Duration, Vec<(Duration, usize)>) {
    macro_rules! go {
        ($conn:ty) => {{
            let mut c = <$conn>::connect(url).await.unwrap();
            let started = Instant::now();
            let mut log = Vec::new();
            for q in queries {
                let at = Instant::now();
                let rows = sqlx::raw_sql(q).fetch_all(&mut c).await.unwrap_or_else(|e| panic!("{q}: {e}")).len();
                log.push((at.elapsed(), rows));
            }
            let took = started.elapsed();
            c.close().await.unwrap();
            (took, log)
        }};
    }
    match dialect {
        Dialect::Postgres => go!(sqlx::PgConnection),
        Dialect::MySql => go!(sqlx::MySqlConnection),
        Dialect::Sqlite => go!(sqlx::SqliteConnection),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Statistics

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

struct Measured {
    tables: usize,
    floor: Vec<Duration>,
    /// PostgreSQL only: the floor in its information_schema form.
    context_floor: Vec<Duration>,
    initial: Vec<Duration>,
    initial_introspect: Vec<Duration>,
    after: Vec<Duration>,
    after_introspect: Vec<Duration>,
    /// Per query: times over the rounds and rows (floor, and dbwarden's initial runs).
    floor_queries: Vec<(Vec<Duration>, usize)>,
    dbwarden_queries: Vec<(Vec<Duration>, usize)>,
    sent: usize,
    server_count: Option<i64>,
}

/// Creates a fresh database with `n` tables and measures floor, initial and after-10 for `rounds` rounds.
async fn measure(dialect: Dialect, n: usize, rounds: usize) -> Measured {
    let models = model_schema(n);
    let (changed_models, expected) = changed(&models);
    let db = TestDb::new(dialect).await;
    let started = Instant::now();
    create(&db, &models).await;
    eprintln!("{dialect}: {n} tables created in {:.1} s", started.elapsed().as_secs_f64());
    let queries = floor_queries(dialect);
    let context_queries = context_floor_queries(dialect);

    // Warm-up (untimed) and the correctness checks, which hold in every round below too.
    let (_, floor_log) = floor_run(&db.url, dialect, &queries).await;
    let first = dbwarden_run(&db.url, &models).await;
    assert!(first.changes.is_empty(), "{dialect}, {n} tables: the unchanged models differ: {:#?}", first.changes);
    let first_after = dbwarden_run(&db.url, &changed_models).await;
    assert_eq!(found(&first_after.changes), expected, "{dialect}, {n} tables: not exactly the 10 changes");
    assert_eq!(first.sent, first_after.sent);
    if let (Some(a), Some(b)) = (first.server_count, first_after.server_count) {
        assert_eq!(a, b);
    }

    let mut m = Measured {
        tables: n,
        floor: vec![],
        context_floor: vec![],
        initial: vec![],
        initial_introspect: vec![],
        after: vec![],
        after_introspect: vec![],
        floor_queries: floor_log.iter().map(|(_, rows)| (Vec::new(), *rows)).collect(),
        dbwarden_queries: first.log.iter().map(|(_, rows)| (Vec::new(), *rows)).collect(),
        sent: first.sent,
        server_count: first.server_count,
    };
    let sides = if context_queries.is_some() { 4 } else { 3 };
    for round in 0..rounds {
        // The order rotates every round, so that no side always runs right after another.
        for which in (0..sides).map(|i| (i + round) % sides) {
            match which {
                3 => {
                    let queries = context_queries.as_deref().unwrap_or_default();
                    m.context_floor.push(floor_run(&db.url, dialect, queries).await.0);
                }
                0 => {
                    let (took, log) = floor_run(&db.url, dialect, &queries).await;
                    m.floor.push(took);
                    log.iter().zip(&mut m.floor_queries).for_each(|((t, _), q)| q.0.push(*t));
                }
                1 => {
                    let r = dbwarden_run(&db.url, &models).await;
                    assert!(r.changes.is_empty());
                    assert_eq!(r.sent, m.sent);
                    m.initial.push(r.total);
                    m.initial_introspect.push(r.introspect);
                    r.log.iter().zip(&mut m.dbwarden_queries).for_each(|((t, _), q)| q.0.push(*t));
                }
                2 => {
                    let r = dbwarden_run(&db.url, &changed_models).await;
                    assert_eq!(found(&r.changes), expected);
                    assert_eq!(r.sent, m.sent);
                    m.after.push(r.total);
                    m.after_introspect.push(r.introspect);
                }
                _ => unreachable!(),
            }
        }
    }
    m
}

/// `12.3 ms (456 rows) + ...` for each query.
fn per_query(queries: &[(Vec<Duration>, usize)]) -> String {
    let parts: Vec<String> =
        queries.iter().map(|(times, rows)| format!("{} ({rows})", ms(median(times.clone())))).collect();
    parts.join(" + ")
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing useful: run only under cargo bench.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let quick = std::env::args().any(|a| a == "--quick");
    let n = env_usize("DBWARDEN_BENCH_TABLES", 300);
    let rounds = env_usize("DBWARDEN_BENCH_ROUNDS", if quick { 3 } else { 15 });
    let backends = std::env::var("DBWARDEN_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres,mysql".into());
    let s = model_schema(n);
    let count = |f: &dyn Fn(&Table) -> usize| s.tables.iter().map(f).sum::<usize>();
    eprintln!(
        "{n} tables ({} columns, {} foreign keys, {} indexes) and 30 tables; {rounds} rounds",
        count(&|t| t.columns.len()),
        count(&|t| t.foreign_keys.len()),
        count(&|t| t.indexes.len()),
    );
    let mut all = Vec::new();
    for name in backends.split(',') {
        let dialect = match name.trim() {
            "sqlite" => Dialect::Sqlite,
            "postgres" => Dialect::Postgres,
            "mysql" | "mariadb" => Dialect::MySql,
            other => panic!("unknown backend {other}"),
        };
        for tables in [n, 30] {
            all.push((dialect, measure(dialect, tables, rounds).await));
        }
    }

    println!(
        "\n{n} tables ({} columns, {} foreign keys, {} indexes) and 30 tables; {rounds} rounds; times are medians, \
         ratios are medians of per-round ratios to the floor (three bulk catalog queries, plain sqlx, one connection)\n",
        count(&|t| t.columns.len()),
        count(&|t| t.foreign_keys.len()),
        count(&|t| t.indexes.len()),
    );
    println!(
        "| backend | tables | floor | dbwarden initial | initial / floor | dbwarden after 10 changes \
         | after 10 / floor | round trips dbwarden made | context: information_schema floor (initial, after 10 / it) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (dialect, m) in &all {
        let queries = match m.server_count {
            Some(server) => format!("{} (statements, by the server's Questions: {server})", m.sent),
            None => m.sent.to_string(),
        };
        let context = if m.context_floor.is_empty() {
            "-".to_string()
        } else {
            format!(
                "{} ({:.2}x, {:.2}x)",
                ms(median(m.context_floor.clone())),
                paired(&m.initial, &m.context_floor),
                paired(&m.after, &m.context_floor)
            )
        };
        println!(
            "| {dialect} | {} | {} | {} | {:.2}x | {} | {:.2}x | {queries} | {context} |",
            m.tables,
            ms(median(m.floor.clone())),
            ms(median(m.initial.clone())),
            paired(&m.initial, &m.floor),
            ms(median(m.after.clone())),
            paired(&m.after, &m.floor),
        );
    }
    println!();
    for pair in all.chunks(2) {
        let [(dialect, big), (_, small)] = pair else { continue };
        let same = big.sent == small.sent && big.server_count == small.server_count;
        println!(
            "{dialect}: dbwarden made {} round trips for {} tables and {} for {} tables: {}",
            big.sent,
            big.tables,
            small.sent,
            small.tables,
            if same { "independent of the table count" } else { "DEPENDS ON THE TABLE COUNT" }
        );
        assert!(same, "{dialect}: the query count depends on the table count");
    }
    println!("\nWhere the time goes (medians; rows in parentheses):\n");
    println!(
        "| backend | tables | floor queries | dbwarden queries (initial) | dbwarden introspection total, initial \
         / after 10 | generate (canonical + diff + render), initial / after 10 |"
    );
    println!("|---|---|---|---|---|---|");
    for (dialect, m) in &all {
        let rest = |total: &[Duration], intro: &[Duration]| {
            median(total.iter().zip(intro).map(|(t, i)| t.saturating_sub(*i)).collect())
        };
        println!(
            "| {dialect} | {} | {} | {} | {} / {} | {} / {} |",
            m.tables,
            per_query(&m.floor_queries),
            per_query(&m.dbwarden_queries),
            ms(median(m.initial_introspect.clone())),
            ms(median(m.after_introspect.clone())),
            ms(rest(&m.initial, &m.initial_introspect)),
            ms(rest(&m.after, &m.after_introspect)),
        );
    }
}

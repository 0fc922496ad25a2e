//! Convergence of generated migrations on real databases: models -> diff -> SQL -> apply -> introspect equals the
//! models; rollback -> introspect equals the previous state; generating again finds nothing. Every backend.

mod common;

use common::{write_migrations, TestDb};
use dbwarden::diff::Renames;
use dbwarden::{Dialect, Migrator, RollbackTo, Source};

#[allow(dead_code)]
mod v1 {
    #[derive(dbwarden::Table)]
    #[dbwarden(name = "users", database = "conv_v1")]
    pub struct User {
        #[dbwarden(primary_key)]
        pub id: i64,
        #[dbwarden(length = 255, unique)]
        pub email: String,
        pub bio: Option<String>,
    }

    #[derive(dbwarden::Table)]
    #[dbwarden(name = "posts", database = "conv_v1", index(name = "ix_posts_created_at", columns("created_at")))]
    pub struct Post {
        #[dbwarden(primary_key)]
        pub id: i64,
        #[dbwarden(length = 255)]
        pub title: String,
        pub body: String,
        #[dbwarden(references = "users.id", on_delete = "cascade")]
        pub user_id: i64,
        #[dbwarden(sql_type = "TIMESTAMP")]
        pub created_at: String,
    }
}

#[allow(dead_code)]
mod v2 {
    #[derive(dbwarden::Table)]
    #[dbwarden(name = "users", database = "conv_v2")]
    pub struct User {
        #[dbwarden(primary_key)]
        pub id: i64,
        #[dbwarden(length = 255, unique)]
        pub email: String,
        #[dbwarden(length = 100)]
        pub name: Option<String>, // added in the middle
        #[dbwarden(default = "''")]
        pub bio: String, // NULL -> NOT NULL with a default
    }

    #[derive(dbwarden::Table)]
    #[dbwarden(
        name = "posts",
        database = "conv_v2",
        index(name = "ix_posts_user_created", columns("user_id", "created_at"))
    )]
    pub struct Post {
        #[dbwarden(primary_key)]
        pub id: i64,
        #[dbwarden(length = 500)]
        pub title: String, // widened
        #[dbwarden(references = "users.id", on_delete = "cascade")]
        pub user_id: i64,
        #[dbwarden(sql_type = "TIMESTAMP")]
        pub created_at: String,
        pub published: bool, // body dropped, a NOT NULL bool added
    }

    #[derive(dbwarden::Table)]
    #[dbwarden(name = "order", database = "conv_v2")] // a reserved word
    pub struct Order {
        #[dbwarden(primary_key)]
        pub id: i64,
        #[dbwarden(references = "users.id")]
        pub user_id: i64,
    }
}

macro_rules! per_backend {
    ($($name:ident),*) => {
        mod sqlite { $( #[tokio::test] async fn $name() { super::$name(dbwarden::Dialect::Sqlite).await } )* }
        mod postgres { $( #[tokio::test] async fn $name() { super::$name(dbwarden::Dialect::Postgres).await } )* }
        mod mariadb { $( #[tokio::test] async fn $name() { super::$name(dbwarden::Dialect::MySql).await } )* }
    };
}

per_backend!(generated_migrations_converge_and_roll_back_exactly);

/// A schema of one table `name` with a BIGINT primary key `id` and `columns` after it.
fn keyed_table(name: &str, columns: Vec<dbwarden::schema::Column>) -> dbwarden::schema::Schema {
    use dbwarden::schema::{ColumnType, PrimaryKey, Table};
    let mut all = vec![common::column("id", ColumnType::BigInt, false, None)];
    all.extend(columns);
    dbwarden::schema::Schema {
        tables: vec![Table {
            name: name.into(),
            columns: all,
            primary_key: Some(PrimaryKey { columns: vec!["id".into()] }),
            ..Table::default()
        }],
    }
}

async fn introspect(db: &TestDb) -> dbwarden::schema::Schema {
    let mut backend = dbwarden::backend::connect(&dbwarden::backend::ConnectSpec { url: db.url.clone(), create: true })
        .await
        .unwrap();
    comparable(db.dialect, dbwarden::introspect::introspect(backend.as_mut(), None).await.unwrap())
}

/// PostgreSQL has no column positions (ADD COLUMN appends, and dbwarden does not rewrite tables to reorder), so
/// there the columns compare as a set; MySQL (`AFTER`) and SQLite (rebuilds) must match in order too.
fn comparable(dialect: Dialect, mut schema: dbwarden::schema::Schema) -> dbwarden::schema::Schema {
    if dialect == Dialect::Postgres {
        for t in &mut schema.tables {
            t.columns.sort_by(|a, b| a.name.cmp(&b.name));
        }
    }
    schema
}

async fn generated_migrations_converge_and_roll_back_exactly(dialect: Dialect) {
    let models = dbwarden::models::registered();
    let s1 = dbwarden::models::schema(&models, Some("conv_v1"), "primary").unwrap();
    let s2 = dbwarden::models::schema(&models, Some("conv_v2"), "primary").unwrap();
    let empty = dbwarden::schema::Schema::default();
    let db = TestDb::new(dialect).await;
    let dir = write_migrations(db.dir.path(), "app", &[]);
    let m = Migrator::new(Source::dir(&dir));
    let canonical = |s| comparable(dialect, dbwarden::introspect::canonical(dialect, s));

    let g1 = dbwarden::generate::generate(dialect, empty.clone(), s1.clone(), &Renames::default()).unwrap();
    std::fs::write(dir.join("app__0001_create.sql"), &g1.text).unwrap();
    m.run(db.url.as_str()).await.unwrap_or_else(|e| panic!("{dialect}: {e}\n{}", g1.text));
    assert_eq!(introspect(&db).await, canonical(&s1), "{dialect}: v1\n{}", g1.text);

    let g2 = dbwarden::generate::generate(dialect, s1.clone(), s2.clone(), &Renames::default()).unwrap();
    std::fs::write(dir.join("app__0002_change.sql"), &g2.text).unwrap();
    db.exec("INSERT INTO users (id, email) VALUES (1, 'a@example.com')").await;
    m.run(db.url.as_str()).await.unwrap_or_else(|e| panic!("{dialect}: {e}\n{}", g2.text));
    let live = introspect(&db).await;
    assert_eq!(live, canonical(&s2), "{dialect}: v2\n{}", g2.text);
    // Generating again from the live database finds nothing.
    assert!(dbwarden::generate::generate(dialect, live, s2.clone(), &Renames::default()).is_none(), "{dialect}: again");
    assert_eq!(db.strings("SELECT email FROM users").await, ["a@example.com"], "{dialect}: data kept");

    m.rollback(db.url.as_str(), RollbackTo::Count(1)).await.unwrap_or_else(|e| panic!("{dialect}: {e}\n{}", g2.text));
    assert_eq!(introspect(&db).await, canonical(&s1), "{dialect}: rollback to v1\n{}", g2.text);
    m.rollback(db.url.as_str(), RollbackTo::Count(1)).await.unwrap();
    assert_eq!(introspect(&db).await, empty, "{dialect}: rollback to empty");
}

/// The same models on PostgreSQL with `column_order = "exact"`: the column added in the middle of `users` is
/// created there, and the rollback puts `posts.body` back in its place, by rebuilding both tables (each referenced
/// by foreign keys of the others); the columns compare in order, and the data is kept.
#[tokio::test]
async fn postgres_exact_column_order_converges_in_order() {
    use dbwarden::generate::{compare, ColumnOrder, Options};
    let dialect = Dialect::Postgres;
    let options = Options { column_order: ColumnOrder::Exact, ..Options::default() };
    let models = dbwarden::models::registered();
    let s1 = dbwarden::models::schema(&models, Some("conv_v1"), "primary").unwrap();
    let s2 = dbwarden::models::schema(&models, Some("conv_v2"), "primary").unwrap();
    let generate = |old: &dbwarden::schema::Schema, new: &dbwarden::schema::Schema| {
        compare(dialect, old.clone(), new.clone(), &Renames::default()).migration(dialect, &options)
    };
    let db = TestDb::new(dialect).await;
    let dir = write_migrations(db.dir.path(), "app", &[]);
    let m = Migrator::new(Source::dir(&dir));
    let in_order = |s: &dbwarden::schema::Schema| dbwarden::introspect::canonical(dialect, s);
    let live = || async {
        let spec = dbwarden::backend::ConnectSpec { url: db.url.clone(), create: true };
        let mut backend = dbwarden::backend::connect(&spec).await.unwrap();
        let schema = dbwarden::introspect::introspect(backend.as_mut(), None).await.unwrap();
        backend.close().await;
        schema
    };

    let g1 = generate(&dbwarden::schema::Schema::default(), &s1).unwrap();
    std::fs::write(dir.join("app__0001_create.sql"), &g1.text).unwrap();
    m.run(db.url.as_str()).await.unwrap();
    db.exec("INSERT INTO users (id, email) VALUES (1, 'a@example.com')").await;

    let g2 = generate(&s1, &s2).unwrap();
    assert!(g2.text.contains("CREATE TABLE \"_dbwarden_new_users\""), "{}", g2.text);
    std::fs::write(dir.join("app__0002_change.sql"), &g2.text).unwrap();
    m.run(db.url.as_str()).await.unwrap_or_else(|e| panic!("{e}\n{}", g2.text));
    assert_eq!(live().await, in_order(&s2), "v2, columns in order\n{}", g2.text);
    assert!(generate(&live().await, &s2).is_none(), "generating again finds nothing");
    assert_eq!(db.strings("SELECT email FROM users").await, ["a@example.com"], "data kept");
    // (Rolling back re-adds `posts.body NOT NULL` without a default: only possible on an empty table, anywhere.)

    m.rollback(db.url.as_str(), RollbackTo::Count(1)).await.unwrap_or_else(|e| panic!("{e}\n{}", g2.text));
    assert_eq!(live().await, in_order(&s1), "rolled back to v1, columns in order\n{}", g2.text);
    let columns = "SELECT CAST(column_name AS TEXT) FROM information_schema.columns WHERE table_name = 'posts' \
                   ORDER BY ordinal_position";
    assert_eq!(db.strings(columns).await, ["id", "title", "body", "user_id", "created_at"]);
    assert_eq!(db.strings("SELECT email FROM users").await, ["a@example.com"], "data kept");
}

/// A column changing type and becoming NOT NULL with a default fills its NULLs with the default after the type
/// change (the default is a value of the new type: `'none'` does not fit a boolean), on every backend.
async fn retype_and_fill_nulls(dialect: Dialect) {
    use common::column;
    use dbwarden::schema::{Column, ColumnType, Schema};
    let table = |flag: Column| keyed_table("t", vec![flag]);
    let old = table(column("flag", ColumnType::Boolean, true, None));
    let new = table(column("flag", ColumnType::Varchar(20), false, Some("'none'")));
    let db = TestDb::new(dialect).await;
    let g1 = dbwarden::generate::generate(dialect, Schema::default(), old.clone(), &Renames::default()).unwrap();
    let g2 = dbwarden::generate::generate(dialect, old, new, &Renames::default()).unwrap();
    let dir = write_migrations(db.dir.path(), "app", &[("app__0001_t.sql", &g1.text)]);
    let m = Migrator::new(Source::dir(&dir));
    m.run(db.url.as_str()).await.unwrap();
    db.exec("INSERT INTO t (id, flag) VALUES (1, NULL)").await;
    std::fs::write(dir.join("app__0002_retype.sql"), &g2.text).unwrap();
    m.run(db.url.as_str()).await.unwrap_or_else(|e| panic!("{dialect}: {e}\n{}", g2.text));
    assert_eq!(db.strings("SELECT flag FROM t").await, ["none"], "{dialect}");
}

mod retype {
    per_backend!(retype_and_fill_nulls);
    use super::retype_and_fill_nulls;
}

/// Narrowing a string column never cuts the text in it: with a value longer than the new width the migration
/// fails on PostgreSQL and MariaDB (an explicit `::VARCHAR(n)` cast would have cut it to n silently), and SQLite,
/// which does not enforce widths, keeps it whole. Either way the value is intact.
async fn narrowing_keeps_long_text(dialect: Dialect) {
    use common::column;
    use dbwarden::schema::{Column, ColumnType, Schema};
    let table = |note: Column| keyed_table("t", vec![note]);
    let db = TestDb::new(dialect).await;
    let dir = write_migrations(db.dir.path(), "app", &[]);
    let m = Migrator::new(Source::dir(&dir));
    let mut old = Schema::default();
    for (i, ty) in [ColumnType::Text, ColumnType::Varchar(200), ColumnType::Varchar(50)].into_iter().enumerate() {
        let new = table(column("note", ty.clone(), true, None));
        let g = dbwarden::generate::generate(dialect, old, new.clone(), &Renames::default()).unwrap();
        std::fs::write(dir.join(format!("app__{:04}_{i}.sql", i + 1)), &g.text).unwrap();
        let result = m.run(db.url.as_str()).await;
        if i == 0 {
            result.unwrap();
            db.exec(&format!("INSERT INTO t (id, note) VALUES (1, '{}')", "x".repeat(120))).await;
        } else if ty == ColumnType::Varchar(50) && dialect != Dialect::Sqlite {
            assert!(result.is_err(), "{dialect}: narrowing below the data must fail\n{}", g.text);
        } else {
            result.unwrap_or_else(|e| panic!("{dialect}: {e}\n{}", g.text));
        }
        old = new;
    }
    let lengths = db.strings("SELECT note FROM t").await.iter().map(String::len).collect::<Vec<_>>();
    assert_eq!(lengths, [120], "{dialect}: the text is intact");
    // The rollback of VARCHAR(200) back to TEXT and down again keeps it too.
    m.rollback(db.url.as_str(), RollbackTo::Count(1)).await.unwrap();
    assert_eq!(db.strings("SELECT note FROM t").await[0].len(), 120, "{dialect}");
}

mod narrowing {
    per_backend!(narrowing_keeps_long_text);
    use super::narrowing_keeps_long_text;
}

/// Defaults the servers rewrite (PostgreSQL casts a number it stores as text, `'-1'::integer`; MariaDB pads a DATETIME(6)
/// literal and spells CURRENT_DATE `curdate()`) and expression defaults, which SQLite and MariaDB accept only in
/// parentheses: the migration applies, and generating again from the live database finds nothing.
async fn server_rewritten_and_expression_defaults_converge(dialect: Dialect) {
    use common::column;
    use dbwarden::schema::{ColumnType, Schema};
    let mut columns = vec![
        column("minus", ColumnType::Integer, false, Some("-1")),
        column("big", ColumnType::BigInt, false, Some("12345678901234567")),
        column("ratio", ColumnType::Decimal(6, 2), false, Some("-1.5")),
        column("sum", ColumnType::Integer, false, Some("(1 + 2)")),
        column("day", ColumnType::Date, true, Some("CURRENT_DATE")),
        column("at", ColumnType::Timestamp, true, Some("'2020-01-01 10:00:00'")),
        // A boolean default written as a number: PostgreSQL takes only TRUE/FALSE.
        column("flag", ColumnType::Boolean, false, Some("1")),
        // Numbers the servers write back otherwise (PostgreSQL `1000`, `+ 1`; MariaDB `1` for `1.0`), and DEFAULT
        // NULL, which reads back as no default: each was a difference again after every migrate.
        column("thousand", ColumnType::Double, true, Some("1e3")),
        column("plus", ColumnType::Integer, true, Some("+1")),
        column("one", ColumnType::Double, true, Some("1.0")),
        column("nothing", ColumnType::Integer, true, Some("NULL")),
        // More decimals than the column keeps: MariaDB stores them rounded (1.5, 0.13).
        column("trimmed", ColumnType::Decimal(10, 1), true, Some("1.50")),
        column("rounded", ColumnType::Decimal(10, 2), true, Some("0.125")),
    ];
    if dialect == Dialect::Sqlite {
        columns.push(column("made", ColumnType::Text, true, Some("(datetime('now'))")));
    }
    let models = keyed_table("t", columns);
    let db = TestDb::new(dialect).await;
    let g = dbwarden::generate::generate(dialect, Schema::default(), models.clone(), &Renames::default()).unwrap();
    let dir = write_migrations(db.dir.path(), "app", &[("app__0001_t.sql", &g.text)]);
    Migrator::new(Source::dir(&dir))
        .run(db.url.as_str())
        .await
        .unwrap_or_else(|e| panic!("{dialect}: {e}\n{}", g.text));
    db.exec("INSERT INTO t (id) VALUES (1)").await;
    assert_eq!(db.strings("SELECT CAST(sum AS CHAR(10)) FROM t").await, ["3"], "{dialect}");
    let again = dbwarden::generate::generate(dialect, introspect(&db).await, models, &Renames::default());
    assert!(
        again.is_none(),
        "{dialect}: generating again must find nothing:\n{}",
        again.map(|g| g.text).unwrap_or_default()
    );
}

mod defaults {
    per_backend!(server_rewritten_and_expression_defaults_converge);
    use super::server_rewritten_and_expression_defaults_converge;
}

/// Renames that change only the case of a name (`Users` -> `users`, `email` -> `Email`) apply and converge, the
/// data kept, and roll back.
async fn case_only_renames_converge(dialect: Dialect) {
    use common::column;
    use dbwarden::schema::{ColumnType, Schema};
    let table = |name: &str, email: &str| keyed_table(name, vec![column(email, ColumnType::Varchar(50), true, None)]);
    let (old, new) = (table("Users", "email"), table("users", "Email"));
    let renames = Renames {
        tables: vec![("Users".into(), "users".into())],
        columns: vec![("users".into(), "email".into(), "Email".into())],
    };
    let db = TestDb::new(dialect).await;
    let g1 = dbwarden::generate::generate(dialect, Schema::default(), old.clone(), &Renames::default()).unwrap();
    let g2 = dbwarden::generate::generate(dialect, old.clone(), new.clone(), &renames).unwrap();
    let dir = write_migrations(db.dir.path(), "app", &[("app__0001_t.sql", &g1.text)]);
    let m = Migrator::new(Source::dir(&dir));
    m.run(db.url.as_str()).await.unwrap();
    db.exec(
        "INSERT INTO \"Users\" (id, email) VALUES (1, 'a@b')"
            .replace('"', if dialect == Dialect::MySql { "`" } else { "\"" })
            .as_str(),
    )
    .await;
    std::fs::write(dir.join("app__0002_case.sql"), &g2.text).unwrap();
    m.run(db.url.as_str()).await.unwrap_or_else(|e| panic!("{dialect}: {e}\n{}", g2.text));
    let canonical = |s| comparable(dialect, dbwarden::introspect::canonical(dialect, s));
    assert_eq!(introspect(&db).await, canonical(&new), "{dialect}\n{}", g2.text);
    m.rollback(db.url.as_str(), RollbackTo::Count(1)).await.unwrap_or_else(|e| panic!("{dialect}: {e}\n{}", g2.text));
    assert_eq!(introspect(&db).await, canonical(&old), "{dialect}: rolled back\n{}", g2.text);
}

mod case_renames {
    per_backend!(case_only_renames_converge);
    use super::case_only_renames_converge;
}

/// Without any rename declared, models that spell a name only in another case than the database are that name
/// renamed where the database takes the two for one name (SQLite's tables and columns, MySQL's columns): the data
/// stays, where it was a drop and an add (refused by SQLite for a table; the column's values lost). On PostgreSQL
/// `"email"` and `"Email"` are two columns: there it stays a drop and an add.
async fn case_only_spellings_are_renames_where_names_fold_case(dialect: Dialect) {
    use common::column;
    use dbwarden::schema::{ColumnType, Schema};
    // MySQL's table names are case-sensitive here (lower_case_table_names = 0), PostgreSQL's quoted names too: only
    // the column changes case there.
    let new_table = if dialect == Dialect::Sqlite { "users" } else { "Users" };
    let table = |name: &str, email: &str| keyed_table(name, vec![column(email, ColumnType::Varchar(50), true, None)]);
    let (old, new) = (table("Users", "email"), table(new_table, "Email"));
    let compared = dbwarden::generate::compare(dialect, old.clone(), new.clone(), &Renames::default());
    let steps: Vec<String> = compared.changes.iter().map(|c| c.describe()).collect();
    let expected: Vec<String> = match dialect {
        Dialect::Sqlite => vec!["rename table Users to users".into(), "rename column users.email to Email".into()],
        Dialect::MySql => vec!["rename column Users.email to Email".into()],
        Dialect::Postgres => vec!["drop column Users.email".into(), "add column Users.Email (varchar(50))".into()],
    };
    assert_eq!(steps, expected, "{dialect}");
    if dialect == Dialect::Postgres {
        return;
    }
    let db = TestDb::new(dialect).await;
    let g1 = dbwarden::generate::generate(dialect, Schema::default(), old.clone(), &Renames::default()).unwrap();
    let dir = write_migrations(db.dir.path(), "app", &[("app__0001_t.sql", &g1.text)]);
    let m = Migrator::new(Source::dir(&dir));
    m.run(db.url.as_str()).await.unwrap();
    db.exec("INSERT INTO Users (id, email) VALUES (1, 'a@b')").await;
    let live = introspect(&db).await;
    let g2 = dbwarden::generate::generate(dialect, live, new.clone(), &Renames::default()).unwrap();
    std::fs::write(dir.join("app__0002_case.sql"), &g2.text).unwrap();
    m.run(db.url.as_str()).await.unwrap_or_else(|e| panic!("{dialect}: {e}\n{}", g2.text));
    let after = introspect(&db).await;
    assert_eq!(after, dbwarden::introspect::canonical(dialect, &new), "{dialect}\n{}", g2.text);
    assert_eq!(db.strings("SELECT Email FROM Users").await, ["a@b"], "{dialect}: the data stays");
    assert!(dbwarden::generate::generate(dialect, after, new, &Renames::default()).is_none(), "{dialect}");
}

mod case_folded {
    per_backend!(case_only_spellings_are_renames_where_names_fold_case);
    use super::case_only_spellings_are_renames_where_names_fold_case;
}

/// A column added later with an expression default (in parentheses, as SQLite's ADD COLUMN takes a constant one)
/// applies and converges on every backend.
async fn expression_default_on_an_added_column(dialect: Dialect) {
    use common::column;
    use dbwarden::schema::{ColumnType, Schema};
    let old = keyed_table("t", vec![]);
    let new = keyed_table("t", vec![column("sum", ColumnType::Integer, false, Some("1 + 2"))]);
    let db = TestDb::new(dialect).await;
    let g1 = dbwarden::generate::generate(dialect, Schema::default(), old.clone(), &Renames::default()).unwrap();
    let g2 = dbwarden::generate::generate(dialect, old, new.clone(), &Renames::default()).unwrap();
    let dir = write_migrations(db.dir.path(), "app", &[("app__0001_t.sql", &g1.text), ("app__0002_sum.sql", &g2.text)]);
    Migrator::new(Source::dir(&dir))
        .run(db.url.as_str())
        .await
        .unwrap_or_else(|e| panic!("{dialect}: {e}\n{}", g2.text));
    let again = dbwarden::generate::generate(dialect, introspect(&db).await, new, &Renames::default());
    assert!(again.is_none(), "{dialect}:\n{}", again.map(|g| g.text).unwrap_or_default());
}

mod added_expression_default {
    per_backend!(expression_default_on_an_added_column);
    use super::expression_default_on_an_added_column;
}

/// A collation set by hand on a column (PostgreSQL `"C"`, MariaDB `utf8mb4_bin`, SQLite `NOCASE`) is not a
/// difference from models that name none, and survives a migration that restates the column for another reason
/// (widened and made NOT NULL: PostgreSQL's `TYPE`, MariaDB's `MODIFY`, a SQLite rebuild), where it used to be reset
/// to the table's default; a column retyped to a number drops it on the servers (they would refuse it); the
/// rollback restores both. Case-sensitivity is checked on the data, not only read back.
async fn hand_set_collations_survive_alters(dialect: Dialect) {
    use common::column;
    use dbwarden::schema::{ColumnType, Schema};
    let collation = match dialect {
        Dialect::Postgres => "\"C\"", // as SQL names it
        Dialect::MySql => "utf8mb4_bin",
        Dialect::Sqlite => "NOCASE",
    };
    let v1 = keyed_table(
        "t",
        vec![column("code", ColumnType::Varchar(10), true, None), column("tag", ColumnType::Varchar(10), true, None)],
    );
    let db = TestDb::new(dialect).await;
    let g1 = dbwarden::generate::generate(dialect, Schema::default(), v1.clone(), &Renames::default()).unwrap();
    // The collations, set by hand in the first migration.
    let mut text = g1.text.clone();
    let q = |name: &str| if dialect == Dialect::MySql { format!("`{name}`") } else { format!("\"{name}\"") };
    for name in ["code", "tag"] {
        let plain = format!("{} VARCHAR(10)", q(name));
        assert!(text.contains(&plain), "{dialect}: {plain} in\n{text}");
        let name = if dialect == Dialect::Postgres { collation.to_string() } else { q(collation) };
        text = text.replacen(&plain, &format!("{plain} COLLATE {name}"), 1);
    }
    let dir = write_migrations(db.dir.path(), "app", &[("app__0001_t.sql", &text)]);
    let m = Migrator::new(Source::dir(&dir));
    m.run(db.url.as_str()).await.unwrap_or_else(|e| panic!("{dialect}: {e}\n{text}"));
    db.exec("INSERT INTO t (id, code, tag) VALUES (1, 'a', '5')").await;
    let live = introspect(&db).await;
    let read = |s: &Schema, name: &str| s.tables[0].column(name).unwrap().collation.clone();
    assert_eq!(read(&live, "code").as_deref(), Some(collation), "{dialect}: read back");
    assert!(
        dbwarden::generate::generate(dialect, live.clone(), v1, &Renames::default()).is_none(),
        "{dialect}: a hand-set collation is no difference from models that name none"
    );

    let v2 = keyed_table(
        "t",
        vec![column("code", ColumnType::Varchar(20), false, Some("''")), column("tag", ColumnType::BigInt, true, None)],
    );
    let g2 = dbwarden::generate::generate(dialect, live.clone(), v2.clone(), &Renames::default()).unwrap();
    std::fs::write(dir.join("app__0002_alter.sql"), &g2.text).unwrap();
    m.run(db.url.as_str()).await.unwrap_or_else(|e| panic!("{dialect}: {e}\n{}", g2.text));
    let after = introspect(&db).await;
    assert_eq!(read(&after, "code").as_deref(), Some(collation), "{dialect}: kept through\n{}", g2.text);
    // A number has no collation on the servers; SQLite's columns all have one.
    let tag = if dialect == Dialect::Sqlite { Some(collation) } else { None };
    assert_eq!(read(&after, "tag").as_deref(), tag, "{dialect}");
    assert_eq!(after.tables[0].column("code").unwrap().ty, ColumnType::Varchar(20), "{dialect}");
    // The data says so too: under "C" and utf8mb4_bin 'a' <> 'A', under NOCASE they are equal.
    let equal = db.strings("SELECT code FROM t WHERE code = 'A'").await;
    let expected: &[&str] = if dialect == Dialect::Sqlite { &["a"] } else { &[] };
    assert_eq!(equal, expected, "{dialect}");
    let again = dbwarden::generate::generate(dialect, after, v2, &Renames::default());
    assert!(again.is_none(), "{dialect}: converged:\n{}", again.map(|g| g.text).unwrap_or_default());

    m.rollback(db.url.as_str(), RollbackTo::Count(1)).await.unwrap_or_else(|e| panic!("{dialect}: {e}\n{}", g2.text));
    assert_eq!(introspect(&db).await, live, "{dialect}: the rollback restores both collations\n{}", g2.text);
}

mod collations {
    per_backend!(hand_set_collations_survive_alters);
    use super::hand_set_collations_survive_alters;
}

/// A collation the models name (in the spelling a user writes: `C`, `UTF8MB4_BIN`, `nocase`) is created with the
/// column, read back as named, no difference after; naming one on an existing column alters it (WARN), and the
/// rollback takes it away again. The data compares under it.
async fn declared_collations_converge(dialect: Dialect) {
    use common::column;
    use dbwarden::diff::Safety;
    use dbwarden::schema::{Column, ColumnType, Schema};
    let written = match dialect {
        Dialect::Postgres => "C",
        Dialect::MySql => "UTF8MB4_BIN",
        Dialect::Sqlite => "nocase",
    };
    let collated = |name: &str| Column {
        collation: Some(written.to_string()),
        ..column(name, ColumnType::Varchar(10), true, None)
    };
    let v1 = keyed_table("t", vec![collated("code"), column("tag", ColumnType::Varchar(10), true, None)]);
    let v2 = keyed_table("t", vec![collated("code"), collated("tag")]);
    let db = TestDb::new(dialect).await;
    let canonical = |s: &Schema| comparable(dialect, dbwarden::introspect::canonical(dialect, s));
    let g1 = dbwarden::generate::generate(dialect, Schema::default(), v1.clone(), &Renames::default()).unwrap();
    let dir = write_migrations(db.dir.path(), "app", &[("app__0001_t.sql", &g1.text)]);
    let m = Migrator::new(Source::dir(&dir));
    m.run(db.url.as_str()).await.unwrap_or_else(|e| panic!("{dialect}: {e}\n{}", g1.text));
    let live = introspect(&db).await;
    assert_eq!(live, canonical(&v1), "{dialect}\n{}", g1.text);
    assert!(dbwarden::generate::generate(dialect, live.clone(), v1, &Renames::default()).is_none(), "{dialect}");

    let g2 = dbwarden::generate::generate(dialect, live.clone(), v2.clone(), &Renames::default()).unwrap();
    assert_eq!(g2.safety, Safety::Warn, "{dialect}: {}", g2.text);
    std::fs::write(dir.join("app__0002_tag.sql"), &g2.text).unwrap();
    m.run(db.url.as_str()).await.unwrap_or_else(|e| panic!("{dialect}: {e}\n{}", g2.text));
    db.exec("INSERT INTO t (id, code, tag) VALUES (1, 'a', 'b')").await;
    let after = introspect(&db).await;
    assert_eq!(after, canonical(&v2), "{dialect}\n{}", g2.text);
    assert!(dbwarden::generate::generate(dialect, after, v2, &Renames::default()).is_none(), "{dialect}");
    // Under "C" and utf8mb4_bin 'B' is not 'b'; under NOCASE it is.
    let equal = db.strings("SELECT tag FROM t WHERE tag = 'B'").await;
    let expected: &[&str] = if dialect == Dialect::Sqlite { &["b"] } else { &[] };
    assert_eq!(equal, expected, "{dialect}");

    // Naming the default collation (`default`; SQLite's `BINARY` too) sets the column back to it.
    let v3 = keyed_table("t", vec![collated("code"), Column { collation: Some("default".into()), ..collated("tag") }]);
    let g3 = dbwarden::generate::generate(dialect, introspect(&db).await, v3.clone(), &Renames::default()).unwrap();
    std::fs::write(dir.join("app__0003_default.sql"), &g3.text).unwrap();
    m.run(db.url.as_str()).await.unwrap_or_else(|e| panic!("{dialect}: {e}\n{}", g3.text));
    let reset = introspect(&db).await;
    assert_eq!(reset.tables[0].column("tag").unwrap().collation, None, "{dialect}\n{}", g3.text);
    assert!(dbwarden::generate::generate(dialect, reset, v3, &Renames::default()).is_none(), "{dialect}: converged");
    m.rollback(db.url.as_str(), RollbackTo::Count(1)).await.unwrap();

    m.rollback(db.url.as_str(), RollbackTo::Count(1)).await.unwrap_or_else(|e| panic!("{dialect}: {e}\n{}", g2.text));
    assert_eq!(introspect(&db).await, live, "{dialect}: the rollback takes it away\n{}", g2.text);
}

/// MariaDB: the two sides of a foreign key must share their collation, and a column a key uses cannot be altered:
/// a collation change of both is made between dropping the key and adding it back, as a type change is.
#[tokio::test]
async fn mariadb_collation_change_under_a_foreign_key() {
    use dbwarden::schema::{Column, ColumnType, ForeignKey, PrimaryKey, Schema, Table};
    let dialect = Dialect::MySql;
    let schema = |collation: &str| {
        let code = |name: &str| Column {
            collation: Some(collation.to_string()),
            ..Column::new(name, ColumnType::Varchar(20), false)
        };
        let parent = Table {
            name: "p".into(),
            columns: vec![code("code")],
            primary_key: Some(PrimaryKey { columns: vec!["code".into()] }),
            ..Table::default()
        };
        let child = Table {
            name: "c".into(),
            columns: vec![
                Column { auto_increment: true, ..Column::new("id", ColumnType::BigInt, false) },
                code("pcode"),
            ],
            primary_key: Some(PrimaryKey { columns: vec!["id".into()] }),
            foreign_keys: vec![ForeignKey {
                name: "fk_c_pcode_p".into(),
                columns: vec!["pcode".into()],
                ref_table: "p".into(),
                ref_columns: vec!["code".into()],
                on_delete: Default::default(),
                on_update: Default::default(),
            }],
            ..Table::default()
        };
        Schema { tables: vec![child, parent] }
    };
    let (v1, v2) = (schema("utf8mb4_bin"), schema("utf8mb4_unicode_ci"));
    let db = TestDb::new(dialect).await;
    let g1 = dbwarden::generate::generate(dialect, Schema::default(), v1.clone(), &Renames::default()).unwrap();
    let dir = write_migrations(db.dir.path(), "app", &[("app__0001_t.sql", &g1.text)]);
    let m = Migrator::new(Source::dir(&dir));
    m.run(db.url.as_str()).await.unwrap_or_else(|e| panic!("{e}\n{}", g1.text));
    db.exec("INSERT INTO p (code) VALUES ('a')").await;
    db.exec("INSERT INTO c (pcode) VALUES ('a')").await;
    let live = introspect(&db).await;
    let g2 = dbwarden::generate::generate(dialect, live.clone(), v2.clone(), &Renames::default()).unwrap();
    std::fs::write(dir.join("app__0002_ci.sql"), &g2.text).unwrap();
    m.run(db.url.as_str()).await.unwrap_or_else(|e| panic!("{e}\n{}", g2.text));
    let after = introspect(&db).await;
    assert_eq!(after, dbwarden::introspect::canonical(dialect, &v2), "{}", g2.text);
    assert!(dbwarden::generate::generate(dialect, after, v2, &Renames::default()).is_none());
    m.rollback(db.url.as_str(), RollbackTo::Count(1)).await.unwrap_or_else(|e| panic!("{e}\n{}", g2.text));
    assert_eq!(introspect(&db).await, live);
}

mod declared_collations {
    per_backend!(declared_collations_converge);
    use super::declared_collations_converge;
}

/// MariaDB: `ON UPDATE CURRENT_TIMESTAMP` set by hand on a column survives a generated `MODIFY COLUMN` (here a
/// column made NOT NULL), which used to drop it silently (the timestamp then stopped following updates); it is no
/// difference from models that name none, and the rollback keeps it too.
#[tokio::test]
async fn mariadb_on_update_survives_modify() {
    use common::column;
    use dbwarden::schema::{ColumnType, Schema};
    let dialect = Dialect::MySql;
    let v1 = keyed_table(
        "t",
        vec![
            column("n", ColumnType::Integer, true, None),
            column("touched", ColumnType::TimestampTz, true, Some("CURRENT_TIMESTAMP")),
        ],
    );
    let db = TestDb::new(dialect).await;
    let g1 = dbwarden::generate::generate(dialect, Schema::default(), v1.clone(), &Renames::default()).unwrap();
    let plain = "`touched` TIMESTAMP(6) DEFAULT CURRENT_TIMESTAMP(6)";
    assert!(g1.text.contains(plain), "{}", g1.text);
    let text = g1.text.replacen(plain, &format!("{plain} ON UPDATE CURRENT_TIMESTAMP(6)"), 1);
    let dir = write_migrations(db.dir.path(), "app", &[("app__0001_t.sql", &text)]);
    let m = Migrator::new(Source::dir(&dir));
    m.run(db.url.as_str()).await.unwrap_or_else(|e| panic!("{e}\n{text}"));
    let live = introspect(&db).await;
    let on_update = |s: &Schema| s.tables[0].column("touched").unwrap().on_update.clone();
    assert_eq!(on_update(&live).as_deref(), Some("CURRENT_TIMESTAMP(6)"));
    assert!(dbwarden::generate::generate(dialect, live.clone(), v1, &Renames::default()).is_none());

    let v2 = keyed_table(
        "t",
        vec![
            column("n", ColumnType::Integer, true, None),
            column("touched", ColumnType::TimestampTz, false, Some("CURRENT_TIMESTAMP")),
        ],
    );
    let g2 = dbwarden::generate::generate(dialect, live.clone(), v2.clone(), &Renames::default()).unwrap();
    assert!(g2.text.contains("MODIFY COLUMN `touched`"), "{}", g2.text);
    std::fs::write(dir.join("app__0002_not_null.sql"), &g2.text).unwrap();
    m.run(db.url.as_str()).await.unwrap_or_else(|e| panic!("{e}\n{}", g2.text));
    let after = introspect(&db).await;
    assert_eq!(on_update(&after).as_deref(), Some("CURRENT_TIMESTAMP(6)"), "{}", g2.text);
    assert!(dbwarden::generate::generate(dialect, after, v2, &Renames::default()).is_none());
    // The server still moves it on an update.
    db.exec("INSERT INTO t (id, n, touched) VALUES (1, 1, '2001-01-01 00:00:00')").await;
    db.exec("UPDATE t SET n = 2 WHERE id = 1").await;
    let year = db.strings("SELECT CAST(YEAR(touched) AS CHAR) FROM t").await;
    assert_ne!(year, ["2001"], "ON UPDATE no longer applies");

    m.rollback(db.url.as_str(), RollbackTo::Count(1)).await.unwrap();
    assert_eq!(introspect(&db).await, live, "the rollback keeps it\n{}", g2.text);
}

/// PostgreSQL: a column with a collation from a schema off the search path (`other.c2`) keeps it, named with its
/// schema, through the rebuild `column_order = "exact"` makes to put a new middle column in place; the rebuild's
/// guard, which refuses what the rebuilt table would lose, lets a collation the new table writes back through.
#[tokio::test]
async fn postgres_exact_order_rebuild_keeps_a_qualified_collation() {
    use common::column;
    use dbwarden::generate::{compare, ColumnOrder, Options};
    use dbwarden::schema::{ColumnType, Schema};
    let dialect = Dialect::Postgres;
    let options = Options { column_order: ColumnOrder::Exact, ..Options::default() };
    let generate = |old: &Schema, new: &Schema| {
        compare(dialect, old.clone(), new.clone(), &Renames::default()).migration(dialect, &options).unwrap()
    };
    let v1 = keyed_table(
        "t",
        vec![column("code", ColumnType::Varchar(10), true, None), column("z", ColumnType::Integer, true, None)],
    );
    let db = TestDb::new(dialect).await;
    db.exec("CREATE SCHEMA other; CREATE COLLATION other.c2 FROM \"C\"").await;
    let g1 = generate(&Schema::default(), &v1);
    let text = g1.text.replacen("\"code\" VARCHAR(10)", "\"code\" VARCHAR(10) COLLATE other.c2", 1);
    assert_ne!(text, g1.text);
    let dir = write_migrations(db.dir.path(), "app", &[("app__0001_t.sql", &text)]);
    let m = Migrator::new(Source::dir(&dir));
    m.run(db.url.as_str()).await.unwrap_or_else(|e| panic!("{e}\n{text}"));
    db.exec("INSERT INTO t (id, code, z) VALUES (1, 'a', 2)").await;
    let live = introspect(&db).await;
    let code = |s: &Schema| s.tables[0].column("code").unwrap().collation.clone();
    assert_eq!(code(&live).as_deref(), Some("other.c2"));

    let v2 = keyed_table(
        "t",
        vec![
            column("code", ColumnType::Varchar(10), true, None),
            column("m", ColumnType::Integer, true, None),
            column("z", ColumnType::Integer, true, None),
        ],
    );
    let g2 = generate(&live, &v2);
    assert!(g2.text.contains("CREATE TABLE \"_dbwarden_new_t\""), "{}", g2.text);
    std::fs::write(dir.join("app__0002_middle.sql"), &g2.text).unwrap();
    m.run(db.url.as_str()).await.unwrap_or_else(|e| panic!("{e}\n{}", g2.text));
    let after = introspect(&db).await;
    assert_eq!(code(&after).as_deref(), Some("other.c2"), "{}", g2.text);
    let columns = "SELECT CAST(column_name AS TEXT) FROM information_schema.columns WHERE table_name = 't' \
                   ORDER BY ordinal_position";
    assert_eq!(db.strings(columns).await, ["id", "code", "m", "z"]);
    assert_eq!(db.strings("SELECT code FROM t").await, ["a"]);
    m.rollback(db.url.as_str(), RollbackTo::Count(1)).await.unwrap_or_else(|e| panic!("{e}\n{}", g2.text));
    assert_eq!(code(&introspect(&db).await).as_deref(), Some("other.c2"));
}

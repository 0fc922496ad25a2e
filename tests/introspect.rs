//! Introspection against real SQLite, PostgreSQL and MariaDB databases: a hand-made schema (composite keys,
//! composite foreign keys, uniques, indexes, checks, defaults, comments, names that need quoting) reads back as the
//! expected IR, and every column type survives render -> server catalog -> parse as `TypeMap::canonical` says.

mod common;

use common::TestDb;
use dbwarden::backend::{connect, ConnectSpec};
use dbwarden::introspect::{canonical, introspect};
use dbwarden::types;
use dbwarden::Dialect;
use dbwarden_core::schema::{
    Check, Column, ColumnType, FkAction, ForeignKey, Index, PrimaryKey, Schema, Table, Unique,
};

/// Runs a scenario once per backend, each as its own test.
macro_rules! per_backend {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $( #[tokio::test] async fn $name() { super::$name(dbwarden::Dialect::Sqlite).await } )* }
        mod postgres { $( #[tokio::test] async fn $name() { super::$name(dbwarden::Dialect::Postgres).await } )* }
        mod mariadb { $( #[tokio::test] async fn $name() { super::$name(dbwarden::Dialect::MySql).await } )* }
    };
}

per_backend!(
    hand_made_schema_reads_back_exactly,
    every_type_round_trips,
    empty_database_and_only,
    rows_are_lent_as_text_and_a_reader_error_stops_cleanly
);

/// `query_each` (what introspection reads through) lends every cell as text, numbers and booleans included with no
/// cast, NULL as `None`; an error from the reader ends the query with that error, and the session stays usable even
/// when it stopped the server's rows part-way.
async fn rows_are_lent_as_text_and_a_reader_error_stops_cleanly(dialect: Dialect) {
    let db = TestDb::new(dialect).await;
    let mut backend = connect(&ConnectSpec { url: db.url.clone(), create: true }).await.unwrap();
    let (truth, series) = match dialect {
        Dialect::Postgres => ("TRUE", "SELECT n, 'row' || n FROM generate_series(1, 5000) AS n"),
        Dialect::MySql => (
            "1",
            "WITH RECURSIVE s (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 5000) \
             SELECT n, CONCAT('row', n) FROM s",
        ),
        Dialect::Sqlite => (
            "1",
            "WITH RECURSIVE s (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 5000) \
             SELECT n, 'row' || n FROM s",
        ),
    };
    let mut seen = Vec::new();
    let sql = format!("SELECT 42, 2.5, {truth}, NULL, 'x'");
    backend
        .query_each(&sql, &mut |cells| {
            seen.push(cells.iter().map(|c| c.map(str::to_string)).collect::<Vec<_>>());
            Ok(())
        })
        .await
        .unwrap();
    let flag = if dialect == Dialect::Postgres { "t" } else { "1" };
    let expected = [Some("42"), Some("2.5"), Some(flag), None, Some("x")];
    assert_eq!(seen, vec![expected.iter().map(|c| c.map(str::to_string)).collect::<Vec<_>>()], "{dialect}");

    // Stop after 10 of 5,000 rows with an error of the reader's own.
    let mut read = 0;
    let result = backend
        .query_each(series, &mut |cells| {
            read += 1;
            assert_eq!(cells[1], Some(format!("row{read}").as_str()), "{dialect}");
            if read == 10 {
                return Err(dbwarden::DbError::other("the reader had enough"));
            }
            Ok(())
        })
        .await;
    assert_eq!(read, 10, "{dialect}");
    assert!(result.unwrap_err().to_string().contains("the reader had enough"), "{dialect}");
    // The session still answers, with the right rows.
    let rows = backend.query("SELECT 7").await.unwrap();
    assert_eq!(rows, vec![vec![Some("7".to_string())]], "{dialect}");
    if dialect == Dialect::Postgres {
        // The server fails this query after the reader stopped reading it: that failure belongs to it, not to the
        // session's next query.
        let failing = "SELECT 1 / (n - 5000) FROM generate_series(1, 5000) AS n";
        let mut read = 0;
        let result = backend
            .query_each(failing, &mut |_| {
                read += 1;
                if read == 10 {
                    return Err(dbwarden::DbError::other("stop"));
                }
                Ok(())
            })
            .await;
        assert_eq!(result.unwrap_err().message, "stop");
        let rows = backend.query("SELECT 8").await.unwrap();
        assert_eq!(rows, vec![vec![Some("8".to_string())]]);
    }
    backend.close().await;
}

async fn read(db: &TestDb, only: Option<&[String]>) -> Schema {
    let mut backend = connect(&ConnectSpec { url: db.url.clone(), create: true }).await.unwrap();
    let schema = introspect(backend.as_mut(), only).await.unwrap();
    backend.close().await;
    schema
}

fn col(name: &str, ty: ColumnType, nullable: bool) -> Column {
    common::column(name, ty, nullable, None)
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// The weird column: a quote character of the dialect inside the name.
fn weird(dialect: Dialect) -> &'static str {
    if dialect == Dialect::MySql {
        "we`ird"
    } else {
        "we\"ird"
    }
}

fn ddl(dialect: Dialect) -> String {
    match dialect {
        Dialect::Postgres => r#"
CREATE TABLE "user" (
    id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    email VARCHAR(255) NOT NULL,
    "MixedCase" TEXT DEFAULT 'x',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    score INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT uq_user_email UNIQUE (email)
);
COMMENT ON TABLE "user" IS 'Core user accounts';
COMMENT ON COLUMN "user".email IS 'login, it''s unique';
CREATE TABLE "order" (
    user_id BIGINT NOT NULL,
    "no" INTEGER NOT NULL,
    qty INTEGER NOT NULL,
    note VARCHAR(20),
    "we""ird" INTEGER,
    PRIMARY KEY (user_id, "no"),
    CONSTRAINT uq_order_user_id_note UNIQUE (user_id, note),
    CONSTRAINT ck_order_qty CHECK (qty > 0),
    CONSTRAINT fk_order_user FOREIGN KEY (user_id) REFERENCES "user" (id) ON DELETE CASCADE
);
CREATE INDEX ix_order_note_qty ON "order" (note, qty);
CREATE UNIQUE INDEX "ux_order_we""ird_note" ON "order" ("we""ird", note);
CREATE TABLE "OrderLine" (
    id INTEGER NOT NULL PRIMARY KEY,
    order_user BIGINT NOT NULL,
    order_no INTEGER NOT NULL,
    CONSTRAINT "fk_OrderLine_order_user_order_no_order" FOREIGN KEY (order_user, order_no)
        REFERENCES "order" (user_id, "no") ON DELETE CASCADE ON UPDATE CASCADE
);
"#
        .to_string(),
        Dialect::MySql => r#"
CREATE TABLE `user` (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    email VARCHAR(255) NOT NULL COMMENT 'login, it''s unique',
    `MixedCase` TEXT NULL DEFAULT 'x',
    active TINYINT(1) NOT NULL DEFAULT TRUE,
    created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    score INT NOT NULL DEFAULT 0,
    CONSTRAINT uq_user_email UNIQUE (email)
) COMMENT 'Core user accounts';
CREATE TABLE `order` (
    user_id BIGINT NOT NULL,
    `no` INT NOT NULL,
    qty INT NOT NULL,
    note VARCHAR(20) NULL,
    `we``ird` INT NULL,
    PRIMARY KEY (user_id, `no`),
    CONSTRAINT uq_order_user_id_note UNIQUE (user_id, note),
    CONSTRAINT ck_order_qty CHECK (qty > 0),
    CONSTRAINT fk_order_user FOREIGN KEY (user_id) REFERENCES `user` (id) ON DELETE CASCADE
);
CREATE INDEX ix_order_note_qty ON `order` (note, qty);
CREATE UNIQUE INDEX `ux_order_we``ird_note` ON `order` (`we``ird`, note);
CREATE TABLE `OrderLine` (
    id INT NOT NULL PRIMARY KEY,
    order_user BIGINT NOT NULL,
    order_no INT NOT NULL,
    CONSTRAINT `fk_OrderLine_order_user_order_no_order` FOREIGN KEY (order_user, order_no)
        REFERENCES `order` (user_id, `no`) ON DELETE CASCADE ON UPDATE CASCADE
);
"#
        .to_string(),
        // SQLite: the composite FK and the multi-column unique are unnamed, so they get the conventional names.
        Dialect::Sqlite => r#"
CREATE TABLE "user" (
    id INTEGER PRIMARY KEY,
    email VARCHAR(255) NOT NULL,
    "MixedCase" TEXT DEFAULT 'x',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    score INT NOT NULL DEFAULT 0,
    CONSTRAINT uq_user_email UNIQUE (email)
);
CREATE TABLE "order" (
    user_id BIGINT NOT NULL,
    "no" INT NOT NULL,
    qty INT NOT NULL,
    note VARCHAR(20),
    "we""ird" INT,
    PRIMARY KEY (user_id, "no"),
    UNIQUE (user_id, note),
    CONSTRAINT ck_order_qty CHECK (qty > 0),
    CONSTRAINT fk_order_user FOREIGN KEY (user_id) REFERENCES "user" (id) ON DELETE CASCADE
);
CREATE INDEX ix_order_note_qty ON "order" (note, qty);
CREATE UNIQUE INDEX "ux_order_we""ird_note" ON "order" ("we""ird", note);
CREATE TABLE "OrderLine" (
    id INT NOT NULL PRIMARY KEY,
    order_user BIGINT NOT NULL,
    order_no INT NOT NULL,
    FOREIGN KEY (order_user, order_no) REFERENCES "order" (user_id, "no") ON DELETE CASCADE ON UPDATE CASCADE
);
"#
        .to_string(),
    }
}

/// The schema as models would declare it (portable, every backend alike but for the check's printed expression).
fn models(dialect: Dialect) -> Schema {
    let weird = weird(dialect);
    let user = Table {
        name: "user".into(),
        columns: vec![
            Column { auto_increment: true, ..col("id", ColumnType::BigInt, false) },
            Column { comment: Some("login, it's unique".into()), ..col("email", ColumnType::Varchar(255), false) },
            Column { default: Some("'x'".into()), ..col("MixedCase", ColumnType::Text, true) },
            Column { default: Some("TRUE".into()), ..col("active", ColumnType::Boolean, false) },
            Column { default: Some("CURRENT_TIMESTAMP".into()), ..col("created_at", ColumnType::Timestamp, false) },
            Column { default: Some("0".into()), ..col("score", ColumnType::Integer, false) },
        ],
        primary_key: Some(PrimaryKey { columns: names(&["id"]) }),
        uniques: vec![Unique { name: "uq_user_email".into(), columns: names(&["email"]) }],
        comment: Some("Core user accounts".into()),
        ..Table::default()
    };
    let order = Table {
        name: "order".into(),
        columns: vec![
            col("user_id", ColumnType::BigInt, false),
            col("no", ColumnType::Integer, false),
            col("qty", ColumnType::Integer, false),
            col("note", ColumnType::Varchar(20), true),
            col(weird, ColumnType::Integer, true),
        ],
        primary_key: Some(PrimaryKey { columns: names(&["user_id", "no"]) }),
        indexes: vec![
            Index { name: "ix_order_note_qty".into(), columns: names(&["note", "qty"]), unique: false },
            Index { name: format!("ux_order_{weird}_note"), columns: names(&[weird, "note"]), unique: true },
        ],
        uniques: vec![Unique { name: "uq_order_user_id_note".into(), columns: names(&["user_id", "note"]) }],
        foreign_keys: vec![ForeignKey {
            name: "fk_order_user".into(),
            columns: names(&["user_id"]),
            ref_table: "user".into(),
            ref_columns: names(&["id"]),
            on_delete: FkAction::Cascade,
            on_update: FkAction::NoAction,
        }],
        checks: vec![Check {
            name: "ck_order_qty".into(),
            expr: if dialect == Dialect::MySql { "`qty` > 0".into() } else { "qty > 0".into() },
        }],
        comment: None,
        options: vec![],
    };
    let line = Table {
        name: "OrderLine".into(),
        columns: vec![
            col("id", ColumnType::Integer, false),
            col("order_user", ColumnType::BigInt, false),
            col("order_no", ColumnType::Integer, false),
        ],
        primary_key: Some(PrimaryKey { columns: names(&["id"]) }),
        foreign_keys: vec![ForeignKey {
            name: "fk_OrderLine_order_user_order_no_order".into(),
            columns: names(&["order_user", "order_no"]),
            ref_table: "order".into(),
            ref_columns: names(&["user_id", "no"]),
            on_delete: FkAction::Cascade,
            on_update: FkAction::Cascade,
        }],
        ..Table::default()
    };
    let mut schema = Schema { tables: vec![user, order, line] };
    schema.normalize();
    schema
}

async fn hand_made_schema_reads_back_exactly(dialect: Dialect) {
    let db = TestDb::new(dialect).await;
    db.exec(&ddl(dialect)).await;
    // dbwarden's own tables are not part of the schema.
    db.exec("CREATE TABLE _dbwarden_migrations (id INTEGER); CREATE TABLE dbwarden_lock (id INTEGER); CREATE TABLE dbwarden_head (id INTEGER)").await;
    let got = read(&db, None).await;
    let expected = canonical(dialect, &models(dialect));
    for (g, e) in got.tables.iter().zip(&expected.tables) {
        assert_eq!(g, e, "{dialect}: table {}", e.name);
    }
    assert_eq!(got, expected, "{dialect}");
    if dialect == Dialect::MySql {
        // The server cannot tell a unique index from a unique constraint.
        let order = got.table("order").unwrap();
        assert!(order.indexes.iter().all(|i| !i.unique));
        assert_eq!(order.uniques.len(), 2);
    }
}

/// Every portable type (plus a few verbatim ones), declared with `render`, reads back as `canonical`.
async fn every_type_round_trips(dialect: Dialect) {
    let db = TestDb::new(dialect).await;
    let map = types::of(dialect);
    let mut all = vec![
        ColumnType::SmallInt,
        ColumnType::Integer,
        ColumnType::BigInt,
        ColumnType::Real,
        ColumnType::Double,
        ColumnType::Boolean,
        ColumnType::Text,
        ColumnType::Varchar(255),
        ColumnType::Char(2),
        ColumnType::Blob,
        ColumnType::Date,
        ColumnType::Time,
        ColumnType::Timestamp,
        ColumnType::TimestampTz,
        ColumnType::Uuid,
        ColumnType::Decimal(10, 2),
        ColumnType::Decimal(38, 0),
        ColumnType::Json,
        ColumnType::Enum(vec!["draft".into(), "it's".into(), "a,b".into(), r"back\slash".into(), "Été".into()]),
    ];
    let custom: &[&str] = match dialect {
        Dialect::Postgres => &["inet", "INT4", "integer[]", "timestamp(3)", "json", "character varying"],
        Dialect::MySql => &["MEDIUMINT", "INT UNSIGNED", "YEAR", "DATETIME", "LONGTEXT", "SET('a','b')", "BOOL"],
        Dialect::Sqlite => &["MONEY", "VARCHAR (10)", "INTEGER", "DATETIME", "unsigned big int"],
    };
    all.extend(custom.iter().map(|c| ColumnType::Custom(c.to_string())));

    let columns: Vec<String> =
        all.iter().enumerate().map(|(i, ty)| format!("c{i} {} NULL", map.render(ty, false))).collect();
    let mut ddl = format!("CREATE TABLE types ({});\n", columns.join(", "));
    // Auto-increment keys of each integer width, and an integer key that does not number itself.
    for (i, ty) in [ColumnType::SmallInt, ColumnType::Integer, ColumnType::BigInt].iter().enumerate() {
        let clause = map.auto_increment_clause();
        ddl.push_str(&format!(
            "CREATE TABLE auto{i} (id {} NOT NULL {clause} PRIMARY KEY, v TEXT);\n",
            map.render(ty, true)
        ));
    }
    ddl.push_str(&format!(
        "CREATE TABLE plain (id {} NOT NULL PRIMARY KEY);\n",
        map.render(&ColumnType::Integer, false)
    ));
    if dialect == Dialect::Postgres {
        // serial numbers itself through a sequence default: auto-increment, no default.
        ddl.push_str("CREATE TABLE serial_t (id BIGSERIAL PRIMARY KEY);\n");
    }
    db.exec(&ddl).await;

    let got = read(&db, None).await;
    let types_table = got.table("types").unwrap();
    assert_eq!(types_table.columns.len(), all.len());
    for (ty, column) in all.iter().zip(&types_table.columns) {
        let expected = Column { ty: map.canonical(ty, false), ..col(&column.name, ColumnType::Text, true) };
        assert_eq!(column, &expected, "{dialect}: {ty} rendered as {}", map.render(ty, false));
    }
    for (i, ty) in [ColumnType::SmallInt, ColumnType::Integer, ColumnType::BigInt].iter().enumerate() {
        let id = &got.table(&format!("auto{i}")).unwrap().columns[0];
        let expected = Column { auto_increment: true, ..col("id", map.canonical(ty, true), false) };
        assert_eq!(id, &expected, "{dialect}: auto-increment {ty}");
    }
    if dialect == Dialect::Postgres {
        let id = &got.table("serial_t").unwrap().columns[0];
        assert_eq!(id, &Column { auto_increment: true, ..col("id", ColumnType::BigInt, false) });
    }
    let plain = &got.table("plain").unwrap().columns[0];
    assert_eq!(plain, &col("id", ColumnType::Integer, false), "{dialect}: plain integer key");
}

/// An empty database reads as an empty schema; `only` restricts the tables read.
async fn empty_database_and_only(dialect: Dialect) {
    let db = TestDb::new(dialect).await;
    assert_eq!(read(&db, None).await, Schema::default());
    db.exec(&ddl(dialect)).await;
    let only = names(&["order", "missing"]);
    let got = read(&db, Some(&only)).await;
    let expected = canonical(dialect, &models(dialect));
    assert_eq!(got.tables, vec![expected.table("order").unwrap().clone()]);
    assert_eq!(read(&db, Some(&[])).await, Schema::default());
}

/// MariaDB reads foreign keys from InnoDB's dictionary when it may (it needs the PROCESS privilege) and from
/// `information_schema` otherwise: a user without the privilege reads the same schema, rules included.
#[tokio::test]
async fn mariadb_foreign_keys_read_alike_without_the_process_privilege() {
    let db = TestDb::new(Dialect::MySql).await;
    db.exec(&ddl(Dialect::MySql)).await;
    let with_dictionary = read(&db, None).await;
    assert_eq!(with_dictionary, canonical(Dialect::MySql, &models(Dialect::MySql)));

    let user = format!("{}_u", db.name);
    db.exec(&format!("CREATE USER '{user}'@'%'; GRANT ALL ON `{}`.* TO '{user}'@'%'", db.name)).await;
    let mut url = url::Url::parse(&db.url).unwrap();
    url.set_username(&user).unwrap();
    url.set_password(None).unwrap();
    let url = url.to_string();
    let mut backend = connect(&ConnectSpec { url: url.clone(), create: false }).await.unwrap();
    let denied = backend.query("SELECT ID FROM information_schema.INNODB_SYS_FOREIGN LIMIT 1").await;
    let without = introspect(backend.as_mut(), None).await;
    backend.close().await;
    // A user who may read everyone's privileges sees another's PROCESS and guesses wrong: the dictionary refuses
    // the batch, which is sent again with information_schema's keys.
    db.exec(&format!("GRANT SELECT ON mysql.* TO '{user}'@'%'")).await;
    let mut backend = connect(&ConnectSpec { url: url.clone(), create: false }).await.unwrap();
    let guessed = backend
        .query("SELECT EXISTS (SELECT 1 FROM information_schema.USER_PRIVILEGES WHERE PRIVILEGE_TYPE = 'PROCESS')")
        .await;
    let retried = introspect(backend.as_mut(), None).await;
    backend.close().await;
    db.exec(&format!("DROP USER '{user}'@'%'")).await;
    assert!(denied.is_err(), "the dictionary should be out of this user's reach");
    assert_eq!(without.unwrap(), with_dictionary);
    assert_eq!(guessed.unwrap()[0][0].as_deref(), Some("1"), "the wrong guess this part is about");
    assert_eq!(retried.unwrap(), with_dictionary);
}

/// A table name InnoDB's dictionary stores encoded (`we@002dird`) makes MariaDB read the keys from
/// `information_schema` instead, in the same read: the foreign key to it and its rule are all there.
#[tokio::test]
async fn mariadb_reads_keys_of_tables_innodb_names_encoded() {
    let db = TestDb::new(Dialect::MySql).await;
    db.exec(
        "CREATE TABLE `we-ird` (id BIGINT NOT NULL, PRIMARY KEY (id));\
         CREATE TABLE child (id BIGINT NOT NULL, parent_id BIGINT, code VARCHAR(10), PRIMARY KEY (id), \
         CONSTRAINT uq_child_code UNIQUE (code), CONSTRAINT fk_child_parent FOREIGN KEY (parent_id) \
         REFERENCES `we-ird` (id) ON DELETE CASCADE)",
    )
    .await;
    let schema = read(&db, None).await;
    let child = schema.table("child").expect("child is read");
    assert_eq!(
        child.foreign_keys,
        vec![ForeignKey {
            name: "fk_child_parent".into(),
            columns: vec!["parent_id".into()],
            ref_table: "we-ird".into(),
            ref_columns: vec!["id".into()],
            on_delete: FkAction::Cascade,
            on_update: FkAction::NoAction,
        }]
    );
    assert_eq!(child.primary_key.as_ref().map(|pk| pk.columns.clone()), Some(vec!["id".to_string()]));
    assert_eq!(child.uniques.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(), ["uq_child_code"]);
    assert!(child.indexes.is_empty(), "the index InnoDB made for the key is not read: {:?}", child.indexes);
    assert_eq!(
        schema.table("we-ird").and_then(|t| t.primary_key.clone()).map(|pk| pk.columns),
        Some(vec!["id".into()])
    );
}

/// A type asked for by its server's spelling (`sql_type`) is created as written, reads back equal to the models and
/// leaves nothing to generate: MariaDB's native `uuid` (not the portable UUID, which is `CHAR(36)` there).
#[tokio::test]
async fn mariadb_native_uuid_is_created_as_written_and_converges() {
    let db = TestDb::new(Dialect::MySql).await;
    let version = db.strings("SELECT VERSION()").await;
    // The type exists on MariaDB 10.7 and later only (this machine runs 10.11; MySQL has none).
    if !version.iter().any(|v| v.to_ascii_lowercase().contains("mariadb")) {
        return;
    }
    server_spelling_converges(&db, "uuid", false, "uuid").await;
    // The portable UUID is CHAR(36) there: a model asking for it instead is a change, and the other way round.
    let live = read(&db, None).await;
    let mut portable = live.clone();
    portable.tables[0].columns[0].ty = ColumnType::Uuid;
    let g = dbwarden::generate::generate(Dialect::MySql, live.clone(), portable.clone(), &Default::default());
    assert!(g.expect("native uuid -> portable UUID is a change").text.contains("CHAR(36)"));
    let back = dbwarden::generate::generate(Dialect::MySql, portable, live, &Default::default());
    assert!(back.expect("portable UUID -> native uuid is a change").text.contains(" uuid"));
}

/// The same for SQLite's `INTEGER` primary key numbering itself (it reads back as the auto-increment `BigInt`).
#[tokio::test]
async fn sqlite_integer_key_spelling_converges() {
    let db = TestDb::new(Dialect::Sqlite).await;
    server_spelling_converges(&db, "INTEGER", true, "INTEGER").await;
}

/// Generates table `things` with one key column of type `spelling` from nothing, applies it, checks the column's
/// declared type, then that the database reads back as the models and that generating again finds nothing.
async fn server_spelling_converges(db: &TestDb, spelling: &str, auto_increment: bool, created_as: &str) {
    let dialect = db.dialect;
    let id = Column {
        name: "id".into(),
        ty: ColumnType::Custom(spelling.into()),
        nullable: false,
        default: None,
        auto_increment,
        comment: None,
        collation: None,
        on_update: None,
    };
    let models = Schema {
        tables: vec![Table {
            name: "things".into(),
            columns: vec![id],
            primary_key: Some(PrimaryKey { columns: vec!["id".into()] }),
            ..Table::default()
        }],
    };
    let g = dbwarden::generate::generate(dialect, Schema::default(), models.clone(), &Default::default()).unwrap();
    let upgrade = g.text.split("-- upgrade\n").nth(1).and_then(|s| s.split("-- rollback\n").next()).unwrap();
    db.exec(upgrade).await;
    let declared = match dialect {
        Dialect::MySql => {
            db.strings(
                "SELECT COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() \
                 AND TABLE_NAME = 'things'",
            )
            .await
        }
        _ => db.strings("SELECT type FROM pragma_table_info('things')").await,
    };
    assert_eq!(declared, [created_as], "{dialect}: {upgrade}");
    let live = read(db, None).await;
    assert_eq!(live, canonical(dialect, &models), "{dialect}");
    assert!(dbwarden::generate::generate(dialect, live, models, &Default::default()).is_none(), "{dialect}: again");
}

//! `#[derive(Table)]` and the models registry: the exact `ModelTable` each attribute produces, model discovery across
//! modules, the whole-set errors of `models::schema`, and (trybuild) one compile error per mistake a struct can make.

#![allow(dead_code)] // the structs are models, their fields never read

use dbwarden::models::{self, Model, ModelError};
use dbwarden::schema::{
    Check, Column, ColumnType, FkAction, ForeignKey, Index, ModelTable, PrimaryKey, Schema, Table as SchemaTable,
    Unique,
};
use dbwarden::Table;

const DB: &str = "primary";

// ---------------------------------------------------------------------------------------------------------------
// SPEC §2
// ---------------------------------------------------------------------------------------------------------------

const USER_LINE: u32 = line!() + 3;
#[derive(Table)]
#[dbwarden(name = "users", comment = "Core user accounts")]
pub struct User {
    #[dbwarden(primary_key)] // integer PK => auto-increment on each backend
    pub id: i64,
    #[dbwarden(length = 255, unique)]
    pub email: String, // String => TEXT, or VARCHAR(n) with length
    pub bio: Option<String>, // Option<T> => nullable
}

#[derive(Table)]
#[dbwarden(name = "posts", index(name = "ix_posts_created_at", columns("created_at")))]
pub struct Post {
    #[dbwarden(primary_key)]
    pub id: i64,
    #[dbwarden(length = 255)]
    pub title: String,
    pub body: String,
    #[dbwarden(references = "users.id", on_delete = "cascade")]
    pub user_id: i64,
    pub created_at: chrono::NaiveDateTime,
}

fn col(name: &str, ty: ColumnType, nullable: bool) -> Column {
    Column::new(name, ty, nullable)
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn serial(name: &str, ty: ColumnType) -> Column {
    Column { auto_increment: true, ..col(name, ty, false) }
}

#[test]
fn spec_user_and_post() {
    let user = User::model();
    assert_eq!(
        user,
        ModelTable {
            table: SchemaTable {
                name: "users".into(),
                columns: vec![
                    serial("id", ColumnType::BigInt),
                    col("email", ColumnType::Varchar(255), false),
                    col("bio", ColumnType::Text, true),
                ],
                primary_key: Some(PrimaryKey { columns: strings(&["id"]) }),
                indexes: vec![],
                uniques: vec![Unique { name: "uq_users_email".into(), columns: strings(&["email"]) }],
                foreign_keys: vec![],
                checks: vec![],
                comment: Some("Core user accounts".into()),
                options: vec![],
            },
            database: None,
            renamed_from: None,
            column_renames: vec![],
            origin: format!("struct User (tests/models.rs:{USER_LINE})"),
        }
    );

    let post = Post::model();
    assert!(post.origin.starts_with("struct Post (tests/models.rs:"), "{}", post.origin);
    assert_eq!(
        post.table,
        SchemaTable {
            name: "posts".into(),
            columns: vec![
                serial("id", ColumnType::BigInt),
                col("title", ColumnType::Varchar(255), false),
                col("body", ColumnType::Text, false),
                col("user_id", ColumnType::BigInt, false),
                col("created_at", ColumnType::Timestamp, false),
            ],
            primary_key: Some(PrimaryKey { columns: strings(&["id"]) }),
            indexes: vec![Index {
                name: "ix_posts_created_at".into(),
                columns: strings(&["created_at"]),
                unique: false
            }],
            uniques: vec![],
            foreign_keys: vec![ForeignKey {
                name: "fk_posts_user_id_users".into(),
                columns: strings(&["user_id"]),
                ref_table: "users".into(),
                ref_columns: strings(&["id"]),
                on_delete: FkAction::Cascade,
                on_update: FkAction::NoAction,
            }],
            checks: vec![],
            comment: None,
            options: vec![],
        }
    );
    assert_eq!((post.database, post.renamed_from, post.column_renames), (None, None, vec![]));
}

#[test]
fn spec_schema_is_exact() {
    // Given in any order, the schema comes back sorted by table name, with the models' tables unchanged.
    let schema = models::schema(&[User::model(), Post::model()], None, DB).unwrap();
    assert_eq!(schema, Schema { tables: vec![Post::model().table, User::model().table] });
    // Post alone: its foreign key has nothing to point at.
    let e = models::schema(&[Post::model()], None, DB).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: foreign key `fk_posts_user_id_users` references `users.id`, but no model of database `primary` \
             declares table `users`; declare that table with #[derive(Table)] or fix `references = \"table.column\"`",
            Post::model().origin
        )
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Every type
// ---------------------------------------------------------------------------------------------------------------

#[derive(Table)]
pub struct TypeZoo {
    #[dbwarden(primary_key)]
    pub id: uuid::Uuid,
    pub small: i16,
    pub int: i32,
    pub big: i64,
    pub real: f32,
    pub double: f64,
    pub flag: bool,
    pub text: String,
    #[dbwarden(length = 20)]
    pub short: String,
    pub bytes: Vec<u8>,
    pub c_date: chrono::NaiveDate,
    pub c_time: chrono::NaiveTime,
    pub c_stamp: chrono::NaiveDateTime,
    pub c_stamp_tz: chrono::DateTime<chrono::Utc>,
    pub t_date: time::Date,
    pub t_time: time::Time,
    pub t_stamp: time::PrimitiveDateTime,
    pub t_stamp_tz: time::OffsetDateTime,
    pub money: rust_decimal::Decimal,
    #[dbwarden(precision = 10, scale = 2)]
    pub price: rust_decimal::Decimal,
    #[dbwarden(precision = 12)]
    pub whole: rust_decimal::Decimal,
    #[dbwarden(scale = 4)]
    pub fine: rust_decimal::Decimal,
    pub doc: serde_json::Value,
    pub maybe_int: Option<i64>,
    pub maybe_bytes: std::option::Option<Vec<u8>>,
    pub maybe_doc: Option<serde_json::Value>,
    #[dbwarden(sql_type = "CITEXT")]
    pub nick: String,
    #[dbwarden(sql_type = "INTEGER[]")]
    pub tags: Option<Vec<i32>>,
    pub r#type: i32,
    #[dbwarden(skip)]
    pub cached: std::collections::HashMap<String, u64>,
}

#[test]
fn every_type_maps() {
    let m = TypeZoo::model();
    assert_eq!(m.table.name, "type_zoo");
    let got: Vec<(String, ColumnType, bool)> =
        m.table.columns.iter().map(|c| (c.name.clone(), c.ty.clone(), c.nullable)).collect();
    let want = [
        ("id", ColumnType::Uuid, false),
        ("small", ColumnType::SmallInt, false),
        ("int", ColumnType::Integer, false),
        ("big", ColumnType::BigInt, false),
        ("real", ColumnType::Real, false),
        ("double", ColumnType::Double, false),
        ("flag", ColumnType::Boolean, false),
        ("text", ColumnType::Text, false),
        ("short", ColumnType::Varchar(20), false),
        ("bytes", ColumnType::Blob, false),
        ("c_date", ColumnType::Date, false),
        ("c_time", ColumnType::Time, false),
        ("c_stamp", ColumnType::Timestamp, false),
        ("c_stamp_tz", ColumnType::TimestampTz, false),
        ("t_date", ColumnType::Date, false),
        ("t_time", ColumnType::Time, false),
        ("t_stamp", ColumnType::Timestamp, false),
        ("t_stamp_tz", ColumnType::TimestampTz, false),
        ("money", ColumnType::Decimal(38, 10), false),
        ("price", ColumnType::Decimal(10, 2), false),
        ("whole", ColumnType::Decimal(12, 0), false),
        ("fine", ColumnType::Decimal(38, 4), false),
        ("doc", ColumnType::Json, false),
        ("maybe_int", ColumnType::BigInt, true),
        ("maybe_bytes", ColumnType::Blob, true),
        ("maybe_doc", ColumnType::Json, true),
        ("nick", ColumnType::Custom("CITEXT".into()), false),
        ("tags", ColumnType::Custom("INTEGER[]".into()), true),
        ("type", ColumnType::Integer, false),
    ];
    let want: Vec<(String, ColumnType, bool)> = want.into_iter().map(|(n, t, b)| (n.to_string(), t, b)).collect();
    assert_eq!(got, want);
    // A UUID key does not number itself.
    assert!(m.table.columns.iter().all(|c| !c.auto_increment));
    assert_eq!(m.table.primary_key, Some(PrimaryKey { columns: strings(&["id"]) }));
}

// ---------------------------------------------------------------------------------------------------------------
// Every table and column attribute
// ---------------------------------------------------------------------------------------------------------------

#[derive(Table)]
#[dbwarden(comment = "An order")]
pub struct OrderHeader {
    #[dbwarden(primary_key, comment = "the order number")]
    pub id: i32,
    #[dbwarden(index, default = "now()")]
    pub placed_at: chrono::DateTime<chrono::Utc>,
    #[dbwarden(length = 64, unique, renamed_from = "ref")]
    pub reference: String,
}

#[derive(Table)]
#[dbwarden(
    name = "order_items",
    comment = "Lines of an order",
    primary_key("order_id", "line"),
    index(columns("sku", "qty")),
    index(name = "ix_custom", columns("note"), unique),
    unique(columns("order_id", "sku")),
    unique(name = "uq_custom", columns("external")),
    check(name = "qty_positive", expr = "qty > 0"),
    check(name = "ck_order_items_price", expr = "price >= 0"),
    renamed_from = "order_lines"
)]
pub struct OrderItem {
    #[dbwarden(references = "order_header.id", on_delete = "cascade", on_update = "SET_NULL")]
    pub order_id: i32,
    pub line: i32,
    #[dbwarden(length = 32, column = "sku")]
    pub sku_code: String,
    #[dbwarden(default = "1")]
    pub qty: i16,
    #[dbwarden(precision = 10, scale = 2)]
    pub price: rust_decimal::Decimal,
    pub note: Option<String>,
    #[dbwarden(sql_type = "CHAR(36)", comment = "ref in the ERP", renamed_from = "erp_ref")]
    pub external: String,
    #[dbwarden(length = 16, default = "'new'", on_delete = "restrict", references = "statuses.code", collation = "C")]
    pub status: String,
    #[dbwarden(skip)]
    pub cache: Vec<String>,
}

#[derive(Table)]
#[dbwarden(name = "statuses", primary_key("code"))]
pub struct Status {
    #[dbwarden(length = 16)]
    pub code: String,
}

/// One-to-one: an integer key that is also a foreign key does not number itself.
#[derive(Table)]
pub struct UserSettings {
    #[dbwarden(primary_key, references = "users.id", on_delete = "set default")]
    pub user_id: i64,
    #[dbwarden(default = "'light'", column = "theme_name")]
    pub theme: String,
}

/// A composite key from field attributes; a single integer key from the struct attribute numbers itself.
#[derive(Table)]
pub struct Tagging {
    #[dbwarden(primary_key, references = "posts.id", on_delete = "no action")]
    pub post_id: i64,
    #[dbwarden(primary_key)]
    pub tag: String,
}

#[derive(Table)]
#[dbwarden(primary_key("code"))]
pub struct Counter {
    pub code: i32,
}

#[test]
fn every_attribute() {
    let order = OrderHeader::model();
    assert_eq!(
        order.table,
        SchemaTable {
            name: "order_header".into(),
            columns: vec![
                Column { comment: Some("the order number".into()), ..serial("id", ColumnType::Integer) },
                Column { default: Some("now()".into()), ..col("placed_at", ColumnType::TimestampTz, false) },
                col("reference", ColumnType::Varchar(64), false),
            ],
            primary_key: Some(PrimaryKey { columns: strings(&["id"]) }),
            indexes: vec![Index {
                name: "ix_order_header_placed_at".into(),
                columns: strings(&["placed_at"]),
                unique: false
            }],
            uniques: vec![Unique { name: "uq_order_header_reference".into(), columns: strings(&["reference"]) }],
            foreign_keys: vec![],
            checks: vec![],
            comment: Some("An order".into()),
            options: vec![],
        }
    );
    assert_eq!(order.column_renames, vec![("reference".to_string(), "ref".to_string())]);

    let item = OrderItem::model();
    assert_eq!(
        item,
        ModelTable {
            table: SchemaTable {
                name: "order_items".into(),
                columns: vec![
                    col("order_id", ColumnType::Integer, false),
                    col("line", ColumnType::Integer, false),
                    col("sku", ColumnType::Varchar(32), false),
                    Column { default: Some("1".into()), ..col("qty", ColumnType::SmallInt, false) },
                    col("price", ColumnType::Decimal(10, 2), false),
                    col("note", ColumnType::Text, true),
                    Column {
                        comment: Some("ref in the ERP".into()),
                        ..col("external", ColumnType::Custom("CHAR(36)".into()), false)
                    },
                    Column {
                        default: Some("'new'".into()),
                        collation: Some("C".into()),
                        ..col("status", ColumnType::Varchar(16), false)
                    },
                ],
                primary_key: Some(PrimaryKey { columns: strings(&["order_id", "line"]) }),
                indexes: vec![
                    Index { name: "ix_order_items_sku_qty".into(), columns: strings(&["sku", "qty"]), unique: false },
                    Index { name: "ix_custom".into(), columns: strings(&["note"]), unique: true },
                ],
                uniques: vec![
                    Unique { name: "uq_order_items_order_id_sku".into(), columns: strings(&["order_id", "sku"]) },
                    Unique { name: "uq_custom".into(), columns: strings(&["external"]) },
                ],
                foreign_keys: vec![
                    ForeignKey {
                        name: "fk_order_items_order_id_order_header".into(),
                        columns: strings(&["order_id"]),
                        ref_table: "order_header".into(),
                        ref_columns: strings(&["id"]),
                        on_delete: FkAction::Cascade,
                        on_update: FkAction::SetNull,
                    },
                    ForeignKey {
                        name: "fk_order_items_status_statuses".into(),
                        columns: strings(&["status"]),
                        ref_table: "statuses".into(),
                        ref_columns: strings(&["code"]),
                        on_delete: FkAction::Restrict,
                        on_update: FkAction::NoAction,
                    },
                ],
                checks: vec![
                    Check { name: "ck_order_items_qty_positive".into(), expr: "qty > 0".into() },
                    Check { name: "ck_order_items_price".into(), expr: "price >= 0".into() },
                ],
                comment: Some("Lines of an order".into()),
                options: vec![],
            },
            database: None,
            renamed_from: Some("order_lines".into()),
            column_renames: vec![("external".to_string(), "erp_ref".to_string())],
            origin: item.origin.clone(),
        }
    );

    // A string key from the struct attribute does not number itself; an integer one does.
    assert!(!Status::model().table.columns[0].auto_increment);
    let counter = Counter::model().table;
    assert_eq!((counter.name.as_str(), counter.columns[0].auto_increment), ("counter", true));

    let settings = UserSettings::model().table;
    assert_eq!(settings.name, "user_settings");
    assert_eq!(settings.columns[0], col("user_id", ColumnType::BigInt, false));
    assert_eq!(settings.columns[1].name, "theme_name");
    assert_eq!(settings.foreign_keys[0].on_delete, FkAction::SetDefault);

    let tagging = Tagging::model().table;
    assert_eq!(tagging.primary_key, Some(PrimaryKey { columns: strings(&["post_id", "tag"]) }));
    assert!(tagging.columns.iter().all(|c| !c.auto_increment));
}

// ---------------------------------------------------------------------------------------------------------------
// Discovery
// ---------------------------------------------------------------------------------------------------------------

mod shop {
    use dbwarden::Table;

    #[derive(Table)]
    #[dbwarden(database = "primary")] // the default database, named
    pub struct Product {
        #[dbwarden(primary_key)]
        pub id: i64,
        #[dbwarden(references = "users.id", on_delete = "set null")]
        pub owner_id: Option<i64>,
    }

    pub mod inner {
        #[derive(dbwarden::Table)]
        pub struct Shelf {
            #[dbwarden(primary_key)]
            pub id: i32,
            #[dbwarden(references = "product.id")]
            pub product_id: i64,
        }
    }
}

mod analytics {
    use dbwarden::Table;

    #[derive(Table)]
    #[dbwarden(database = "analytics", name = "events")]
    pub struct Event {
        #[dbwarden(primary_key)]
        pub id: i64,
        pub name: String,
    }

    /// Same table name as the default database's `users`, in another database: no clash.
    #[derive(Table)]
    #[dbwarden(database = "analytics", name = "users")]
    pub struct AnalyticsUser {
        #[dbwarden(primary_key)]
        pub id: i64,
    }

    pub fn in_a_function() -> dbwarden::schema::ModelTable {
        #[derive(Table)]
        #[dbwarden(database = "analytics")]
        struct LocalToAFunction {
            #[dbwarden(primary_key)]
            id: i64,
        }
        <LocalToAFunction as dbwarden::models::Model>::model()
    }
}

fn names(schema: &Schema) -> Vec<&str> {
    schema.tables.iter().map(|t| t.name.as_str()).collect()
}

#[test]
fn models_are_discovered_without_a_list() {
    let all = models::registered();
    let find = |name: &str, db: Option<&str>| all.iter().any(|m| m.table.name == name && m.database.as_deref() == db);
    assert!(find("product", Some("primary")));
    assert!(find("shelf", None));
    assert!(find("events", Some("analytics")));
    assert!(find("local_to_a_function", Some("analytics")));
    assert_eq!(analytics::in_a_function().table.name, "local_to_a_function");

    let primary = models::schema(&all, None, DB).unwrap();
    assert_eq!(
        names(&primary),
        [
            "counter",
            "order_header",
            "order_items",
            "posts",
            "product",
            "shelf",
            "statuses",
            "tagging",
            "type_zoo",
            "user_settings",
            "users"
        ]
    );
    assert_eq!(models::schema(&all, Some(DB), DB).unwrap(), primary);

    let analytics = models::schema(&all, Some("analytics"), DB).unwrap();
    assert_eq!(names(&analytics), ["events", "local_to_a_function", "users"]);

    // Another default database: the models without `database` go there, but `product` stays in `primary`.
    let e = models::schema(&all, None, "main").unwrap_err();
    assert!(
        matches!(&e, ModelError::MissingTable { origin, ref_table, database, .. }
            if origin.starts_with("struct Shelf (") && ref_table == "product" && database == "main"),
        "{e:?}"
    );
    assert!(e.to_string().contains("(it is in database `primary`: a foreign key cannot cross databases)"), "{e}");
    assert!(models::schema(&all, Some("nothing"), DB).unwrap().tables.is_empty());
}

#[test]
fn schema_is_normalised() {
    let primary = models::schema(&models::registered(), None, DB).unwrap();
    let items = primary.table("order_items").unwrap();
    let ix: Vec<&str> = items.indexes.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(ix, ["ix_custom", "ix_order_items_sku_qty"]);
    let uq: Vec<&str> = items.uniques.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(uq, ["uq_custom", "uq_order_items_order_id_sku"]);
    let ck: Vec<&str> = items.checks.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(ck, ["ck_order_items_price", "ck_order_items_qty_positive"]);
    // Defaults are normalised in the schema (not in the model).
    let placed = primary.table("order_header").unwrap().column("placed_at").unwrap();
    assert_eq!(placed.default.as_deref(), Some("CURRENT_TIMESTAMP"));
    // The schema round-trips through JSON (the snapshot format).
    let json = serde_json::to_string(&primary).unwrap();
    assert_eq!(serde_json::from_str::<Schema>(&json).unwrap(), primary);
}

// ---------------------------------------------------------------------------------------------------------------
// Errors only the whole set shows (each in its own database, so the others stay valid)
// ---------------------------------------------------------------------------------------------------------------

mod broken {
    use dbwarden::Table;

    /// A check whose quote is left open (the generated file did not read back, reported as dbwarden's defect).
    #[derive(Table)]
    #[dbwarden(database = "open_check", check(name = "c", expr = "name <> 'a"))]
    pub struct OpenCheck {
        #[dbwarden(primary_key)]
        pub id: i64,
        pub name: String,
    }

    #[derive(Table)]
    #[dbwarden(database = "fk_table")]
    pub struct Comment {
        #[dbwarden(primary_key)]
        pub id: i64,
        #[dbwarden(references = "articles.id")]
        pub article_id: i64,
    }

    /// `users` exists, but in the default database.
    #[derive(Table)]
    #[dbwarden(database = "fk_cross")]
    pub struct Session {
        #[dbwarden(primary_key)]
        pub id: i64,
        #[dbwarden(references = "users.id")]
        pub user_id: i64,
    }

    #[derive(Table)]
    #[dbwarden(database = "fk_column", name = "authors")]
    pub struct Author {
        #[dbwarden(primary_key)]
        pub id: i64,
        pub name: String,
    }

    #[derive(Table)]
    #[dbwarden(database = "fk_column")]
    pub struct Book {
        #[dbwarden(primary_key)]
        pub id: i64,
        #[dbwarden(references = "authors.uuid")]
        pub author_id: i64,
    }

    #[derive(Table)]
    #[dbwarden(database = "fk_unique", name = "authors")]
    pub struct Author2 {
        #[dbwarden(primary_key)]
        pub id: i64,
        pub name: String,
    }

    #[derive(Table)]
    #[dbwarden(database = "fk_unique")]
    pub struct Quote {
        #[dbwarden(primary_key)]
        pub id: i64,
        #[dbwarden(references = "authors.name")]
        pub author_name: String,
    }

    #[derive(Table)]
    #[dbwarden(database = "fk_type", name = "parents")]
    pub struct Parent {
        #[dbwarden(primary_key)]
        pub id: i32,
    }

    #[derive(Table)]
    #[dbwarden(database = "fk_type")]
    pub struct Child {
        #[dbwarden(primary_key)]
        pub id: i64,
        #[dbwarden(length = 10, references = "parents.id")]
        pub parent_id: String,
    }

    #[derive(Table)]
    #[dbwarden(database = "dup", name = "things")]
    pub struct Thing1 {
        pub id: i64,
    }

    #[derive(Table)]
    #[dbwarden(database = "dup", name = "things")]
    pub struct Thing2 {
        pub id: i64,
    }

    #[derive(Table)]
    #[dbwarden(database = "dup_index", index(name = "ix_name", columns("name")))]
    pub struct Cat {
        pub name: String,
    }

    #[derive(Table)]
    #[dbwarden(database = "dup_index", index(name = "ix_name", columns("name")))]
    pub struct Dog {
        pub name: String,
    }

    #[derive(Table)]
    #[dbwarden(database = "rename", renamed_from = "old_people")]
    pub struct People {
        pub id: i64,
    }

    #[derive(Table)]
    #[dbwarden(database = "rename")]
    pub struct OldPeople {
        pub id: i64,
    }
}

fn error(db: &str) -> ModelError {
    models::schema(&models::registered(), Some(db), DB).unwrap_err()
}

#[test]
fn a_check_with_an_open_quote_names_the_model() {
    let e = error("open_check");
    let message = e.to_string();
    assert!(matches!(&e, ModelError::OpenExpression { .. }), "{e:?}");
    assert!(message.starts_with("struct OpenCheck (tests/models.rs:"), "{message}");
    assert!(message.contains("check `ck_open_check_c` of table `open_check`"), "{message}");
    assert!(message.contains("`name <> 'a` leaves a quote or a parenthesis open"), "{message}");
}

#[test]
fn foreign_key_to_a_missing_table() {
    let e = error("fk_table");
    assert!(matches!(&e, ModelError::MissingTable { ref_table, .. } if ref_table == "articles"), "{e:?}");
    let message = e.to_string();
    assert!(message.starts_with("struct Comment (tests/models.rs:"), "{message}");
    assert!(message.contains("foreign key `fk_comment_article_id_articles` references `articles.id`"), "{message}");
    assert!(message.contains("no model of database `fk_table` declares table `articles`"), "{message}");
    assert!(message.contains("declare that table with #[derive(Table)] or fix `references"), "{message}");

    let message = error("fk_cross").to_string();
    assert!(message.contains("(it is in database `primary`: a foreign key cannot cross databases)"), "{message}");
    // Asked by a caller that does not know the default database's name (make-migrations for another database).
    let message = models::schema(&models::registered(), Some("fk_cross"), "\u{0}").unwrap_err().to_string();
    assert!(message.contains("(it is in the default database: a foreign key cannot cross databases)"), "{message}");
}

#[test]
fn foreign_key_to_a_missing_column() {
    let e = error("fk_column");
    let message = e.to_string();
    assert!(matches!(&e, ModelError::MissingColumn { column, .. } if column == "uuid"), "{e:?}");
    assert!(message.starts_with("struct Book (tests/models.rs:"), "{message}");
    assert!(message.contains("references `authors.uuid`, but table `authors` (struct Author (tests/models.rs:"));
    assert!(message.contains("has no column `uuid` (its columns: id, name)"), "{message}");

    let e = error("fk_unique");
    assert!(matches!(&e, ModelError::NotUnique { .. }), "{e:?}");
    assert!(e.to_string().contains("`authors.name`, which is neither the primary key nor unique"), "{e}");

    // Different types: MariaDB and PostgreSQL refuse the key at migrate; caught when generating instead.
    let e = error("fk_type");
    assert!(matches!(&e, ModelError::TypeMismatch { column, .. } if column == "parent_id"), "{e:?}");
    assert!(e.to_string().contains("column `parent_id` is varchar(10) but `parents.id` is integer"), "{e}");
}

#[test]
fn two_tables_with_one_name() {
    let e = error("dup");
    let message = e.to_string();
    assert!(matches!(&e, ModelError::DuplicateTable { table, .. } if table == "things"), "{e:?}");
    assert!(message.contains("table `things` of database `dup` is declared twice: by struct Thing1 ("), "{message}");
    assert!(message.contains("and by struct Thing2 ("), "{message}");

    let message = error("dup_index").to_string();
    assert!(message.contains("are named `ix_name`: in struct Cat ("), "{message}");
    assert!(message.contains("and in struct Dog ("), "{message}");

    let message = error("rename").to_string();
    assert!(message.starts_with("struct People (tests/models.rs:"), "{message}");
    assert!(message.contains("`renamed_from = \"old_people\"` but struct OldPeople ("), "{message}");
}

#[test]
fn foreign_key_column_count_is_checked() {
    // A manifest can write what the derive cannot: two columns referencing one.
    let mut m = Post::model();
    m.table.foreign_keys[0].columns.push("title".into());
    let e = models::schema(&[User::model(), m], None, DB).unwrap_err();
    assert!(e.to_string().contains("has 2 column(s) but references 1"), "{e}");
}

// ---------------------------------------------------------------------------------------------------------------
// Compile errors
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn compile_errors() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}

/// A manifest's foreign key to a missing table or column says what to fix in the manifest's words.
#[test]
fn a_manifest_foreign_key_to_nothing_speaks_the_manifest() {
    let text =
        "[[table]]\nname = \"posts\"\n[[table.column]]\nname = \"id\"\ntype = \"BigInteger\"\nprimary_key = true\n\
                [[table.column]]\nname = \"user_id\"\ntype = \"BigInteger\"\nforeign_key = \"users.id\"\n";
    let tables = dbwarden_core::manifest::parse(text, "app.schema.toml").unwrap();
    let message = models::schema(&tables, None, "primary").unwrap_err().to_string();
    assert!(message.starts_with("app.schema.toml:1: foreign key"), "{message}");
    assert!(
        message.ends_with(
            "declare that table in a [[table]] of the manifest, or fix the column's `foreign_key = \"table.column\"` \
             (or the `references` of a [[table.foreign_key]])"
        ),
        "{message}"
    );
    assert!(!message.contains("derive"), "{message}");
    let with_users = format!("{text}[[table]]\nname = \"users\"\n[[table.column]]\nname = \"uid\"\ntype = \"BigInteger\"\nprimary_key = true\n");
    let tables = dbwarden_core::manifest::parse(&with_users, "app.schema.toml").unwrap();
    let message = models::schema(&tables, None, "primary").unwrap_err().to_string();
    assert!(message.contains("has no column `id`") && message.contains("fix the column's `foreign_key"), "{message}");
}

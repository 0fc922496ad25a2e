//! The schema manifest (`dbwarden.schema.toml`): every type and key into the exact IR, every error with its line, and
//! no panic on any input.

use dbwarden_core::manifest::{check_references, parse, ManifestError};
use dbwarden_core::schema::{
    Check, Column, ColumnType, FkAction, ForeignKey, Index, ModelTable, PrimaryKey, Table, Unique,
};
use proptest::prelude::*;

const FILE: &str = "dbwarden.schema.toml";

const FULL: &str = r#"# Every type and key.
[[table]]
name = "users"
comment = "Core user accounts"

[[table.column]]
name = "id"
type = "BigInteger"
primary_key = true

[[table.column]]
name = "email"
type = "String(255)"
unique = true
nullable = false

[[table.column]]
name = "handle"
type = "string(length=40)"
unique = true
index = true
comment = "public name"
renamed_from = "nick"

[[table.column]]
name = "bio"
type = "String"

[[table.column]]
name = "notes"
type = "TEXT"

[[table.column]]
name = "age"
type = "SmallInteger()"
server_default = 0

[[table.column]]
name = "visits"
type = "Integer"
default = "0"

[[table.column]]
name = "active"
type = "Boolean"
server_default = true
nullable = false

[[table.column]]
name = "born"
type = "Date"

[[table.column]]
name = "created_at"
type = "DateTime"
server_default = "CURRENT_TIMESTAMP"
index = true

[[table.column]]
name = "seen_at"
type = "DateTime(timezone=True)"

[[table.column]]
name = "seen_local"
type = "DateTime(timezone=False)"

[[table.column]]
name = "wakes"
type = "Time"

[[table.column]]
name = "balance"
type = "Numeric(10, 2)"
server_default = 1.5

[[table.column]]
name = "ratio"
type = "Numeric"

[[table.column]]
name = "whole"
type = "Numeric(precision=12)"

[[table.column]]
name = "score"
type = "Float"

[[table.column]]
name = "precise"
type = "Float(53)"

[[table.column]]
name = "weight"
type = "Double"

[[table.column]]
name = "avatar"
type = "LargeBinary"

[[table.column]]
name = "settings"
type = "JSON"

[[table.column]]
name = "token"
type = "Uuid(as_uuid=True)"

[[table.column]]
name = "status"
type = "Enum('draft', 'it''s', \"a,b\", name='status_enum')"
server_default = "'draft'"

[[table.column]]
name = "email_ci"
sql_type = "CITEXT"

[[table.check]]
name = "adult"
expr = "age >= 18"

[[table]]
name = "posts"
database = "primary"
renamed_from = "articles"

[[table.column]]
name = "id"
type = "Integer"
primary_key = true
autoincrement = false

[[table.column]]
name = "user_id"
type = "BigInteger"
foreign_key = "users.id"
on_delete = "CASCADE"
on_update = "set null"
index = true

[[table.column]]
name = "title"
type = "String(200)"

[[table.column]]
name = "amount"
type = "Integer"

[[table.index]]
name = "ix_posts_title_amount"
columns = ["title", "amount"]
unique = true

[[table.index]]
columns = ["amount"]

[[table.unique]]
columns = ["user_id", "title"]

[[table.unique]]
name = "uq_title"
columns = ["title"]

[[table.check]]
name = "ck_posts_positive_amount"
expr = "amount > 0"

[[table]]
name = "tags"
primary_key = ["post_id", "label"]

[[table.column]]
name = "post_id"
type = "Integer"

[[table.column]]
name = "label"
type = "String(50)"

[[table.foreign_key]]
columns = ["post_id"]
references = ["posts.id"]
on_delete = "restrict"

[[table]]
name = "pairs"

[[table.column]]
name = "a"
type = "Integer"
primary_key = true

[[table.column]]
name = "b"
type = "BigInteger"
primary_key = true

[[table.column]]
name = "ta"
type = "Integer"

[[table.column]]
name = "tl"
type = "String(20)"

[[table.foreign_key]]
name = "fk_pairs_tag"
columns = ["ta", "tl"]
references = ["tags.post_id", "tags.label"]
on_delete = "SET_DEFAULT"
"#;

fn col(name: &str, ty: ColumnType) -> Column {
    Column::new(name, ty, true)
}

fn not_null(mut c: Column) -> Column {
    c.nullable = false;
    c
}

fn with_default(mut c: Column, d: &str) -> Column {
    c.default = Some(d.into());
    c
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn every_type_and_key_into_the_exact_ir() {
    let tables = parse(FULL, FILE).unwrap();
    let users = ModelTable {
        table: Table {
            name: "users".into(),
            columns: vec![
                Column { auto_increment: true, ..not_null(col("id", ColumnType::BigInt)) },
                not_null(col("email", ColumnType::Varchar(255))),
                Column { comment: Some("public name".into()), ..col("handle", ColumnType::Varchar(40)) },
                col("bio", ColumnType::Text),
                col("notes", ColumnType::Text),
                with_default(col("age", ColumnType::SmallInt), "0"),
                with_default(col("visits", ColumnType::Integer), "0"),
                not_null(with_default(col("active", ColumnType::Boolean), "TRUE")),
                col("born", ColumnType::Date),
                with_default(col("created_at", ColumnType::Timestamp), "CURRENT_TIMESTAMP"),
                col("seen_at", ColumnType::TimestampTz),
                col("seen_local", ColumnType::Timestamp),
                col("wakes", ColumnType::Time),
                with_default(col("balance", ColumnType::Decimal(10, 2)), "1.5"),
                col("ratio", ColumnType::Decimal(38, 10)),
                col("whole", ColumnType::Decimal(12, 0)),
                col("score", ColumnType::Real),
                col("precise", ColumnType::Double),
                col("weight", ColumnType::Double),
                col("avatar", ColumnType::Blob),
                col("settings", ColumnType::Json),
                col("token", ColumnType::Uuid),
                with_default(col("status", ColumnType::Enum(strings(&["draft", "it's", "a,b"]))), "'draft'"),
                col("email_ci", ColumnType::Custom("CITEXT".into())),
            ],
            primary_key: Some(PrimaryKey { columns: strings(&["id"]) }),
            indexes: vec![
                Index { name: "ix_users_handle".into(), columns: strings(&["handle"]), unique: true },
                Index { name: "ix_users_created_at".into(), columns: strings(&["created_at"]), unique: false },
            ],
            uniques: vec![Unique { name: "uq_users_email".into(), columns: strings(&["email"]) }],
            foreign_keys: vec![],
            checks: vec![Check { name: "ck_users_adult".into(), expr: "age >= 18".into() }],
            comment: Some("Core user accounts".into()),
            options: vec![],
        },
        database: None,
        renamed_from: None,
        column_renames: vec![("handle".into(), "nick".into())],
        origin: "dbwarden.schema.toml:2".into(),
    };
    let posts = ModelTable {
        table: Table {
            name: "posts".into(),
            columns: vec![
                not_null(col("id", ColumnType::Integer)),
                col("user_id", ColumnType::BigInt),
                col("title", ColumnType::Varchar(200)),
                col("amount", ColumnType::Integer),
            ],
            primary_key: Some(PrimaryKey { columns: strings(&["id"]) }),
            indexes: vec![
                Index { name: "ix_posts_user_id".into(), columns: strings(&["user_id"]), unique: false },
                Index { name: "ix_posts_title_amount".into(), columns: strings(&["title", "amount"]), unique: true },
                Index { name: "ix_posts_amount".into(), columns: strings(&["amount"]), unique: false },
            ],
            uniques: vec![
                Unique { name: "uq_posts_user_id_title".into(), columns: strings(&["user_id", "title"]) },
                Unique { name: "uq_title".into(), columns: strings(&["title"]) },
            ],
            foreign_keys: vec![ForeignKey {
                name: "fk_posts_user_id_users".into(),
                columns: strings(&["user_id"]),
                ref_table: "users".into(),
                ref_columns: strings(&["id"]),
                on_delete: FkAction::Cascade,
                on_update: FkAction::SetNull,
            }],
            checks: vec![Check { name: "ck_posts_positive_amount".into(), expr: "amount > 0".into() }],
            comment: None,
            options: vec![],
        },
        database: Some("primary".into()),
        renamed_from: Some("articles".into()),
        column_renames: vec![],
        origin: "dbwarden.schema.toml:121".into(),
    };
    let tags = ModelTable {
        table: Table {
            name: "tags".into(),
            columns: vec![
                not_null(col("post_id", ColumnType::Integer)),
                not_null(col("label", ColumnType::Varchar(50))),
            ],
            primary_key: Some(PrimaryKey { columns: strings(&["post_id", "label"]) }),
            foreign_keys: vec![ForeignKey {
                name: "fk_tags_post_id_posts".into(),
                columns: strings(&["post_id"]),
                ref_table: "posts".into(),
                ref_columns: strings(&["id"]),
                on_delete: FkAction::Restrict,
                on_update: FkAction::NoAction,
            }],
            ..Table::default()
        },
        database: None,
        renamed_from: None,
        column_renames: vec![],
        origin: "dbwarden.schema.toml:167".into(),
    };
    let pairs = ModelTable {
        table: Table {
            name: "pairs".into(),
            columns: vec![
                not_null(col("a", ColumnType::Integer)),
                not_null(col("b", ColumnType::BigInt)),
                col("ta", ColumnType::Integer),
                col("tl", ColumnType::Varchar(20)),
            ],
            primary_key: Some(PrimaryKey { columns: strings(&["a", "b"]) }),
            foreign_keys: vec![ForeignKey {
                name: "fk_pairs_tag".into(),
                columns: strings(&["ta", "tl"]),
                ref_table: "tags".into(),
                ref_columns: strings(&["post_id", "label"]),
                on_delete: FkAction::SetDefault,
                on_update: FkAction::NoAction,
            }],
            ..Table::default()
        },
        database: None,
        renamed_from: None,
        column_renames: vec![],
        origin: "dbwarden.schema.toml:184".into(),
    };
    // Line numbers of the [[table]] headers, checked independently of the literal above.
    let headers: Vec<usize> =
        FULL.lines().enumerate().filter(|(_, l)| l.trim() == "[[table]]").map(|(i, _)| i + 1).collect();
    assert_eq!(headers, vec![2, 121, 167, 184]);
    assert_eq!(tables.len(), 4);
    assert_eq!(tables[0], users);
    assert_eq!(tables[1], posts);
    assert_eq!(tables[2], tags);
    assert_eq!(tables[3], pairs);
}

#[test]
fn references_are_checked_across_tables() {
    // posts is in database "primary", users in the default one: the reference crosses databases.
    let tables = parse(FULL, FILE).unwrap();
    let err = check_references(&tables).unwrap_err();
    assert_eq!(err.line(), Some(121), "{err}");
    assert!(err.to_string().contains("declared in database `(default)`"), "{err}");

    // Same database everywhere: every reference resolves.
    let same = FULL.replace("database = \"primary\"\n", "");
    check_references(&parse(&same, FILE).unwrap()).unwrap();
    // An empty manifest is fine.
    assert_eq!(parse("", FILE).unwrap(), vec![]);
}

fn table(body: &str) -> String {
    format!("[[table]]\nname = \"t\"\n[[table.column]]\nname = \"id\"\ntype = \"Integer\"\nprimary_key = true\n{body}")
}

/// Parses `text` and expects an error on `line` whose message contains `needle`.
#[track_caller]
fn fails(text: &str, line: usize, needle: &str) {
    let err = parse(text, FILE).expect_err(text);
    let message = err.to_string();
    assert!(matches!(err, ManifestError::Invalid { .. }), "{message}");
    assert!(message.starts_with(&format!("{FILE}:{line}: ")), "expected line {line}: {message}\n---\n{text}");
    assert!(message.contains(needle), "expected `{needle}` in: {message}");
}

#[test]
fn every_error_names_its_line() {
    // TOML itself, unknown keys, wrong kinds.
    fails("[[table]\nname = \"x\"\n", 1, "");
    fails("colour = 1\n", 1, "unknown field `colour`");
    fails("[[table]]\nname = \"t\"\ncolour = 1\n", 3, "unknown field `colour`");
    fails(&table("color = \"red\"\n"), 7, "unknown field `color`");
    fails(&table("[[table.index]]\ncolumns = [\"id\"]\nuniq = true\n"), 9, "unknown field `uniq`");
    fails(&table("nullable = \"no\"\n"), 7, "expected a boolean");
    fails("[[table]]\ncomment = \"x\"\n", 1, "missing field `name`");
    fails(&table("[[table.column]]\ntype = \"Integer\"\n"), 7, "missing field `name`");

    // Names.
    fails("[[table]]\nname = \"\"\n", 2, "table name `` is empty");
    fails(&format!("[[table]]\nname = \"{}\"\n", "x".repeat(64)), 2, "64 bytes");
    fails(&table("[[table.column]]\nname = \" a\"\ntype = \"Text\"\n"), 8, "leading or trailing spaces");
    fails("[[table]]\nname = \"t\"\n", 1, "table `t` has no columns");
    fails(
        &table("[[table.column]]\nname = \"ID\"\ntype = \"Text\"\n"),
        8,
        "a second column named `ID` (the first is at line 3",
    );
    fails(&format!("{}\n{}", table(""), table("")), 9, "a second table named `t` (the first is at line 1");
    fails(
        &table("[[table]]\nname = \"u\"\ndatabase = \"1st\"\n[[table.column]]\nname = \"a\"\ntype = \"Text\"\n"),
        9,
        "database = \"1st\"",
    );

    // Types.
    fails(
        &table("[[table.column]]\nname = \"a\"\ntype = \"Strin(9)\"\n"),
        9,
        "table `t`, column `a`: unknown type `Strin(9)`",
    );
    fails(&table("[[table.column]]\nname = \"a\"\ntype = \"varchar(9)\"\n"), 9, "did you mean String(n)?");
    fails(&table("[[table.column]]\nname = \"a\"\ntype = \"Integer(4)\"\n"), 9, "takes no arguments");
    fails(&table("[[table.column]]\nname = \"a\"\ntype = \"String(0)\"\n"), 9, "out of range");
    fails(&table("[[table.column]]\nname = \"a\"\ntype = \"String(255\"\n"), 9, "without its `)`");
    fails(&table("[[table.column]]\nname = \"a\"\ntype = \"Numeric(2, 5)\"\n"), 9, "at least the scale");
    fails(&table("[[table.column]]\nname = \"a\"\ntype = \"Numeric(scale=2)\"\n"), 9, "needs a precision");
    fails(&table("[[table.column]]\nname = \"a\"\ntype = \"Float(60)\"\n"), 9, "out of range 1..=53");
    fails(&table("[[table.column]]\nname = \"a\"\ntype = \"Time(timezone=True)\"\n"), 9, "no portable type");
    fails(&table("[[table.column]]\nname = \"a\"\ntype = \"DateTime(timezone=maybe)\"\n"), 9, "True or False");
    fails(&table("[[table.column]]\nname = \"a\"\ntype = \"Enum()\"\n"), 9, "at least one value");
    fails(&table("[[table.column]]\nname = \"a\"\ntype = \"Enum('x', 'x')\"\n"), 9, "given twice");
    fails(&table("[[table.column]]\nname = \"a\"\ntype = \"Enum('x\"\n"), 9, "without its `)`");
    fails(&table("[[table.column]]\nname = \"a\"\ntype = \"Enum('x)\"\n"), 9, "cannot read the arguments");
    fails(&table("[[table.column]]\nname = \"a\"\n"), 7, "has no type");
    fails(
        &table("[[table.column]]\nname = \"a\"\ntype = \"Text\"\nsql_type = \"CITEXT\"\n"),
        10,
        "both `type` and `sql_type`",
    );
    fails(&table("[[table.column]]\nname = \"a\"\nsql_type = \" \"\n"), 9, "sql_type is empty");

    // Collations.
    fails(&table("[[table.column]]\nname = \"a\"\ntype = \"Integer\"\ncollation = \"C\"\n"), 10, "not integer");
    fails(&table("[[table.column]]\nname = \"a\"\ntype = \"Text\"\ncollation = \" \"\n"), 10, "collation is empty");
    fails(
        &table("[[table.column]]\nname = \"é\"\ntype = \"Text\"\n[[table.column]]\nname = \"É\"\ntype = \"Text\"\n"),
        11,
        "a second column named `É`",
    );

    // Defaults.
    fails(
        &table("[[table.column]]\nname = \"a\"\ntype = \"Text\"\ndefault = \"'x'\"\nserver_default = \"'y'\"\n"),
        10,
        "synonyms",
    );
    fails(&table("[[table.column]]\nname = \"a\"\ntype = \"Text\"\ndefault = \"\"\n"), 10, "the default is empty");
    fails(
        &table("[[table.column]]\nname = \"a\"\ntype = \"String(9)\"\nserver_default = \"draft\"\n"),
        10,
        "write \"'draft'\"",
    );
    fails(
        &table("[[table.column]]\nname = \"a\"\ntype = \"Enum('a', 'b')\"\nserver_default = \"'c'\"\n"),
        10,
        "not one of the Enum's values",
    );
    fails(&table("[[table.column]]\nname = \"a\"\ntype = \"Text\"\ndefault = [1]\n"), 10, "a default is SQL text");

    // Keys.
    fails(&table("nullable = true\n"), 7, "nullable = true on a primary key column");
    fails(
        &table("[[table.column]]\nname = \"a\"\ntype = \"Text\"\nautoincrement = true\n"),
        10,
        "autoincrement = true needs",
    );
    fails("[[table]]\nname = \"t\"\nprimary_key = [\"a\"]\n[[table.column]]\nname = \"a\"\ntype = \"Integer\"\nprimary_key = true\n", 3, "declared twice");
    fails(
        "[[table]]\nname = \"t\"\nprimary_key = [\"b\"]\n[[table.column]]\nname = \"a\"\ntype = \"Integer\"\n",
        3,
        "names column `b`, which the table does not have; its columns are `a`",
    );
    fails(
        "[[table]]\nname = \"t\"\nprimary_key = []\n[[table.column]]\nname = \"a\"\ntype = \"Integer\"\n",
        3,
        "is empty",
    );
    fails(
        "[[table]]\nname = \"t\"\nprimary_key = [\"a\", \"a\"]\n[[table.column]]\nname = \"a\"\ntype = \"Integer\"\n",
        3,
        "twice",
    );

    // Indexes, uniques, checks.
    fails(&table("[[table.index]]\ncolumns = [\"Id\"]\n"), 8, "did you mean `id`?");
    fails(&table("[[table.index]]\ncolumns = []\n"), 8, "columns = []");
    fails(
        &table("[[table.unique]]\ncolumns = [\n  \"id\",\n  \"nope\",\n]\n"),
        10,
        "[[table.unique]] names column `nope`",
    );
    fails(&table("[[table.check]]\nname = \"c\"\nexpr = \" \"\n"), 9, "expr is empty");
    // (It was written and then reported as dbwarden's defect: "the migration generated does not read back".)
    fails(&table("[[table.check]]\nname = \"c\"\nexpr = \"id <> 'a\"\n"), 9, "leaves a quote or a parenthesis open");
    fails(&table("[[table.check]]\nname = \"c\"\nexpr = \"(id > 0\"\n"), 9, "leaves a quote or a parenthesis open");
    fails(&table("[[table.check]]\nexpr = \"id > 0\"\n"), 7, "missing field `name`");
    fails(
        &table("[[table.index]]\ncolumns = [\"id\"]\n[[table.index]]\ncolumns = [\"id\"]\nunique = true\n"),
        9,
        "two indexes or constraints are named `ix_t_id` (the first at line 7)",
    );
    fails(
        &format!("{}{}", table("[[table.index]]\nname = \"ix_x\"\ncolumns = [\"id\"]\n"), "[[table]]\nname = \"u\"\n[[table.column]]\nname = \"a\"\ntype = \"Text\"\nindex = true\n[[table.index]]\nname = \"ix_x\"\ncolumns = [\"a\"]\n"),
        17,
        "already used by table `t` (line 8)",
    );

    // Foreign keys.
    fails(
        &table("[[table.column]]\nname = \"a\"\ntype = \"Integer\"\nforeign_key = \"users\"\n"),
        10,
        "not of the form `table.column`",
    );
    fails(
        &table("[[table.column]]\nname = \"a\"\ntype = \"Integer\"\nforeign_key = \"s.users.id\"\n"),
        10,
        "not of the form",
    );
    fails(
        &table("[[table.column]]\nname = \"a\"\ntype = \"Integer\"\nforeign_key = \"u.id\"\non_delete = \"explode\"\n"),
        11,
        "on_delete = \"explode\" is not an action",
    );
    fails(
        &table("[[table.column]]\nname = \"a\"\ntype = \"Integer\"\non_update = \"cascade\"\n"),
        10,
        "on_update without foreign_key",
    );
    fails(&table("[[table.column]]\nname = \"a\"\ntype = \"Integer\"\nnullable = false\nforeign_key = \"u.id\"\non_delete = \"set null\"\n"), 11, "SET NULL but the column is NOT NULL");
    fails(
        &table("[[table.foreign_key]]\ncolumns = [\"id\"]\nreferences = [\"u.a\", \"u.b\"]\n"),
        9,
        "1 columns but 2 references",
    );
    fails(&table("[[table.column]]\nname = \"a\"\ntype = \"Integer\"\n[[table.foreign_key]]\ncolumns = [\"id\", \"a\"]\nreferences = [\"u.a\", \"v.b\"]\n"), 12, "names `u` and `v`");
    fails(
        &table("[[table.foreign_key]]\ncolumns = [\"id\"]\nreferences = [\"u.a\"]\non_delete = \"nope\"\n"),
        10,
        "on_delete = \"nope\"",
    );

    // Renames.
    fails(
        &table("[[table.column]]\nname = \"a\"\ntype = \"Integer\"\nserver_default = \"'abc\"\n"),
        10,
        "leaves a quote or a parenthesis open",
    );
    fails(
        "[[table]]\nname = \"t\"\nrenamed_from = \"t\"\n[[table.column]]\nname = \"a\"\ntype = \"Text\"\n",
        3,
        "own name",
    );
    fails(
        &table("[[table.column]]\nname = \"a\"\ntype = \"Text\"\nrenamed_from = \"id\"\n"),
        10,
        "column `id` (line 3) still exists",
    );
    fails(&table("[[table.column]]\nname = \"a\"\ntype = \"Text\"\nrenamed_from = \"z\"\n[[table.column]]\nname = \"b\"\ntype = \"Text\"\nrenamed_from = \"z\"\n"), 14, "already renamed_from \"z\"");
    fails(
        &format!(
            "{}{}",
            table(""),
            "[[table]]\nname = \"u\"\nrenamed_from = \"t\"\n[[table.column]]\nname = \"a\"\ntype = \"Text\"\n"
        ),
        7,
        "a table `t` is still declared (line 1)",
    );
}

fn schema(extra: &str) -> Vec<ModelTable> {
    let text = format!(
        "[[table]]\nname = \"users\"\n[[table.column]]\nname = \"id\"\ntype = \"BigInteger\"\nprimary_key = true\n\
         [[table.column]]\nname = \"code\"\ntype = \"String(9)\"\n{extra}"
    );
    parse(&text, FILE).unwrap()
}

#[track_caller]
fn bad_reference(extra: &str, line: usize, needle: &str) {
    let err = check_references(&schema(extra)).expect_err(extra);
    let message = err.to_string();
    assert!(matches!(err, ManifestError::Reference { .. }), "{message}");
    assert_eq!(err.line(), Some(line), "{message}");
    assert!(message.starts_with(&format!("{FILE}:{line}: table `")), "{message}");
    assert!(message.contains(needle), "expected `{needle}` in: {message}");
}

#[test]
fn reference_errors_name_the_referencing_table() {
    let posts = |fk: &str, ty: &str| {
        format!(
            "[[table]]\nname = \"posts\"\n[[table.column]]\nname = \"uid\"\ntype = \"{ty}\"\nforeign_key = \"{fk}\"\n"
        )
    };
    check_references(&schema(&posts("users.id", "BigInteger"))).unwrap();
    // A self reference.
    check_references(&schema(
        "[[table.column]]\nname = \"parent\"\ntype = \"BigInteger\"\nforeign_key = \"users.id\"\n",
    ))
    .unwrap();
    bad_reference(&posts("user.id", "BigInteger"), 10, "references table `user`, which is not declared");
    bad_reference(&posts("Users.id", "BigInteger"), 10, "did you mean `users`");
    bad_reference(&posts("users.uid", "BigInteger"), 10, "no column `uid` (its columns: `id`, `code`)");
    bad_reference(&posts("users.id", "Integer"), 10, "column `uid` is integer but `users.id` is bigint");
    bad_reference(&posts("users.code", "String(9)"), 10, "not its primary key nor unique");
    // A bounded string may reference another length; a unique constraint makes a key.
    check_references(&schema(&format!("unique = true\n{}", posts("users.code", "String(20)")))).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn parse_never_panics_on_arbitrary_text(text in "\\PC{0,400}") {
        let _ = parse(&text, FILE);
    }

    #[test]
    fn parse_never_panics_on_toml_shaped_text(
        text in "(\\[\\[table(\\.column|\\.index|\\.unique|\\.check|\\.foreign_key)?\\]\\]\n|(name|type|columns|primary_key|default|foreign_key|references|on_delete|expr|nullable) = (\"[a-zA-Z(),.' =]{0,12}\"|true|1|\\[\"[a-z]{0,3}\"\\])\n){0,30}"
    ) {
        if let Ok(tables) = parse(&text, FILE) {
            let _ = check_references(&tables);
        }
    }

    #[test]
    fn parse_never_panics_on_mutations_of_a_valid_manifest(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..4, "\\PC{0,6}"), 1..6)
    ) {
        let mut text = FULL.to_string();
        for (at, kind, insert) in edits {
            let mut pos = at.index(text.len() + 1);
            while !text.is_char_boundary(pos) {
                pos -= 1;
            }
            match kind {
                0 => text.insert_str(pos, &insert),
                1 => {
                    let mut end = (pos + insert.len().max(1)).min(text.len());
                    while !text.is_char_boundary(end) {
                        end += 1;
                    }
                    text.replace_range(pos..end, "");
                }
                2 => {
                    let mut end = (pos + insert.len()).min(text.len());
                    while !text.is_char_boundary(end) {
                        end += 1;
                    }
                    text.replace_range(pos..end, &insert);
                }
                _ => {
                    // Duplicate a line: makes duplicate keys, tables and columns.
                    let start = text[..pos].rfind('\n').map_or(0, |i| i + 1);
                    let end = text[pos..].find('\n').map_or(text.len(), |i| pos + i + 1);
                    let line = text[start..end].to_string();
                    text.insert_str(end, &line);
                }
            }
        }
        if let Ok(tables) = parse(&text, FILE) {
            let _ = check_references(&tables);
        }
    }
}

#[test]
fn mutated_type_errors_keep_the_line() {
    // Every type line of the full manifest, broken, reports that very line.
    for (i, line) in FULL.lines().enumerate() {
        if let Some(rest) = line.strip_prefix("type = \"") {
            let mut lines: Vec<String> = FULL.lines().map(String::from).collect();
            lines[i] = format!("type = \"X{rest}");
            let broken = lines.join("\n");
            let err = parse(&broken, FILE).unwrap_err();
            assert_eq!(err.line(), Some(i + 1), "{err}");
        }
    }
}

#[test]
fn autoincrement_follows_sqlalchemy_auto_rule() {
    let one = |extra: &str| {
        let text = format!(
            "[[table]]\nname = \"p\"\n[[table.column]]\nname = \"id\"\ntype = \"Integer\"\nprimary_key = true\n{extra}"
        );
        parse(&text, FILE).map(|t| t[0].table.columns[0].auto_increment)
    };
    assert_eq!(one(""), Ok(true));
    // A key that is also a foreign key (a 1:1 table) or has a default is not numbered by the database.
    assert_eq!(one("foreign_key = \"users.id\"\n"), Ok(false));
    assert_eq!(one("server_default = 7\n"), Ok(false));
    assert_eq!(one("autoincrement = false\n"), Ok(false));
    assert_eq!(
        one("[[table.foreign_key]]\ncolumns = [\"id\"]\nreferences = [\"users.id\"]\n"),
        Ok(false),
        "a table-level foreign key counts too"
    );
    assert_eq!(one("foreign_key = \"users.id\"\nautoincrement = true\n"), Ok(true));
    let err = one("server_default = 7\nautoincrement = true\n").unwrap_err();
    assert_eq!(err.line(), Some(8), "{err}");
    // Composite and non-integer keys are never numbered.
    let text =
        "[[table]]\nname = \"p\"\nprimary_key = [\"a\", \"b\"]\n[[table.column]]\nname = \"a\"\ntype = \"Integer\"\n\
                [[table.column]]\nname = \"b\"\ntype = \"Integer\"\n";
    assert!(parse(text, FILE).unwrap()[0].table.columns.iter().all(|c| !c.auto_increment && !c.nullable));
    assert_eq!(one("").map(|_| ()), Ok(()));
    fails("[[table]]\nname = \"p\"\n[[table.column]]\nname = \"k\"\ntype = \"Uuid\"\nprimary_key = true\nautoincrement = true\n", 7, "an integer");
}

#[test]
fn a_column_names_its_collation() {
    let text = table(
        "[[table.column]]\nname = \"code\"\ntype = \"String(8)\"\ncollation = \"utf8mb4_bin\"\n\
         [[table.column]]\nname = \"kind\"\nsql_type = \"CITEXT\"\ncollation = \"C\"\n",
    );
    let t = &parse(&text, FILE).unwrap()[0].table;
    let collations: Vec<Option<&str>> = t.columns.iter().map(|c| c.collation.as_deref()).collect();
    assert_eq!(collations, [None, Some("utf8mb4_bin"), Some("C")]);
}

#[test]
fn a_rename_may_change_only_the_case() {
    let text = "[[table]]\nname = \"users\"\nrenamed_from = \"Users\"\n[[table.column]]\nname = \"id\"\ntype = \"BigInteger\"\n\
                primary_key = true\n[[table.column]]\nname = \"Email\"\ntype = \"Text\"\nrenamed_from = \"email\"\n";
    let tables = dbwarden_core::manifest::parse(text, "m.toml").unwrap();
    assert_eq!(tables[0].renamed_from.as_deref(), Some("Users"));
    assert_eq!(tables[0].column_renames, [("Email".to_string(), "email".to_string())]);
}

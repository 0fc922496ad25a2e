//! Text that comes from a server's catalog or a user's file never panics the parsers that read it: check and
//! default expressions (normalised for comparison), column types, migration files and the schema manifest.

use dbwarden_core::schema::{check_key, normalize_default, ColumnType};
use dbwarden_core::Dialect;
use proptest::prelude::*;

/// SQL-ish text: the characters expressions are made of, biased towards quotes, brackets and casts.
fn sqlish() -> impl Strategy<Value = String> {
    let atoms = prop::sample::select(vec![
        "(",
        ")",
        "'",
        "''",
        "\"",
        "`",
        "::",
        "::text",
        " ",
        "ARRAY[",
        "]",
        ",",
        "ANY",
        "=",
        "<>",
        "~~",
        "NOT",
        "BETWEEN",
        "AND",
        "OR",
        "1",
        "0.5",
        "-",
        "x",
        "E'\\\\'",
        "\\",
        "$$",
        "/*",
        "*/",
        "--",
        "\n",
        "é",
        "IN",
        "CAST(",
        " AS ",
        "lcase(",
        "octet_length(",
        "TRUE",
        "NULL",
        "varchar(10)",
        "enum('a','b')",
        "'::",
        "::integer",
        "::text",
        "::character varying(5",
        "'-1'::bigint",
        "'2020-01-01 10:00:00.000",
        "curdate()",
    ]);
    prop_oneof![prop::collection::vec(atoms, 0..24).prop_map(|v| v.concat()), "\\PC{0,40}",]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn expression_normalisers_never_panic(text in sqlish()) {
        let key = check_key(&text);
        // Normalising is idempotent on what it produced for defaults.
        let d = normalize_default(&text);
        let _ = normalize_default(&d);
        let _ = dbwarden_core::schema::requote_identifiers(&text, '`');
        let _ = key;
    }

    #[test]
    fn canonical_text_never_panics_and_is_stable(text in sqlish()) {
        for dialect in [Dialect::Postgres, Dialect::MySql, Dialect::Sqlite] {
            let once = dbwarden_core::lexer::canonical(&text, dialect);
            // What comes out lexes to itself: comparing canonical texts never depends on how often it ran.
            if once != text {
                prop_assert_eq!(dbwarden_core::lexer::canonical(&once, dialect), once.clone());
            }
        }
    }

    #[test]
    fn column_type_text_never_panics(text in sqlish()) {
        let _ = text.parse::<ColumnType>();
    }

    #[test]
    fn migration_files_never_panic(body in sqlish(), header in sqlish()) {
        let text = format!("{header}\n-- upgrade\n{body}\n-- rollback\n{body}\n");
        if let Ok(file) = dbwarden_core::file::MigrationFile::parse("app__0001_x.sql", &text) {
            for d in [Dialect::Postgres, Dialect::MySql, Dialect::Sqlite] {
                let _ = file.statements(&file.upgrade, d);
            }
        }
    }
}

//! MySQL and MariaDB: five catalog queries over the current database (tables, checks, columns, indexes, key
//! constraints or, on MariaDB, foreign keys from InnoDB's dictionary); one when it has no tables.
//!
//! The server cannot tell a unique index from a unique constraint: every unique index is read as a [`Unique`].
//! Indexes InnoDB created for a foreign key (named after it) are not read. MariaDB's JSON columns are `longtext`
//! with a column CHECK `json_valid(col)` named after the column: read as `Json`, without that check.
//! `RESTRICT` reads as `NO ACTION` (MariaDB reports the default as `RESTRICT`; InnoDB treats them alike).

use std::collections::{HashMap, HashSet};

use dbwarden_core::schema::{Check, Column, ColumnType, FkAction, ForeignKey, Index, PrimaryKey, Unique};
use dbwarden_core::Dialect;

use super::{boolean_default, only_filter, strip_parens, unexpected, ParsedTypes, Row, Tables};
use crate::backend::Backend;
use crate::error::DbError;

pub(super) async fn read(backend: &mut dyn Backend, only: Option<&[String]>) -> Result<Tables, DbError> {
    let mut tables = Tables::default();
    // Base tables and their comments, then the columns: two scans (a UNION ALL of the two, or a join, makes MariaDB
    // build a temporary table of every column first, which costs more than both scans). Every value arrives as
    // text (the text protocol): nothing is cast. Columns of views are read too, and dropped (no table of theirs).
    let sql = format!(
        "SELECT TABLE_NAME, TABLE_COMMENT, VERSION(), DATABASE() FROM information_schema.TABLES \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'{}",
        only_filter(Dialect::MySql, "TABLE_NAME", only)
    );
    let mut mariadb = false;
    let mut database = None;
    backend
        .query_each(&sql, &mut |row| {
            let row = Row(row);
            if database.is_none() {
                mariadb |= row.opt(2).is_some_and(|v| v.to_ascii_lowercase().contains("mariadb"));
                database = row.opt(3).map(str::to_string);
            }
            tables.entry(row.req(0, "table name")?).comment = row.opt(1).filter(|c| !c.is_empty()).map(str::to_string);
            Ok(())
        })
        .await?;
    if tables.list.is_empty() {
        return Ok(tables);
    }
    // Checks before the columns: they tell MariaDB's JSON columns. MariaDB names them per table (CHECK_CONSTRAINTS
    // has TABLE_NAME); MySQL 8 per schema.
    let sql = if mariadb {
        format!(
            "SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS \
             WHERE CONSTRAINT_SCHEMA = DATABASE(){}",
            only_filter(Dialect::MySql, "TABLE_NAME", only)
        )
    } else {
        format!(
            "SELECT CAST(tc.TABLE_NAME AS CHAR), CAST(tc.CONSTRAINT_NAME AS CHAR), CAST(cc.CHECK_CLAUSE AS CHAR) \
             FROM information_schema.TABLE_CONSTRAINTS tc JOIN information_schema.CHECK_CONSTRAINTS cc \
             ON cc.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA AND cc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME \
             WHERE tc.TABLE_SCHEMA = DATABASE() AND tc.CONSTRAINT_TYPE = 'CHECK'{}",
            only_filter(Dialect::MySql, "tc.TABLE_NAME", only)
        )
    };
    let mut json_columns = HashSet::new();
    backend
        .query_each(&sql, &mut |row| {
            let row = Row(row);
            let table_name = row.req(0, "check table")?;
            let name = row.req(1, "check name")?;
            let clause = row.req(2, "check clause")?;
            if clause == format!("json_valid({})", quote(name)) {
                // MariaDB's JSON column: the check is part of the type.
                json_columns.insert((table_name.to_string(), name.to_lowercase()));
                return Ok(());
            }
            if let Some(table) = tables.get_mut(table_name) {
                table.checks.push(Check { name: name.to_string(), expr: strip_parens(&standard_quotes(clause)) });
            }
            Ok(())
        })
        .await?;

    let sql = format!(
        "SELECT TABLE_NAME, ORDINAL_POSITION, COLUMN_NAME, COLUMN_TYPE, DATA_TYPE, IS_NULLABLE, COLUMN_DEFAULT, \
         EXTRA, COLUMN_COMMENT FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE(){}",
        only_filter(Dialect::MySql, "TABLE_NAME", only)
    );
    // (table, position, column), put in order below.
    let mut columns: Vec<(usize, i64, Column)> = Vec::new();
    let mut types = ParsedTypes::of(Dialect::MySql);
    backend
        .query_each(&sql, &mut |row| {
            let row = Row(row);
            let Some(&table) = tables.by_name.get(row.req(0, "table name")?) else {
                return Ok(()); // a view's
            };
            let name = row.req(2, "column name")?;
            let data_type = row.opt(4).unwrap_or_default();
            let extra = row.opt(7).unwrap_or_default();
            let is_json = data_type.eq_ignore_ascii_case("longtext")
                && json_columns.contains(&(tables.list[table].name.clone(), name.to_lowercase()));
            let ty = if is_json { ColumnType::Json } else { types.parse(row.req(3, "column type")?) };
            let auto_increment = contains_ignore_case(extra, "auto_increment");
            let default = row.opt(6).map(str::to_string);
            let mut default = if mariadb {
                mariadb_default(default)
            } else {
                mysql_default(default, &data_type.to_ascii_lowercase(), &extra.to_ascii_lowercase())
            };
            if auto_increment {
                default = None;
            }
            if ty == ColumnType::Boolean {
                default = default.map(|d| boolean_default(&d));
            }
            let column = Column {
                name: name.to_string(),
                ty,
                nullable: row.flag(5),
                default,
                auto_increment,
                comment: row.opt(8).filter(|c| !c.is_empty()).map(str::to_string),
            };
            columns.push((table, row.num(1, "ordinal position")?, column));
            Ok(())
        })
        .await?;
    columns.sort_unstable_by_key(|(table, position, _)| (*table, *position));
    for (table, _, column) in columns {
        tables.list[table].columns.push(column);
    }

    // Secondary indexes, and on MariaDB's fast path also the primary key and uniques (see below).
    let sql = format!(
        "SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME FROM information_schema.STATISTICS \
         WHERE TABLE_SCHEMA = DATABASE(){}",
        only_filter(Dialect::MySql, "TABLE_NAME", only)
    );
    let mut index_rows = Vec::new();
    backend
        .query_each(&sql, &mut |row| {
            let r = Row(row);
            let key =
                (r.req(0, "index table")?.to_string(), r.req(1, "index name")?.to_string(), r.num(3, "seq_in_index")?);
            index_rows.push((key, IndexRow { unique: !r.flag(2), column: r.opt(4).map(str::to_string) }));
            Ok(())
        })
        .await?;
    index_rows.sort_by(|a, b| a.0.cmp(&b.0));

    let innodb = match (mariadb, database.as_deref()) {
        (true, Some(db)) => innodb_foreign_keys(backend, db, only).await,
        _ => None,
    };
    // The key columns (as KEY_COLUMN_USAGE lists them) and the foreign keys' rules.
    let (mut keys, rules) = match innodb {
        Some((mut keys, rules)) => {
            // The primary key and unique constraints are the unique indexes (MySQL cannot tell them apart).
            for ((table, name, position), row) in &index_rows {
                if !row.unique {
                    continue;
                }
                keys.push(KeyColumn {
                    table: table.clone(),
                    name: name.clone(),
                    kind: if name == "PRIMARY" { KeyKind::Primary } else { KeyKind::Unique },
                    position: *position,
                    column: row.column.clone(),
                    referenced: None,
                });
            }
            (keys, rules)
        }
        None => information_schema_keys(backend, only).await?,
    };
    // Rows come in no guaranteed order: by table, constraint, position (names compared exactly, not by collation).
    keys.sort_by(|a, b| (&a.table, &a.name, a.position).cmp(&(&b.table, &b.name, b.position)));
    // (table, lower-cased name) of foreign keys: InnoDB names the index it creates for one after it.
    let mut fk_names = HashSet::new();
    for KeyColumn { table: table_name, name, kind, column, referenced, .. } in keys {
        let Some(table) = tables.get_mut(&table_name) else { continue };
        match kind {
            KeyKind::Primary => {
                table.primary_key.get_or_insert_with(|| PrimaryKey { columns: Vec::new() }).columns.extend(column)
            }
            KeyKind::Unique => {
                if table.uniques.last().map(|u| &u.name) != Some(&name) {
                    table.uniques.push(Unique { name, columns: Vec::new() });
                }
                if let Some(u) = table.uniques.last_mut() {
                    u.columns.extend(column);
                }
            }
            KeyKind::Foreign => {
                let (ref_table, ref_column) = referenced.unwrap_or_default();
                if table.foreign_keys.last().map(|f| &f.name) != Some(&name) {
                    let (on_delete, on_update) =
                        rules.get(&(table_name.clone(), name.clone())).copied().unwrap_or_default();
                    table.foreign_keys.push(ForeignKey {
                        name: name.clone(),
                        columns: Vec::new(),
                        ref_table,
                        ref_columns: Vec::new(),
                        on_delete,
                        on_update,
                    });
                }
                if let Some(fk) = table.foreign_keys.last_mut() {
                    fk.columns.extend(column);
                    fk.ref_columns.push(ref_column);
                }
                fk_names.insert((table_name, name.to_lowercase()));
            }
        }
    }

    // Secondary indexes: the non-unique ones (unique ones are the uniques above), without FK-created ones.
    let mut expression: HashSet<(String, String)> = HashSet::new();
    for ((table_name, name, _), row) in &index_rows {
        if name == "PRIMARY" || row.unique || fk_names.contains(&(table_name.clone(), name.to_lowercase())) {
            continue;
        }
        let Some(table) = tables.get_mut(table_name) else { continue };
        if table.indexes.last().map(|i| &i.name) != Some(name) {
            table.indexes.push(Index { name: name.clone(), columns: Vec::new(), unique: false });
        }
        match &row.column {
            Some(column) => table.indexes.last_mut().into_iter().for_each(|i| i.columns.push(column.clone())),
            // A functional index part (MySQL 8): not in the IR, the index is dropped whole.
            None => {
                expression.insert((table_name.clone(), name.clone()));
            }
        }
    }
    for (table, name) in expression {
        if let Some(i) = tables.get_mut(&table).and_then(|t| t.indexes.iter_mut().find(|i| i.name == name)) {
            i.columns.clear();
        }
    }
    Ok(tables)
}

/// A row of `STATISTICS`: one column of an index.
struct IndexRow {
    unique: bool,
    /// `None` for an expression.
    column: Option<String>,
}

/// One column of a primary key, unique constraint or foreign key, as `KEY_COLUMN_USAGE` lists it.
struct KeyColumn {
    table: String,
    name: String,
    kind: KeyKind,
    /// 1-based, within the key.
    position: i64,
    column: Option<String>,
    /// A foreign key's referenced table and column.
    referenced: Option<(String, String)>,
}

#[derive(Clone, Copy)]
enum KeyKind {
    Primary,
    Unique,
    Foreign,
}

type Keys = Vec<KeyColumn>;
type Rules = HashMap<(String, String), (FkAction, FkAction)>;

/// Key constraints from `information_schema` (every MySQL and MariaDB; each view opens every table of the database).
async fn information_schema_keys(backend: &mut dyn Backend, only: Option<&[String]>) -> Result<(Keys, Rules), DbError> {
    // Primary keys, uniques and foreign keys, one row per key column (KEY_COLUMN_USAGE holds only these three: the
    // primary key is always named PRIMARY, a foreign key has a referenced table), then one `RULES` row per foreign
    // key with its actions: a UNION ALL, as joins of information_schema views cost MariaDB several times the scans.
    let sql = format!(
        "SELECT CAST(TABLE_NAME AS CHAR), CAST(CONSTRAINT_NAME AS CHAR), \
         CASE WHEN REFERENCED_TABLE_NAME IS NOT NULL THEN 'FOREIGN KEY' WHEN CONSTRAINT_NAME = 'PRIMARY' \
         THEN 'PRIMARY KEY' ELSE 'UNIQUE' END, \
         CAST(ORDINAL_POSITION AS CHAR), CAST(COLUMN_NAME AS CHAR), CAST(REFERENCED_TABLE_NAME AS CHAR), \
         CAST(REFERENCED_COLUMN_NAME AS CHAR), NULL, NULL \
         FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = DATABASE(){} \
         UNION ALL SELECT CAST(TABLE_NAME AS CHAR), CAST(CONSTRAINT_NAME AS CHAR), 'RULES', '0', NULL, NULL, NULL, \
         CAST(DELETE_RULE AS CHAR), CAST(UPDATE_RULE AS CHAR) \
         FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE(){}",
        only_filter(Dialect::MySql, "TABLE_NAME", only),
        only_filter(Dialect::MySql, "TABLE_NAME", only)
    );
    let mut keys = Vec::new();
    let mut rules = HashMap::new();
    backend
        .query_each(&sql, &mut |row| {
            let row = Row(row);
            let (table, name) =
                (row.req(0, "constraint table")?.to_string(), row.req(1, "constraint name")?.to_string());
            let kind = match row.req(2, "constraint type")? {
                "RULES" => {
                    rules.insert((table, name), (rule(row.opt(7))?, rule(row.opt(8))?));
                    return Ok(());
                }
                "PRIMARY KEY" => KeyKind::Primary,
                "UNIQUE" => KeyKind::Unique,
                "FOREIGN KEY" => KeyKind::Foreign,
                other => return Err(unexpected(&format!("key constraint type `{other}`"))),
            };
            let referenced = match kind {
                KeyKind::Foreign => {
                    Some((row.req(5, "referenced table")?.to_string(), row.req(6, "referenced column")?.to_string()))
                }
                _ => None,
            };
            let position = row.num(3, "key position")?;
            keys.push(KeyColumn { table, name, kind, position, column: row.opt(4).map(str::to_string), referenced });
            Ok(())
        })
        .await?;
    Ok((keys, rules))
}

/// MariaDB's foreign keys from InnoDB's own dictionary, which it serves from memory (about a tenth of what
/// `KEY_COLUMN_USAGE` and `REFERENTIAL_CONSTRAINTS` cost, which open every table). `None` (use `information_schema`)
/// when it cannot be read (it needs the PROCESS privilege) or when a database or table name is not plain: InnoDB
/// stores those in its file-name encoding (`we@002dird/t`), which is not worth decoding here.
async fn innodb_foreign_keys(backend: &mut dyn Backend, db: &str, only: Option<&[String]>) -> Option<(Keys, Rules)> {
    let plain = |name: &str| !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !plain(db) {
        return None;
    }
    let prefix = format!("{db}/");
    // Two scans joined here: a join of the two views costs MariaDB several times their scans.
    let sql = format!(
        "SELECT 'F', CAST(ID AS CHAR), CAST(FOR_NAME AS CHAR), CAST(REF_NAME AS CHAR), CAST(TYPE AS CHAR) \
         FROM information_schema.INNODB_SYS_FOREIGN WHERE LEFT(FOR_NAME, {n}) = '{prefix}' \
         UNION ALL SELECT 'C', CAST(ID AS CHAR), CAST(FOR_COL_NAME AS CHAR), CAST(REF_COL_NAME AS CHAR), \
         CAST(POS AS CHAR) FROM information_schema.INNODB_SYS_FOREIGN_COLS WHERE LEFT(ID, {n}) = '{prefix}'",
        n = prefix.len()
    );
    let rows = match backend.query(&sql).await {
        Ok(rows) => rows,
        Err(e) => {
            tracing::debug!(error = %e, "InnoDB's dictionary is not readable; reading foreign keys from information_schema");
            return None;
        }
    };
    // id => (table, referenced table, type bits); id => [(position, column, referenced column)]
    let mut fks: HashMap<String, (String, String, u32)> = HashMap::new();
    let mut cols: HashMap<String, Vec<(i64, String, String)>> = HashMap::new();
    for row in &rows {
        let text = |i: usize| row.get(i).cloned().flatten();
        let (id, a, b, c) = (text(1)?, text(2)?, text(3)?, text(4)?);
        match text(0)?.as_str() {
            "F" => {
                let (table, ref_table) = (a.strip_prefix(&prefix)?, b.strip_prefix(&prefix)?);
                if !plain(table) || !plain(ref_table) {
                    return None;
                }
                fks.insert(id, (table.to_string(), ref_table.to_string(), c.parse().ok()?));
            }
            _ => cols.entry(id).or_default().push((c.parse().ok()?, a, b)),
        }
    }
    let (mut keys, mut rules) = (Keys::new(), Rules::new());
    for (id, (table, ref_table, bits)) in fks {
        if only.is_some_and(|names| !names.contains(&table)) {
            continue;
        }
        let name = id.strip_prefix(&prefix)?.to_string();
        // DICT_FOREIGN_ON_DELETE_CASCADE 1, _SET_NULL 2, ON_UPDATE_CASCADE 4, _SET_NULL 8; RESTRICT and NO ACTION
        // read alike (as `information_schema` does here).
        let on = |cascade: u32, set_null: u32| match () {
            _ if bits & cascade != 0 => FkAction::Cascade,
            _ if bits & set_null != 0 => FkAction::SetNull,
            _ => FkAction::NoAction,
        };
        rules.insert((table.clone(), name.clone()), (on(1, 2), on(4, 8)));
        let mut columns = cols.remove(&id)?;
        columns.sort();
        for (pos, column, ref_column) in columns {
            keys.push(KeyColumn {
                table: table.clone(),
                name: name.clone(),
                kind: KeyKind::Foreign,
                position: pos + 1,
                column: Some(column),
                referenced: Some((ref_table.clone(), ref_column)),
            });
        }
    }
    Some((keys, rules))
}

/// Whether `text` holds `word`, in any case.
fn contains_ignore_case(text: &str, word: &str) -> bool {
    text.as_bytes().windows(word.len()).any(|w| w.eq_ignore_ascii_case(word.as_bytes()))
}

/// `` `name` `` with backticks doubled, as MariaDB prints identifiers in a check clause.
fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// MariaDB prints a quote inside a string of a check clause as `\'`: written `''`, as the checks were.
fn standard_quotes(clause: &str) -> String {
    let mut out = String::with_capacity(clause.len());
    let mut chars = clause.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' if in_string => match chars.next() {
                Some('\'') => out.push_str("''"),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            },
            '\'' if in_string && chars.peek() == Some(&'\'') => {
                chars.next();
                out.push_str("''");
            }
            '\'' => {
                in_string = !in_string;
                out.push(c);
            }
            // A quoted name may hold a quote: copied whole.
            '`' if !in_string => {
                out.push(c);
                while let Some(n) = chars.next() {
                    out.push(n);
                    if n == '`' {
                        if chars.peek() == Some(&'`') {
                            out.push('`');
                            chars.next();
                        } else {
                            break;
                        }
                    }
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// MariaDB reports a default as an SQL expression (`'x'`, `0`, `current_timestamp()`), and no default as `NULL`.
fn mariadb_default(default: Option<String>) -> Option<String> {
    default.filter(|d| !d.eq_ignore_ascii_case("NULL"))
}

/// MySQL reports a literal default unquoted and flags expressions with `DEFAULT_GENERATED`.
fn mysql_default(default: Option<String>, data_type: &str, extra: &str) -> Option<String> {
    let value = default?;
    const NUMERIC: &[&str] =
        &["tinyint", "smallint", "mediumint", "int", "integer", "bigint", "decimal", "float", "double", "bit", "year"];
    if extra.contains("default_generated") || NUMERIC.contains(&data_type) {
        Some(value)
    } else {
        Some(format!("'{}'", value.replace('\'', "''")))
    }
}

/// `DELETE_RULE`/`UPDATE_RULE`.
fn rule(text: Option<&str>) -> Result<FkAction, DbError> {
    let text = text.unwrap_or("NO ACTION");
    FkAction::parse(text).map(action).ok_or_else(|| unexpected(&format!("foreign key rule `{text}`")))
}

/// The action as it reads back: `RESTRICT` is `NO ACTION`.
pub(super) fn action(a: FkAction) -> FkAction {
    if a == FkAction::Restrict {
        FkAction::NoAction
    } else {
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_of_both_flavours() {
        assert_eq!(mariadb_default(Some("NULL".into())), None);
        assert_eq!(mariadb_default(Some("'NULL'".into())), Some("'NULL'".into()));
        assert_eq!(mysql_default(Some("it's".into()), "varchar", ""), Some("'it''s'".into()));
        assert_eq!(mysql_default(Some("0".into()), "int", ""), Some("0".into()));
        assert_eq!(
            mysql_default(Some("CURRENT_TIMESTAMP".into()), "datetime", "default_generated"),
            Some("CURRENT_TIMESTAMP".into())
        );
        assert_eq!(rule(Some("RESTRICT")).unwrap(), FkAction::NoAction);
        assert_eq!(standard_quotes(r"`kind` = 'it\'s' or `b` = 'x\\y'"), r"`kind` = 'it''s' or `b` = 'x\\y'");
        assert_eq!(standard_quotes(r"`it's` = 'a\'b'"), r"`it's` = 'a''b'");
        assert!(rule(Some("SOMETIMES")).is_err());
    }
}

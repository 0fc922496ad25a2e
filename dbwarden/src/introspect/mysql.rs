//! MySQL and MariaDB: five catalog queries over the current database (tables; then checks, columns, indexes, and
//! foreign keys from InnoDB's dictionary on MariaDB or key constraints from information_schema, as one batch), in
//! two round trips (three when a name InnoDB encodes sends the keys to information_schema: see [`Batch`]); one
//! query when it has no tables.
//!
//! The server cannot tell a unique index from a unique constraint: every unique index is read as a [`Unique`].
//! Indexes InnoDB created for a foreign key (named after it) are not read. MariaDB's JSON columns are `longtext`
//! with a column CHECK `json_valid(col)` named after the column: read as `Json`, without that check.
//! `RESTRICT` reads as `NO ACTION` (MariaDB reports the default as `RESTRICT`; InnoDB treats them alike).

use std::collections::{HashMap, HashSet};

use dbwarden_core::schema::{Check, Column, ColumnType, FkAction, ForeignKey, Index, PrimaryKey, Unique};
use dbwarden_core::Dialect;

use super::{only_filter, strip_parens, unexpected, ParsedTypes, Row, Tables};
use crate::backend::Backend;
use crate::error::DbError;

pub(super) async fn read(backend: &mut dyn Backend, only: Option<&[String]>) -> Result<Tables, DbError> {
    let mut tables = Tables::default();
    // Base tables and their comments first (they name what the rest is kept for), with the server, the database and
    // whether this user may read InnoDB's dictionary (PROCESS: USER_PRIVILEGES lists only the user's own
    // privileges unless it may read everyone's, in which case it holds PROCESS too in practice; a wrong guess
    // costs a retry, see below). Every value arrives as text (the text protocol): nothing is cast.
    let sql = format!(
        "SELECT TABLE_NAME, TABLE_COMMENT, VERSION(), DATABASE(), EXISTS (SELECT 1 FROM \
         information_schema.USER_PRIVILEGES WHERE PRIVILEGE_TYPE = 'PROCESS'), TABLE_COLLATION FROM information_schema.TABLES \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'{}",
        only_filter(Dialect::MySql, "TABLE_NAME", only)
    );
    let mut mariadb = false;
    let mut database = None;
    let mut process = false;
    // Each table's default collation: a column's is kept only where it differs.
    let mut collations: Vec<Option<String>> = Vec::new();
    backend
        .query_each(&sql, &mut |row| {
            let row = Row(row);
            if database.is_none() {
                mariadb |= row.opt(2).is_some_and(|v| v.to_ascii_lowercase().contains("mariadb"));
                database = row.opt(3).map(str::to_string);
                process = row.flag(4);
            }
            let at = tables.index(row.req(0, "table name")?);
            tables.list[at].comment = row.opt(1).filter(|c| !c.is_empty()).map(str::to_string);
            collations.resize(tables.list.len(), None);
            collations[at] = row.opt(5).map(str::to_string);
            Ok(())
        })
        .await?;
    if tables.list.is_empty() {
        return Ok(tables);
    }
    let batch = Batch { mariadb, process, database: database.as_deref(), only };
    let mut read = match batch.run(backend, &tables, batch.innodb()).await {
        Ok(read) => read,
        // InnoDB's dictionary needs the PROCESS privilege: without it, the same reads with the keys from
        // information_schema.
        Err(e) if batch.innodb() => {
            tracing::debug!(error = %e, "InnoDB's dictionary is not readable; reading keys from information_schema");
            batch.run(backend, &tables, false).await?
        }
        Err(e) => return Err(e),
    };
    if read.innodb.as_ref().is_some_and(InnoDb::incomplete) {
        // A table name InnoDB stores in its file-name encoding (`we@002dird`), a key to another database, or a key
        // whose columns were not listed (changed while read): keys from information_schema.
        read.innodb = None;
        backend.query_each(&batch.keys_sql(), &mut |row| read.row(&tables, mariadb, Row(row))).await?;
    }
    let mut tables = read.into_tables(tables);
    for (table, default) in tables.list.iter_mut().zip(&collations) {
        for column in &mut table.columns {
            // (A table whose default is not known, one the server could not open, keeps none.)
            if default.is_none() || column.collation == *default {
                column.collation = None;
            }
        }
    }
    Ok(tables)
}

/// The catalog queries after the first, sent as one multi-statement batch: the server computes each next result
/// while this side decodes the one before (on one connection, two cores work), and there is one round trip instead
/// of four. Each row starts with a tag naming its query. InnoDB's dictionary is read only by a user with the PROCESS
/// privilege (the first query asks); should it still be refused, the batch is sent again with information_schema's
/// keys.
struct Batch<'a> {
    mariadb: bool,
    /// The user holds the PROCESS privilege (InnoDB's dictionary is readable).
    process: bool,
    database: Option<&'a str>,
    only: Option<&'a [String]>,
}

impl Batch<'_> {
    /// Whether foreign keys come from InnoDB's dictionary (MariaDB, a user with PROCESS, a database name InnoDB
    /// stores as is).
    fn innodb(&self) -> bool {
        self.mariadb && self.process && self.database.is_some_and(plain)
    }

    /// The database by name: MariaDB answers `TABLE_SCHEMA = 'db'` a little faster than `= DATABASE()` (it
    /// evaluates the function for every row it considers).
    fn schema(&self) -> String {
        match self.database {
            Some(db) if plain(db) => crate::backend::dialect::of(Dialect::MySql).literal(db),
            _ => "DATABASE()".to_string(),
        }
    }

    fn only(&self, column: &str) -> String {
        only_filter(Dialect::MySql, column, self.only)
    }

    /// Checks (`K`; before the columns: they tell MariaDB's JSON columns), columns (`C`), indexes (`S`), then the
    /// foreign keys from InnoDB (`F` and `f`) or all key constraints from information_schema.
    async fn run(&self, backend: &mut dyn Backend, tables: &Tables, innodb: bool) -> Result<Read, DbError> {
        let schema = self.schema();
        let checks = if self.mariadb {
            // MariaDB names checks per table (CHECK_CONSTRAINTS has TABLE_NAME); MySQL 8 per schema.
            format!(
                "SELECT 'K', TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS \
                 WHERE CONSTRAINT_SCHEMA = {schema}{}",
                self.only("TABLE_NAME")
            )
        } else {
            format!(
                "SELECT 'K', CAST(tc.TABLE_NAME AS CHAR), CAST(tc.CONSTRAINT_NAME AS CHAR), \
                 CAST(cc.CHECK_CLAUSE AS CHAR) FROM information_schema.TABLE_CONSTRAINTS tc \
                 JOIN information_schema.CHECK_CONSTRAINTS cc ON cc.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA \
                 AND cc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME \
                 WHERE tc.TABLE_SCHEMA = {schema} AND tc.CONSTRAINT_TYPE = 'CHECK'{}",
                self.only("tc.TABLE_NAME")
            )
        };
        // DATA_TYPE is COLUMN_TYPE's first word: not read. Columns of views come too, and are dropped.
        let columns = format!(
            "SELECT 'C', TABLE_NAME, ORDINAL_POSITION, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA, \
             COLUMN_COMMENT, COLLATION_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = {schema}{}",
            self.only("TABLE_NAME")
        );
        let indexes = format!(
            "SELECT 'S', TABLE_NAME, INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME \
             FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = {schema}{}",
            self.only("TABLE_NAME")
        );
        // InnoDB names a key `db/name` and a table `db/table`.
        let prefix = self.database.filter(|_| innodb).map(|db| format!("{db}/"));
        let keys = match &prefix {
            // Two scans, joined here: a join of the two views costs MariaDB several times their scans.
            Some(prefix) => format!(
                "SELECT 'F', ID, FOR_NAME, REF_NAME, TYPE FROM information_schema.INNODB_SYS_FOREIGN \
                 WHERE LEFT(FOR_NAME, {n}) = '{prefix}' UNION ALL SELECT 'f', ID, FOR_COL_NAME, REF_COL_NAME, POS \
                 FROM information_schema.INNODB_SYS_FOREIGN_COLS WHERE LEFT(ID, {n}) = '{prefix}'",
                n = prefix.len()
            ),
            None => self.keys_sql(),
        };
        let mut read = Read::new(tables.list.len(), prefix);
        // The keys last: the statement whose rows are decoded after the server has finished is the cheapest one
        // (checks must come before columns).
        let sql = format!("{checks};\n{columns};\n{indexes};\n{keys}");
        backend.query_each(&sql, &mut |row| read.row(tables, self.mariadb, Row(row))).await?;
        Ok(read)
    }

    /// Key constraints from `information_schema` (every MySQL and MariaDB; each view opens every table of the
    /// database): one row per key column, tagged with its kind (KEY_COLUMN_USAGE holds only primary keys, named
    /// PRIMARY, uniques, and foreign keys, which have a referenced table), then one `RULES` row per foreign key: a
    /// UNION ALL, as joins of information_schema views cost MariaDB several times the scans.
    fn keys_sql(&self) -> String {
        let schema = self.schema();
        format!(
            "SELECT CASE WHEN REFERENCED_TABLE_NAME IS NOT NULL THEN 'FOREIGN KEY' WHEN CONSTRAINT_NAME = 'PRIMARY' \
             THEN 'PRIMARY KEY' ELSE 'UNIQUE' END, CAST(TABLE_NAME AS CHAR), CAST(CONSTRAINT_NAME AS CHAR), \
             CAST(ORDINAL_POSITION AS CHAR), CAST(COLUMN_NAME AS CHAR), CAST(REFERENCED_TABLE_NAME AS CHAR), \
             CAST(REFERENCED_COLUMN_NAME AS CHAR), NULL, NULL \
             FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = {schema}{} \
             UNION ALL SELECT 'RULES', CAST(TABLE_NAME AS CHAR), CAST(CONSTRAINT_NAME AS CHAR), '0', NULL, NULL, NULL, \
             CAST(DELETE_RULE AS CHAR), CAST(UPDATE_RULE AS CHAR) \
             FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = {schema}{}",
            self.only("TABLE_NAME"),
            self.only("TABLE_NAME")
        )
    }
}

/// What the batch read, per table (as [`Tables::list`] orders them), before it is put together.
struct Read {
    checks: Vec<(usize, Check)>,
    /// (table, lower-cased column) of MariaDB's JSON columns.
    json_columns: HashSet<(usize, String)>,
    /// (table, position, column).
    columns: Vec<(usize, i64, Column)>,
    types: ParsedTypes,
    indexes: Vec<Vec<IndexRow>>,
    keys: Vec<Vec<KeyColumn>>,
    /// A foreign key's (ON DELETE, ON UPDATE), by (table, name).
    rules: HashMap<(usize, String), (FkAction, FkAction)>,
    innodb: Option<InnoDb>,
}

/// Foreign keys as InnoDB's dictionary lists them, by id (`db/name`).
struct InnoDb {
    /// `db/`.
    prefix: String,
    /// id => (table, referenced table, type bits).
    keys: HashMap<String, (String, String, u32)>,
    /// id => [(position, column, referenced column)].
    columns: HashMap<String, Vec<(i64, String, String)>>,
    /// A name InnoDB stores encoded was met: read information_schema instead.
    encoded: bool,
}

impl InnoDb {
    /// Whether information_schema must be read instead: a name InnoDB encodes (or another database's), or a key
    /// whose columns were not listed.
    fn incomplete(&self) -> bool {
        self.encoded || self.keys.keys().any(|id| !self.columns.contains_key(id))
    }
}

impl Read {
    fn new(tables: usize, innodb_prefix: Option<String>) -> Read {
        Read {
            checks: Vec::new(),
            json_columns: HashSet::new(),
            columns: Vec::new(),
            types: ParsedTypes::of(Dialect::MySql),
            indexes: (0..tables).map(|_| Vec::new()).collect(),
            keys: (0..tables).map(|_| Vec::new()).collect(),
            rules: HashMap::new(),
            innodb: innodb_prefix.map(|prefix| InnoDb {
                prefix,
                keys: HashMap::new(),
                columns: HashMap::new(),
                encoded: false,
            }),
        }
    }

    /// One row of the batch, by its tag. Rows of tables not read (views, tables left out) are dropped.
    fn row(&mut self, tables: &Tables, mariadb: bool, row: Row<'_>) -> Result<(), DbError> {
        let table = |i: usize, what: &str| -> Result<Option<usize>, DbError> {
            Ok(tables.by_name.get(row.req(i, what)?).copied())
        };
        match row.req(0, "row kind")? {
            "K" => {
                let Some(table) = table(1, "check table")? else { return Ok(()) };
                let (name, clause) = (row.req(2, "check name")?, row.req(3, "check clause")?);
                if clause == format!("json_valid({})", quote(name)) {
                    // MariaDB's JSON column: the check is part of the type.
                    self.json_columns.insert((table, name.to_lowercase()));
                } else {
                    let check = Check { name: name.to_string(), expr: strip_parens(&standard_quotes(clause)) };
                    self.checks.push((table, check));
                }
            }
            "C" => {
                let Some(table) = table(1, "table name")? else { return Ok(()) };
                let name = row.req(3, "column name")?;
                let column_type = row.req(4, "column type")?;
                let data_type = data_type(column_type);
                let extra = row.opt(7).unwrap_or_default();
                let is_json = data_type.eq_ignore_ascii_case("longtext")
                    && !self.json_columns.is_empty()
                    && self.json_columns.contains(&(table, name.to_lowercase()));
                let ty = if is_json { ColumnType::Json } else { self.types.parse(column_type) };
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
                let column = Column {
                    name: name.to_string(),
                    ty,
                    nullable: row.flag(5),
                    default,
                    auto_increment,
                    comment: row.opt(8).filter(|c| !c.is_empty()).map(str::to_string),
                    // (MariaDB's JSON is LONGTEXT with utf8mb4_bin: part of the type.)
                    collation: row.opt(9).filter(|_| !is_json).map(str::to_string),
                    on_update: on_update(extra),
                };
                self.columns.push((table, row.num(2, "ordinal position")?, column));
            }
            "S" => {
                let Some(table) = table(1, "index table")? else { return Ok(()) };
                self.indexes[table].push(IndexRow {
                    name: row.req(2, "index name")?.to_string(),
                    position: row.num(4, "seq_in_index")?,
                    unique: !row.flag(3),
                    column: row.opt(5).map(str::to_string),
                });
            }
            kind @ ("F" | "f") => {
                let Some(innodb) = self.innodb.as_mut() else { return Ok(()) };
                let (id, a, b) = (row.req(1, "foreign key id")?, row.req(2, "foreign key")?, row.req(3, "reference")?);
                if kind == "F" {
                    let names = a.strip_prefix(&innodb.prefix).zip(b.strip_prefix(&innodb.prefix));
                    match names.filter(|(t, r)| plain(t) && plain(r)) {
                        Some((t, r)) => {
                            let bits = row.num(4, "foreign key type")? as u32;
                            innodb.keys.insert(id.to_string(), (t.to_string(), r.to_string(), bits));
                        }
                        None => innodb.encoded = true,
                    }
                } else {
                    let position = row.num(4, "foreign key column position")?;
                    let column = (position, a.to_string(), b.to_string());
                    innodb.columns.entry(id.to_string()).or_default().push(column);
                }
            }
            "RULES" => {
                let Some(table) = table(1, "constraint table")? else { return Ok(()) };
                let name = row.req(2, "constraint name")?.to_string();
                self.rules.insert((table, name), (rule(row.opt(7))?, rule(row.opt(8))?));
            }
            kind @ ("PRIMARY KEY" | "UNIQUE" | "FOREIGN KEY") => {
                let Some(table) = table(1, "constraint table")? else { return Ok(()) };
                let (kind, referenced) = match kind {
                    "PRIMARY KEY" => (KeyKind::Primary, None),
                    "UNIQUE" => (KeyKind::Unique, None),
                    _ => (
                        KeyKind::Foreign,
                        Some((
                            row.req(5, "referenced table")?.to_string(),
                            row.req(6, "referenced column")?.to_string(),
                        )),
                    ),
                };
                self.keys[table].push(KeyColumn {
                    name: row.req(2, "constraint name")?.to_string(),
                    kind,
                    position: row.num(3, "key position")?,
                    column: row.opt(4).map(str::to_string),
                    referenced,
                });
            }
            other => return Err(unexpected(&format!("catalog row of kind `{other}`"))),
        }
        Ok(())
    }

    /// Puts what was read into `tables`.
    fn into_tables(mut self, mut tables: Tables) -> Tables {
        for (table, check) in std::mem::take(&mut self.checks) {
            tables.list[table].checks.push(check);
        }
        self.columns.sort_unstable_by_key(|(table, position, _)| (*table, *position));
        for (table, _, column) in std::mem::take(&mut self.columns) {
            tables.list[table].columns.push(column);
        }
        // Rows come in no guaranteed order: by index, then position (names compared exactly, not by collation). A
        // table's few rows sort cheaply; the whole list, by table name first, did not.
        for rows in &mut self.indexes {
            rows.sort_unstable_by(|a, b| (&a.name, a.position).cmp(&(&b.name, b.position)));
        }
        if let Some(innodb) = self.innodb.take() {
            self.innodb_keys(&tables, innodb);
        }
        for (at, keys) in self.keys.iter_mut().enumerate() {
            // By constraint, then position (names compared exactly).
            keys.sort_unstable_by(|a, b| (&a.name, a.position).cmp(&(&b.name, b.position)));
            let table = &mut tables.list[at];
            for KeyColumn { name, kind, column, referenced, .. } in keys.drain(..) {
                match kind {
                    KeyKind::Primary => table
                        .primary_key
                        .get_or_insert_with(|| PrimaryKey { columns: Vec::new() })
                        .columns
                        .extend(column),
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
                                self.rules.get(&(at, name.clone())).copied().unwrap_or_default();
                            table.foreign_keys.push(ForeignKey {
                                name,
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
                    }
                }
            }
        }
        // Secondary indexes: the non-unique ones (unique ones are the uniques above), without the ones InnoDB made
        // for a foreign key (named after it, in any case).
        for (at, rows) in self.indexes.into_iter().enumerate() {
            let table = &mut tables.list[at];
            let mut expression = Vec::new();
            for row in rows {
                if row.name == "PRIMARY"
                    || row.unique
                    || table.foreign_keys.iter().any(|fk| same_ignoring_case(&fk.name, &row.name))
                {
                    continue;
                }
                if table.indexes.last().map(|i| &i.name) != Some(&row.name) {
                    table.indexes.push(Index { name: row.name.clone(), columns: Vec::new(), unique: false });
                }
                match row.column {
                    Some(column) => {
                        if let Some(i) = table.indexes.last_mut() {
                            i.columns.push(column);
                        }
                    }
                    // A functional index part (MySQL 8): not in the IR, the index is dropped whole.
                    None => expression.push(row.name),
                }
            }
            for name in expression {
                if let Some(i) = table.indexes.iter_mut().find(|i| i.name == name) {
                    i.columns.clear();
                }
            }
        }
        tables
    }

    /// InnoDB's foreign keys as key columns and rules, and the primary keys and uniques from the unique indexes
    /// (MySQL cannot tell a unique index from a unique constraint).
    fn innodb_keys(&mut self, tables: &Tables, mut innodb: InnoDb) {
        for (at, rows) in self.indexes.iter().enumerate() {
            for row in rows.iter().filter(|r| r.unique) {
                self.keys[at].push(KeyColumn {
                    name: row.name.clone(),
                    kind: if row.name == "PRIMARY" { KeyKind::Primary } else { KeyKind::Unique },
                    position: row.position,
                    column: row.column.clone(),
                    referenced: None,
                });
            }
        }
        for (id, (table, ref_table, bits)) in innodb.keys {
            let Some(&at) = tables.by_name.get(&table) else { continue };
            let Some(name) = id.strip_prefix(&innodb.prefix) else { continue };
            // DICT_FOREIGN_ON_DELETE_CASCADE 1, _SET_NULL 2, ON_UPDATE_CASCADE 4, _SET_NULL 8; RESTRICT and NO
            // ACTION read alike (as `information_schema` does here).
            let on = |cascade: u32, set_null: u32| match () {
                _ if bits & cascade != 0 => FkAction::Cascade,
                _ if bits & set_null != 0 => FkAction::SetNull,
                _ => FkAction::NoAction,
            };
            self.rules.insert((at, name.to_string()), (on(1, 2), on(4, 8)));
            for (position, column, ref_column) in innodb.columns.remove(&id).unwrap_or_default() {
                self.keys[at].push(KeyColumn {
                    name: name.to_string(),
                    kind: KeyKind::Foreign,
                    position: position + 1,
                    column: Some(column),
                    referenced: Some((ref_table.clone(), ref_column)),
                });
            }
        }
    }
}

/// Whether two names are equal in any case (Unicode lower case, as MySQL compares identifiers).
fn same_ignoring_case(a: &str, b: &str) -> bool {
    a.chars().flat_map(char::to_lowercase).eq(b.chars().flat_map(char::to_lowercase))
}

/// A type's name as `DATA_TYPE` gives it: `COLUMN_TYPE` up to its arguments or attributes (`int(10) unsigned`).
fn data_type(column_type: &str) -> &str {
    let end = column_type.find(['(', ' ']).unwrap_or(column_type.len());
    &column_type[..end]
}

/// Whether a name needs no quoting in a literal or InnoDB's file-name encoding (letters, digits, `_`).
fn plain(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A row of `STATISTICS`: one column of an index.
struct IndexRow {
    name: String,
    /// 1-based, within the index.
    position: i64,
    unique: bool,
    /// `None` for an expression.
    column: Option<String>,
}

/// One column of a primary key, unique constraint or foreign key of a table, as `KEY_COLUMN_USAGE` lists it.
struct KeyColumn {
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

/// Whether `text` holds `word`, in any case.
fn contains_ignore_case(text: &str, word: &str) -> bool {
    text.as_bytes().windows(word.len()).any(|w| w.eq_ignore_ascii_case(word.as_bytes()))
}

/// `` `name` `` with backticks doubled, as MariaDB prints identifiers in a check clause.
fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// A check clause as MariaDB prints it, in the spelling the checks are written in: a quote inside a string as `''`
/// (it prints `\'`), and `\%` and `\_` with one backslash (it prints `\\%`: the same value to MySQL, which keeps
/// the backslash of `\%` and `\_` for LIKE), so `q NOT LIKE '%\_%'` as written and as printed back meet. The
/// models' text is left as written: it is what the migration sends.
fn standard_quotes(clause: &str) -> String {
    let mut out = String::with_capacity(clause.len());
    let mut chars = clause.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' if in_string => match chars.next() {
                Some('\'') => out.push_str("''"),
                Some('\\') if matches!(chars.peek(), Some('%' | '_')) => out.push('\\'),
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

/// The `ON UPDATE` value in `EXTRA` (MariaDB `on update current_timestamp(6)`, MySQL `DEFAULT_GENERATED on update
/// CURRENT_TIMESTAMP(6)`), spelled as a column definition writes it: `CURRENT_TIMESTAMP(6)`, or without the empty
/// parentheses.
fn on_update(extra: &str) -> Option<String> {
    let at = extra.to_ascii_lowercase().find("on update ")?;
    let value = extra[at + "on update ".len()..].split_whitespace().next()?.to_ascii_uppercase();
    Some(value.strip_suffix("()").map(str::to_string).unwrap_or(value))
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

/// The objects outside the IR in the current database ([`super::others`]): kind, name, definition. A view's
/// definition carries its options, a routine's its parameters (mode, name, type), result type and characteristics,
/// an event's its kind, interval and status (not its times: `AT CURRENT_TIMESTAMP + INTERVAL 1 DAY` recreated by a
/// rollback is another time, the same event). Unquoted words compare without case, as everywhere: on a server with
/// case-sensitive table names, `FROM T` and `FROM t` in a body compare equal.
pub(super) const OTHERS: &str = r#"
SELECT CAST('view' AS CHAR), CAST(table_name AS CHAR),
       CAST(CONCAT(view_definition, ' CHECK ', check_option, ' SECURITY ', security_type) AS CHAR)
  FROM information_schema.views WHERE table_schema = DATABASE()
UNION ALL
SELECT CAST('sequence' AS CHAR), CAST(table_name AS CHAR), NULL
  FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'SEQUENCE'
UNION ALL
SELECT CAST(LOWER(r.routine_type) AS CHAR), CAST(r.routine_name AS CHAR),
       CAST(CONCAT('(', COALESCE(p.params, ''), ') ', COALESCE(r.dtd_identifier, ''), ' ', r.is_deterministic, ' ',
                   r.sql_data_access, ' ', r.security_type, ' ', COALESCE(r.routine_definition, '')) AS CHAR)
  FROM information_schema.routines r
  -- Grouped once: a subquery per routine made the server read every routine's parameters again (7 s at 1,000).
  LEFT JOIN (SELECT specific_name, routine_type,
                    GROUP_CONCAT(CONCAT_WS(' ', parameter_mode, parameter_name, dtd_identifier)
                                 ORDER BY ordinal_position SEPARATOR ', ') AS params
               FROM information_schema.parameters
              WHERE specific_schema = DATABASE() AND ordinal_position > 0
              GROUP BY specific_name, routine_type) p
    ON p.specific_name = r.specific_name AND p.routine_type = r.routine_type
 WHERE r.routine_schema = DATABASE()
UNION ALL
SELECT CAST('trigger' AS CHAR), CAST(CONCAT(trigger_name, ' on ', event_object_table) AS CHAR),
       CAST(CONCAT(action_timing, ' ', event_manipulation, ' ', action_statement) AS CHAR)
  FROM information_schema.triggers WHERE trigger_schema = DATABASE()
UNION ALL
SELECT CAST('event' AS CHAR), CAST(event_name AS CHAR),
       CAST(CONCAT(event_type, ' ', COALESCE(interval_value, ''), ' ', COALESCE(interval_field, ''), ' ', status, ' ',
                   on_completion, ' ', event_definition) AS CHAR)
  FROM information_schema.events WHERE event_schema = DATABASE()"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_update_as_a_column_definition_writes_it() {
        assert_eq!(on_update("on update current_timestamp()").as_deref(), Some("CURRENT_TIMESTAMP"));
        assert_eq!(on_update("on update current_timestamp(6)").as_deref(), Some("CURRENT_TIMESTAMP(6)"));
        let mysql = "DEFAULT_GENERATED on update CURRENT_TIMESTAMP(3)";
        assert_eq!(on_update(mysql).as_deref(), Some("CURRENT_TIMESTAMP(3)"));
        assert_eq!(on_update("auto_increment"), None);
        assert_eq!(on_update(""), None);
        assert_eq!(on_update("on update "), None);
    }

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
        // As MariaDB prints `'%\_%'` back: the spelling written.
        assert_eq!(standard_quotes(r"`q` not like '%\\_%'"), r"`q` not like '%\_%'");
        assert_eq!(standard_quotes(r"`q` <> 'tab\there' and `q` <> 'x\\y'"), r"`q` <> 'tab\there' and `q` <> 'x\\y'");
        assert!(rule(Some("SOMETIMES")).is_err());
    }

    /// `plain` names and `DATA_TYPE` as the catalog gives it.
    #[test]
    fn names_and_data_types() {
        assert!(plain("app_1") && !plain("we-ird") && !plain("") && !plain("é"));
        assert_eq!(data_type("int(10) unsigned"), "int");
        assert_eq!(data_type("enum('a','b')"), "enum");
        assert_eq!(data_type("longtext"), "longtext");
        assert!(same_ignoring_case("FK_Ä", "fk_ä") && !same_ignoring_case("fk_a", "fk_b"));
    }

    fn cell() -> impl proptest::strategy::Strategy<Value = Option<String>> {
        use proptest::prelude::*;
        prop_oneof![
            Just(None),
            Just(Some("t1".to_string())),
            Just(Some("1".to_string())),
            Just(Some("db/t1".to_string())),
            Just(Some("json_valid(`c`)".to_string())),
            "\\PC{0,12}".prop_map(Some),
        ]
    }

    proptest::proptest! {
        /// Whatever rows a server sends, in whatever order, reading them and putting them together never panics:
        /// unexpected content is an error or is dropped.
        #[test]
        fn catalog_rows_never_panic(
            rows in proptest::collection::vec(
                (
                    proptest::sample::select(vec![
                        "K", "C", "S", "F", "f", "RULES", "PRIMARY KEY", "UNIQUE", "FOREIGN KEY", "?",
                    ]),
                    proptest::collection::vec(cell(), 0..10),
                ),
                0..40,
            ),
            mariadb in proptest::bool::ANY,
            innodb in proptest::bool::ANY,
        ) {
            let mut tables = Tables::default();
            tables.entry("t1");
            tables.entry("t2");
            let mut read = Read::new(tables.list.len(), innodb.then(|| "db/".to_string()));
            for (tag, cells) in &rows {
                let row: Vec<Option<&str>> =
                    std::iter::once(Some(*tag)).chain(cells.iter().map(|c| c.as_deref())).collect();
                let _ = read.row(&tables, mariadb, Row(&row));
            }
            let _ = read.into_tables(tables);
        }
    }
}

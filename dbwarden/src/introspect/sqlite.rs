//! SQLite: four queries, each a pragma table-valued function joined against `sqlite_master` (tables; columns;
//! indexes with their columns; foreign keys).
//!
//! SQLite keeps no catalog of constraint names or CHECK constraints, only the `CREATE TABLE` text: that text is
//! scanned (not parsed) for `CHECK` clauses and for the names given with `CONSTRAINT name` to uniques and foreign
//! keys. Unnamed foreign keys are named by [`fk_name`], unnamed uniques by [`unique_name`], unnamed checks
//! `check_name(table, "<n>")` (n counts the unnamed checks from 1, in table order).

use dbwarden_core::schema::{check_name, fk_name, unique_name, Check, Column, FkAction, ForeignKey, Index, PrimaryKey};
use dbwarden_core::schema::{Table, TableOption, Unique};
use dbwarden_core::Dialect;

use super::{unexpected, ParsedTypes, Row, Tables};
use crate::backend::Backend;
use crate::error::DbError;

/// The tables read (`m`): not SQLite's own, not virtual tables (their shadow tables are plain tables and are read).
const FILTER: &str = "m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
                      AND COALESCE(m.sql, '') NOT LIKE 'CREATE VIRTUAL%'";

/// Every trigger, and every index the IR skips (partial, or over an expression) or holds only in part (a key
/// column `DESC` or with a collation other than `BINARY`), with its text, which a table rebuild creates again
/// (one query).
pub(super) async fn dependents(backend: &mut dyn Backend) -> Result<Vec<crate::render::Dependent>, DbError> {
    use crate::render::{Dependent, DependentKind};
    let mut out = Vec::new();
    let sql = "SELECT type, tbl_name, name, sql FROM sqlite_master WHERE type = 'trigger' \
               UNION ALL \
               SELECT m.type, m.tbl_name, m.name, m.sql \
                 FROM sqlite_master m JOIN pragma_index_list(m.tbl_name) il ON il.name = m.name \
                WHERE m.type = 'index' AND m.sql IS NOT NULL \
                  AND (il.partial OR EXISTS (SELECT 1 FROM pragma_index_xinfo(m.name) x \
                                             WHERE x.key AND (x.cid = -2 OR x.desc OR x.coll <> 'BINARY'))) \
                ORDER BY 2, 1, 3";
    backend
        .query_each(sql, &mut |row| {
            let row = Row(row);
            let kind =
                if row.req(0, "object type")? == "index" { DependentKind::Index } else { DependentKind::Trigger };
            out.push(Dependent {
                kind,
                table: row.req(1, "table")?.to_string(),
                name: row.req(2, "name")?.to_string(),
                sql: row.req(3, "text")?.to_string(),
            });
            Ok(())
        })
        .await?;
    Ok(out)
}

/// What each table has that the schema model does not hold and a rebuild (which creates the table from the model)
/// would lose: generated columns (`pragma_table_info` leaves them out) and `ON CONFLICT` clauses of its keys and
/// constraints (found in its text, outside strings and quoted names). One query.
pub(super) async fn unkept(backend: &mut dyn Backend) -> Result<Vec<super::Unkept>, DbError> {
    let mut out = Vec::new();
    let sql = format!(
        "SELECT m.name, m.sql, CAST((SELECT COUNT(*) FROM pragma_table_xinfo(m.name) WHERE hidden IN (2, 3)) AS TEXT) \
         FROM sqlite_master m WHERE {FILTER} ORDER BY m.name"
    );
    backend
        .query_each(&sql, &mut |row| {
            let row = Row(row);
            let table = row.req(0, "table name")?;
            if row.opt(2).is_some_and(|n| n != "0") {
                out.push(super::Unkept { table: table.to_string(), what: "generated columns" });
            }
            let toks = tokens(row.opt(1).unwrap_or_default());
            if toks.windows(2).any(|w| is_kw(Some(&w[0]), "ON") && is_kw(Some(&w[1]), "CONFLICT")) {
                out.push(super::Unkept { table: table.to_string(), what: "an ON CONFLICT clause" });
            }
            Ok(())
        })
        .await?;
    Ok(out)
}

pub(super) async fn read(backend: &mut dyn Backend) -> Result<Tables, DbError> {
    let mut tables = Tables::default();
    let mut scans = Vec::new();
    let sql = format!("SELECT m.name, m.sql FROM sqlite_master m WHERE {FILTER} ORDER BY m.name");
    backend
        .query_each(&sql, &mut |row| {
            let row = Row(row);
            tables.entry(row.req(0, "table name")?);
            scans.push(scan(row.opt(1).unwrap_or_default()));
            Ok(())
        })
        .await?;

    // Joined as `FROM sqlite_master m JOIN pragma_...(m.name)`: one query for all tables.
    let sql = format!(
        "SELECT m.name, CAST(p.cid AS TEXT), p.name, p.type, CAST(p.\"notnull\" AS TEXT), p.dflt_value, \
         CAST(p.pk AS TEXT) FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE {FILTER} ORDER BY m.name, p.cid"
    );
    let mut types = ParsedTypes::of(Dialect::Sqlite);
    let mut key_positions: Vec<(String, i64, String)> = Vec::new();
    backend
        .query_each(&sql, &mut |row| {
            let row = Row(row);
            let table_name = row.req(0, "table name")?;
            let Some(table) = tables.get_mut(table_name) else { return Ok(()) };
            let name = row.req(2, "column name")?;
            let declared = row.opt(3).unwrap_or_default();
            let pk = row.num(6, "pk")?;
            if pk > 0 {
                key_positions.push((table_name.to_string(), pk, name.to_string()));
            }
            table.columns.push(Column {
                name: name.to_string(),
                ty: types.parse(declared),
                nullable: !row.flag(4),
                default: row.opt(5).map(str::to_string),
                auto_increment: false,
                comment: None,
                collation: None, // from the CREATE TABLE text, below
                on_update: None,
            });
            Ok(())
        })
        .await?;
    key_positions.sort();
    for (table_name, _, column) in key_positions {
        if let Some(table) = tables.get_mut(&table_name) {
            table.primary_key.get_or_insert_with(|| PrimaryKey { columns: Vec::new() }).columns.push(column);
        }
    }
    for (table, scan) in tables.list.iter_mut().zip(&scans) {
        // The rowid alias: the only key column, declared exactly INTEGER, in a rowid table.
        let sole = table.primary_key.as_ref().filter(|pk| pk.columns.len() == 1).map(|pk| pk.columns[0].clone());
        if let (Some(sole), false) = (sole, scan.without_rowid) {
            let declared_integer = scan.integer_columns.iter().any(|c| c.eq_ignore_ascii_case(&sole));
            if let Some(c) = table.columns.iter_mut().find(|c| c.name == sole).filter(|_| declared_integer) {
                c.auto_increment = true;
                // The rowid is never NULL, declared NOT NULL or not.
                c.nullable = false;
                c.ty = types.map.canonical(&c.ty, true);
            }
        }
        let rowid_numbered = table.columns.iter().any(|c| c.auto_increment);
        let options = [
            (TableOption::Autoincrement, scan.autoincrement && rowid_numbered),
            (TableOption::WithoutRowid, scan.without_rowid),
            (TableOption::Strict, scan.strict),
        ];
        table.options = options.into_iter().filter(|(_, has)| *has).map(|(o, _)| o).collect();
        table.checks = scan.checks(&table.name);
        for (name, collation) in &scan.collations {
            if let Some(c) = table.columns.iter_mut().find(|c| c.name.eq_ignore_ascii_case(name)) {
                c.collation = Some(collation.clone());
            }
        }
    }

    // Indexes and their columns; `origin` tells CREATE INDEX (c) from UNIQUE (u) and PRIMARY KEY (pk).
    let sql = format!(
        "SELECT m.name, il.name, CAST(il.\"unique\" AS TEXT), il.origin, CAST(il.partial AS TEXT), \
         CAST(ii.seqno AS TEXT), ii.name FROM sqlite_master m JOIN pragma_index_list(m.name) il \
         JOIN pragma_index_info(il.name) ii WHERE {FILTER} ORDER BY m.name, il.name, ii.seqno"
    );
    let mut skipped = Vec::new();
    backend
        .query_each(&sql, &mut |row| {
            let row = Row(row);
            let table_name = row.req(0, "table name")?;
            let Some(at) = tables.by_name.get(table_name).copied() else { return Ok(()) };
            let table = &mut tables.list[at];
            let name = row.req(1, "index name")?;
            let column = row.opt(6);
            match row.req(3, "index origin")? {
                "pk" => {}
                "u" => {
                    // Named later, once all its columns are known.
                    if table.uniques.last().map(|u| u.name.as_str()) != Some(name) {
                        table.uniques.push(Unique { name: name.to_string(), columns: Vec::new() });
                    }
                    table.uniques.last_mut().into_iter().for_each(|u| u.columns.extend(column.map(str::to_string)));
                }
                _ => {
                    if table.indexes.last().map(|i| i.name.as_str()) != Some(name) {
                        table.indexes.push(Index { name: name.to_string(), columns: Vec::new(), unique: row.flag(2) });
                    }
                    if row.flag(4) || column.is_none() {
                        skipped.push((at, name.to_string()));
                    }
                    table.indexes.last_mut().into_iter().for_each(|i| i.columns.extend(column.map(str::to_string)));
                }
            }
            Ok(())
        })
        .await?;
    for (at, name) in skipped {
        tables.list[at].indexes.iter_mut().filter(|i| i.name == name).for_each(|i| i.columns.clear());
    }
    for (table, scan) in tables.list.iter_mut().zip(&scans) {
        for u in &mut table.uniques {
            u.name = scan.named(Kind::Unique, &u.columns, None).unwrap_or_else(|| unique_name(&table.name, &u.columns));
        }
    }

    let sql = format!(
        "SELECT m.name, CAST(f.id AS TEXT), CAST(f.seq AS TEXT), f.\"table\", f.\"from\", f.\"to\", f.on_delete, \
         f.on_update FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f WHERE {FILTER} ORDER BY m.name, f.id, f.seq"
    );
    let mut fks: Vec<(String, String, ForeignKey)> = Vec::new(); // (table, id, fk)
    backend
        .query_each(&sql, &mut |row| {
            let row = Row(row);
            let table_name = row.req(0, "table name")?;
            let id = row.req(1, "foreign key id")?;
            if fks.last().map(|(t, i, _)| (t.as_str(), i.as_str())) != Some((table_name, id)) {
                fks.push((
                    table_name.to_string(),
                    id.to_string(),
                    ForeignKey {
                        name: String::new(),
                        columns: Vec::new(),
                        ref_table: row.req(3, "referenced table")?.to_string(),
                        ref_columns: Vec::new(),
                        on_delete: action(row.opt(6))?,
                        on_update: action(row.opt(7))?,
                    },
                ));
            }
            if let Some((_, _, fk)) = fks.last_mut() {
                fk.columns.push(row.req(4, "foreign key column")?.to_string());
                // `to` is NULL when the key references the parent's primary key implicitly.
                fk.ref_columns.extend(row.opt(5).map(str::to_string));
            }
            Ok(())
        })
        .await?;
    for (table_name, _, mut fk) in fks {
        if fk.ref_columns.is_empty() {
            fk.ref_columns = primary_key_of(&tables.list, &fk.ref_table);
        }
        let Some(at) = tables.by_name.get(&table_name).copied() else { continue };
        fk.name = scans[at]
            .named(Kind::ForeignKey, &fk.columns, Some(&fk.ref_table))
            .unwrap_or_else(|| fk_name(&table_name, &fk.columns, &fk.ref_table));
        tables.list[at].foreign_keys.push(fk);
    }
    Ok(tables)
}

fn primary_key_of(tables: &[Table], name: &str) -> Vec<String> {
    tables
        .iter()
        .find(|t| t.name.eq_ignore_ascii_case(name))
        .and_then(|t| t.primary_key.as_ref())
        .map(|pk| pk.columns.clone())
        .unwrap_or_default()
}

fn action(text: Option<&str>) -> Result<FkAction, DbError> {
    let text = text.unwrap_or("NO ACTION");
    FkAction::parse(text).ok_or_else(|| unexpected(&format!("foreign key action `{text}`")))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Unique,
    ForeignKey,
}

/// What the `CREATE TABLE` text tells that the pragmas do not.
#[derive(Debug, Default)]
struct Scan {
    /// `WITHOUT ROWID` follows the column list.
    without_rowid: bool,
    /// `STRICT` follows the column list.
    strict: bool,
    /// A column is declared `AUTOINCREMENT` (only the rowid column can be).
    autoincrement: bool,
    /// Columns whose declared type is exactly `INTEGER`.
    integer_columns: Vec<String>,
    /// Check constraints: (name if given, expression as written).
    checks: Vec<(Option<String>, String)>,
    /// Named uniques and foreign keys: (kind, name, columns, referenced table).
    named: Vec<(Kind, String, Vec<String>, Option<String>)>,
    /// Columns declared with a collation other than BINARY, the default: (column, collation).
    collations: Vec<(String, String)>,
}

impl Scan {
    fn checks(&self, table: &str) -> Vec<Check> {
        let mut unnamed = 0;
        self.checks
            .iter()
            .map(|(name, expr)| {
                let name = name.clone().unwrap_or_else(|| {
                    unnamed += 1;
                    check_name(table, &unnamed.to_string())
                });
                Check { name, expr: expr.clone() }
            })
            .collect()
    }

    /// The name given to the unique or foreign key on `columns` (to `ref_table`), if any.
    fn named(&self, kind: Kind, columns: &[String], ref_table: Option<&str>) -> Option<String> {
        let same =
            |a: &[String], b: &[String]| a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.eq_ignore_ascii_case(y));
        self.named
            .iter()
            .find(|(k, _, cols, rt)| {
                *k == kind
                    && same(cols, columns)
                    && match (rt, ref_table) {
                        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                        (None, None) => true,
                        _ => false,
                    }
            })
            .map(|(_, name, _, _)| name.clone())
    }
}

/// A token of the `CREATE TABLE` text: its kind and its span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    /// A bare word or number.
    Word,
    /// A quoted identifier (`"x"`, `` `x` ``, `[x]`).
    Quoted,
    /// A string literal.
    Str,
    /// One punctuation character.
    Punct(u8),
}

fn tokens(sql: &str) -> Vec<(Tok, &str)> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'-' && b.get(i + 1) == Some(&b'-') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            i += 2;
            while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                i += 1;
            }
            i = (i + 2).min(b.len());
        } else if matches!(c, b'"' | b'`' | b'\'' | b'[') {
            let close = if c == b'[' { b']' } else { c };
            i += 1;
            loop {
                if i >= b.len() {
                    break;
                }
                if b[i] == close {
                    // A doubled quote is the quote character itself.
                    if close != b']' && b.get(i + 1) == Some(&close) {
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                i += 1;
            }
            out.push((if c == b'\'' { Tok::Str } else { Tok::Quoted }, &sql[start..i]));
        } else if c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80 || c == b'$' {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] >= 0x80 || b[i] == b'$') {
                i += 1;
            }
            out.push((Tok::Word, &sql[start..i]));
        } else {
            i += 1;
            out.push((Tok::Punct(c), &sql[start..i]));
        }
    }
    out
}

/// An identifier token without its quotes.
fn ident(tok: (Tok, &str)) -> String {
    match tok {
        (Tok::Quoted, t) if t.len() >= 2 => {
            let q = &t[..1];
            let inner = &t[1..t.len() - 1];
            if q == "[" || !inner.contains(q) {
                inner.to_string()
            } else {
                inner.replace(&format!("{q}{q}"), q)
            }
        }
        (_, t) => t.to_string(),
    }
}

fn is_kw(tok: Option<&(Tok, &str)>, kw: &str) -> bool {
    matches!(tok, Some((Tok::Word, t)) if t.eq_ignore_ascii_case(kw))
}

/// The index of the `)` closing the `(` at `open`.
fn closing(toks: &[(Tok, &str)], open: usize) -> Option<usize> {
    let mut depth = 0;
    for (i, (t, _)) in toks.iter().enumerate().skip(open) {
        match t {
            Tok::Punct(b'(') => depth += 1,
            Tok::Punct(b')') => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The source text from token `from` to token `to` (inclusive).
fn span<'a>(sql: &'a str, toks: &[(Tok, &'a str)], from: usize, to: usize) -> &'a str {
    let start = toks[from].1.as_ptr() as usize - sql.as_ptr() as usize;
    let end = toks[to].1.as_ptr() as usize - sql.as_ptr() as usize + toks[to].1.len();
    &sql[start..end]
}

/// The column names of a parenthesised list starting at `open` (the first word of each item).
fn name_list(toks: &[(Tok, &str)], open: usize, close: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut first = true;
    for &tok in &toks[open + 1..close] {
        match tok {
            (Tok::Punct(b','), _) => first = true,
            t if first => {
                out.push(ident(t));
                first = false;
            }
            _ => {}
        }
    }
    out
}

/// Scans a `CREATE TABLE` statement; anything it does not understand is left out, never an error.
fn scan(sql: &str) -> Scan {
    let mut out = Scan::default();
    let toks = tokens(sql);
    let Some(open) = toks.iter().position(|(t, _)| *t == Tok::Punct(b'(')) else { return out };
    let Some(close) = closing(&toks, open) else { return out };
    let rest = &toks[close + 1..];
    out.without_rowid = rest.windows(2).any(|w| is_kw(Some(&w[0]), "WITHOUT") && is_kw(Some(&w[1]), "ROWID"));
    out.strict = rest.iter().any(|t| is_kw(Some(t), "STRICT"));

    // Split the definitions at top-level commas.
    let mut items = Vec::new();
    let (mut depth, mut start) = (0, open + 1);
    for (i, (tok, _)) in toks.iter().enumerate().take(close).skip(open + 1) {
        match tok {
            Tok::Punct(b'(') => depth += 1,
            Tok::Punct(b')') => depth -= 1,
            Tok::Punct(b',') if depth == 0 => {
                items.push((start, i));
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push((start, close));

    for (from, to) in items {
        if from >= to {
            continue;
        }
        let first = toks.get(from);
        let table_constraint = ["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"].iter().any(|k| is_kw(first, k));
        let column = (!table_constraint).then(|| ident(toks[from]));
        // `PRIMARY KEY (id AUTOINCREMENT)` says it at the table's level.
        let head = if is_kw(first, "CONSTRAINT") { from + 2 } else { from };
        if is_kw(toks.get(head), "PRIMARY") && toks[head.min(to)..to].iter().any(|t| is_kw(Some(t), "AUTOINCREMENT")) {
            out.autoincrement = true;
        }
        let mut i = if table_constraint { from } else { from + 1 };
        if let Some(column) = &column {
            // The declared type: the words up to the first constraint keyword or parenthesis.
            let words: Vec<&str> = toks[i..to].iter().take_while(|(t, _)| *t == Tok::Word).map(|(_, w)| *w).collect();
            let ty_words: Vec<&str> = words.into_iter().take_while(|w| !is_constraint_word(w)).collect();
            if ty_words.len() == 1 && ty_words[0].eq_ignore_ascii_case("INTEGER") {
                out.integer_columns.push(column.clone());
            }
            // COLLATE among the column's constraints (not one inside a DEFAULT or CHECK expression).
            let (mut depth, mut collation) = (0, None);
            for j in i..to {
                match toks[j].0 {
                    Tok::Punct(b'(') => depth += 1,
                    Tok::Punct(b')') => depth -= 1,
                    _ if depth == 0 && is_kw(toks.get(j), "COLLATE") && j + 1 < to => {
                        collation = Some(ident(toks[j + 1]))
                    }
                    _ if depth == 0 && is_kw(toks.get(j), "AUTOINCREMENT") => out.autoincrement = true,
                    _ => {}
                }
            }
            // (The last one counts.)
            // SQLite's collation names ignore case: held upper-cased.
            if let Some(name) = collation.filter(|n| !n.eq_ignore_ascii_case("BINARY")) {
                out.collations.push((column.clone(), name.to_ascii_uppercase()));
            }
        }
        let mut pending: Option<String> = None;
        while i < to {
            let tok = toks.get(i);
            if is_kw(tok, "CONSTRAINT") && i + 1 < to {
                pending = Some(ident(toks[i + 1]));
                i += 2;
                continue;
            }
            if is_kw(tok, "CHECK") && toks.get(i + 1).map(|t| t.0) == Some(Tok::Punct(b'(')) {
                if let Some(end) = closing(&toks, i + 1).filter(|&e| e < to && e > i + 2) {
                    out.checks.push((pending.take(), span(sql, &toks, i + 2, end - 1).trim().to_string()));
                    i = end + 1;
                    continue;
                }
            }
            if is_kw(tok, "UNIQUE") {
                let cols = match (&column, toks.get(i + 1)) {
                    (None, Some((Tok::Punct(b'('), _))) => closing(&toks, i + 1).map(|e| name_list(&toks, i + 1, e)),
                    (Some(c), _) => Some(vec![c.clone()]),
                    _ => None,
                };
                if let (Some(name), Some(cols)) = (pending.take(), cols) {
                    out.named.push((Kind::Unique, name, cols, None));
                }
            }
            if is_kw(tok, "FOREIGN") && column.is_none() {
                // FOREIGN KEY (cols) REFERENCES t
                if let Some(open) = (i..to).find(|&j| toks[j].0 == Tok::Punct(b'(')) {
                    if let Some(end) = closing(&toks, open) {
                        let cols = name_list(&toks, open, end);
                        if is_kw(toks.get(end + 1), "REFERENCES") && end + 2 < to {
                            let target = ident(toks[end + 2]);
                            if let Some(name) = pending.take() {
                                out.named.push((Kind::ForeignKey, name, cols, Some(target)));
                            }
                        }
                        i = end + 1;
                        continue;
                    }
                }
            }
            if is_kw(tok, "REFERENCES") && i + 1 < to {
                if let (Some(c), Some(name)) = (&column, pending.take()) {
                    out.named.push((Kind::ForeignKey, name, vec![c.clone()], Some(ident(toks[i + 1]))));
                }
            }
            if ["PRIMARY", "NOT", "NULL", "DEFAULT", "COLLATE", "GENERATED", "AS"].iter().any(|k| is_kw(tok, k)) {
                pending = None;
            }
            i += 1;
        }
    }
    out
}

fn is_constraint_word(w: &str) -> bool {
    ["CONSTRAINT", "PRIMARY", "NOT", "NULL", "UNIQUE", "CHECK", "DEFAULT", "COLLATE", "REFERENCES", "GENERATED", "AS"]
        .iter()
        .any(|k| w.eq_ignore_ascii_case(k))
}

/// The objects outside the IR in the main database ([`super::others`]): views, triggers, and the partial and
/// expression indexes the IR skips; names only (see there).
pub(super) const OTHERS: &str = r#"
SELECT m.type, CASE m.type WHEN 'trigger' THEN m.name || ' on ' || m.tbl_name ELSE m.name END, NULL
  FROM sqlite_master m
 WHERE m.type IN ('view', 'trigger') AND m.name NOT LIKE 'sqlite\_%' ESCAPE '\'
UNION ALL
SELECT 'index', m.name, NULL
  FROM sqlite_master m JOIN pragma_index_list(m.tbl_name) il ON il.name = m.name
 WHERE m.type = 'index'
   AND (il.partial OR EXISTS (SELECT 1 FROM pragma_index_xinfo(m.name) x WHERE x.key AND x.cid = -2))"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_create_text_gives_checks_names_and_rowid() {
        let s = scan(
            "CREATE TABLE \"t\"\"x\" (\n  id INTEGER NOT NULL, \"a,b\" TEXT CONSTRAINT uq_a UNIQUE CHECK (length(\"a,b\") > 0),\n  \
             qty INT, -- a comment, with a comma\n  CONSTRAINT \"ck (1)\" CHECK (qty > (0)), CHECK (qty < 10),\n  \
             CONSTRAINT fk_x FOREIGN KEY (qty, id) REFERENCES \"p\" (a, b) ON DELETE CASCADE,\n  PRIMARY KEY (id)\n) WITHOUT ROWID",
        );
        assert!(s.without_rowid);
        assert_eq!(s.integer_columns, ["id"]);
        assert_eq!(
            s.checks,
            [
                (None, "length(\"a,b\") > 0".to_string()),
                (Some("ck (1)".into()), "qty > (0)".into()),
                (None, "qty < 10".into())
            ]
        );
        assert_eq!(s.named(Kind::Unique, &["a,b".into()], None).as_deref(), Some("uq_a"));
        assert_eq!(s.named(Kind::ForeignKey, &["qty".into(), "ID".into()], Some("p")).as_deref(), Some("fk_x"));
        let checks = s.checks("t");
        assert_eq!((checks[0].name.as_str(), checks[2].name.as_str()), ("ck_t_1", "ck_t_2"));
        let s = scan("CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, d TEXT DEFAULT 'AUTOINCREMENT') STRICT");
        assert!(s.autoincrement && s.strict && !s.without_rowid);
        let s = scan("CREATE TABLE t (id INTEGER, n INT, CONSTRAINT pk PRIMARY KEY (id AUTOINCREMENT))");
        assert!(s.autoincrement, "the table-level form");
        let s = scan("CREATE TABLE t (id INTEGER PRIMARY KEY, d TEXT DEFAULT ('autoincrement'), \"strict\" INT)");
        assert!(!s.autoincrement && !s.strict, "words in a default or a column name are not options");
        // Nothing understood, nothing read, no panic.
        for junk in ["", "CREATE TABLE", "CREATE TABLE t (", "CREATE TABLE t (a CHECK (", "CREATE TABLE t (\"é"] {
            let _ = scan(junk);
        }
    }
}

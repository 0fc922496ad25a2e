//! PostgreSQL: three `pg_catalog` queries over the current schema (columns, constraints, indexes).

use dbwarden_core::schema::{Check, Column, FkAction, ForeignKey, Index, PrimaryKey, Unique};
use dbwarden_core::Dialect;

use super::{only_filter, strip_parens, unexpected, Row, Tables};
use crate::backend::Backend;
use crate::error::DbError;
use crate::types::{self, CatalogType};

pub(super) async fn read(backend: &mut dyn Backend, only: Option<&[String]>) -> Result<Tables, DbError> {
    let mut tables = Tables::default();
    let types = types::of(Dialect::Postgres);
    // Tables of the current schema (partitions are read through their parent), their columns and comments (joined
    // from pg_description: col_description()/obj_description() per row cost more than the rest of the query).
    let sql = format!(
        "SELECT CAST(c.relname AS TEXT), CAST(a.attname AS TEXT), format_type(a.atttypid, a.atttypmod), \
         CASE WHEN a.attnotnull THEN '1' ELSE '0' END, pg_get_expr(d.adbin, d.adrelid), CAST(a.attidentity AS TEXT), \
         CAST(a.attgenerated AS TEXT), cd.description, td.description \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
         LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum \
         LEFT JOIN pg_description cd ON cd.objoid = c.oid AND cd.classoid = CAST('pg_class' AS regclass) \
         AND cd.objsubid = a.attnum \
         LEFT JOIN pg_description td ON td.objoid = c.oid AND td.classoid = CAST('pg_class' AS regclass) \
         AND td.objsubid = 0 \
         WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition{} \
         ORDER BY c.relname, a.attnum",
        only_filter(Dialect::Postgres, "c.relname", only)
    );
    for row in backend.query(&sql).await? {
        let row = Row(&row);
        let table = tables.entry(row.req(0, "table name")?);
        table.comment = row.opt(8).map(str::to_string);
        let Some(name) = row.opt(1) else { continue }; // a table without columns
        let ty = types.parse(&CatalogType::named(row.req(2, "column type")?));
        let identity = matches!(row.opt(5), Some("a" | "d"));
        let generated = row.opt(6).is_some_and(|g| !g.is_empty());
        let mut default = row.opt(4).filter(|_| !generated).map(str::to_string);
        // serial/bigserial: a sequence default is the server numbering the column, as an identity is.
        let serial = default.as_deref().is_some_and(|d| d.starts_with("nextval("));
        if identity || serial {
            default = None;
        }
        table.columns.push(Column {
            name: name.to_string(),
            ty,
            nullable: !row.flag(3),
            default,
            auto_increment: identity || serial,
            comment: row.opt(7).map(str::to_string),
        });
    }

    // Primary keys, uniques, foreign keys (one row per key column, in key order) and checks (one row each). Column
    // names are scalar subqueries (one index probe each): joins to pg_attribute get planned as a scan of all of it.
    let sql = format!(
        "SELECT CAST(t.relname AS TEXT), CAST(c.conname AS TEXT), CAST(c.contype AS TEXT), CAST(k.ord AS TEXT), \
         (SELECT CAST(a.attname AS TEXT) FROM pg_attribute a WHERE a.attrelid = c.conrelid AND a.attnum = k.attnum), \
         CAST(rt.relname AS TEXT), \
         (SELECT CAST(ra.attname AS TEXT) FROM pg_attribute ra WHERE ra.attrelid = c.confrelid AND ra.attnum = k.refnum), \
         CAST(c.confdeltype AS TEXT), \
         CAST(c.confupdtype AS TEXT), CASE WHEN c.contype = 'c' THEN pg_get_expr(c.conbin, c.conrelid) END \
         FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace \
         LEFT JOIN LATERAL unnest(c.conkey, c.confkey) WITH ORDINALITY AS k(attnum, refnum, ord) ON c.contype <> 'c' \
         LEFT JOIN pg_class rt ON rt.oid = c.confrelid \
         WHERE n.nspname = current_schema() AND c.contype IN ('p', 'u', 'f', 'c') AND t.relkind IN ('r', 'p') \
         AND NOT t.relispartition{} \
         ORDER BY 1, 2, k.ord",
        only_filter(Dialect::Postgres, "t.relname", only)
    );
    for row in backend.query(&sql).await? {
        let row = Row(&row);
        let Some(table) = tables.get_mut(row.req(0, "constraint table")?) else { continue };
        let name = row.req(1, "constraint name")?;
        let column = row.opt(4).map(str::to_string);
        match row.req(2, "constraint type")? {
            "p" => {
                let pk = table.primary_key.get_or_insert_with(|| PrimaryKey { columns: Vec::new() });
                pk.columns.extend(column);
            }
            "u" => {
                if table.uniques.last().map(|u| u.name.as_str()) != Some(name) {
                    table.uniques.push(Unique { name: name.to_string(), columns: Vec::new() });
                }
                if let Some(u) = table.uniques.last_mut() {
                    u.columns.extend(column);
                }
            }
            "f" => {
                if table.foreign_keys.last().map(|f| f.name.as_str()) != Some(name) {
                    table.foreign_keys.push(ForeignKey {
                        name: name.to_string(),
                        columns: Vec::new(),
                        ref_table: row.opt(5).unwrap_or_default().to_string(),
                        ref_columns: Vec::new(),
                        on_delete: action(row.opt(7))?,
                        on_update: action(row.opt(8))?,
                    });
                }
                if let Some(fk) = table.foreign_keys.last_mut() {
                    fk.columns.extend(column);
                    fk.ref_columns.extend(row.opt(6).map(str::to_string));
                }
            }
            "c" => {
                table.checks.push(Check { name: name.to_string(), expr: strip_parens(row.req(9, "check expression")?) })
            }
            other => return Err(unexpected(&format!("constraint type `{other}`"))),
        }
    }

    // Indexes not backing a primary key, unique or exclusion constraint; key columns only (not INCLUDE).
    let sql = format!(
        "SELECT CAST(t.relname AS TEXT), CAST(ic.relname AS TEXT), CASE WHEN i.indisunique THEN '1' ELSE '0' END, \
         (SELECT CAST(a.attname AS TEXT) FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attnum = k.attnum), \
         CASE WHEN i.indpred IS NOT NULL OR k.attnum = 0 THEN '1' ELSE '0' END \
         FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_class ic ON ic.oid = i.indexrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         CROSS JOIN LATERAL unnest(CAST(i.indkey AS int2[])) WITH ORDINALITY AS k(attnum, ord) \
         WHERE n.nspname = current_schema() AND t.relkind IN ('r', 'p') AND NOT t.relispartition \
         AND k.ord <= i.indnkeyatts AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid \
         AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u', 'x')){} \
         ORDER BY 1, 2, k.ord",
        only_filter(Dialect::Postgres, "t.relname", only)
    );
    let mut skipped: Vec<(String, String)> = Vec::new();
    for row in backend.query(&sql).await? {
        let row = Row(&row);
        let table_name = row.req(0, "index table")?;
        let Some(table) = tables.get_mut(table_name) else { continue };
        let name = row.req(1, "index name")?;
        if table.indexes.last().map(|i| i.name.as_str()) != Some(name) {
            table.indexes.push(Index { name: name.to_string(), columns: Vec::new(), unique: row.flag(2) });
        }
        // Partial and expression indexes have no form in the IR: dropped whole (their columns emptied).
        if row.flag(4) {
            skipped.push((table_name.to_string(), name.to_string()));
        }
        if let (Some(index), Some(column)) = (table.indexes.last_mut(), row.opt(3)) {
            index.columns.push(column.to_string());
        }
    }
    for (table, index) in skipped {
        if let Some(i) = tables.get_mut(&table).and_then(|t| t.indexes.iter_mut().find(|i| i.name == index)) {
            i.columns.clear();
        }
    }
    Ok(tables)
}

/// `confdeltype`/`confupdtype`.
fn action(code: Option<&str>) -> Result<FkAction, DbError> {
    Ok(match code.unwrap_or("a") {
        "a" | " " => FkAction::NoAction,
        "r" => FkAction::Restrict,
        "c" => FkAction::Cascade,
        "n" => FkAction::SetNull,
        "d" => FkAction::SetDefault,
        other => return Err(unexpected(&format!("foreign key action `{other}`"))),
    })
}

//! PostgreSQL: three `pg_catalog` queries over the current schema (columns, constraints, indexes).

use dbwarden_core::schema::{Check, Column, FkAction, ForeignKey, Index, PrimaryKey, Unique};
use dbwarden_core::Dialect;

use super::{only_filter, strip_parens, unexpected, ParsedTypes, Row, Tables};
use crate::backend::Backend;
use crate::error::DbError;

pub(super) async fn read(backend: &mut dyn Backend, only: Option<&[String]>) -> Result<Tables, DbError> {
    let mut tables = Tables::default();
    let mut types = ParsedTypes::of(Dialect::Postgres);
    // Tables of the current schema (partitions are read through their parent), their columns and comments (joined
    // from pg_description: col_description()/obj_description() per row cost more than the rest of the query).
    // Every cell arrives as text (the simple query protocol), so nothing is cast; rows come in no particular order
    // (an ORDER BY costs the server more than sorting the columns here by their number).
    let sql = format!(
        "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, \
         pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated, cd.description, td.description, a.attnum, \
         CASE WHEN a.attcollation NOT IN (0, 100) AND a.attcollation <> \
         (SELECT typcollation FROM pg_type WHERE oid = a.atttypid) THEN {} END \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
         LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum \
         LEFT JOIN pg_description cd ON cd.objoid = c.oid AND cd.classoid = CAST('pg_class' AS regclass) \
         AND cd.objsubid = a.attnum \
         LEFT JOIN pg_description td ON td.objoid = c.oid AND td.classoid = CAST('pg_class' AS regclass) \
         AND td.objsubid = 0 \
         WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition{}",
        crate::render::postgres::collation_name("a.attcollation"),
        only_filter(Dialect::Postgres, "c.relname", only)
    );
    // (table, attnum, column), put in order below.
    let mut columns: Vec<(usize, i32, Column)> = Vec::new();
    backend
        .query_each(&sql, &mut |row| {
            let row = Row(row);
            let at = tables.index(row.req(0, "table name")?);
            tables.list[at].comment = row.opt(8).map(str::to_string);
            let Some(name) = row.opt(1) else { return Ok(()) }; // a table without columns
            let num: i32 = row.req(9, "column number")?.parse().map_err(|_| unexpected("column number"))?;
            let ty = types.parse(row.req(2, "column type")?);
            let identity = matches!(row.opt(5), Some("a" | "d"));
            let generated = row.opt(6).is_some_and(|g| !g.is_empty());
            // serial/bigserial: a sequence default is the server numbering the column, as an identity is.
            let serial = row.opt(4).is_some_and(|d| d.starts_with("nextval("));
            let default = row.opt(4).filter(|_| !generated && !identity && !serial).map(str::to_string);
            let column = Column {
                name: name.to_string(),
                ty,
                nullable: !row.flag(3),
                default,
                auto_increment: identity || serial,
                comment: row.opt(7).map(str::to_string),
                // Only one other than the type's default, as SQL names it (looked up for the few columns that have one).
                collation: row.opt(10).map(str::to_string),
                on_update: None,
            };
            columns.push((at, num, column));
            Ok(())
        })
        .await?;
    columns.sort_unstable_by_key(|(at, num, _)| (*at, *num));
    // Column numbers per table, in column order: key and index columns come as numbers, resolved with these rather
    // than by a lookup in pg_attribute per key column.
    let mut numbers: Vec<Vec<i32>> = vec![Vec::new(); tables.list.len()];
    for (at, num, column) in columns {
        numbers[at].push(num);
        tables.list[at].columns.push(column);
    }

    // Primary keys, uniques, foreign keys and checks, one row each, with their key columns as arrays of numbers
    // resolved with the names read above (unnesting them, or looking each up in pg_attribute, costs more than the
    // rest). Only a key referencing a table that was not read (another schema, or left out by `only`) has its
    // referenced columns looked up, joined by a separator no identifier holds in practice.
    let sql = format!(
        "SELECT t.relname, c.conname, c.contype, array_to_string(c.conkey, ' '), rt.relname, \
         array_to_string(c.confkey, ' '), c.confdeltype, c.confupdtype, \
         CASE WHEN c.contype = 'c' THEN pg_get_expr(c.conbin, c.conrelid) END, \
         CASE WHEN {} THEN (SELECT string_agg(CAST(ra.attname AS TEXT), E'\\x1f' \
         ORDER BY array_position(c.confkey, ra.attnum)) FROM pg_attribute ra \
         WHERE ra.attrelid = c.confrelid AND ra.attnum = ANY (c.confkey)) END \
         FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace \
         LEFT JOIN pg_class rt ON rt.oid = c.confrelid \
         WHERE n.nspname = current_schema() AND c.contype IN ('p', 'u', 'f', 'c') AND t.relkind IN ('r', 'p') \
         AND NOT t.relispartition{}",
        if only.is_some() { "c.contype = 'f'" } else { "c.contype = 'f' AND rt.relnamespace <> t.relnamespace" },
        only_filter(Dialect::Postgres, "t.relname", only)
    );
    backend
        .query_each(&sql, &mut |row| {
            let row = Row(row);
            let table_name = row.req(0, "constraint table")?;
            let name = row.req(1, "constraint name")?;
            let kind = row.req(2, "constraint type")?;
            let Some(&at) = tables.by_name.get(table_name) else { return Ok(()) };
            let columns = if kind == "c" {
                Vec::new()
            } else {
                resolve(&tables, &numbers, table_name, row.opt(3).unwrap_or_default().split_whitespace())
                    .ok_or_else(|| unexpected(&format!("columns of constraint {name}")))?
            };
            let ref_columns = match (kind, row.opt(9)) {
                ("f", Some(looked_up)) => looked_up.split('\u{1f}').map(str::to_string).collect(),
                ("f", None) => resolve(
                    &tables,
                    &numbers,
                    row.opt(4).unwrap_or_default(),
                    row.opt(5).unwrap_or_default().split_whitespace(),
                )
                .ok_or_else(|| unexpected(&format!("referenced columns of foreign key {name}")))?,
                _ => Vec::new(),
            };
            let table = &mut tables.list[at];
            match kind {
                "p" => table.primary_key = Some(PrimaryKey { columns }),
                "u" => table.uniques.push(Unique { name: name.to_string(), columns }),
                "f" => table.foreign_keys.push(ForeignKey {
                    name: name.to_string(),
                    columns,
                    ref_table: row.opt(4).unwrap_or_default().to_string(),
                    ref_columns,
                    on_delete: action(row.opt(6))?,
                    on_update: action(row.opt(7))?,
                }),
                "c" => table
                    .checks
                    .push(Check { name: name.to_string(), expr: strip_parens(row.req(8, "check expression")?) }),
                other => return Err(unexpected(&format!("constraint type `{other}`"))),
            }
            Ok(())
        })
        .await?;

    // Indexes not backing a primary key, unique or exclusion constraint (an anti-join: a NOT EXISTS per index costs
    // more than the rest of the query), one row each with its key columns (not INCLUDE) as numbers.
    let sql = format!(
        "SELECT t.relname, ic.relname, i.indisunique, i.indkey, i.indnkeyatts, i.indpred IS NOT NULL \
         FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_class ic ON ic.oid = i.indexrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         LEFT JOIN pg_constraint bc ON bc.conindid = i.indexrelid AND bc.conrelid = i.indrelid \
         AND bc.contype IN ('p', 'u', 'x') \
         WHERE n.nspname = current_schema() AND t.relkind IN ('r', 'p') AND NOT t.relispartition \
         AND bc.oid IS NULL{}",
        only_filter(Dialect::Postgres, "t.relname", only)
    );
    backend
        .query_each(&sql, &mut |row| {
            let row = Row(row);
            let table_name = row.req(0, "index table")?;
            let name = row.req(1, "index name")?;
            let keys: usize = row.req(4, "index key count")?.parse().map_err(|_| unexpected("index key count"))?;
            let nums = row.req(3, "index columns")?.split_whitespace().take(keys);
            // Partial and expression (column 0) indexes have no form in the IR: left with no columns, which drops
            // them.
            let partial = row.flag(5) || nums.clone().any(|n| n == "0");
            let columns = if partial { None } else { resolve(&tables, &numbers, table_name, nums) };
            let Some(table) = tables.get_mut(table_name) else { return Ok(()) };
            let index = Index { name: name.to_string(), columns: columns.unwrap_or_default(), unique: row.flag(2) };
            table.indexes.push(index);
            Ok(())
        })
        .await?;
    Ok(tables)
}

/// Column numbers (`3`, `1`) of `table` as names; `None` when one is not known.
fn resolve<'n>(
    tables: &Tables,
    numbers: &[Vec<i32>],
    table: &str,
    nums: impl IntoIterator<Item = &'n str>,
) -> Option<Vec<String>> {
    let at = *tables.by_name.get(table)?;
    let (columns, numbers) = (&tables.list[at].columns, numbers.get(at)?);
    nums.into_iter()
        .map(|n| {
            let position = numbers.binary_search(&n.parse().ok()?).ok()?;
            Some(columns[position].name.clone())
        })
        .collect()
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

/// The objects outside the IR in the current schema ([`super::others`]): kind, name, definition. Sequences owned by
/// a column (serial, identity) go with their column; objects of extensions go with the extension. A routine's
/// definition is `pg_get_functiondef` (signature, result, language, volatility, security, settings and body; the
/// body of a `BEGIN ATOMIC` function too; outside SQL and PL/pgSQL as a string, so it compares as written), a sequence's its options, a view's its query and options, a trigger's its
/// definition and whether it is enabled; indexes are those the IR skips: on expressions, partial, or on a
/// materialized view. The schema is matched by name (`current_schema()`), never cast, so a name that needs quotes
/// (`"App"`) works.
pub(super) const OTHERS: &str = r#"
WITH s AS (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
SELECT kind, name, def FROM (
    SELECT CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'c' THEN 'composite type'
                         ELSE 'sequence' END AS kind,
           CAST(c.relname AS TEXT) AS name,
           CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) || coalesce(' WITH ' || array_to_string(c.reloptions, ', '), '')
                WHEN c.relkind = 'c' THEN (SELECT string_agg(quote_ident(a.attname) || ' '
                                                             || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
                                             FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0
                                              AND NOT a.attisdropped)
                ELSE (SELECT format_type(q.seqtypid, NULL) || ' START ' || q.seqstart || ' INCREMENT ' || q.seqincrement
                             || ' MINVALUE ' || q.seqmin || ' MAXVALUE ' || q.seqmax || ' CACHE ' || q.seqcache
                             || CASE WHEN q.seqcycle THEN ' CYCLE' ELSE '' END
                        FROM pg_sequence q WHERE q.seqrelid = c.oid) END AS def
      FROM pg_class c
     WHERE c.relnamespace = (SELECT oid FROM s) AND c.relkind IN ('v', 'm', 'S', 'c')
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                          AND (d.deptype = 'e' OR c.relkind = 'S' AND d.deptype IN ('a', 'i')))
    UNION ALL
    SELECT 'index', CAST(ic.relname AS TEXT), pg_get_indexdef(i.indexrelid)
      FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
     WHERE ic.relnamespace = (SELECT oid FROM s)
       AND (i.indexprs IS NOT NULL OR i.indpred IS NOT NULL OR t.relkind = 'm')
    UNION ALL
    SELECT 'trigger', t.tgname || ' on ' || c.relname,
           pg_get_triggerdef(t.oid) || CASE t.tgenabled WHEN 'O' THEN '' ELSE ' ENABLED ' || CAST(t.tgenabled AS TEXT) END
      FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
     WHERE c.relnamespace = (SELECT oid FROM s) AND NOT t.tgisinternal
    UNION ALL
    SELECT CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE 'function' END,
           CAST(CAST(p.oid AS regprocedure) AS TEXT),
           CASE WHEN p.prokind = 'a' THEN NULL
                WHEN l.lanname IN ('sql', 'plpgsql') THEN pg_get_functiondef(p.oid)
                -- A body in another language (Python: indentation is meaning) is compared as written: as a string.
                ELSE quote_literal(pg_get_functiondef(p.oid)) END
      FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
     WHERE p.pronamespace = (SELECT oid FROM s)
       AND NOT EXISTS (SELECT 1 FROM pg_depend d
                        WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
    UNION ALL
    SELECT CASE t.typtype WHEN 'e' THEN 'enum type' WHEN 'd' THEN 'domain' ELSE 'range type' END,
           CAST(t.typname AS TEXT),
           CASE t.typtype
               WHEN 'e' THEN (SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder)
                                FROM pg_enum e WHERE e.enumtypid = t.oid)
               WHEN 'd' THEN format_type(t.typbasetype, t.typtypmod)
                             || CASE WHEN t.typnotnull THEN ' NOT NULL' ELSE '' END
                             || coalesce(' DEFAULT ' || t.typdefault, '')
                             || coalesce((SELECT ' ' || string_agg(pg_get_constraintdef(co.oid), ' ' ORDER BY co.conname)
                                            FROM pg_constraint co WHERE co.contypid = t.oid), '')
           END
      FROM pg_type t
     WHERE t.typnamespace = (SELECT oid FROM s) AND t.typtype IN ('e', 'd', 'r')
       AND NOT EXISTS (SELECT 1 FROM pg_depend d
                        WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')
    UNION ALL
    SELECT 'extension', CAST(e.extname AS TEXT), e.extversion FROM pg_extension e WHERE e.extname <> 'plpgsql'
    UNION ALL
    SELECT 'schema', CAST(n.nspname AS TEXT), NULL
      FROM pg_namespace n
     WHERE n.nspname <> current_schema() AND n.nspname NOT IN ('public', 'information_schema')
       AND n.nspname NOT LIKE 'pg\_%'
) o"#;

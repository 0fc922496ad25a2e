//! PostgreSQL DDL: everything is an `ALTER TABLE`; a type change casts with `USING`.

use dbwarden_core::diff::Change;
use dbwarden_core::schema::{Column, ColumnType, Schema, Table};
use dbwarden_core::Dialect;

use super::{Ddl, Statement};
use crate::backend::SqlDialect;
use crate::types::TypeMap;

pub(crate) struct Postgres;

/// The name PostgreSQL gives the primary key of `table`: `<table>_pkey`, the table part cut so the whole fits in
/// 63 bytes.
fn pkey_name(table: &str) -> String {
    let mut cut = table.len().min(63 - "_pkey".len());
    while !table.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}_pkey", &table[..cut])
}

impl Postgres {
    fn alter(&self, table: &str, action: String) -> Statement {
        Statement::new(format!("ALTER TABLE {} {action}", self.q(table)))
    }

    fn comment_on_column(&self, table: &str, column: &str, comment: Option<&str>) -> Statement {
        Statement::new(format!(
            "COMMENT ON COLUMN {}.{} IS {}",
            self.q(table),
            self.q(column),
            comment.map_or("NULL".to_string(), |c| self.sql().literal(c))
        ))
    }
}

/// The USING clause converting `col` from `from` to `to` (rendered `ty`): a cast, except between booleans and
/// numbers, which PostgreSQL does not cast (`bigint`, `numeric` to `boolean` and back): compared with zero, or 1/0.
/// None into a bounded string (VARCHAR(n), CHAR(n), an enum): an explicit `::VARCHAR(n)` cuts longer values
/// without a word, where the assignment cast PostgreSQL applies without USING (every type has one to a string
/// type) fails on them, so the migration stops instead of losing text.
fn using(from: &ColumnType, to: &ColumnType, col: &str, ty: &str) -> String {
    if matches!(to, ColumnType::Varchar(_) | ColumnType::Char(_) | ColumnType::Enum(_)) {
        return String::new();
    }
    let number = |t: &ColumnType| {
        matches!(
            t,
            ColumnType::SmallInt
                | ColumnType::Integer
                | ColumnType::BigInt
                | ColumnType::Real
                | ColumnType::Double
                | ColumnType::Decimal(..)
        )
    };
    match (from, to) {
        (f, ColumnType::Boolean) if number(f) => format!(" USING ({col} <> 0)"),
        (ColumnType::Boolean, t) if number(t) => format!(" USING (CASE WHEN {col} THEN 1 ELSE 0 END)::{ty}"),
        _ => format!(" USING {col}::{ty}"),
    }
}

impl Ddl for Postgres {
    fn sql(&self) -> &'static dyn SqlDialect {
        crate::backend::dialect::of(Dialect::Postgres)
    }

    fn types(&self) -> &'static dyn TypeMap {
        crate::types::of(Dialect::Postgres)
    }

    fn collate(&self, column: &Column) -> String {
        // Held as SQL names it (see `collation_name`): quoted where needed, with a schema where needed.
        column.collation.as_ref().map(|name| format!(" COLLATE {name}")).unwrap_or_default()
    }

    fn column(&self, _table: &Table, c: &Column) -> String {
        let mut s = format!("{} {}", self.q(&c.name), self.types().render(&c.ty, c.auto_increment));
        s.push_str(&self.collate(c));
        if c.auto_increment {
            s.push_str(&format!(" {}", self.types().auto_increment_clause()));
        }
        if !c.nullable {
            s.push_str(" NOT NULL");
        }
        if let Some(d) = &c.default {
            s.push_str(&format!(" DEFAULT {}", super::default_expr(d)));
        }
        s
    }

    fn comments(&self, table: &Table) -> Vec<Statement> {
        let mut out = Vec::new();
        if let Some(c) = &table.comment {
            out.push(Statement::new(format!("COMMENT ON TABLE {} IS {}", self.q(&table.name), self.sql().literal(c))));
        }
        for col in table.columns.iter().filter(|c| c.comment.is_some()) {
            out.push(self.comment_on_column(&table.name, &col.name, col.comment.as_deref()));
        }
        out
    }

    fn change(&self, change: &Change, before: &Schema, _new: &Schema) -> Vec<Statement> {
        use Change::*;
        match change {
            CreateTable { table } => self.create_table(table),
            DropTable { table } => vec![Statement::new(format!("DROP TABLE {}", self.q(&table.name)))],
            RenameTable { from, to } => {
                let mut out = vec![self.alter(from, format!("RENAME TO {}", self.q(to)))];
                // The primary key keeps its name (<table>_pkey) through a rename: renamed too, so that dropping it
                // later finds it.
                if before.table(from).is_some_and(|t| t.primary_key.is_some()) {
                    out.push(Statement::new(format!(
                        "ALTER INDEX IF EXISTS {} RENAME TO {}",
                        self.q(&pkey_name(from)),
                        self.q(&pkey_name(to))
                    )));
                }
                out
            }
            AddColumn { table, column, .. } => {
                let mut out = vec![self.alter(table, format!("ADD COLUMN {}", self.column(&Table::default(), column)))];
                if column.comment.is_some() {
                    out.push(self.comment_on_column(table, &column.name, column.comment.as_deref()));
                }
                out
            }
            DropColumn { table, column, .. } => {
                vec![self.alter(table, format!("DROP COLUMN {}", self.q(&column.name)))]
            }
            RenameColumn { table, from, to } => {
                vec![self.alter(table, format!("RENAME COLUMN {} TO {}", self.q(from), self.q(to)))]
            }
            AlterColumn { table, from, to } => {
                let col = self.q(&to.name);
                let mut actions = Vec::new();
                if from.ty != to.ty || from.collation != to.collation {
                    let ty = self.types().render(&to.ty, to.auto_increment);
                    // Without COLLATE, TYPE sets the new type's default collation ("default": back to it).
                    let collate = match (&to.collation, &from.collation) {
                        (None, Some(_)) if from.ty == to.ty => format!(" COLLATE {}", self.q("default")),
                        _ => self.collate(to),
                    };
                    // USING casts the existing values; without it PostgreSQL refuses many conversions.
                    // (A USING clause makes PostgreSQL rewrite the table: not for a collation alone.)
                    let using = if from.ty == to.ty { String::new() } else { using(&from.ty, &to.ty, &col, &ty) };
                    actions.push(format!("ALTER COLUMN {col} TYPE {ty}{collate}{using}"));
                }
                if from.auto_increment != to.auto_increment {
                    actions.push(if to.auto_increment {
                        format!("ALTER COLUMN {col} ADD GENERATED BY DEFAULT AS IDENTITY")
                    } else {
                        format!("ALTER COLUMN {col} DROP IDENTITY")
                    });
                }
                // A backfill writes the new default, a value of the new type: after a type change, then NOT NULL.
                let retyped = from.ty != to.ty;
                let backfill = self.backfill(table, from, to);
                let late_not_null = retyped && backfill.is_some();
                if from.nullable != to.nullable && !late_not_null {
                    actions.push(format!("ALTER COLUMN {col} {} NOT NULL", if to.nullable { "DROP" } else { "SET" }));
                }
                // ALTER TYPE casts the old default too, which fails when it does not fit the new type (`0` going
                // back from TEXT to BIGINT): it is dropped first, and the new one set after the type.
                let redefault = retyped && from.default.is_some();
                if from.default != to.default || redefault {
                    match &to.default {
                        Some(d) => actions.push(format!("ALTER COLUMN {col} SET DEFAULT {}", super::default_expr(d))),
                        None if !redefault => actions.push(format!("ALTER COLUMN {col} DROP DEFAULT")),
                        None => {}
                    }
                }
                let (early_backfill, late_backfill) = if late_not_null { (None, backfill) } else { (backfill, None) };
                let mut out: Vec<Statement> = early_backfill.into_iter().collect();
                if redefault {
                    out.push(self.alter(table, format!("ALTER COLUMN {col} DROP DEFAULT")));
                }
                if !actions.is_empty() {
                    out.push(self.alter(table, actions.join(", ")));
                }
                if let Some(backfill) = late_backfill {
                    out.push(backfill);
                    out.push(self.alter(table, format!("ALTER COLUMN {col} SET NOT NULL")));
                }
                // A new identity starts at 1: moved past the rows already there, or the next insert collides.
                if to.auto_increment && !from.auto_increment {
                    out.push(Statement::new(format!(
                        "SELECT setval(pg_get_serial_sequence({}, {}), COALESCE(MAX({col}), 0) + 1, false) FROM {}",
                        self.sql().literal(&self.q(table)),
                        self.sql().literal(&to.name),
                        self.q(table)
                    )));
                }
                if from.comment != to.comment {
                    out.push(self.comment_on_column(table, &to.name, to.comment.as_deref()));
                }
                out
            }
            AddPrimaryKey { table, key } => {
                vec![self.alter(table, format!("ADD PRIMARY KEY ({})", self.list(&key.columns)))]
            }
            DropPrimaryKey { table, .. } => {
                vec![self.alter(table, format!("DROP CONSTRAINT {}", self.q(&pkey_name(table))))]
            }
            AddIndex { table, index } => vec![Statement::new(self.create_index(table, index))],
            DropIndex { index, .. } => vec![Statement::new(format!("DROP INDEX {}", self.q(&index.name)))],
            AddUnique { table, unique } => vec![self.alter(
                table,
                format!("ADD CONSTRAINT {} UNIQUE ({})", self.q(&unique.name), self.list(&unique.columns)),
            )],
            DropUnique { table, unique } => {
                vec![self.alter(table, format!("DROP CONSTRAINT {}", self.q(&unique.name)))]
            }
            AddForeignKey { table, key } => vec![self.alter(table, format!("ADD {}", self.foreign_key_clause(key)))],
            DropForeignKey { table, key } => vec![self.alter(table, format!("DROP CONSTRAINT {}", self.q(&key.name)))],
            AddCheck { table, check } => {
                vec![self.alter(table, format!("ADD CONSTRAINT {} CHECK ({})", self.q(&check.name), check.expr))]
            }
            DropCheck { table, check } => vec![self.alter(table, format!("DROP CONSTRAINT {}", self.q(&check.name)))],
            SetTableComment { table, to, .. } => vec![Statement::new(format!(
                "COMMENT ON TABLE {} IS {}",
                self.q(table),
                to.as_deref().map_or("NULL".to_string(), |c| self.sql().literal(c))
            ))],
            // SQLite's options: `into_canonical` leaves none in this dialect's schemas.
            SetTableOptions { .. } => Vec::new(),
        }
    }

    fn restore_column_order(&self, table: &Table, new: &Schema) -> Vec<Statement> {
        rebuild(table, new)
    }
}

/// Rebuilds `table` (already in its final shape but for the order of its columns) with its columns in declared
/// order: a guard, create a copy in order, copy the rows, carry the identity sequences over, drop the foreign keys
/// pointing at it, drop it, rename the copy, then its primary key, uniques, indexes, foreign keys (its own and
/// those pointing at it) and comments again. All inside the migration's transaction, so a failure leaves the table
/// as it was.
fn rebuild(table: &Table, new: &Schema) -> Vec<Statement> {
    let ddl = &Postgres;
    let name = &table.name;
    let staged_name = format!("_dbwarden_new_{name}");
    let inbound: Vec<(&str, &dbwarden_core::schema::ForeignKey)> = new
        .tables
        .iter()
        .filter(|t| t.name != *name)
        .flat_map(|t| t.foreign_keys.iter().filter(|k| k.ref_table == *name).map(move |k| (t.name.as_str(), k)))
        .collect();
    let mut out = vec![guard(table, &inbound)];

    let mut staged = Table { name: staged_name.clone(), columns: table.columns.clone(), ..Table::default() };
    staged.checks = table.checks.clone();
    for c in &mut staged.columns {
        c.comment = None;
    }
    out.extend(ddl.create_table(&staged));
    let columns = ddl.list(&table.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>());
    out.push(Statement::new(format!(
        "INSERT INTO {} ({columns}) SELECT {columns} FROM {}",
        ddl.q(&staged_name),
        ddl.q(name)
    )));
    for c in table.columns.iter().filter(|c| c.auto_increment) {
        out.push(carry_sequence(name, &staged_name, &c.name));
    }
    for (from, key) in &inbound {
        out.push(ddl.alter(from, format!("DROP CONSTRAINT {}", ddl.q(&key.name))));
    }
    out.push(Statement::new(format!("DROP TABLE {}", ddl.q(name))));
    out.push(ddl.alter(&staged_name, format!("RENAME TO {}", ddl.q(name))));
    if let Some(pk) = &table.primary_key {
        out.push(ddl.alter(name, format!("ADD PRIMARY KEY ({})", ddl.list(&pk.columns))));
    }
    for u in &table.uniques {
        out.push(ddl.alter(name, format!("ADD CONSTRAINT {} UNIQUE ({})", ddl.q(&u.name), ddl.list(&u.columns))));
    }
    for index in &table.indexes {
        out.push(Statement::new(ddl.create_index(name, index)));
    }
    for key in &table.foreign_keys {
        out.push(ddl.alter(name, format!("ADD {}", ddl.foreign_key_clause(key))));
    }
    for (from, key) in &inbound {
        out.push(ddl.alter(from, format!("ADD {}", ddl.foreign_key_clause(key))));
    }
    out.extend(ddl.comments(table));
    out
}

/// The copy's identity sequence continues where the table's left off (or past its highest value), and takes the
/// old sequence's name, so `nextval('<table>_id_seq')` written by hand keeps working.
fn carry_sequence(table: &str, staged: &str, column: &str) -> Statement {
    let ddl = &Postgres;
    let lit = |s: &str| ddl.sql().literal(s);
    Statement::new(format!(
        "DO $dbwarden$
DECLARE
    old_seq regclass := pg_get_serial_sequence({}, {col});
    new_seq regclass := pg_get_serial_sequence({}, {col});
    old_name text := (SELECT relname FROM pg_class WHERE oid = old_seq);
BEGIN
    PERFORM setval(new_seq, GREATEST(COALESCE(pg_sequence_last_value(old_seq), 0),
        (SELECT COALESCE(MAX({}), 0) FROM {})) + 1, false);
    IF old_seq IS NOT NULL THEN
        EXECUTE format('ALTER SEQUENCE %s RENAME TO %I', old_seq, '_dbwarden_old_' || old_seq::oid);
        EXECUTE format('ALTER SEQUENCE %s RENAME TO %I', new_seq, old_name);
    END IF;
END
$dbwarden$",
        lit(&ddl.q(table)),
        lit(&ddl.q(staged)),
        ddl.q(column),
        ddl.q(staged),
        col = lit(column),
    ))
}

/// Refuses the rebuild, naming them, when `table` has objects it would lose: what dbwarden does not model.
/// The SQL name of the collation whose oid `oid` is (an SQL expression): quoted where needed (`"C"`), and with its
/// schema when that is not on the search path, as `regcollation` prints it (which PostgreSQL 12 lacks). The schema
/// model holds a PostgreSQL collation in this form, and it is written into DDL as it is.
pub(crate) fn collation_name(oid: &str) -> String {
    format!(
        "(SELECT CASE WHEN pg_collation_is_visible(co.oid) THEN quote_ident(co.collname) \
         ELSE quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END \
         FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = {oid})"
    )
}

fn guard(table: &Table, inbound: &[(&str, &dbwarden_core::schema::ForeignKey)]) -> Statement {
    let ddl = &Postgres;
    let lit = |s: &str| ddl.sql().literal(s);
    let names = |names: Vec<&str>| {
        if names.is_empty() {
            "''".to_string()
        } else {
            names.into_iter().map(lit).collect::<Vec<_>>().join(", ")
        }
    };
    let indexes = names(table.indexes.iter().map(|i| i.name.as_str()).collect());
    let constraints = names(
        table
            .uniques
            .iter()
            .map(|u| u.name.as_str())
            .chain(table.checks.iter().map(|c| c.name.as_str()))
            .chain(table.foreign_keys.iter().map(|k| k.name.as_str()))
            .collect(),
    );
    let known_inbound = if inbound.is_empty() {
        "false".to_string()
    } else {
        inbound
            .iter()
            .map(|(from, k)| format!("(conrelid = {}::regclass AND conname = {})", lit(&ddl.q(from)), lit(&k.name)))
            .collect::<Vec<_>>()
            .join(" OR ")
    };
    // The rebuilt table writes back the collations the schema model holds: only another one would be lost.
    let collated: Vec<String> = table
        .columns
        .iter()
        .filter_map(|c| Some(format!("WHEN {} THEN {}", lit(&c.name), lit(c.collation.as_deref()?))))
        .collect();
    let recollated = if collated.is_empty() {
        "a.attcollation <> t.typcollation".to_string()
    } else {
        format!(
            "(a.attcollation <> t.typcollation AND {} IS DISTINCT FROM CASE a.attname {} END)",
            collation_name("a.attcollation"),
            collated.join(" ")
        )
    };
    let message = format!(
        "dbwarden: table {} is rebuilt to put its columns in declared order (column_order = \"exact\"), which would \
         lose: %",
        ddl.q(&table.name).replace('%', "%%") // RAISE's placeholder
    );
    let hint = "drop them before the rebuild in this migration and create them again after it, or set column_order \
                = \"append\" for this database and generate the migration again";
    Statement::new(format!(
        "DO $dbwarden$
DECLARE
    rel regclass := {rel}::regclass;
    lost text;
BEGIN
    SELECT string_agg(what, ', ') INTO lost FROM (
        SELECT 'trigger ' || quote_ident(tgname) FROM pg_trigger WHERE tgrelid = rel AND NOT tgisinternal
        UNION ALL SELECT 'policy ' || quote_ident(polname) FROM pg_policy WHERE polrelid = rel
        UNION ALL SELECT 'rule ' || quote_ident(rulename) FROM pg_rewrite WHERE ev_class = rel
        UNION ALL SELECT DISTINCT 'view ' || r.ev_class::regclass::text FROM pg_depend d
            JOIN pg_rewrite r ON r.oid = d.objid AND d.classid = 'pg_rewrite'::regclass
            WHERE d.refobjid = rel AND r.ev_class <> rel
        UNION ALL SELECT 'grants' FROM pg_class WHERE oid = rel AND relacl IS NOT NULL
        UNION ALL SELECT 'grants on column ' || quote_ident(attname) FROM pg_attribute
            WHERE attrelid = rel AND attacl IS NOT NULL
        UNION ALL SELECT 'owner ' || pg_get_userbyid(relowner) FROM pg_class
            WHERE oid = rel AND pg_get_userbyid(relowner) <> current_user
        UNION ALL SELECT 'row level security' FROM pg_class WHERE oid = rel AND (relrowsecurity OR relforcerowsecurity)
        UNION ALL SELECT 'storage options' FROM pg_class
            WHERE oid = rel AND (reloptions IS NOT NULL OR relpersistence <> 'p' OR relreplident <> 'd' OR relkind <> 'r'
                OR reltablespace <> 0)
        UNION ALL SELECT 'inheritance' FROM pg_inherits WHERE inhrelid = rel OR inhparent = rel
        UNION ALL SELECT 'publication ' || quote_ident(p.pubname) FROM pg_publication_rel r
            JOIN pg_publication p ON p.oid = r.prpubid WHERE r.prrelid = rel
        UNION ALL SELECT 'statistics ' || quote_ident(stxname) FROM pg_statistic_ext WHERE stxrelid = rel
        UNION ALL SELECT 'index ' || quote_ident(c.relname) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            WHERE i.indrelid = rel AND NOT i.indisprimary AND c.relname NOT IN ({indexes})
            AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = rel)
        UNION ALL SELECT 'constraint ' || quote_ident(conname) FROM pg_constraint
            WHERE conrelid = rel AND contype NOT IN ('p', 'n') AND conname NOT IN ({constraints})
        UNION ALL SELECT 'foreign key ' || quote_ident(conname) || ' of ' || conrelid::regclass::text FROM pg_constraint
            WHERE confrelid = rel AND conrelid <> rel AND contype = 'f' AND NOT ({known_inbound})
        UNION ALL SELECT 'options of index ' || quote_ident(c.relname) FROM pg_index i
            JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
            WHERE i.indrelid = rel AND (am.amname <> 'btree' OR i.indnkeyatts <> i.indnatts
                OR i.indexprs IS NOT NULL OR i.indpred IS NOT NULL OR translate(i.indoption::text, '0 ', '') <> ''
                OR c.reloptions IS NOT NULL OR c.reltablespace <> 0 OR obj_description(c.oid, 'pg_class') IS NOT NULL
                OR EXISTS (SELECT 1 FROM unnest(i.indclass) k(opclass) JOIN pg_opclass o ON o.oid = k.opclass
                           WHERE NOT o.opcdefault)
                OR EXISTS (SELECT 1 FROM unnest(i.indcollation) k(coll) WHERE k.coll NOT IN (0, 100)))
        UNION ALL SELECT 'options of constraint ' || quote_ident(conname) FROM pg_constraint
            WHERE (conrelid = rel OR confrelid = rel) AND contype <> 'n' AND (condeferrable OR NOT convalidated
                OR (contype = 'c' AND connoinherit) OR (contype = 'f' AND confmatchtype <> 's')
                OR obj_description(oid, 'pg_constraint') IS NOT NULL)
        UNION ALL SELECT 'options of column ' || quote_ident(a.attname) FROM pg_attribute a
            JOIN pg_type t ON t.oid = a.atttypid
            WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped AND ({recollated}
                OR COALESCE(a.attstattarget, -1) <> -1 OR a.attstorage <> t.typstorage OR a.attidentity = 'a'
                OR a.attgenerated <> '' OR EXISTS (SELECT 1 FROM unnest(a.attoptions) o WHERE o LIKE 'n\\_distinct%'))
        UNION ALL SELECT 'sequence shared by column ' || quote_ident(a.attname) FROM pg_attribute a
            JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE a.attrelid = rel AND CASE WHEN a.attnum > 0 AND NOT a.attisdropped
                AND pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%'
                THEN pg_get_serial_sequence(rel::text, a.attname) IS NULL ELSE false END
    ) found(what);
    IF lost IS NOT NULL THEN
        RAISE EXCEPTION {message}, lost USING HINT = {hint};
    END IF;
END
$dbwarden$",
        rel = lit(&ddl.q(&table.name)),
        message = lit(&message),
        hint = lit(hint),
    ))
}

//! The SQL text that differs between servers, behind one small trait: quoting, literals, casts and the few
//! expressions the bookkeeping needs. Nothing else in dbwarden matches on the dialect to build SQL.

use dbwarden_core::Dialect;

/// SQL spelling of one dialect.
pub trait SqlDialect: Sync {
    /// Quotes an identifier (`"t"` or `` `t` ``), doubling the quote character inside it.
    fn quote_ident(&self, name: &str) -> String;
    /// A string literal, escaped for this server.
    fn literal(&self, value: &str) -> String {
        format!("'{}'", value.replace('\'', "''"))
    }
    /// Casts an expression to text so every backend's rows decode the same way.
    fn text(&self, expr: &str) -> String {
        format!("CAST({expr} AS TEXT)")
    }
    /// A query listing the column names of `table` in the current schema/database.
    fn columns_query(&self, table: &str) -> String;
    /// SQL run at the start of a batch so that [`SqlDialect::batch_elapsed_ms`] can measure it.
    fn batch_prefix(&self) -> &'static str {
        ""
    }
    /// An expression giving the milliseconds spent since the batch began, if the server can tell.
    fn batch_elapsed_ms(&self) -> Option<&'static str> {
        None
    }
    /// Whether several statements sent as one batch run atomically (PostgreSQL's simple query protocol wraps them
    /// in one implicit transaction).
    fn batch_is_atomic(&self) -> bool {
        false
    }
    /// Whether an autocommit statement may share a round trip with its bookkeeping (no implicit transaction).
    fn autocommit_batches(&self) -> bool {
        false
    }
    /// Text expressions joined end to end (`a || b`; MySQL's `||` is OR, so `CONCAT(a, b)` there).
    fn concat(&self, parts: &[String]) -> String {
        parts.join(" || ")
    }
    /// An aggregate joining a text expression over all rows into one value (`string_agg`, `group_concat`); one row
    /// crosses the wire instead of one per migration. MySQL's is cut at `group_concat_max_len`: callers count the
    /// rows beside it and treat a shortfall as "read the rows".
    fn string_agg(&self, _expr: &str, _sep: &str) -> Option<String> {
        None
    }
    /// Whether `PREPARE name(types) AS ...` / `EXECUTE name(args)` is available, so the bookkeeping statements
    /// repeated for every migration are parsed and planned once per session.
    fn prepares(&self) -> bool {
        false
    }
    /// SQL that puts triggers on the `history` table deleting `namespace`'s row of the `head` table on any INSERT,
    /// UPDATE or DELETE (and TRUNCATE where the server has such triggers); idempotent. See [`crate::head`].
    fn head_guard(&self, history: &str, head: &str, namespace: &str, name: &str) -> String;
}

/// One `AFTER` row trigger per event (SQLite and MySQL), each named `name` plus a suffix. `body` wraps the
/// statement as the server's trigger syntax wants it.
fn row_triggers(
    d: &dyn SqlDialect,
    history: &str,
    head: &str,
    namespace: &str,
    name: &str,
    body: impl Fn(&str) -> String,
) -> String {
    let forget =
        format!("DELETE FROM {} WHERE {} = {}", d.quote_ident(head), d.quote_ident("namespace"), d.literal(namespace));
    [("INSERT", "ins"), ("UPDATE", "upd"), ("DELETE", "del")]
        .map(|(event, suffix)| {
            format!(
                "CREATE TRIGGER IF NOT EXISTS {} AFTER {event} ON {} FOR EACH ROW {}",
                d.quote_ident(&format!("{name}_{suffix}")),
                d.quote_ident(history),
                body(&forget)
            )
        })
        .join(";\n")
}

/// The dialect object for `dialect`.
pub fn of(dialect: Dialect) -> &'static dyn SqlDialect {
    match dialect {
        Dialect::Postgres => &Postgres,
        Dialect::MySql => &MySql,
        Dialect::Sqlite => &Sqlite,
    }
}

struct Postgres;
struct MySql;
struct Sqlite;

fn quote_with(name: &str, quote: char) -> String {
    let doubled = format!("{quote}{quote}");
    format!("{quote}{}{quote}", name.replace(quote, &doubled))
}

impl SqlDialect for Postgres {
    fn quote_ident(&self, name: &str) -> String {
        quote_with(name, '"')
    }
    fn columns_query(&self, table: &str) -> String {
        // The catalogs, not information_schema.columns: the view took 5 ms per call in a schema of a thousand
        // tables (a run asks twice); the catalogs answer from their indexes.
        format!(
            "SELECT CAST(a.attname AS TEXT) FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
             WHERE c.relnamespace = (SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname = current_schema()) \
             AND c.relname = {} AND a.attnum > 0 AND NOT a.attisdropped",
            self.literal(table)
        )
    }
    fn batch_elapsed_ms(&self) -> Option<&'static str> {
        // statement_timestamp() is when the whole simple-query message arrived.
        Some("CAST(EXTRACT(EPOCH FROM (clock_timestamp() - statement_timestamp())) * 1000 AS BIGINT)")
    }
    fn batch_is_atomic(&self) -> bool {
        true
    }
    fn prepares(&self) -> bool {
        true
    }
    fn string_agg(&self, expr: &str, sep: &str) -> Option<String> {
        Some(format!("string_agg({expr}, {})", self.literal(sep)))
    }
    fn head_guard(&self, history: &str, head: &str, namespace: &str, name: &str) -> String {
        // One statement-level trigger (it sees TRUNCATE too) calling one function per schema; names are bound at
        // creation, in the schema the bookkeeping lives in, so a session with another search_path that edits the
        // history still reaches the head table.
        let (table, name, head, namespace) =
            (self.literal(&self.quote_ident(history)), self.literal(name), self.literal(head), self.literal(namespace));
        let body = format!(
            "BEGIN
  IF to_regprocedure(format('%I.dbwarden_head_forget()', current_schema())) IS NULL THEN
    EXECUTE format('CREATE FUNCTION %I.dbwarden_head_forget() RETURNS trigger LANGUAGE plpgsql AS %L',
      current_schema(),
      format('BEGIN DELETE FROM %I.%I WHERE %I = TG_ARGV[0]; RETURN NULL; END', current_schema(), {head}, 'namespace'));
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass({table}) AND tgname = {name}) THEN
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %s FOR EACH STATEMENT '
      'EXECUTE PROCEDURE %I.dbwarden_head_forget(%L)', {name}, {table}, current_schema(), {namespace});
  END IF;
END"
        );
        let mut tag = String::from("$dbwarden$");
        while body.contains(&tag) {
            tag.insert(tag.len() - 1, '_');
        }
        format!("DO {tag}\n{body}\n{tag}")
    }
}

impl SqlDialect for MySql {
    fn quote_ident(&self, name: &str) -> String {
        quote_with(name, '`')
    }
    fn literal(&self, value: &str) -> String {
        // Backslashes escape in MySQL strings unless NO_BACKSLASH_ESCAPES is set; doubling them is right both ways.
        format!("'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
    }
    fn text(&self, expr: &str) -> String {
        format!("CAST({expr} AS CHAR)")
    }
    fn columns_query(&self, table: &str) -> String {
        format!(
            "SELECT CAST(column_name AS CHAR) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = {}",
            self.literal(table)
        )
    }
    fn batch_prefix(&self) -> &'static str {
        "SET @dbwarden_t0 = NOW(6);\n"
    }
    fn batch_elapsed_ms(&self) -> Option<&'static str> {
        Some("CAST(TIMESTAMPDIFF(MICROSECOND, @dbwarden_t0, NOW(6)) / 1000 AS SIGNED)")
    }
    fn autocommit_batches(&self) -> bool {
        true
    }
    fn concat(&self, parts: &[String]) -> String {
        format!("CONCAT({})", parts.join(", "))
    }
    fn string_agg(&self, expr: &str, sep: &str) -> Option<String> {
        Some(format!("GROUP_CONCAT({expr} SEPARATOR {})", self.literal(sep)))
    }
    fn head_guard(&self, history: &str, head: &str, namespace: &str, name: &str) -> String {
        // IF NOT EXISTS: MariaDB 10.1.4, MySQL 8.0.29; older servers fail here and the check counts rows instead.
        row_triggers(self, history, head, namespace, name, |forget| forget.to_string())
    }
}

impl SqlDialect for Sqlite {
    fn quote_ident(&self, name: &str) -> String {
        quote_with(name, '"')
    }
    fn columns_query(&self, table: &str) -> String {
        format!("SELECT name FROM pragma_table_info({})", self.literal(table))
    }
    fn string_agg(&self, expr: &str, sep: &str) -> Option<String> {
        Some(format!("group_concat({expr}, {})", self.literal(sep)))
    }
    fn head_guard(&self, history: &str, head: &str, namespace: &str, name: &str) -> String {
        // One transaction: three autocommit statements would be three commits, each a few fsyncs.
        let triggers = row_triggers(self, history, head, namespace, name, |forget| format!("BEGIN {forget}; END"));
        format!("BEGIN;\n{triggers};\nCOMMIT")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_doubles_quote_characters() {
        assert_eq!(of(Dialect::Postgres).quote_ident("we\"ird"), "\"we\"\"ird\"");
        assert_eq!(of(Dialect::MySql).quote_ident("or`der"), "`or``der`");
        assert_eq!(of(Dialect::Sqlite).quote_ident("user"), "\"user\"");
        assert_eq!(of(Dialect::MySql).literal("a'b\\"), "'a''b\\\\'");
        assert_eq!(of(Dialect::Postgres).literal("a'b\\"), "'a''b\\'");
    }
}

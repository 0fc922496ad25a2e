//! SQLite types. SQLite keeps the declared type text verbatim (`pragma_table_info(...).type`), so each type gets a
//! readable name that parses back exactly; the names are chosen for the affinity they give (SQLite's rules: `INT`
//! anywhere => INTEGER, `CHAR`/`CLOB`/`TEXT` => TEXT, `BLOB` => BLOB, `REAL`/`FLOA`/`DOUB` => REAL, else NUMERIC).
//!
//! Decisions: a non-auto-increment `Integer` is `INT`, not `INTEGER`, because `INTEGER` as the only primary key
//! column makes the column an alias of the rowid (it numbers itself); an auto-increment integer of any width is
//! `INTEGER` and reads back as `BigInt` (the rowid is 64-bit). Boolean is `BOOLEAN`, JSON `JSON`, UUID `UUID`,
//! timestamps `TIMESTAMP`/`TIMESTAMPTZ` (NUMERIC affinity: text that is not a number is stored as text; a JSON
//! document that is a bare number is stored as a number). Enums are `VARCHAR(longest)`: SQLite allows only numbers
//! in a type's parentheses.

use dbwarden_core::schema::ColumnType;

use super::{custom, enum_width, spell, CatalogType, TypeMap};

pub(super) struct Sqlite;

/// The types a `STRICT` table takes.
pub(crate) const STRICT_TYPES: [&str; 6] = ["INT", "INTEGER", "REAL", "TEXT", "BLOB", "ANY"];

impl TypeMap for Sqlite {
    fn canonical_collation(&self, name: &str) -> Option<String> {
        Some(name.to_ascii_uppercase()).filter(|n| n != "BINARY")
    }

    fn collatable(&self, _ty: &ColumnType) -> bool {
        true // COLLATE applies to any column
    }

    fn fits_strict_table(&self, ty: &ColumnType, auto_increment: bool) -> bool {
        let rendered = self.render(ty, auto_increment);
        STRICT_TYPES.iter().any(|t| rendered.eq_ignore_ascii_case(t))
    }

    fn render(&self, ty: &ColumnType, auto_increment: bool) -> String {
        if auto_increment && ty.is_integer() {
            return "INTEGER".into();
        }
        match ty {
            ColumnType::SmallInt => "SMALLINT".into(),
            ColumnType::Integer => "INT".into(),
            ColumnType::BigInt => "BIGINT".into(),
            ColumnType::Real => "REAL".into(),
            ColumnType::Double => "DOUBLE".into(),
            ColumnType::Boolean => "BOOLEAN".into(),
            ColumnType::Text => "TEXT".into(),
            ColumnType::Varchar(n) => format!("VARCHAR({n})"),
            ColumnType::Char(n) => format!("CHAR({n})"),
            ColumnType::Blob => "BLOB".into(),
            ColumnType::Date => "DATE".into(),
            ColumnType::Time => "TIME".into(),
            ColumnType::Timestamp => "TIMESTAMP".into(),
            ColumnType::TimestampTz => "TIMESTAMPTZ".into(),
            ColumnType::Uuid => "UUID".into(),
            ColumnType::Decimal(p, s) => format!("DECIMAL({p},{s})"),
            ColumnType::Json => "JSON".into(),
            ColumnType::Enum(values) => format!("VARCHAR({})", enum_width(values)),
            ColumnType::Custom(sql) => sql.clone(),
        }
    }

    fn parse(&self, catalog: &CatalogType) -> ColumnType {
        let text = catalog.full();
        let Some(s) = spell(&text) else { return custom(&text) };
        match (s.name.as_str(), s.args.as_deref()) {
            ("smallint" | "int2", None) => ColumnType::SmallInt,
            ("int" | "integer" | "int4", None) => ColumnType::Integer,
            ("bigint" | "int8", None) => ColumnType::BigInt,
            ("real" | "float" | "float4", None) => ColumnType::Real,
            ("double" | "double precision" | "float8", None) => ColumnType::Double,
            ("boolean" | "bool", None) => ColumnType::Boolean,
            ("text", None) => ColumnType::Text,
            ("varchar" | "character varying", Some([n])) => ColumnType::Varchar(*n),
            ("char" | "character", Some([n])) => ColumnType::Char(*n),
            ("blob", None) => ColumnType::Blob,
            ("date", None) => ColumnType::Date,
            ("time", None) => ColumnType::Time,
            ("timestamp" | "datetime", None) => ColumnType::Timestamp,
            ("timestamptz" | "timestamp with time zone", None) => ColumnType::TimestampTz,
            ("uuid", None) => ColumnType::Uuid,
            ("decimal" | "numeric", Some([p, sc])) => ColumnType::Decimal(*p, *sc),
            ("json", None) => ColumnType::Json,
            _ => custom(&text),
        }
    }

    fn canonical(&self, ty: &ColumnType, auto_increment: bool) -> ColumnType {
        match ty {
            t if auto_increment && t.is_integer() => ColumnType::BigInt,
            ColumnType::Enum(values) => ColumnType::Varchar(enum_width(values)),
            ColumnType::Custom(sql) => match self.parse(&CatalogType::named(sql.clone())) {
                custom @ ColumnType::Custom(_) => custom,
                // A spelling of a portable type reads back as that type does (`INTEGER` numbering itself is a
                // `BigInt`): canonical twice changes nothing.
                parsed => self.canonical(&parsed, auto_increment),
            },
            other => other.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types_parse() {
        let parse = |t: &str| Sqlite.parse(&CatalogType::named(t));
        assert_eq!(parse("VARCHAR (255)"), ColumnType::Varchar(255));
        assert_eq!(parse("integer"), ColumnType::Integer);
        assert_eq!(parse("UNSIGNED BIG INT"), ColumnType::Custom("unsigned big int".into()));
        assert_eq!(parse(""), ColumnType::Custom("".into()));
        assert_eq!(Sqlite.render(&ColumnType::SmallInt, true), "INTEGER");
        assert_eq!(Sqlite.canonical(&ColumnType::Integer, true), ColumnType::BigInt);
    }

    #[test]
    fn strict_tables_take_six_types() {
        let fits = |ty: ColumnType| Sqlite.fits_strict_table(&ty, false);
        assert!(
            fits(ColumnType::Integer) && fits(ColumnType::Text) && fits(ColumnType::Real) && fits(ColumnType::Blob)
        );
        assert!(fits(ColumnType::Custom("any".into())) && Sqlite.fits_strict_table(&ColumnType::BigInt, true));
        assert!(!fits(ColumnType::BigInt) && !fits(ColumnType::Varchar(40)) && !fits(ColumnType::Boolean));
        assert!(!fits(ColumnType::Double) && !fits(ColumnType::Custom("varchar".into())));
    }
}

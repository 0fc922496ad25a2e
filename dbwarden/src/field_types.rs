//! The Rust field types `#[derive(Table)]` maps from other crates, each proven by a marker trait at compile time.
//!
//! The derive reads a field's type by name (`NaiveDateTime` => `TIMESTAMP`); these traits make sure the name is the
//! type it looks like, so a project's own `struct Uuid` or `type Value = String` is a compile error at the field
//! instead of a wrong column. The implementations for other crates come with a cargo feature of `dbwarden` each:
//!
//! | feature | types | column |
//! |---|---|---|
//! | `chrono` | `NaiveDate`, `NaiveTime`, `NaiveDateTime`, `DateTime<Tz>` | `DATE`, `TIME`, `TIMESTAMP`, `TIMESTAMP WITH TIME ZONE` |
//! | `time` | `Date`, `Time`, `PrimitiveDateTime`, `OffsetDateTime` | the same four |
//! | `uuid` | `uuid::Uuid` | `UUID` (`CHAR(36)` on MySQL) |
//! | `rust_decimal` | `rust_decimal::Decimal` | `DECIMAL(p, s)` (`precision`, `scale`) |
//! | `json` | `serde_json::Value`, `sqlx::types::Json<T>` | `JSON` (`JSONB` is `sql_type = "JSONB"`) |
//!
//! ```toml
//! [dependencies]
//! dbwarden = { version = "0.1", features = ["chrono", "uuid"] }
//! ```
//!
//! Any other type becomes a column with `#[dbwarden(sql_type = "...")]`.

/// A date (`DATE`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a date type dbwarden maps",
    label = "not a date type dbwarden knows",
    note = "enable dbwarden's `chrono` feature for chrono::NaiveDate, or `time` for time::Date",
    note = "any other type: `#[dbwarden(sql_type = \"...\")]` on the field"
)]
pub trait DateField {}

/// A time of day (`TIME`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a time-of-day type dbwarden maps",
    label = "not a time-of-day type dbwarden knows",
    note = "enable dbwarden's `chrono` feature for chrono::NaiveTime, or `time` for time::Time",
    note = "any other type: `#[dbwarden(sql_type = \"...\")]` on the field"
)]
pub trait TimeField {}

/// A timestamp without time zone (`TIMESTAMP`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a timestamp type dbwarden maps",
    label = "not a timestamp type dbwarden knows",
    note = "enable dbwarden's `chrono` feature for chrono::NaiveDateTime, or `time` for time::PrimitiveDateTime",
    note = "any other type: `#[dbwarden(sql_type = \"...\")]` on the field"
)]
pub trait TimestampField {}

/// A timestamp with time zone (`TIMESTAMP WITH TIME ZONE`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a timestamp-with-time-zone type dbwarden maps",
    label = "not a timestamp-with-time-zone type dbwarden knows",
    note = "enable dbwarden's `chrono` feature for chrono::DateTime<Tz>, or `time` for time::OffsetDateTime",
    note = "any other type: `#[dbwarden(sql_type = \"...\")]` on the field"
)]
pub trait TimestampTzField {}

/// A UUID.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a UUID type dbwarden maps",
    label = "not a UUID type dbwarden knows",
    note = "enable dbwarden's `uuid` feature for uuid::Uuid",
    note = "any other type: `#[dbwarden(sql_type = \"...\")]` on the field"
)]
pub trait UuidField {}

/// A fixed-point decimal (`DECIMAL(p, s)`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a decimal type dbwarden maps",
    label = "not a decimal type dbwarden knows",
    note = "enable dbwarden's `rust_decimal` feature for rust_decimal::Decimal",
    note = "any other type: `#[dbwarden(sql_type = \"...\")]` on the field"
)]
pub trait DecimalField {}

/// A JSON document.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a JSON type dbwarden maps",
    label = "not a JSON type dbwarden knows",
    note = "enable dbwarden's `json` feature for serde_json::Value and sqlx::types::Json<T>",
    note = "any other type: `#[dbwarden(sql_type = \"...\")]` on the field"
)]
pub trait JsonField {}

#[cfg(feature = "chrono")]
mod chrono_impls {
    impl super::DateField for chrono::NaiveDate {}
    impl super::TimeField for chrono::NaiveTime {}
    impl super::TimestampField for chrono::NaiveDateTime {}
    impl<Tz: chrono::TimeZone> super::TimestampTzField for chrono::DateTime<Tz> {}
}

#[cfg(feature = "time")]
mod time_impls {
    impl super::DateField for time::Date {}
    impl super::TimeField for time::Time {}
    impl super::TimestampField for time::PrimitiveDateTime {}
    impl super::TimestampTzField for time::OffsetDateTime {}
}

#[cfg(feature = "uuid")]
impl UuidField for uuid::Uuid {}

#[cfg(feature = "rust_decimal")]
impl DecimalField for rust_decimal::Decimal {}

#[cfg(feature = "json")]
mod json_impls {
    impl super::JsonField for serde_json::Value {}
    impl<T> super::JsonField for sqlx::types::Json<T> {}
}

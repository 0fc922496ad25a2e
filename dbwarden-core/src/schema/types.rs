//! Portable column types. Each dialect renders and reads them back (in the runtime crate); here they are values
//! with one text form, used in snapshots and messages: `bigint`, `varchar(255)`, `decimal(10,2)`, `timestamptz`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A portable column type.
///
/// ```
/// use dbwarden_core::schema::ColumnType;
/// let t: ColumnType = "varchar(255)".parse().unwrap();
/// assert_eq!(t, ColumnType::Varchar(255));
/// assert_eq!(ColumnType::Decimal(10, 2).to_string(), "decimal(10,2)");
/// assert_eq!("enum('a','b')".parse::<ColumnType>().unwrap(), ColumnType::Enum(vec!["a".into(), "b".into()]));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum ColumnType {
    /// 16-bit integer.
    SmallInt,
    /// 32-bit integer.
    Integer,
    /// 64-bit integer.
    BigInt,
    /// 32-bit float.
    Real,
    /// 64-bit float.
    Double,
    /// Boolean (TINYINT(1) on MySQL, INTEGER on SQLite).
    Boolean,
    /// Unbounded text.
    Text,
    /// Text of at most n characters.
    Varchar(u32),
    /// Fixed-length text.
    Char(u32),
    /// Bytes.
    Blob,
    /// A date.
    Date,
    /// A time of day.
    Time,
    /// Date and time without time zone.
    Timestamp,
    /// Date and time with time zone.
    TimestampTz,
    /// A UUID (native on PostgreSQL, CHAR(36) elsewhere).
    Uuid,
    /// Exact decimal with precision and scale.
    Decimal(u32, u32),
    /// JSON (JSONB on PostgreSQL, JSON on MySQL, TEXT on SQLite).
    Json,
    /// One of a fixed set of strings.
    Enum(Vec<String>),
    /// A type given verbatim (`sql_type = "..."`), compared by its lower-cased text.
    Custom(String),
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ColumnType::SmallInt => f.write_str("smallint"),
            ColumnType::Integer => f.write_str("integer"),
            ColumnType::BigInt => f.write_str("bigint"),
            ColumnType::Real => f.write_str("real"),
            ColumnType::Double => f.write_str("double"),
            ColumnType::Boolean => f.write_str("boolean"),
            ColumnType::Text => f.write_str("text"),
            ColumnType::Varchar(n) => write!(f, "varchar({n})"),
            ColumnType::Char(n) => write!(f, "char({n})"),
            ColumnType::Blob => f.write_str("blob"),
            ColumnType::Date => f.write_str("date"),
            ColumnType::Time => f.write_str("time"),
            ColumnType::Timestamp => f.write_str("timestamp"),
            ColumnType::TimestampTz => f.write_str("timestamptz"),
            ColumnType::Uuid => f.write_str("uuid"),
            ColumnType::Decimal(p, s) => write!(f, "decimal({p},{s})"),
            ColumnType::Json => f.write_str("json"),
            ColumnType::Enum(values) => {
                let quoted: Vec<String> = values.iter().map(|v| format!("'{}'", v.replace('\'', "''"))).collect();
                write!(f, "enum({})", quoted.join(","))
            }
            ColumnType::Custom(sql) => write!(f, "sql:{sql}"),
        }
    }
}

/// A type text that is not one of the forms [`ColumnType`] prints.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown column type `{0}`")]
pub struct UnknownType(pub String);

impl FromStr for ColumnType {
    type Err = UnknownType;

    fn from_str(text: &str) -> Result<ColumnType, UnknownType> {
        let unknown = || UnknownType(text.to_string());
        if let Some(sql) = text.strip_prefix("sql:") {
            return Ok(ColumnType::Custom(sql.to_string()));
        }
        let t = text.trim().to_ascii_lowercase();
        let (head, args) = match t.split_once('(') {
            Some((h, rest)) => (h.trim().to_string(), Some(rest.strip_suffix(')').ok_or_else(unknown)?.to_string())),
            None => (t.clone(), None),
        };
        let num = |s: &str| s.trim().parse::<u32>().map_err(|_| unknown());
        Ok(match (head.as_str(), args.as_deref()) {
            ("smallint", None) => ColumnType::SmallInt,
            ("integer", None) => ColumnType::Integer,
            ("bigint", None) => ColumnType::BigInt,
            ("real", None) => ColumnType::Real,
            ("double", None) => ColumnType::Double,
            ("boolean", None) => ColumnType::Boolean,
            ("text", None) => ColumnType::Text,
            ("varchar", Some(n)) => ColumnType::Varchar(num(n)?),
            ("char", Some(n)) => ColumnType::Char(num(n)?),
            ("blob", None) => ColumnType::Blob,
            ("date", None) => ColumnType::Date,
            ("time", None) => ColumnType::Time,
            ("timestamp", None) => ColumnType::Timestamp,
            ("timestamptz", None) => ColumnType::TimestampTz,
            ("uuid", None) => ColumnType::Uuid,
            ("decimal", Some(ps)) => {
                let (p, s) = ps.split_once(',').ok_or_else(unknown)?;
                ColumnType::Decimal(num(p)?, num(s)?)
            }
            ("json", None) => ColumnType::Json,
            ("enum", Some(_)) => {
                // Values keep their case: parse them from the original text.
                let start = text.find('(').ok_or_else(unknown)?;
                let inner = text[start + 1..].trim_end().strip_suffix(')').ok_or_else(unknown)?;
                ColumnType::Enum(parse_quoted_list(inner).ok_or_else(unknown)?)
            }
            _ => return Err(unknown()),
        })
    }
}

fn parse_quoted_list(inner: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut chars = inner.trim().chars().peekable();
    while chars.peek().is_some() {
        if chars.next()? != '\'' {
            return None;
        }
        let mut value = String::new();
        loop {
            match chars.next()? {
                '\'' if chars.peek() == Some(&'\'') => {
                    chars.next();
                    value.push('\'');
                }
                '\'' => break,
                c => value.push(c),
            }
        }
        out.push(value);
        while matches!(chars.peek(), Some(' ')) {
            chars.next();
        }
        match chars.next() {
            None => break,
            Some(',') => {
                while matches!(chars.peek(), Some(' ')) {
                    chars.next();
                }
            }
            Some(_) => return None,
        }
    }
    Some(out)
}

impl From<ColumnType> for String {
    fn from(t: ColumnType) -> String {
        t.to_string()
    }
}

impl TryFrom<String> for ColumnType {
    type Error = UnknownType;
    fn try_from(s: String) -> Result<ColumnType, UnknownType> {
        s.parse()
    }
}

impl ColumnType {
    /// Whether it is a text type (text, a bounded string, an enum's values): one that can have a collation.
    ///
    /// ```
    /// use dbwarden_core::schema::ColumnType;
    /// assert!(ColumnType::Varchar(20).is_text_like() && !ColumnType::Integer.is_text_like());
    /// ```
    pub fn is_text_like(&self) -> bool {
        matches!(self, ColumnType::Text | ColumnType::Varchar(_) | ColumnType::Char(_) | ColumnType::Enum(_))
    }

    /// Whether it is an integer type (an integer primary key numbers itself).
    pub fn is_integer(&self) -> bool {
        matches!(self, ColumnType::SmallInt | ColumnType::Integer | ColumnType::BigInt)
    }
}

impl ColumnType {
    /// Whether a foreign key may join a column of this type to one of `other`: the same type, or two bounded
    /// strings (lengths may differ); a custom type is the user's responsibility. MySQL refuses anything else, and
    /// PostgreSQL refuses most of it.
    ///
    /// ```
    /// use dbwarden_core::schema::ColumnType;
    /// assert!(ColumnType::Varchar(10).joins_by_foreign_key(&ColumnType::Varchar(20)));
    /// assert!(!ColumnType::Varchar(10).joins_by_foreign_key(&ColumnType::Integer));
    /// assert!(!ColumnType::Integer.joins_by_foreign_key(&ColumnType::BigInt));
    /// ```
    pub fn joins_by_foreign_key(&self, other: &ColumnType) -> bool {
        use ColumnType::*;
        self == other
            || matches!(self, Custom(_))
            || matches!(other, Custom(_))
            || matches!((self, other), (Varchar(_) | Char(_), Varchar(_) | Char(_)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_through_its_text() {
        let all = [
            ColumnType::SmallInt,
            ColumnType::Integer,
            ColumnType::BigInt,
            ColumnType::Real,
            ColumnType::Double,
            ColumnType::Boolean,
            ColumnType::Text,
            ColumnType::Varchar(255),
            ColumnType::Char(2),
            ColumnType::Blob,
            ColumnType::Date,
            ColumnType::Time,
            ColumnType::Timestamp,
            ColumnType::TimestampTz,
            ColumnType::Uuid,
            ColumnType::Decimal(10, 2),
            ColumnType::Json,
            ColumnType::Enum(vec!["Draft".into(), "it's".into(), "a,b".into()]),
            ColumnType::Custom("CITEXT".into()),
        ];
        for t in all {
            assert_eq!(t.to_string().parse::<ColumnType>().unwrap(), t, "{t}");
        }
        assert!("varchar".parse::<ColumnType>().is_err());
        assert!("enum('a' 'b')".parse::<ColumnType>().is_err());
    }
}

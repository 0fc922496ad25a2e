//! Column types per dialect: how a portable [`ColumnType`] is written in DDL, how the catalog's spelling is read
//! back, and what a type becomes after that round trip ([`TypeMap::canonical`]). Render and parse live side by side
//! so they cannot drift apart; models are compared with live databases through `canonical`.

use dbwarden_core::schema::ColumnType;
use dbwarden_core::Dialect;

/// A type as a catalog describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CatalogType {
    /// The type name or full declaration, as the catalog gives it (`character varying`, `varchar(255)`,
    /// `tinyint(1)`, `enum('a','b')`, `NUMERIC(10,2)`).
    pub name: String,
    /// Character length, where the catalog reports it separately.
    pub length: Option<u32>,
    /// Numeric precision, where reported separately.
    pub precision: Option<u32>,
    /// Numeric scale, where reported separately.
    pub scale: Option<u32>,
}

/// The type vocabulary of one dialect.
pub trait TypeMap: Sync {
    /// The DDL spelling of `ty` (for an auto-increment column, the spelling that numbers itself).
    fn render(&self, ty: &ColumnType, auto_increment: bool) -> String;
    /// The portable type of a catalog type.
    fn parse(&self, catalog: &CatalogType) -> ColumnType;
    /// What `ty` reads back as after [`TypeMap::render`] and [`TypeMap::parse`] (e.g. UUID on MySQL is CHAR(36)).
    fn canonical(&self, ty: &ColumnType, auto_increment: bool) -> ColumnType {
        let _ = auto_increment;
        ty.clone()
    }
}

/// The type map of `dialect`.
pub fn of(dialect: Dialect) -> &'static dyn TypeMap {
    let _ = dialect;
    unimplemented!("written by the introspection work")
}

//! `#[derive(Table)]`: a struct becomes a `dbwarden::schema::ModelTable`, registered at compile time.
//!
//! Everything that one struct can get wrong is a `syn::Error` at the span of the mistake; what needs the whole set of
//! models (a foreign key to a table declared elsewhere) is checked at generation by `dbwarden::models::schema`.

use std::collections::{BTreeMap, BTreeSet};

use dbwarden_core::schema::{check_name, fk_name, index_name, unique_name, ColumnType, FkAction};
use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::ext::IdentExt;
use syn::meta::ParseNestedMeta;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, GenericArgument, LitInt, LitStr, PathArguments, Token, Type};

const TABLE_KEYS: &str = "name, comment, database, index(...), unique(...), check(...), primary_key(...), renamed_from";
const COLUMN_KEYS: &str = "primary_key, unique, index, length, precision, scale, default, references, on_delete, \
                           on_update, column, comment, renamed_from, sql_type, collation, skip";

/// Default precision and scale of a `Decimal` field without `precision`/`scale`.
const DECIMAL_DEFAULT: (u32, u32) = (38, 10);

/// The derive's entry point: the generated items, or the first error as a `compile_error!`.
pub fn derive(input: TokenStream) -> TokenStream {
    expand(input).unwrap_or_else(|e| e.to_compile_error())
}

fn err<T>(span: Span, message: impl std::fmt::Display) -> syn::Result<T> {
    Err(syn::Error::new(span, message))
}

/// A string value with its span.
#[derive(Clone)]
struct Spanned2<T> {
    value: T,
    span: Span,
}

fn set_once<T>(slot: &mut Option<Spanned2<T>>, value: T, meta: &ParseNestedMeta, key: &str) -> syn::Result<()> {
    if slot.is_some() {
        return Err(meta.error(format!("`{key}` is given twice")));
    }
    *slot = Some(Spanned2 { value, span: meta.path.span() });
    Ok(())
}

fn string(meta: &ParseNestedMeta, key: &str) -> syn::Result<Spanned2<String>> {
    let lit: LitStr = meta
        .value()
        .and_then(|v| v.parse())
        .map_err(|e| syn::Error::new(e.span(), format!("`{key}` takes a string: `{key} = \"...\"`")))?;
    Ok(Spanned2 { value: lit.value(), span: lit.span() })
}

fn integer(meta: &ParseNestedMeta, key: &str) -> syn::Result<Spanned2<u32>> {
    let lit: LitInt = meta
        .value()
        .and_then(|v| v.parse())
        .map_err(|e| syn::Error::new(e.span(), format!("`{key}` takes an integer: `{key} = 10`")))?;
    let value = lit.base10_parse::<u32>()?;
    Ok(Spanned2 { value, span: lit.span() })
}

fn flag(meta: &ParseNestedMeta, key: &str) -> syn::Result<Span> {
    if !(meta.input.is_empty() || meta.input.peek(Token![,])) {
        return Err(meta.error(format!("`{key}` takes no value: write `{key}` alone")));
    }
    Ok(meta.path.span())
}

/// `("a", "b")`: a parenthesised list of column names.
fn column_list(meta: &ParseNestedMeta, key: &str) -> syn::Result<Vec<Spanned2<String>>> {
    let usage = || format!("`{key}` takes a list of column names: `{key}(\"a\", \"b\")`");
    if !meta.input.peek(syn::token::Paren) {
        return Err(meta.error(usage()));
    }
    let content;
    syn::parenthesized!(content in meta.input);
    let list =
        Punctuated::<LitStr, Token![,]>::parse_terminated(&content).map_err(|e| syn::Error::new(e.span(), usage()))?;
    if list.is_empty() {
        return Err(meta.error(format!("`{key}` needs at least one column")));
    }
    Ok(list.into_iter().map(|l| Spanned2 { value: l.value(), span: l.span() }).collect())
}

fn unknown(meta: &ParseNestedMeta, level: &str, keys: &str) -> syn::Error {
    let path = &meta.path;
    let key = path.get_ident().map(|i| i.to_string()).unwrap_or_else(|| quote!(#path).to_string().replace(' ', ""));
    meta.error(format!("unknown dbwarden {level} attribute `{key}`; expected one of: {keys}"))
}

// ---------------------------------------------------------------------------------------------------------------
// Attributes
// ---------------------------------------------------------------------------------------------------------------

struct IndexAttr {
    name: Option<Spanned2<String>>,
    columns: Vec<Spanned2<String>>,
    unique: bool,
    span: Span,
}

struct CheckAttr {
    name: Spanned2<String>,
    expr: String,
}

#[derive(Default)]
struct TableAttrs {
    name: Option<Spanned2<String>>,
    comment: Option<Spanned2<String>>,
    database: Option<Spanned2<String>>,
    renamed_from: Option<Spanned2<String>>,
    indexes: Vec<IndexAttr>,
    uniques: Vec<IndexAttr>,
    checks: Vec<CheckAttr>,
    primary_key: Option<Spanned2<Vec<Spanned2<String>>>>,
}

fn parse_table_attrs(attrs: &[syn::Attribute]) -> syn::Result<TableAttrs> {
    let mut t = TableAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("dbwarden")) {
        attr.parse_nested_meta(|meta| {
            let p = &meta.path;
            if p.is_ident("name") {
                let v = string(&meta, "name")?;
                if v.value.is_empty() {
                    return err(v.span, "the table name cannot be empty");
                }
                set_once(&mut t.name, v.value, &meta, "name")
            } else if p.is_ident("comment") {
                let v = string(&meta, "comment")?;
                set_once(&mut t.comment, v.value, &meta, "comment")
            } else if p.is_ident("database") {
                let v = string(&meta, "database")?;
                if v.value.is_empty() {
                    return err(v.span, "the database name cannot be empty");
                }
                set_once(&mut t.database, v.value, &meta, "database")
            } else if p.is_ident("renamed_from") {
                let v = string(&meta, "renamed_from")?;
                set_once(&mut t.renamed_from, v.value, &meta, "renamed_from")
            } else if p.is_ident("primary_key") {
                if !meta.input.peek(syn::token::Paren) {
                    return Err(meta.error(
                        "on the struct, `primary_key` lists the key columns: `primary_key(\"a\", \"b\")`; \
                         for a one-column key put `#[dbwarden(primary_key)]` on the field",
                    ));
                }
                let columns = column_list(&meta, "primary_key")?;
                set_once(&mut t.primary_key, columns, &meta, "primary_key")
            } else if p.is_ident("index") || p.is_ident("unique") {
                let is_index = p.is_ident("index");
                let what = if is_index { "index" } else { "unique" };
                let keys = if is_index { "name, columns(...), unique" } else { "name, columns(...)" };
                let span = meta.path.span();
                let mut name = None;
                let mut columns = None;
                let mut unique = false;
                if !meta.input.peek(syn::token::Paren) {
                    return Err(meta.error(format!(
                        "on the struct, `{what}` takes its columns: `{what}(columns(\"a\", \"b\"))`; \
                         for one column put `#[dbwarden({what})]` on the field"
                    )));
                }
                meta.parse_nested_meta(|inner| {
                    if inner.path.is_ident("name") {
                        let v = string(&inner, "name")?;
                        if v.value.is_empty() {
                            return err(v.span, "the name cannot be empty");
                        }
                        set_once(&mut name, v.value, &inner, "name")
                    } else if inner.path.is_ident("columns") {
                        let list = column_list(&inner, "columns")?;
                        set_once(&mut columns, list, &inner, "columns")
                    } else if is_index && inner.path.is_ident("unique") {
                        flag(&inner, "unique")?;
                        unique = true;
                        Ok(())
                    } else {
                        Err(unknown(&inner, &format!("{what}(...)"), keys))
                    }
                })?;
                let Some(columns) = columns else {
                    return err(span, format!("`{what}(...)` needs its columns: `{what}(columns(\"a\", \"b\"))`"));
                };
                let attr = IndexAttr {
                    name: name.map(|n| Spanned2 { value: n.value, span: n.span }),
                    columns: columns.value,
                    unique,
                    span,
                };
                if is_index {
                    t.indexes.push(attr);
                } else {
                    t.uniques.push(attr);
                }
                Ok(())
            } else if p.is_ident("check") {
                let span = meta.path.span();
                let mut name: Option<Spanned2<String>> = None;
                let mut expr: Option<Spanned2<String>> = None;
                if !meta.input.peek(syn::token::Paren) {
                    return Err(
                        meta.error("`check` takes a name and an expression: `check(name = \"...\", expr = \"...\")`")
                    );
                }
                meta.parse_nested_meta(|inner| {
                    if inner.path.is_ident("name") {
                        let v = string(&inner, "name")?;
                        if v.value.is_empty() {
                            return err(v.span, "the check name cannot be empty");
                        }
                        name = Some(v);
                        Ok(())
                    } else if inner.path.is_ident("expr") {
                        let v = string(&inner, "expr")?;
                        if v.value.trim().is_empty() {
                            return err(v.span, "the check expression cannot be empty");
                        }
                        expr = Some(v);
                        Ok(())
                    } else {
                        Err(unknown(&inner, "check(...)", "name, expr"))
                    }
                })?;
                let Some(name) = name else {
                    return err(
                        span,
                        "`check(...)` needs a name: `check(name = \"positive_price\", expr = \"price > 0\")`",
                    );
                };
                let Some(expr) = expr else {
                    return err(
                        span,
                        "`check(...)` needs an expression: `check(name = \"...\", expr = \"price > 0\")`",
                    );
                };
                t.checks.push(CheckAttr { name, expr: expr.value });
                Ok(())
            } else {
                Err(unknown(&meta, "table", TABLE_KEYS))
            }
        })?;
    }
    Ok(t)
}

#[derive(Default)]
struct FieldAttrs {
    primary_key: Option<Span>,
    unique: Option<Span>,
    index: Option<Span>,
    length: Option<Spanned2<u32>>,
    precision: Option<Spanned2<u32>>,
    scale: Option<Spanned2<u32>>,
    default: Option<Spanned2<String>>,
    references: Option<Spanned2<String>>,
    on_delete: Option<Spanned2<FkAction>>,
    on_update: Option<Spanned2<FkAction>>,
    column: Option<Spanned2<String>>,
    comment: Option<Spanned2<String>>,
    renamed_from: Option<Spanned2<String>>,
    sql_type: Option<Spanned2<String>>,
    collation: Option<Spanned2<String>>,
    skip: Option<Span>,
}

impl FieldAttrs {
    /// The span of the first attribute other than `skip`, if any.
    fn any_but_skip(&self) -> Option<Span> {
        [
            self.primary_key,
            self.unique,
            self.index,
            self.length.as_ref().map(|v| v.span),
            self.precision.as_ref().map(|v| v.span),
            self.scale.as_ref().map(|v| v.span),
            self.default.as_ref().map(|v| v.span),
            self.references.as_ref().map(|v| v.span),
            self.on_delete.as_ref().map(|v| v.span),
            self.on_update.as_ref().map(|v| v.span),
            self.column.as_ref().map(|v| v.span),
            self.comment.as_ref().map(|v| v.span),
            self.renamed_from.as_ref().map(|v| v.span),
            self.sql_type.as_ref().map(|v| v.span),
            self.collation.as_ref().map(|v| v.span),
        ]
        .into_iter()
        .flatten()
        .next()
    }
}

fn set_flag(slot: &mut Option<Span>, meta: &ParseNestedMeta, key: &str) -> syn::Result<()> {
    let span = flag(meta, key)?;
    if slot.is_some() {
        return Err(meta.error(format!("`{key}` is given twice")));
    }
    *slot = Some(span);
    Ok(())
}

fn fk_action(meta: &ParseNestedMeta, key: &str) -> syn::Result<FkAction> {
    let v = string(meta, key)?;
    FkAction::parse(&v.value).ok_or_else(|| {
        syn::Error::new(
            v.span,
            format!(
                "`{key} = \"{}\"` is not a foreign key action; expected one of: \"cascade\", \"restrict\", \
                 \"set null\", \"set default\", \"no action\"",
                v.value
            ),
        )
    })
}

fn parse_field_attrs(attrs: &[syn::Attribute]) -> syn::Result<FieldAttrs> {
    let mut f = FieldAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("dbwarden")) {
        attr.parse_nested_meta(|meta| {
            let p = &meta.path;
            if p.is_ident("primary_key") {
                set_flag(&mut f.primary_key, &meta, "primary_key")
            } else if p.is_ident("unique") {
                set_flag(&mut f.unique, &meta, "unique")
            } else if p.is_ident("index") {
                set_flag(&mut f.index, &meta, "index")
            } else if p.is_ident("skip") {
                set_flag(&mut f.skip, &meta, "skip")
            } else if p.is_ident("length") {
                let v = integer(&meta, "length")?;
                if v.value == 0 {
                    return err(v.span, "`length` must be at least 1");
                }
                set_once(&mut f.length, v.value, &meta, "length")
            } else if p.is_ident("precision") {
                let v = integer(&meta, "precision")?;
                if !(1..=1000).contains(&v.value) {
                    return err(v.span, "`precision` must be between 1 and 1000");
                }
                set_once(&mut f.precision, v.value, &meta, "precision")
            } else if p.is_ident("scale") {
                let v = integer(&meta, "scale")?;
                set_once(&mut f.scale, v.value, &meta, "scale")
            } else if p.is_ident("default") {
                let v = string(&meta, "default")?;
                if v.value.trim().is_empty() {
                    return err(v.span, "`default` is an SQL expression and cannot be empty (for an empty string write `default = \"''\"`)");
                }
                set_once(&mut f.default, v.value, &meta, "default")
            } else if p.is_ident("references") {
                let v = string(&meta, "references")?;
                let parts: Vec<&str> = v.value.split('.').collect();
                let ok = parts.len() == 2 && parts.iter().all(|p| !p.trim().is_empty() && p.trim() == *p);
                if !ok {
                    return err(
                        v.span,
                        format!("`references = \"{}\"` must name one column as \"table.column\", e.g. `references = \"users.id\"`", v.value),
                    );
                }
                set_once(&mut f.references, v.value, &meta, "references")
            } else if p.is_ident("on_delete") {
                let a = fk_action(&meta, "on_delete")?;
                set_once(&mut f.on_delete, a, &meta, "on_delete")
            } else if p.is_ident("on_update") {
                let a = fk_action(&meta, "on_update")?;
                set_once(&mut f.on_update, a, &meta, "on_update")
            } else if p.is_ident("column") {
                let v = string(&meta, "column")?;
                if v.value.is_empty() {
                    return err(v.span, "the column name cannot be empty");
                }
                set_once(&mut f.column, v.value, &meta, "column")
            } else if p.is_ident("comment") {
                let v = string(&meta, "comment")?;
                set_once(&mut f.comment, v.value, &meta, "comment")
            } else if p.is_ident("renamed_from") {
                let v = string(&meta, "renamed_from")?;
                if v.value.is_empty() {
                    return err(v.span, "`renamed_from` cannot be empty");
                }
                set_once(&mut f.renamed_from, v.value, &meta, "renamed_from")
            } else if p.is_ident("sql_type") {
                let v = string(&meta, "sql_type")?;
                if v.value.trim().is_empty() {
                    return err(v.span, "`sql_type` cannot be empty");
                }
                set_once(&mut f.sql_type, v.value, &meta, "sql_type")
            } else if p.is_ident("collation") {
                let v = string(&meta, "collation")?;
                if v.value.trim().is_empty() {
                    return err(v.span, "`collation` cannot be empty; name one, such as \"utf8mb4_bin\"");
                }
                set_once(&mut f.collation, v.value.trim().to_string(), &meta, "collation")
            } else {
                Err(unknown(&meta, "column", COLUMN_KEYS))
            }
        })?;
    }
    Ok(f)
}

// ---------------------------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------------------------

/// What a Rust type maps to, before the attributes that refine it (`length`, `precision`, `scale`).
enum Base {
    Plain(ColumnType),
    String,
    Decimal,
}

fn type_arg(args: &PathArguments) -> Option<&Type> {
    match args {
        PathArguments::AngleBracketed(a) if a.args.len() == 1 => match a.args.first() {
            Some(GenericArgument::Type(t)) => Some(t),
            _ => None,
        },
        _ => None,
    }
}

fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match ty {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last(),
        Type::Group(g) => last_segment(&g.elem),
        Type::Paren(p) => last_segment(&p.elem),
        _ => None,
    }
}

/// `Option<T>` => (T, true); anything else => (ty, false).
fn unwrap_option(ty: &Type) -> syn::Result<(&Type, bool)> {
    if let Some(seg) = last_segment(ty) {
        if seg.ident == "Option" {
            let Some(inner) = type_arg(&seg.arguments) else {
                return err(ty.span(), "`Option` needs one type argument");
            };
            if last_segment(inner).is_some_and(|s| s.ident == "Option") {
                return err(ty.span(), "`Option<Option<T>>` has no column type: a column is nullable or not");
            }
            return Ok((inner, true));
        }
    }
    Ok((ty, false))
}

/// The column type of a Rust type, by the last segment of its path.
fn base_type(ty: &Type) -> Option<Base> {
    let seg = last_segment(ty)?;
    let name = seg.ident.to_string();
    let plain = |t| Some(Base::Plain(t));
    match name.as_str() {
        "i16" => plain(ColumnType::SmallInt),
        "i32" => plain(ColumnType::Integer),
        "i64" => plain(ColumnType::BigInt),
        "f32" => plain(ColumnType::Real),
        "f64" => plain(ColumnType::Double),
        "bool" => plain(ColumnType::Boolean),
        "String" => Some(Base::String),
        "Vec" => {
            let inner = type_arg(&seg.arguments)?;
            (last_segment(inner)?.ident == "u8").then_some(Base::Plain(ColumnType::Blob))
        }
        // chrono and time
        "NaiveDate" | "Date" => plain(ColumnType::Date),
        "NaiveTime" | "Time" => plain(ColumnType::Time),
        "NaiveDateTime" | "PrimitiveDateTime" => plain(ColumnType::Timestamp),
        "DateTime" | "OffsetDateTime" => plain(ColumnType::TimestampTz),
        "Uuid" => plain(ColumnType::Uuid),
        "Decimal" => Some(Base::Decimal),
        // serde_json::Value, sqlx::types::Json<T>
        "Value" | "JsonValue" | "Json" => plain(ColumnType::Json),
        _ => None,
    }
}

/// The marker trait of `dbwarden::field_types` that proves a field type from another crate is the type its name
/// says (and that its cargo feature is on); `None` for the standard types, which the name alone identifies.
fn field_kind(ty: &Type) -> Option<&'static str> {
    // From the column type `base_type` reads, so the names are listed once.
    Some(match base_type(ty)? {
        Base::Plain(ColumnType::Date) => "DateField",
        Base::Plain(ColumnType::Time) => "TimeField",
        Base::Plain(ColumnType::Timestamp) => "TimestampField",
        Base::Plain(ColumnType::TimestampTz) => "TimestampTzField",
        Base::Plain(ColumnType::Uuid) => "UuidField",
        Base::Decimal => "DecimalField",
        Base::Plain(ColumnType::Json) => "JsonField",
        _ => return None,
    })
}

fn type_text(ty: &Type) -> String {
    quote!(#ty).to_string().replace(" < ", "<").replace(" >", ">").replace("< ", "<").replace(" :: ", "::")
}

// ---------------------------------------------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------------------------------------------

struct ColumnOut {
    name: String,
    ty: ColumnType,
    nullable: bool,
    default: Option<String>,
    auto_increment: bool,
    comment: Option<String>,
    collation: Option<String>,
}

struct Fk {
    name: String,
    columns: Vec<String>,
    ref_table: String,
    ref_columns: Vec<String>,
    on_delete: FkAction,
    on_update: FkAction,
}

/// `UserProfile` => `user_profile`, `HTTPRequest` => `http_request`.
pub(crate) fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let boundary = match i.checked_sub(1).map(|j| chars[j]) {
                Some(p) => {
                    p.is_lowercase()
                        || p.is_ascii_digit()
                        || (p.is_uppercase() && chars.get(i + 1).is_some_and(|n| n.is_lowercase()))
                }
                None => false,
            };
            if boundary && !out.ends_with('_') {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let input: DeriveInput = syn::parse2(input)?;
    let ident = &input.ident;
    if !input.generics.params.is_empty() {
        return err(
            input.generics.span(),
            "#[derive(Table)] does not take generic parameters: a table has one fixed set of columns",
        );
    }
    let fields = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(named) => &named.named,
            _ => return err(ident.span(), "#[derive(Table)] needs a struct with named fields"),
        },
        Data::Enum(e) => return err(e.enum_token.span, "#[derive(Table)] applies to structs, not enums"),
        Data::Union(u) => return err(u.union_token.span, "#[derive(Table)] applies to structs, not unions"),
    };

    let t = parse_table_attrs(&input.attrs)?;
    let struct_name = ident.unraw().to_string();
    let table = t.name.as_ref().map(|n| n.value.clone()).unwrap_or_else(|| snake_case(&struct_name));

    let mut columns: Vec<ColumnOut> = Vec::new();
    // column name => (field name, span), to resolve the names that table attributes give.
    let mut by_name: BTreeMap<String, (String, Span)> = BTreeMap::new();
    let mut field_names: BTreeMap<String, String> = BTreeMap::new();
    let mut pk_fields: Vec<(String, Span, bool)> = Vec::new(); // (column, attr span, integer and no fk/default)
    let mut indexes: Vec<(IndexOut, Span)> = Vec::new();
    let mut uniques: Vec<(String, Vec<String>, Span)> = Vec::new();
    let mut fks: Vec<(Fk, Span)> = Vec::new();
    let mut renames: Vec<(String, String)> = Vec::new();
    let mut type_checks: Vec<TokenStream> = Vec::new();

    for field in fields {
        let a = parse_field_attrs(&field.attrs)?;
        let field_ident = field.ident.as_ref().expect("named field");
        if a.skip.is_some() {
            if let Some(other) = a.any_but_skip() {
                return err(other, "a `skip`ped field is not a column: remove its other dbwarden attributes");
            }
            continue;
        }
        let field_name = field_ident.unraw().to_string();
        let (name, name_span) = match &a.column {
            Some(c) => (c.value.clone(), c.span),
            None => (field_name.clone(), field_ident.span()),
        };
        if let Some((other, _)) = by_name.get(&name) {
            let message = if *other == field_name {
                format!("duplicate column name `{name}`")
            } else {
                format!("duplicate column name `{name}`: field `{other}` is already column `{name}`; give one of them another `column = \"...\"`")
            };
            return err(name_span, message);
        }
        by_name.insert(name.clone(), (field_name.clone(), name_span));
        field_names.insert(field_name.clone(), name.clone());

        let (inner, nullable) = unwrap_option(&field.ty)?;
        if let (None, Some(kind)) = (&a.sql_type, field_kind(inner)) {
            // Spanned at the field's type: an unmapped or look-alike type is reported there.
            let kind = syn::Ident::new(kind, inner.span());
            type_checks.push(quote::quote_spanned! {inner.span()=>
                {
                    fn __dbwarden_field_type<T: ?Sized + ::dbwarden::field_types::#kind>() {}
                    __dbwarden_field_type::<#inner>();
                }
            });
        }
        let base = match &a.sql_type {
            Some(_) => None,
            None => Some(base_type(inner).ok_or_else(|| {
                syn::Error::new_spanned(
                    inner,
                    format!(
                        "no column type for `{}`; add `#[dbwarden(sql_type = \"...\")]` with the SQL type of column `{name}`, or `#[dbwarden(skip)]` if it is not a column",
                        type_text(inner)
                    ),
                )
            })?),
        };
        if let Some(len) = &a.length {
            if !matches!(base, Some(Base::String)) {
                let why = if a.sql_type.is_some() {
                    " (with `sql_type`, write the length in the type)".to_string()
                } else {
                    format!(", not `{}`", type_text(inner))
                };
                return err(len.span, format!("`length` applies to `String` fields only{why}"));
            }
        }
        for (attr, key) in [(&a.precision, "precision"), (&a.scale, "scale")] {
            if let Some(v) = attr {
                if !matches!(base, Some(Base::Decimal)) {
                    let why = if a.sql_type.is_some() {
                        " (with `sql_type`, write them in the type)".to_string()
                    } else {
                        format!(", not `{}`", type_text(inner))
                    };
                    return err(v.span, format!("`{key}` applies to `Decimal` fields only{why}"));
                }
            }
        }
        let ty = match (&a.sql_type, base) {
            (Some(sql), _) => ColumnType::Custom(sql.value.trim().to_string()),
            (None, Some(Base::Plain(t))) => t,
            (None, Some(Base::String)) => match &a.length {
                Some(n) => ColumnType::Varchar(n.value),
                None => ColumnType::Text,
            },
            (None, Some(Base::Decimal)) => {
                let (p, s) = match (&a.precision, &a.scale) {
                    (None, None) => DECIMAL_DEFAULT,
                    (Some(p), None) => (p.value, 0),
                    (None, Some(s)) => (DECIMAL_DEFAULT.0, s.value),
                    (Some(p), Some(s)) => (p.value, s.value),
                };
                if s > p {
                    let span = a.scale.as_ref().map(|v| v.span).unwrap_or(field_ident.span());
                    return err(span, format!("`scale` ({s}) cannot exceed `precision` ({p})"));
                }
                ColumnType::Decimal(p, s)
            }
            (None, None) => unreachable!("no sql_type implies a base type"),
        };

        if let Some(c) = &a.collation {
            if !ty.is_text_like() && !matches!(ty, ColumnType::Custom(_)) {
                return err(
                    c.span,
                    format!(
                        "`collation` applies to text columns (`String`, or one with `sql_type`), not `{}`",
                        type_text(inner)
                    ),
                );
            }
        }
        if let Some(pk) = a.primary_key {
            if nullable {
                return Err(syn::Error::new_spanned(
                    &field.ty,
                    "a primary key column cannot be `Option`: primary keys are NOT NULL",
                ));
            }
            if t.primary_key.is_some() {
                return err(
                    pk,
                    "the primary key is declared twice: `primary_key` on this field and `primary_key(...)` on the struct; keep one",
                );
            }
            let numbered = ty.is_integer() && a.references.is_none() && a.default.is_none();
            pk_fields.push((name.clone(), pk, numbered));
        }
        if let Some(span) = a.unique {
            uniques.push((unique_name(&table, &[&name]), vec![name.clone()], span));
        }
        if let Some(span) = a.index {
            let cols = vec![name.clone()];
            indexes.push((IndexOut { name: index_name(&table, &cols), columns: cols, unique: false }, span));
        }
        if a.references.is_none() {
            for (attr, key) in [
                (a.on_delete.as_ref().map(|v| v.span), "on_delete"),
                (a.on_update.as_ref().map(|v| v.span), "on_update"),
            ] {
                if let Some(span) = attr {
                    return err(span, format!("`{key}` needs `references = \"table.column\"` on the same field"));
                }
            }
        }
        if let Some(r) = &a.references {
            let (ref_table, ref_column) = r.value.split_once('.').expect("checked when parsed");
            let cols = vec![name.clone()];
            fks.push((
                Fk {
                    name: fk_name(&table, &cols, ref_table),
                    columns: cols,
                    ref_table: ref_table.to_string(),
                    ref_columns: vec![ref_column.to_string()],
                    on_delete: a.on_delete.as_ref().map(|v| v.value).unwrap_or_default(),
                    on_update: a.on_update.as_ref().map(|v| v.value).unwrap_or_default(),
                },
                r.span,
            ));
        }
        if let Some(old) = &a.renamed_from {
            if old.value == name {
                return err(old.span, format!("`renamed_from` names the column's current name `{name}`"));
            }
            renames.push((name.clone(), old.value.clone()));
        }
        columns.push(ColumnOut {
            name,
            ty,
            nullable,
            default: a.default.map(|d| d.value),
            auto_increment: false,
            comment: a.comment.map(|c| c.value),
            collation: a.collation.map(|c| c.value),
        });
    }

    if columns.is_empty() {
        return err(ident.span(), "#[derive(Table)] needs at least one column (a field that is not `skip`ped)");
    }

    // Names that table attributes give must be columns of this table.
    let column_names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
    let resolve = |list: &[Spanned2<String>]| -> syn::Result<Vec<String>> {
        let mut seen = BTreeSet::new();
        for c in list {
            if !by_name.contains_key(&c.value) {
                let hint = match field_names.get(&c.value) {
                    Some(col) => format!("; field `{}` is column `{col}`", c.value),
                    None => String::new(),
                };
                return err(
                    c.span,
                    format!(
                        "no column `{}` in table `{table}` (its columns: {}){hint}",
                        c.value,
                        column_names.join(", ")
                    ),
                );
            }
            if !seen.insert(&c.value) {
                return err(c.span, format!("column `{}` is listed twice", c.value));
            }
        }
        Ok(list.iter().map(|c| c.value.clone()).collect())
    };

    // The primary key.
    let primary_key: Option<Vec<String>> = match &t.primary_key {
        Some(pk) => {
            let cols = resolve(&pk.value)?;
            for c in &pk.value {
                if columns.iter().any(|col| col.name == c.value && col.nullable) {
                    return err(
                        c.span,
                        format!("primary key column `{}` cannot be `Option`: primary keys are NOT NULL", c.value),
                    );
                }
            }
            Some(cols)
        }
        None if pk_fields.is_empty() => None,
        None => Some(pk_fields.iter().map(|p| p.0.clone()).collect()),
    };
    if let Some(pk) = &primary_key {
        if let [only] = pk.as_slice() {
            let numbered = match &t.primary_key {
                Some(_) => {
                    let col = columns.iter().find(|c| &c.name == only).expect("resolved");
                    col.ty.is_integer() && col.default.is_none() && !fks.iter().any(|(f, _)| f.columns.contains(only))
                }
                None => pk_fields[0].2,
            };
            if numbered {
                columns.iter_mut().find(|c| &c.name == only).expect("resolved").auto_increment = true;
            }
        }
    }

    for ix in &t.indexes {
        let cols = resolve(&ix.columns)?;
        let name = ix.name.as_ref().map(|n| n.value.clone()).unwrap_or_else(|| index_name(&table, &cols));
        indexes
            .push((IndexOut { name, columns: cols, unique: ix.unique }, ix.name.as_ref().map_or(ix.span, |n| n.span)));
    }
    for uq in &t.uniques {
        let cols = resolve(&uq.columns)?;
        let name = uq.name.as_ref().map(|n| n.value.clone()).unwrap_or_else(|| unique_name(&table, &cols));
        uniques.push((name, cols, uq.name.as_ref().map_or(uq.span, |n| n.span)));
    }
    let checks: Vec<(String, String, Span)> = t
        .checks
        .iter()
        .map(|c| {
            let prefix = format!("ck_{table}_");
            let name = if c.name.value.starts_with(&prefix) {
                c.name.value.clone()
            } else {
                check_name(&table, &c.name.value)
            };
            (name, c.expr.clone(), c.name.span)
        })
        .collect();

    // Index and constraint names must differ within the table (across the database: `models::schema`).
    let mut names: BTreeMap<&str, ()> = BTreeMap::new();
    let all_names = indexes
        .iter()
        .map(|(i, s)| (i.name.as_str(), *s))
        .chain(uniques.iter().map(|(n, _, s)| (n.as_str(), *s)))
        .chain(fks.iter().map(|(f, s)| (f.name.as_str(), *s)))
        .chain(checks.iter().map(|(n, _, s)| (n.as_str(), *s)));
    for (name, span) in all_names {
        if names.insert(name, ()).is_some() {
            return err(
                span,
                format!("table `{table}` has two indexes or constraints named `{name}`; name one of them otherwise"),
            );
        }
    }

    // Tokens.
    let s = |v: &str| quote!(::std::string::String::from(#v));
    let opt = |v: Option<&str>| match v {
        Some(v) => {
            let v = s(v);
            quote!(::core::option::Option::Some(#v))
        }
        None => quote!(::core::option::Option::None),
    };
    let strings = |list: &[String]| {
        let items = list.iter().map(|v| s(v));
        quote!(::std::vec![#(#items),*])
    };
    let column_tokens = columns.iter().map(|c| {
        let name = s(&c.name);
        let ty = type_tokens(&c.ty);
        let nullable = c.nullable;
        let default = opt(c.default.as_deref());
        let auto_increment = c.auto_increment;
        let comment = opt(c.comment.as_deref());
        let collation = opt(c.collation.as_deref());
        quote! {
            ::dbwarden::schema::Column {
                name: #name,
                ty: #ty,
                nullable: #nullable,
                default: #default,
                auto_increment: #auto_increment,
                comment: #comment,
                collation: #collation,
                on_update: ::core::option::Option::None,
            }
        }
    });
    let pk_tokens = match &primary_key {
        Some(cols) => {
            let cols = strings(cols);
            quote!(::core::option::Option::Some(::dbwarden::schema::PrimaryKey { columns: #cols }))
        }
        None => quote!(::core::option::Option::None),
    };
    let index_tokens = indexes.iter().map(|(i, _)| {
        let name = s(&i.name);
        let cols = strings(&i.columns);
        let unique = i.unique;
        quote!(::dbwarden::schema::Index { name: #name, columns: #cols, unique: #unique })
    });
    let unique_tokens = uniques.iter().map(|(n, cols, _)| {
        let name = s(n);
        let cols = strings(cols);
        quote!(::dbwarden::schema::Unique { name: #name, columns: #cols })
    });
    let fk_tokens = fks.iter().map(|(f, _)| {
        let name = s(&f.name);
        let cols = strings(&f.columns);
        let ref_table = s(&f.ref_table);
        let ref_cols = strings(&f.ref_columns);
        let on_delete = action_tokens(f.on_delete);
        let on_update = action_tokens(f.on_update);
        quote! {
            ::dbwarden::schema::ForeignKey {
                name: #name,
                columns: #cols,
                ref_table: #ref_table,
                ref_columns: #ref_cols,
                on_delete: #on_delete,
                on_update: #on_update,
            }
        }
    });
    let check_tokens = checks.iter().map(|(n, e, _)| {
        let name = s(n);
        let expr = s(e);
        quote!(::dbwarden::schema::Check { name: #name, expr: #expr })
    });
    let table_name = s(&table);
    let comment = opt(t.comment.as_ref().map(|c| c.value.as_str()));
    let database = opt(t.database.as_ref().map(|c| c.value.as_str()));
    let renamed_from = opt(t.renamed_from.as_ref().map(|c| c.value.as_str()));
    let rename_tokens = renames.iter().map(|(new, old)| {
        let (new, old) = (s(new), s(old));
        quote!((#new, #old))
    });
    let type_check_tokens = if type_checks.is_empty() {
        quote!()
    } else {
        quote! {
            const _: () = {
                #[allow(dead_code)]
                fn __dbwarden_check() {
                    #(#type_checks)*
                }
            };
        }
    };
    let origin_prefix = format!("struct {struct_name} (");
    // `line!()` spanned at the struct name: the line of the struct, not of the derive.
    let line = quote::quote_spanned!(ident.span()=> ::core::line!());

    Ok(quote! {
        #[automatically_derived]
        impl ::dbwarden::models::Model for #ident {
            fn model() -> ::dbwarden::schema::ModelTable {
                ::dbwarden::schema::ModelTable {
                    table: ::dbwarden::schema::Table {
                        name: #table_name,
                        columns: ::std::vec![#(#column_tokens),*],
                        primary_key: #pk_tokens,
                        indexes: ::std::vec![#(#index_tokens),*],
                        uniques: ::std::vec![#(#unique_tokens),*],
                        foreign_keys: ::std::vec![#(#fk_tokens),*],
                        checks: ::std::vec![#(#check_tokens),*],
                        comment: #comment,
                        options: ::std::vec::Vec::new(), // kept from the database, never declared
                    },
                    database: #database,
                    renamed_from: #renamed_from,
                    column_renames: ::std::vec![#(#rename_tokens),*],
                    origin: ::std::format!("{}{}:{})", #origin_prefix, ::core::file!(), #line),
                }
            }
        }

        ::dbwarden::__private::inventory::submit! {
            ::dbwarden::models::Registration(<#ident as ::dbwarden::models::Model>::model)
        }

        #type_check_tokens
    })
}

struct IndexOut {
    name: String,
    columns: Vec<String>,
    unique: bool,
}

fn action_tokens(a: FkAction) -> TokenStream {
    match a {
        FkAction::NoAction => quote!(::dbwarden::schema::FkAction::NoAction),
        FkAction::Restrict => quote!(::dbwarden::schema::FkAction::Restrict),
        FkAction::Cascade => quote!(::dbwarden::schema::FkAction::Cascade),
        FkAction::SetNull => quote!(::dbwarden::schema::FkAction::SetNull),
        FkAction::SetDefault => quote!(::dbwarden::schema::FkAction::SetDefault),
    }
}

fn type_tokens(t: &ColumnType) -> TokenStream {
    let p = quote!(::dbwarden::schema::ColumnType);
    match t {
        ColumnType::SmallInt => quote!(#p::SmallInt),
        ColumnType::Integer => quote!(#p::Integer),
        ColumnType::BigInt => quote!(#p::BigInt),
        ColumnType::Real => quote!(#p::Real),
        ColumnType::Double => quote!(#p::Double),
        ColumnType::Boolean => quote!(#p::Boolean),
        ColumnType::Text => quote!(#p::Text),
        ColumnType::Varchar(n) => quote!(#p::Varchar(#n)),
        ColumnType::Char(n) => quote!(#p::Char(#n)),
        ColumnType::Blob => quote!(#p::Blob),
        ColumnType::Date => quote!(#p::Date),
        ColumnType::Time => quote!(#p::Time),
        ColumnType::Timestamp => quote!(#p::Timestamp),
        ColumnType::TimestampTz => quote!(#p::TimestampTz),
        ColumnType::Uuid => quote!(#p::Uuid),
        ColumnType::Decimal(a, b) => quote!(#p::Decimal(#a, #b)),
        ColumnType::Json => quote!(#p::Json),
        ColumnType::Enum(values) => {
            let values = values.iter().map(|v| quote!(::std::string::String::from(#v)));
            quote!(#p::Enum(::std::vec![#(#values),*]))
        }
        ColumnType::Custom(sql) => quote!(#p::Custom(::std::string::String::from(#sql))),
        // `ColumnType` may grow; a type the derive does not know how to write is a bug here, not the user's.
        #[allow(unreachable_patterns)]
        other => {
            let text = other.to_string();
            quote!(::core::compile_error!(::core::concat!("dbwarden: cannot write column type ", #text)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_of_struct_names() {
        assert_eq!(snake_case("User"), "user");
        assert_eq!(snake_case("UserProfile"), "user_profile");
        assert_eq!(snake_case("HTTPRequest"), "http_request");
        assert_eq!(snake_case("Order2Item"), "order2_item");
        assert_eq!(snake_case("ABC"), "abc");
        assert_eq!(snake_case("already_snake"), "already_snake");
    }

    #[test]
    fn errors_instead_of_panics() {
        let cases = [
            quote!(
                struct A {
                    #[dbwarden(bogus)]
                    a: i64,
                }
            ),
            quote!(
                struct A<T> {
                    a: T,
                }
            ),
            quote!(
                enum A {
                    X,
                }
            ),
            quote!(
                struct A(i64);
            ),
            quote!(
                struct A {
                    #[dbwarden(skip)]
                    a: i64,
                }
            ),
            quote!(
                struct A {
                    a: u64,
                }
            ),
            quote!(
                #[dbwarden(index(columns()))]
                struct A {
                    a: i64,
                }
            ),
            quote!(
                #[dbwarden(check(expr = "a > 0"))]
                struct A {
                    a: i64,
                }
            ),
            quote!(
                struct A {
                    #[dbwarden(references = "users")]
                    a: i64,
                }
            ),
            quote!(
                struct A {
                    #[dbwarden(references = "a.b.c")]
                    a: i64,
                }
            ),
            quote!(
                struct A {
                    #[dbwarden(on_delete = "cascade")]
                    a: i64,
                }
            ),
            quote!(
                struct A {
                    #[dbwarden(precision = 5, scale = 6)]
                    a: Decimal,
                }
            ),
            quote!(
                struct A {
                    #[dbwarden(primary_key)]
                    a: Option<i64>,
                }
            ),
            quote!(
                struct A {
                    #[dbwarden(length = 5, length = 6)]
                    a: String,
                }
            ),
            quote!(
                struct A {
                    #[dbwarden(unique, index)]
                    a: i64,
                    #[dbwarden(column = "a")]
                    b: i64,
                }
            ),
        ];
        for case in cases {
            let message = expand(case.clone()).err().map(|e| e.to_string());
            assert!(message.is_some(), "{case}");
        }
    }
}

//! Procedural macros of dbwarden: [`embed_migrations!`].
//!
//! Use them through the `dbwarden` crate (`dbwarden::embed_migrations!`); the generated code names
//! `::dbwarden::...` paths.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use dbwarden_core::file::{
    database_name, read_dir, resolve_files, subfolders_with_migrations, FormatError, MigrationFile,
};
use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{format_ident, quote};
use syn::parse::{Parse, ParseStream};
use syn::{LitStr, Token};

mod table;

/// Derives `dbwarden::models::Model` for a struct and registers it, so that the program that links it sees it in
/// `dbwarden::models::registered()` without a list.
///
/// Every attribute, the type mapping and an example are documented in the `dbwarden::models` module; use the
/// derive through `dbwarden::Table`:
///
/// ```ignore
/// #[derive(dbwarden::Table)]
/// #[dbwarden(name = "users")]
/// pub struct User {
///     #[dbwarden(primary_key)]
///     pub id: i64,
///     #[dbwarden(length = 255, unique)]
///     pub email: String,
/// }
/// ```
#[proc_macro_derive(Table, attributes(dbwarden))]
pub fn derive_table(input: TokenStream) -> TokenStream {
    table::derive(input.into()).into()
}

/// Bakes migration files into the binary, with their checksums computed at compile time.
///
/// Paths are relative to the `CARGO_MANIFEST_DIR` of the crate being compiled. Each file is included with
/// `include_str!`, so editing a file rebuilds the crate. A bad file name, a duplicate version, a missing section or
/// a file that is not UTF-8 is a compile error naming the file and line. (Adding a *new* file does not by itself
/// trigger a rebuild; the runtime warns about files present on disk but missing from the binary.)
///
/// With a folder argument it is an **expression** of type `dbwarden::EmbeddedMigrations` holding the `.sql` files
/// of that one folder, in apply order; it can initialise a `static`:
///
/// ```ignore
/// static PRIMARY: dbwarden::EmbeddedMigrations = dbwarden::embed_migrations!("migrations/primary");
///
/// let report = dbwarden::Migrator::new(&PRIMARY).run(&pool).await?;
/// ```
///
/// Without an argument it is an **item**, written once per crate at module level: every sub-folder of
/// `migrations/` holding `.sql` files (one per database, e.g. `migrations/primary`, `migrations/analytics`), or
/// `migrations/` itself when it holds `.sql` files directly, is embedded and registered, so that
/// `dbwarden::migrate` finds it without being told. A crate without a `migrations/` folder yet registers nothing.
///
/// ```ignore
/// dbwarden::embed_migrations!();
///
/// let report = dbwarden::migrate(&pool).await?;
/// ```
#[proc_macro]
pub fn embed_migrations(input: TokenStream) -> TokenStream {
    let input = TokenStream2::from(input);
    let Some(manifest_dir) = std::env::var_os("CARGO_MANIFEST_DIR") else {
        return syn::Error::new(
            Span::call_site(),
            "embed_migrations!: CARGO_MANIFEST_DIR is not set; build the crate with cargo",
        )
        .to_compile_error()
        .into();
    };
    match expand(input, Path::new(&manifest_dir)) {
        Ok(tokens) => tokens.into(),
        Err(error) => error.to_compile_error().into(),
    }
}

/// The macro's argument: nothing, or one string literal (a trailing comma is allowed).
struct Input {
    folder: Option<LitStr>,
    /// `root = "dir"`: the registering form over another root than `migrations/`.
    root: Option<LitStr>,
}

impl Parse for Input {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.is_empty() {
            return Ok(Input { folder: None, root: None });
        }
        if input.peek(syn::Ident) {
            let key: syn::Ident = input.parse()?;
            if key != "root" {
                return Err(syn::Error::new(key.span(), "embed_migrations! knows one key, `root = \"dir\"`"));
            }
            input.parse::<Token![=]>()?;
            let root: LitStr = input.parse()?;
            if input.peek(Token![,]) {
                input.parse::<Token![,]>()?;
            }
            if !input.is_empty() {
                return Err(input.error("embed_migrations!(root = \"dir\") takes nothing else"));
            }
            return Ok(Input { folder: None, root: Some(root) });
        }
        let folder: LitStr = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "embed_migrations! takes a folder path as a string literal, relative to the crate root \
                 (`embed_migrations!(\"migrations/primary\")`), or no argument (`embed_migrations!();`)",
            )
        })?;
        if input.peek(Token![,]) {
            input.parse::<Token![,]>()?;
        }
        if !input.is_empty() {
            return Err(input.error("embed_migrations! takes at most one argument, a folder path"));
        }
        Ok(Input { folder: Some(folder), root: None })
    }
}

/// The macro's logic, over `proc_macro2` so that it can be tested: `manifest_dir` is the root of the crate being
/// compiled.
fn expand(input: TokenStream2, manifest_dir: &Path) -> Result<TokenStream2, syn::Error> {
    let Input { folder, root } = syn::parse2(input)?;
    match (folder, root) {
        (Some(lit), _) => expand_folder(&lit, manifest_dir),
        (None, Some(root)) => expand_all(manifest_dir, &root.value(), root.span()),
        (None, None) => expand_all(manifest_dir, "migrations", Span::call_site()),
    }
}

/// `embed_migrations!("folder")`: one `EmbeddedMigrations` expression.
fn expand_folder(lit: &LitStr, manifest_dir: &Path) -> Result<TokenStream2, syn::Error> {
    let span = lit.span();
    let dir = manifest_dir.join(lit.value());
    if !dir.is_dir() {
        let what = if dir.exists() { "is not a folder" } else { "does not exist" };
        return Err(syn::Error::new(span, format!("embed_migrations!: migrations folder {} {what}", dir.display())));
    }
    let set = load(&dir, span)?;
    if set.files.is_empty() {
        // `embed_migrations!("migrations")` for `migrations/app`: an empty set would migrate nothing, silently.
        let subfolders = subfolders_with_migrations(&dir);
        if let Some(first) = subfolders.first() {
            return Err(syn::Error::new(
                span,
                format!(
                    "embed_migrations!: {} holds no migration files, but its sub-folder(s) {} do; name one database's \
                     folder (embed_migrations!(\"{}/{first}\")), or use embed_migrations!() for every folder under migrations/",
                    dir.display(),
                    subfolders.join(", "),
                    lit.value().trim_end_matches('/')
                ),
            ));
        }
    }
    set.to_tokens(span)
}

/// `embed_migrations!()`: every database folder under `migrations/`, each a registered `static`.
fn expand_all(manifest_dir: &Path, root: &str, span: Span) -> Result<TokenStream2, syn::Error> {
    let root = manifest_dir.join(root);
    let mut sets = Vec::new();
    if root.exists() {
        if !root.is_dir() {
            return Err(syn::Error::new(span, format!("embed_migrations!: {} is not a folder", root.display())));
        }
        let root_set = load(&root, span)?;
        if !root_set.files.is_empty() {
            sets.push(root_set);
        }
        for dir in sub_folders(&root, span)? {
            let set = load(&dir, span)?;
            if !set.files.is_empty() {
                sets.push(set);
            }
        }
    }

    // Two folders with one database would silently shadow each other at run time.
    let mut seen: BTreeMap<&str, &Path> = BTreeMap::new();
    for set in &sets {
        if let Some(first) = seen.insert(set.db.as_str(), &set.dir) {
            return Err(syn::Error::new(
                span,
                format!(
                    "embed_migrations!: {} and {} both hold the migrations of database `{}`; keep one folder per database",
                    first.display(),
                    set.dir.display(),
                    set.db
                ),
            ));
        }
    }

    let mut items = Vec::new();
    for (index, set) in sets.iter().enumerate() {
        let name = format_ident!("__DBWARDEN_MIGRATIONS_{}", index);
        let value = set.to_tokens(span)?;
        items.push(quote! {
            static #name: ::dbwarden::EmbeddedMigrations = #value;
            ::dbwarden::__private::inventory::submit! {
                ::dbwarden::__private::Registered(&#name)
            }
        });
    }
    Ok(quote! {
        const _: () = {
            #(#items)*
        };
    })
}

/// The sub-folders of `root`, by name, skipping hidden ones (`.git`, ...).
fn sub_folders(root: &Path, span: Span) -> Result<Vec<PathBuf>, syn::Error> {
    let io = |path: &Path, e: std::io::Error| {
        syn::Error::new(span, format!("embed_migrations!: cannot read {}: {e}", path.display()))
    };
    let mut dirs = Vec::new();
    for entry in std::fs::read_dir(root).map_err(|e| io(root, e))? {
        let entry = entry.map_err(|e| io(root, e))?;
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if !hidden && path.is_dir() {
            dirs.push(path);
        }
    }
    dirs.sort();
    Ok(dirs)
}

/// One folder's migrations, resolved at compile time.
struct Set {
    db: String,
    dir: PathBuf,
    files: Vec<MigrationFile>,
}

/// Reads and resolves the `.sql` files of `dir`; errors are prefixed with the folder.
fn load(dir: &Path, span: Span) -> Result<Set, syn::Error> {
    let error = |e: FormatError| {
        let message = match &e {
            // Already names the full path.
            FormatError::Io { .. } => format!("embed_migrations!: {e}"),
            _ => format!("embed_migrations!: {}: {e}", dir.display()),
        };
        syn::Error::new(span, message)
    };
    let files = resolve_files(read_dir(dir).map_err(error)?, None).map_err(error)?;
    let db = database_name(dir, &files);
    Ok(Set { db, dir: dir.to_path_buf(), files })
}

impl Set {
    /// The `::dbwarden::EmbeddedMigrations { .. }` expression.
    fn to_tokens(&self, span: Span) -> Result<TokenStream2, syn::Error> {
        let utf8 = |path: &Path| {
            path.to_str().map(|s| LitStr::new(s, span)).ok_or_else(|| {
                syn::Error::new(
                    span,
                    format!(
                        "embed_migrations!: the path {} is not valid UTF-8 and cannot be embedded; rename it",
                        path.display()
                    ),
                )
            })
        };
        let db = LitStr::new(&self.db, span);
        let dir = utf8(&self.dir)?;
        let mut files = Vec::with_capacity(self.files.len());
        for file in &self.files {
            let filename = LitStr::new(&file.filename, span);
            let path = utf8(&self.dir.join(&file.filename))?;
            let checksum = LitStr::new(&file.checksum, span);
            let rollback_checksum = LitStr::new(&file.rollback_checksum, span);
            files.push(quote! {
                ::dbwarden::EmbeddedFile {
                    filename: #filename,
                    contents: ::core::include_str!(#path),
                    checksum: #checksum,
                    rollback_checksum: #rollback_checksum,
                }
            });
        }
        // Computed here by the runtime's own function, so a start-up with nothing to do needs no file parsed.
        let fingerprint = match dbwarden_core::file::fingerprint::of_files(&self.files) {
            Some(f) => {
                let digest = LitStr::new(&f.digest, span);
                quote! { ::core::option::Option::Some(#digest) }
            }
            None => quote! { ::core::option::Option::None },
        };
        Ok(quote! {
            ::dbwarden::EmbeddedMigrations {
                db: #db,
                dir: #dir,
                files: &[#(#files),*],
                fingerprint: #fingerprint,
            }
        })
    }
}

/// Reads the schema manifest (`dbwarden.schema.toml`, SPEC §2) at compile time and registers its tables beside the
/// `#[derive(Table)]` structs, so `make-migrations` in this binary sees both. Written once, at module level:
///
/// ```ignore
/// dbwarden::schema_manifest!();                          // ./dbwarden.schema.toml
/// dbwarden::schema_manifest!("schema/tables.toml");      // another file, relative to the crate root
/// ```
///
/// A manifest error (an unknown type or key, a foreign key to a missing table) is a compile error naming the file
/// and line. Editing the file rebuilds the crate (it is tracked with `include_str!`).
#[proc_macro]
pub fn schema_manifest(input: TokenStream) -> TokenStream {
    let input = TokenStream2::from(input);
    let Some(manifest_dir) = std::env::var_os("CARGO_MANIFEST_DIR") else {
        return syn::Error::new(Span::call_site(), "schema_manifest!: CARGO_MANIFEST_DIR is not set; build with cargo")
            .to_compile_error()
            .into();
    };
    match expand_manifest(input, Path::new(&manifest_dir)) {
        Ok(tokens) => tokens.into(),
        Err(error) => error.to_compile_error().into(),
    }
}

fn expand_manifest(input: TokenStream2, manifest_dir: &Path) -> Result<TokenStream2, syn::Error> {
    let (relative, span) = if input.is_empty() {
        ("dbwarden.schema.toml".to_string(), Span::call_site())
    } else {
        let lit: LitStr = syn::parse2(input).map_err(|e| {
            syn::Error::new(e.span(), "schema_manifest! takes a file path as a string literal, or nothing")
        })?;
        (lit.value(), lit.span())
    };
    let path = manifest_dir.join(&relative);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| syn::Error::new(span, format!("schema_manifest!: cannot read {}: {e}", path.display())))?;
    let tables = dbwarden_core::manifest::parse(&text, &relative).map_err(|e| syn::Error::new(span, e.to_string()))?;
    dbwarden_core::manifest::check_references(&tables).map_err(|e| syn::Error::new(span, e.to_string()))?;
    let absolute = path.display().to_string();
    let registrations = tables.iter().enumerate().map(|(i, table)| {
        let f = format_ident!("__dbwarden_manifest_table_{}", i);
        let json = serde_json::to_string(table).expect("the IR serialises");
        quote! {
            fn #f() -> ::dbwarden::schema::ModelTable {
                ::dbwarden::models::__from_manifest(#json)
            }
            ::dbwarden::__private::inventory::submit! { ::dbwarden::models::Registration(#f) }
        }
    });
    Ok(quote! {
        const _: () = {
            const _: &str = include_str!(#absolute);
            #(#registrations)*
        };
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fresh, empty temp folder, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            static COUNTER: AtomicUsize = AtomicUsize::new(0);
            let n = COUNTER.fetch_add(1, Ordering::SeqCst);
            let path = std::env::temp_dir().join(format!("dbwarden-macros-{}-{name}-{n}", std::process::id()));
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir_all(&path).unwrap();
            TempDir(path)
        }

        fn write(&self, relative: &str, contents: impl AsRef<[u8]>) {
            let path = self.0.join(relative);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, contents).unwrap();
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    const SQL: &str = "-- upgrade\nCREATE TABLE t (id int);\n-- rollback\nDROP TABLE t;\n";

    fn run(input: TokenStream2, root: &TempDir) -> Result<TokenStream2, syn::Error> {
        expand(input, &root.0)
    }

    /// The `EmbeddedMigrations` expression, parsed back.
    fn parse_set(tokens: TokenStream2) -> syn::ExprStruct {
        syn::parse2(tokens).expect("an EmbeddedMigrations struct expression")
    }

    fn field<'a>(expr: &'a syn::ExprStruct, name: &str) -> &'a syn::Expr {
        &expr.fields.iter().find(|f| matches!(&f.member, syn::Member::Named(i) if i == name)).unwrap().expr
    }

    fn lit_str(expr: &syn::Expr) -> String {
        match expr {
            syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => s.value(),
            other => panic!("not a string literal: {}", quote!(#other)),
        }
    }

    /// (filename, include_str! path, checksum, rollback_checksum) of each embedded file.
    fn files(expr: &syn::ExprStruct) -> Vec<(String, String, String, String)> {
        let syn::Expr::Reference(r) = field(expr, "files") else { panic!("files is not a reference") };
        let syn::Expr::Array(array) = &*r.expr else { panic!("files is not an array") };
        array
            .elems
            .iter()
            .map(|e| {
                let syn::Expr::Struct(file) = e else { panic!("not a struct") };
                let syn::Expr::Macro(m) = field(file, "contents") else { panic!("contents is not a macro") };
                assert_eq!(m.mac.path.segments.last().unwrap().ident, "include_str");
                let path: LitStr = m.mac.parse_body().unwrap();
                (
                    lit_str(field(file, "filename")),
                    path.value(),
                    lit_str(field(file, "checksum")),
                    lit_str(field(file, "rollback_checksum")),
                )
            })
            .collect()
    }

    #[test]
    fn folder_files_in_order_with_checksums() {
        let root = TempDir::new("order");
        let other = "-- upgrade\nSELECT 2;\n-- rollback\nSELECT 3;\n";
        root.write("migrations/primary/primary__RA__views.sql", SQL);
        root.write("migrations/primary/primary__0010_ten.sql", other);
        root.write("migrations/primary/primary__0002_two.sql", SQL);
        root.write("migrations/primary/README.md", "not a migration");

        let set = parse_set(run(quote!("migrations/primary"), &root).unwrap());
        assert_eq!(lit_str(field(&set, "db")), "primary");
        let dir = root.0.join("migrations/primary");
        assert_eq!(lit_str(field(&set, "dir")), dir.to_str().unwrap());
        let files = files(&set);
        let names: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
        assert_eq!(names, ["primary__0002_two.sql", "primary__0010_ten.sql", "primary__RA__views.sql"]);
        for (filename, path, checksum, rollback_checksum) in &files {
            assert_eq!(Path::new(path), dir.join(filename));
            assert!(Path::new(path).is_absolute());
            let text = std::fs::read_to_string(path).unwrap();
            let parsed = MigrationFile::parse(filename, &text).unwrap();
            assert_eq!(checksum, &parsed.checksum);
            assert_eq!(rollback_checksum, &parsed.rollback_checksum);
        }
        assert_ne!(files[0].2, files[1].2);

        // A trailing comma is accepted.
        assert!(run(quote!("migrations/primary",), &root).is_ok());
    }

    #[test]
    fn empty_folder_takes_its_name() {
        let root = TempDir::new("empty");
        std::fs::create_dir_all(root.0.join("migrations/analytics")).unwrap();
        let set = parse_set(run(quote!("migrations/analytics/"), &root).unwrap());
        assert_eq!(lit_str(field(&set, "db")), "analytics");
        assert!(files(&set).is_empty());
    }

    #[test]
    fn the_root_of_the_database_folders_is_refused_naming_them() {
        let root = TempDir::new("root");
        root.write("migrations/app/app__0001_a.sql", SQL);
        root.write("migrations/audit/audit__0001_a.sql", SQL);
        std::fs::create_dir_all(root.0.join("migrations/notes")).unwrap();
        let message = run(quote!("migrations"), &root).unwrap_err().to_string();
        assert!(message.contains("sub-folder(s) app, audit do"), "{message}");
        assert!(message.contains("embed_migrations!(\"migrations/app\")"), "{message}");
        // Every folder at once is what embed_migrations!() is for.
        assert!(run(quote!(), &root).is_ok());
    }

    #[test]
    fn bad_file_name_is_an_error_naming_the_file() {
        let root = TempDir::new("badname");
        root.write("migrations/primary/primary__0001_ok.sql", SQL);
        root.write("migrations/primary/primary_0002_bad.sql", SQL);
        let message = run(quote!("migrations/primary"), &root).unwrap_err().to_string();
        assert!(message.contains("primary_0002_bad.sql"), "{message}");
        assert!(message.contains(root.0.join("migrations/primary").to_str().unwrap()), "{message}");
        let tokens = run(quote!("migrations/primary"), &root).unwrap_err().to_compile_error().to_string();
        assert!(tokens.contains("compile_error"), "{tokens}");
    }

    #[test]
    fn resolution_errors_are_compile_errors() {
        let root = TempDir::new("errors");
        root.write("dup/app__0001_a.sql", SQL);
        root.write("dup/app__0001_b.sql", SQL);
        let message = run(quote!("dup"), &root).unwrap_err().to_string();
        assert!(message.contains("app__0001_a.sql") && message.contains("app__0001_b.sql"), "{message}");

        root.write("section/app__0001_a.sql", "-- upgrade\nSELECT 1;\n");
        let message = run(quote!("section"), &root).unwrap_err().to_string();
        assert!(message.contains("app__0001_a.sql:2:"), "{message}");

        root.write("utf8/app__0001_a.sql", b"-- upgrade\nSELECT '\xff';\n-- rollback\n");
        let message = run(quote!("utf8"), &root).unwrap_err().to_string();
        assert!(message.contains("app__0001_a.sql:2: not valid UTF-8"), "{message}");

        let message = run(quote!("nowhere"), &root).unwrap_err().to_string();
        assert!(message.contains("nowhere") && message.contains("does not exist"), "{message}");

        root.write("afile", "x");
        let message = run(quote!("afile"), &root).unwrap_err().to_string();
        assert!(message.contains("is not a folder"), "{message}");
    }

    #[test]
    fn bad_input_is_an_error() {
        let root = TempDir::new("input");
        for input in [quote!(migrations), quote!("a", "b"), quote!(42)] {
            assert!(run(input, &root).is_err());
        }
    }

    fn registrations(tokens: &TokenStream2) -> usize {
        let item: syn::ItemConst = syn::parse2(tokens.clone()).expect("a `const _: () = { .. };` item");
        assert_eq!(item.ident, "_");
        let syn::Expr::Block(block) = &*item.expr else { panic!("not a block") };
        block
            .block
            .stmts
            .iter()
            .filter(|s| match s {
                syn::Stmt::Macro(m) => m.mac.path.segments.last().unwrap().ident == "submit",
                syn::Stmt::Item(syn::Item::Macro(m)) => m.mac.path.segments.last().unwrap().ident == "submit",
                _ => false,
            })
            .count()
    }

    #[test]
    fn no_argument_registers_each_database_folder() {
        let root = TempDir::new("all");
        root.write("migrations/primary/primary__0001_a.sql", SQL);
        root.write("migrations/primary/primary__0002_b.sql", SQL);
        root.write("migrations/analytics/analytics__0001_a.sql", SQL);
        std::fs::create_dir_all(root.0.join("migrations/empty")).unwrap();
        root.write("migrations/notes/README.md", "no sql here");
        let tokens = run(TokenStream2::new(), &root).unwrap();
        assert_eq!(registrations(&tokens), 2, "{tokens}");
        let text = tokens.to_string();
        assert!(text.contains("\"analytics\"") && text.contains("\"primary\""), "{text}");
        assert!(text.contains(":: dbwarden :: __private :: Registered (& __DBWARDEN_MIGRATIONS_0)"), "{text}");
        assert!(text.contains(":: dbwarden :: __private :: inventory :: submit !"), "{text}");
        assert!(text.contains("static __DBWARDEN_MIGRATIONS_1 : :: dbwarden :: EmbeddedMigrations"), "{text}");
    }

    #[test]
    fn no_argument_with_files_directly_in_migrations() {
        let root = TempDir::new("flat");
        root.write("migrations/app__0001_a.sql", SQL);
        let tokens = run(TokenStream2::new(), &root).unwrap();
        assert_eq!(registrations(&tokens), 1, "{tokens}");
        assert!(tokens.to_string().contains("\"app\""));
    }

    #[test]
    fn no_argument_without_migrations_folder_registers_nothing() {
        let root = TempDir::new("none");
        let tokens = run(TokenStream2::new(), &root).unwrap();
        assert_eq!(registrations(&tokens), 0, "{tokens}");
        assert!(!tokens.to_string().contains("submit"));
    }

    #[test]
    fn no_argument_errors() {
        let root = TempDir::new("allbad");
        root.write("migrations/primary/primary__0001_a.sql", SQL);
        root.write("migrations/primary/oops.sql", SQL);
        let message = run(TokenStream2::new(), &root).unwrap_err().to_string();
        assert!(message.contains("oops.sql"), "{message}");

        let root = TempDir::new("twice");
        root.write("migrations/a/app__0001_a.sql", SQL);
        root.write("migrations/b/app__0002_b.sql", SQL);
        let message = run(TokenStream2::new(), &root).unwrap_err().to_string();
        assert!(message.contains("database `app`"), "{message}");
    }

    #[test]
    fn manifest_errors_name_file_and_line_and_good_ones_register_each_table() {
        let dir = TempDir::new("manifest");
        let good =
            "[[table]]\nname = \"t\"\n[[table.column]]\nname = \"id\"\ntype = \"Integer\"\nprimary_key = true\n\n\
                    [[table]]\nname = \"u\"\n[[table.column]]\nname = \"id\"\ntype = \"Integer\"\nprimary_key = true\n";
        std::fs::write(dir.0.join("dbwarden.schema.toml"), good).unwrap();
        let out = expand_manifest(TokenStream2::new(), &dir.0).unwrap().to_string();
        assert_eq!(out.matches("inventory :: submit").count(), 2, "{out}");
        assert!(out.contains("include_str !"), "{out}");

        std::fs::write(
            dir.0.join("bad.toml"),
            "[[table]]\nname = \"t\"\n[[table.column]]\nname = \"a\"\ntype = \"Integr\"\n",
        )
        .unwrap();
        let err = expand_manifest(quote!("bad.toml"), &dir.0).unwrap_err().to_string();
        assert!(err.starts_with("bad.toml:5"), "{err}");
        let err = expand_manifest(quote!("missing.toml"), &dir.0).unwrap_err().to_string();
        assert!(err.contains("cannot read") && err.contains("missing.toml"), "{err}");
    }
}

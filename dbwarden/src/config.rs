//! `dbwarden.toml` (SPEC §6): one `[[database]]` entry per database, environment overrides, and the SQLite default
//! when there is no file at all. Unknown keys and bad values are errors naming the key and the line.

use std::path::{Path, PathBuf};
use std::time::Duration;

use dbwarden_core::Dialect;
use serde::Deserialize;
use toml::Spanned;

/// The default config file name.
pub const FILE_NAME: &str = "dbwarden.toml";

/// A configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{file}: {message}")]
    Read { file: String, message: String },
    /// A key or value is wrong; `line` is 1-based.
    #[error("{file}:{line}: {message}")]
    Invalid { file: String, line: usize, message: String },
    /// No database by that name.
    #[error("no database named `{name}` in {file} (known: {known})")]
    UnknownDatabase { file: String, name: String, known: String },
    /// An environment variable that overrides a database's url holds a wrong one.
    #[error("{var}: {message}")]
    Env { var: String, message: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    database: Vec<RawDatabase>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    name: Spanned<String>,
    #[serde(default)]
    default: Option<Spanned<bool>>,
    #[serde(rename = "type")]
    kind: Option<Spanned<String>>,
    url: Option<Spanned<String>>,
    url_env: Option<Spanned<String>>,
    migrations_dir: Option<Spanned<String>>,
    tables: Option<Vec<String>>,
    migration_table: Option<Spanned<String>>,
    lock_timeout: Option<Spanned<String>>,
    dev_url: Option<Spanned<String>>,
    column_order: Option<Spanned<String>>,
}

/// One database, with every default and override applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseConfig {
    /// `primary`.
    pub name: String,
    /// Whether it is the default database.
    pub default: bool,
    /// Its dialect.
    pub dialect: Dialect,
    /// Its URL (may hold a password: show it through [`crate::url::mask`] only).
    pub url: String,
    /// Where its migration files live.
    pub migrations_dir: PathBuf,
    /// The history table.
    pub migration_table: String,
    /// How long `migrate` waits for the lock.
    pub lock_timeout: Duration,
    /// Tables the models manage (empty: all).
    pub tables: Vec<String>,
    /// A scratch database for `verify`.
    pub dev_url: Option<String>,
    /// PostgreSQL: where generated migrations put a column added before the last one (`column_order = "append"`,
    /// the default, or `"exact"`); MySQL and SQLite always keep the declared order.
    pub column_order: crate::render::ColumnOrder,
    /// Why the URL is unknown (`url_env` naming a variable that is not set): reported when this database is
    /// chosen, so that the others still work.
    pub(crate) unresolved: Option<ConfigError>,
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Where it came from (`dbwarden.toml`, or a description of the defaults).
    pub origin: String,
    /// The databases, in file order.
    pub databases: Vec<DatabaseConfig>,
}

impl Config {
    /// Reads `path` if it exists; otherwise the defaults (one SQLite database `app.db`, or `DATABASE_URL`).
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                // Paths in the file are relative to the file (the project root), wherever the command runs from.
                let base = path.parent().filter(|p| !p.as_os_str().is_empty());
                Config::parse_in(&text, &path.display().to_string(), base, |k| std::env::var(k).ok())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::defaults(|k| std::env::var(k).ok())),
            Err(e) => Err(ConfigError::Read { file: path.display().to_string(), message: e.to_string() }),
        }
    }

    /// The configuration used when there is no file: SQLite `app.db` (or `DATABASE_URL`), migrations in
    /// `migrations/primary`.
    pub fn defaults(env: impl Fn(&str) -> Option<String>) -> Config {
        let from_env = ["DBWARDEN_PRIMARY_URL", "DATABASE_URL"].into_iter().find_map(|var| Some((var, env(var)?)));
        let url = from_env.as_ref().map_or_else(|| "sqlite://app.db".to_string(), |(_, url)| url.clone());
        let dialect = crate::url::scheme_dialect(&url).unwrap_or(Dialect::Sqlite);
        let mut database = DatabaseConfig::new("primary", dialect, url);
        // A URL that cannot be used is reported, naming its variable, by the commands that need it.
        if let (Some((var, _)), Err(e)) = (&from_env, crate::url::dialect_of(&database.url)) {
            database.unresolved = Some(ConfigError::Env { var: var.to_string(), message: e.to_string() });
        }
        Config { origin: "defaults (no dbwarden.toml)".into(), databases: vec![database] }
    }

    /// Parses the text of a config file. `env` reads environment variables (injected for tests).
    ///
    /// ```
    /// use dbwarden::config::Config;
    /// let text = "[[database]]\nname = \"primary\"\nurl = \"postgres://app:pw@localhost/main\"\n";
    /// let config = Config::parse(text, "dbwarden.toml", |_| None).unwrap();
    /// assert_eq!(config.default_database().unwrap().migrations_dir.to_str(), Some("migrations/primary"));
    /// let err = Config::parse("[[database]]\nname = \"p\"\nurl = \"sqlite://a.db\"\ncolour = 1\n", "dbwarden.toml", |_| None);
    /// assert!(err.unwrap_err().to_string().starts_with("dbwarden.toml:4:"));
    /// ```
    pub fn parse(text: &str, file: &str, env: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        Config::parse_in(text, file, None, env)
    }

    /// [`Config::parse`] for a file in the folder `base`: relative `migrations_dir`s and SQLite file paths of the
    /// URLs written in the file (not those from the environment) are taken relative to it.
    pub(crate) fn parse_in(
        text: &str,
        file: &str,
        base: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
        let invalid =
            |offset: usize, message: String| ConfigError::Invalid { file: file.into(), line: line_of(offset), message };
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            invalid(offset, e.message().to_string())
        })?;
        if raw.database.is_empty() {
            return Err(invalid(0, "no [[database]] entry; add one with at least `name` and `url`".into()));
        }
        let only_one = raw.database.len() == 1;
        let mut databases = Vec::new();
        for db in raw.database {
            let name = db.name.get_ref().clone();
            if !valid_name(&name) {
                return Err(invalid(db.name.span().start, format!("name `{name}` must match [a-zA-Z][a-zA-Z0-9_]*")));
            }
            let env_key = format!("DBWARDEN_{}_URL", name.to_ascii_uppercase());
            if let Some(other) = databases.iter().find(|d: &&DatabaseConfig| d.name.eq_ignore_ascii_case(&name)) {
                return Err(invalid(
                    db.name.span().start,
                    match other.name == name {
                        true => format!("a second database named `{name}`"),
                        // They would share DBWARDEN_<NAME>_URL, and a folder on a case-blind file system.
                        false => format!(
                            "database `{name}` differs from `{}` only in case: both would read {env_key}; rename one",
                            other.name
                        ),
                    },
                ));
            }
            if let Some(d) = db.default.as_ref().filter(|d| *d.get_ref()) {
                if let Some(first) = databases.iter().find(|d| d.default) {
                    return Err(invalid(
                        d.span().start,
                        format!(
                            "database `{name}` is marked `default = true`, and so is `{}`: mark exactly one",
                            first.name
                        ),
                    ));
                }
            }
            let default = db.default.as_ref().map_or(only_one, |d| *d.get_ref());
            let mut unresolved = None;
            let env_var = [env_key.as_str(), "DATABASE_URL"]
                .into_iter()
                .filter(|var| *var == env_key || default)
                .find_map(|var| env(var).map(|url| (var.to_string(), url)));
            let (from_env, env_var) = match env_var {
                Some((var, url)) => (Some(url), Some(var)),
                None => (None, None),
            };
            // A wrong url from the environment is the variable's fault, not the file's.
            let env_error = |message: String| ConfigError::Env {
                var: env_var.clone().unwrap_or_default(),
                message: format!("{message} (it overrides the url of database `{name}` in {file})"),
            };
            if let (Some(_), Some(var)) = (&db.url, &db.url_env) {
                return Err(invalid(
                    var.span().start,
                    format!("database `{name}` sets both `url` and `url_env`: keep one"),
                ));
            }
            let url = match (from_env, &db.url, &db.url_env) {
                (Some(url), _, _) => url,
                (None, Some(url), _) => rebased_sqlite_url(url.get_ref(), base),
                (None, None, Some(var)) => match env(var.get_ref()) {
                    Some(url) => url,
                    None => {
                        // Kept for when this database is chosen; the rest of its entry is read as usual.
                        unresolved = Some(invalid(
                            var.span().start,
                            format!("url_env = \"{}\" but that variable is not set", var.get_ref()),
                        ));
                        String::new()
                    }
                },
                (None, None, None) => {
                    return Err(invalid(
                        db.name.span().start,
                        format!("database `{name}` has no url: set `url`, `url_env` or {env_key}"),
                    ))
                }
            };
            let url_dialect = crate::url::dialect_of(&url);
            // A URL no backend speaks is an error whether or not a type is set, named as its source's: the variable
            // that overrode the file, the file's url line, or the variable its url_env names.
            if let Err(e) = &url_dialect {
                if env_var.is_some() {
                    return Err(env_error(e.to_string()));
                }
                if let Some(url) = &db.url {
                    return Err(invalid(url.span().start, format!("url: {e}")));
                }
                if let (Some(var), None) = (&db.url_env, &unresolved) {
                    return Err(ConfigError::Env {
                        var: var.get_ref().clone(),
                        message: format!("{e} (named by url_env of database `{name}` in {file})"),
                    });
                }
            }
            // The dialect the file itself declares (its type, else its url), for checks that must not depend on
            // an override from the environment.
            let file_dialect = db
                .kind
                .as_ref()
                .and_then(|k| Dialect::from_url_scheme(k.get_ref()))
                .or_else(|| db.url.as_ref().and_then(|u| crate::url::scheme_dialect(u.get_ref())));
            let dialect = match &db.kind {
                Some(kind) => {
                    let d = Dialect::from_url_scheme(kind.get_ref()).ok_or_else(|| {
                        invalid(
                            kind.span().start,
                            format!("type `{}` is not one of sqlite, postgresql, mysql, mariadb", kind.get_ref()),
                        )
                    })?;
                    if let Ok(u) = url_dialect {
                        if u != d && env_var.is_some() {
                            return Err(env_error(format!(
                                "the url's scheme ({u}) does not match type `{}`",
                                kind.get_ref()
                            )));
                        }
                        if u != d {
                            return Err(invalid(
                                kind.span().start,
                                format!("type `{}` does not match the url's scheme ({u})", kind.get_ref()),
                            ));
                        }
                    }
                    d
                }
                // No url to tell (an unset url_env): any dialect will do until a --url supplies one.
                None if unresolved.is_some() => Dialect::Sqlite,
                // (Every wrong URL was named above, by its source.)
                None => url_dialect.map_err(|e| invalid(db.name.span().start, format!("url: {e}")))?,
            };
            let mut config = DatabaseConfig::new(&name, dialect, url);
            config.default = default;
            config.unresolved = unresolved;
            if let Some(dir) = db.migrations_dir {
                if dir.get_ref().trim().is_empty() {
                    return Err(invalid(
                        dir.span().start,
                        format!("migrations_dir must not be empty; leave it out for the default, migrations/{name}"),
                    ));
                }
                config.migrations_dir = PathBuf::from(dir.into_inner());
            }
            if let Some(base) = base.filter(|_| config.migrations_dir.is_relative()) {
                config.migrations_dir = base.join(&config.migrations_dir);
            }
            if let Some(table) = db.migration_table {
                if table.get_ref().is_empty() {
                    return Err(invalid(table.span().start, "migration_table must not be empty".into()));
                }
                if table.get_ref().contains('.') {
                    // It is one quoted name: `s.t` would be a table named "s.t" in the session's schema.
                    return Err(invalid(
                        table.span().start,
                        format!(
                            "migration_table = \"{}\": a table name, without a schema; the history table lives in \
                             the session's schema (PostgreSQL: set search_path, e.g. ?options=-csearch_path%3D{})",
                            table.get_ref(),
                            table.get_ref().split('.').next().unwrap_or_default()
                        ),
                    ));
                }
                check_migration_table(table.get_ref(), dialect).map_err(|e| invalid(table.span().start, e))?;
                config.migration_table = table.into_inner();
            }
            if let Some(timeout) = db.lock_timeout {
                config.lock_timeout = parse_duration(timeout.get_ref()).ok_or_else(|| {
                    invalid(
                        timeout.span().start,
                        format!(
                            "lock_timeout `{}`: write a duration like \"30s\", \"2m\" or \"500ms\"",
                            timeout.get_ref()
                        ),
                    )
                })?;
            }
            if let Some(order) = db.column_order {
                config.column_order = crate::render::ColumnOrder::parse(order.get_ref()).ok_or_else(|| {
                    invalid(
                        order.span().start,
                        format!("column_order `{}` is not \"append\" or \"exact\"", order.get_ref()),
                    )
                })?;
            }
            config.tables = db.tables.unwrap_or_default();
            if let Some(dev) = &db.dev_url {
                // A scratch database of another type would prove nothing about this one's migrations.
                match crate::url::dialect_of(dev.get_ref()) {
                    Ok(d) if file_dialect.is_none_or(|f| f == d) => {}
                    Ok(d) => {
                        return Err(invalid(
                            dev.span().start,
                            format!(
                                "dev_url is a {d} database but `{name}` is {}: verify needs one of the same type",
                                file_dialect.unwrap_or(dialect)
                            ),
                        ))
                    }
                    Err(e) => return Err(invalid(dev.span().start, format!("dev_url: {e}"))),
                }
            }
            config.dev_url = db.dev_url.map(|u| rebased_sqlite_url(u.get_ref(), base));
            databases.push(config);
        }
        // (Two defaults were named above, at the second one's line.)
        if !databases.iter().any(|d| d.default) {
            return Err(invalid(
                0,
                format!("none of the {} databases is marked `default = true`; mark exactly one", databases.len()),
            ));
        }
        Ok(Config { origin: file.into(), databases })
    }

    /// The default database.
    pub fn default_database(&self) -> Option<&DatabaseConfig> {
        self.databases.iter().find(|d| d.default)
    }

    /// The database named `name`, or the default one: an error when there is none, or when its URL is unknown
    /// (see [`Config::entry`] for the entry either way).
    pub fn database(&self, name: Option<&str>) -> Result<&DatabaseConfig, ConfigError> {
        let found = self.entry(name)?;
        found.usable()?;
        Ok(found)
    }

    /// The entry named `name`, or the default one, even when its URL is unknown (a `--url` may supply it).
    pub fn entry(&self, name: Option<&str>) -> Result<&DatabaseConfig, ConfigError> {
        let found = match name {
            Some(name) => self.databases.iter().find(|d| d.name == name),
            None => self.default_database(),
        };
        found.ok_or_else(|| ConfigError::UnknownDatabase {
            file: self.origin.clone(),
            name: name.unwrap_or("(default)").into(),
            known: self.databases.iter().map(|d| d.name.as_str()).collect::<Vec<_>>().join(", "),
        })
    }
}

/// A SQLite URL naming a relative file, taken relative to `base`; any other URL as it is.
fn rebased_sqlite_url(url: &str, base: Option<&Path>) -> String {
    let Some(base) = base else { return url.to_string() };
    for scheme in ["sqlite://", "sqlite:"] {
        if let Some(rest) = url.strip_prefix(scheme) {
            let relative = !rest.is_empty() && !rest.starts_with(['/', ':', '?']) && !rest.starts_with("file:");
            return if relative { format!("{scheme}{}", base.join(rest).display()) } else { url.to_string() };
        }
    }
    url.to_string()
}

impl DatabaseConfig {
    /// `Err` when the config could not say where this database is (an unset `url_env`).
    pub fn usable(&self) -> Result<(), ConfigError> {
        match &self.unresolved {
            Some(why) => Err(why.clone()),
            None => Ok(()),
        }
    }

    /// The migrator of this database: its migrations folder, history table and lock timeout.
    pub fn migrator(&self) -> crate::Migrator {
        crate::Migrator::new(crate::Source::Dir { path: self.migrations_dir.clone(), db: Some(self.name.clone()) })
            .table(self.migration_table.clone())
            .lock_timeout(self.lock_timeout)
    }

    /// [`DatabaseConfig::migrator`], where a migrations folder that does not exist yet counts as holding no
    /// migrations: for the model commands, whose first `make-migrations` creates it (the runtime commands refuse a
    /// missing folder, see [`crate::Error::NoMigrationsDir`]).
    pub(crate) fn migrator_or_empty(&self) -> crate::Migrator {
        if self.migrations_dir.is_dir() {
            return self.migrator();
        }
        let empty = crate::source::Loaded::new(self.name.clone(), Vec::new(), Vec::new());
        crate::Migrator::new(crate::Source::Resolved(std::sync::Arc::new(empty)))
            .table(self.migration_table.clone())
            .lock_timeout(self.lock_timeout)
    }

    /// A database with default settings.
    pub fn new(name: &str, dialect: Dialect, url: String) -> DatabaseConfig {
        DatabaseConfig {
            name: name.into(),
            default: true,
            dialect,
            url,
            migrations_dir: PathBuf::from(format!("migrations/{name}")),
            migration_table: crate::history::DEFAULT_TABLE.into(),
            lock_timeout: Duration::from_secs(60),
            tables: Vec::new(),
            dev_url: None,
            unresolved: None,
            column_order: Default::default(),
        }
    }
}

/// A history table name the backend can hold and that is none of dbwarden's own tables; checked again when `--url`
/// gives another backend.
pub(crate) fn check_migration_table(table: &str, dialect: Dialect) -> Result<(), String> {
    let own = [crate::lock::LOCK_TABLE, crate::head::HEAD_TABLE, crate::lock::PYTHON_LOCK_TABLE];
    if let Some(own) = own.iter().find(|t| t.eq_ignore_ascii_case(table)) {
        return Err(format!("migration_table = \"{table}\" is dbwarden's own {own} table: name another"));
    }
    if dialect.name_too_long(table) {
        return Err(format!(
            "migration_table = \"{table}\" is longer than a {dialect} table name can be (63 bytes on PostgreSQL, \
             64 characters on MySQL): name a shorter one"
        ));
    }
    Ok(())
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic()) && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Parses `500ms`, `30s`, `2m`, `1h` or a bare number of seconds.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    Some(match unit.trim() {
        "ms" => Duration::from_millis(n),
        "" | "s" => Duration::from_secs(n),
        // (Checked: a number of hours past u64 seconds is a bad value, not an overflow.)
        "m" => Duration::from_secs(n.checked_mul(60)?),
        "h" => Duration::from_secs(n.checked_mul(3600)?),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_parse_and_overflow_is_a_bad_value() {
        use std::time::Duration;
        assert_eq!(super::parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(super::parse_duration(" 2m"), Some(Duration::from_secs(120)));
        assert_eq!(super::parse_duration("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(super::parse_duration("18446744073709551615s"), Some(Duration::from_secs(u64::MAX)));
        for bad in ["18446744073709551615h", "307445734561825861m", "99999999999999999999", "-1s", "1.5s", "1d", ""] {
            assert_eq!(super::parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn paths_in_a_file_elsewhere_are_relative_to_it() {
        use std::path::Path;
        let text = "[[database]]\nname = \"primary\"\ndefault = true\nurl = \"sqlite://app.db?mode=rwc\"\n\n[[database]]\nname = \"b\"\n\
                    default = false\nurl = \"sqlite:///abs/b.db\"\nmigrations_dir = \"/abs/m\"\n\n[[database]]\nname = \"c\"\n\
                    default = false\nurl = \"sqlite::memory:\"\n";
        let c = super::Config::parse_in(text, "proj/dbwarden.toml", Some(Path::new("proj")), |_| None).unwrap();
        let got: Vec<(&str, &str)> =
            c.databases.iter().map(|d| (d.url.as_str(), d.migrations_dir.to_str().unwrap())).collect();
        assert_eq!(
            got,
            [
                ("sqlite://proj/app.db?mode=rwc", "proj/migrations/primary"),
                ("sqlite:///abs/b.db", "/abs/m"),
                ("sqlite::memory:", "proj/migrations/c")
            ]
        );
        // A URL from the environment is the caller's: left as it is.
        let env = |k: &str| (k == "DATABASE_URL").then(|| "sqlite://here.db".to_string());
        let c = super::Config::parse_in(text, "proj/dbwarden.toml", Some(Path::new("proj")), env).unwrap();
        assert_eq!(c.databases[0].url, "sqlite://here.db");
    }

    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, "dbwarden.toml", |k| (k == "MAIN_URL").then(|| "mysql://root@h/db".to_string()))
    }

    #[test]
    fn full_entry() {
        let c = parse("[[database]]\nname = \"primary\"\ndefault = true\ntype = \"postgresql\"\nurl = \"postgres://a@h/d\"\nmigration_table = \"_hist\"\nlock_timeout = \"2m\"\n\n[[database]]\nname = \"analytics\"\nurl_env = \"MAIN_URL\"\n").unwrap();
        let p = c.database(None).unwrap();
        assert_eq!(
            (p.name.as_str(), p.dialect, p.lock_timeout),
            ("primary", Dialect::Postgres, Duration::from_secs(120))
        );
        assert_eq!(p.migration_table, "_hist");
        assert_eq!(p.column_order, crate::render::ColumnOrder::Append);
        let exact =
            parse("[[database]]\nname = \"p\"\nurl = \"postgres://a@h/d\"\ncolumn_order = \"exact\"\n").unwrap();
        assert_eq!(exact.databases[0].column_order, crate::render::ColumnOrder::Exact);
        let a = c.database(Some("analytics")).unwrap();
        assert_eq!((a.dialect, a.url.as_str(), a.default), (Dialect::MySql, "mysql://root@h/db", false));
        assert!(c.database(Some("nope")).is_err());
    }

    #[test]
    fn an_unset_url_env_fails_only_its_own_database() {
        let text = "[[database]]\nname = \"main\"\nurl = \"sqlite://a.db\"\ndefault = true\n\n[[database]]\nname = \"shop\"\nurl_env = \"UNSET_VAR\"\nmigration_table = \"shop_history\"\n";
        let c = parse(text).unwrap();
        assert_eq!(c.database(None).unwrap().name, "main");
        // The rest of its entry is read all the same (a --url may supply the URL).
        assert_eq!(c.entry(Some("shop")).unwrap().migration_table, "shop_history");
        let e = c.database(Some("shop")).unwrap_err().to_string();
        assert_eq!(e, "dbwarden.toml:8: url_env = \"UNSET_VAR\" but that variable is not set");
    }

    #[test]
    fn errors_name_key_and_line() {
        let cases = [
            ("[[database]]\nname = \"1bad\"\nurl = \"sqlite://a\"\n", 2, "must match"),
            ("[[database]]\nname = \"p\"\nurl = \"sqlite://a\"\ntype = \"oracle\"\n", 4, "oracle"),
            ("[[database]]\nname = \"p\"\nurl = \"sqlite://a\"\ntype = \"postgresql\"\n", 4, "does not match"),
            ("[[database]]\nname = \"p\"\nurl = \"sqlite://a\"\nlock_timeout = \"soon\"\n", 4, "lock_timeout"),
            ("[[database]]\nname = \"p\"\n\nurl = \"sqlite://a\"\nbogus = 1\n", 5, "bogus"),
            ("[[database]]\nname = \"p\"\n", 2, "has no url"),
            (
                "[[database]]\nname = \"p\"\nurl = \"sqlite://a\"\ncolumn_order = \"sorted\"\n",
                4,
                "column_order `sorted`",
            ),
            ("[[database]]\nname = \"p\"\nurl = \"sqlite://a\"\nurl_env = \"X\"\n", 4, "sets both `url` and `url_env`"),
            ("[[database]]\nname = \"p\"\nurl = \"oracle://a\"\n", 3, "url: "),
            (
                "[[database]]\nname = \"p\"\nurl = \"sqlite://a.db\"\ndev_url = \"mysql://root@h/d\"\n",
                4,
                "dev_url is a mysql database but `p` is sqlite",
            ),
            (
                "[[database]]\nname = \"a\"\nurl = \"sqlite://a\"\n[[database]]\nname = \"b\"\nurl = \"sqlite://b\"\n",
                1,
                "exactly one",
            ),
            (
                "[[database]]\nname = \"a\"\ndefault = true\nurl = \"sqlite://a\"\n[[database]]\nname = \"b\"\n\
                 url = \"sqlite://b\"\ndefault = true\n",
                8,
                "so is `a`",
            ),
            (
                "[[database]]\nname = \"Primary\"\nurl = \"sqlite://a\"\n[[database]]\nname = \"PRIMARY\"\n\
                 url = \"sqlite://b\"\n",
                5,
                "only in case: both would read DBWARDEN_PRIMARY_URL",
            ),
            ("[[database]]\nname = \"p\"\nurl = \"sqlite://a\"\nmigrations_dir = \" \"\n", 4, "must not be empty"),
            ("[[database]]\nname = \"p\"\nurl = \"sqlite://a\"\nmigration_table = \"DBWarden_Lock\"\n", 4, "own"),
            ("[[database]]\nname = \"p\"\nurl = \"sqlite://a\"\nmigration_table = \"dbwarden_head\"\n", 4, "own"),
            (
                "[[database]]\nname = \"p\"\nurl = \"sqlite://a\"\nmigration_table = \"dbwarden_lock_python\"\n",
                4,
                "own",
            ),
            (
                &format!(
                    "[[database]]\nname = \"p\"\nurl = \"mysql://h/d\"\nmigration_table = \"{}\"\n",
                    "x".repeat(65)
                ),
                4,
                "longer than a mysql table name",
            ),
            (
                &format!(
                    "[[database]]\nname = \"p\"\nurl = \"postgres://h/d\"\nmigration_table = \"{}\"\n",
                    "é".repeat(32)
                ),
                4,
                "longer than a postgresql table name",
            ),
        ];
        for (text, line, needle) in cases {
            match parse(text) {
                Err(ConfigError::Invalid { line: l, message, .. }) => {
                    assert_eq!(l, line, "{text}: {message}");
                    assert!(message.contains(needle), "{message} lacks {needle}");
                }
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn environment_overrides_the_file() {
        let text = "[[database]]\nname = \"primary\"\nurl = \"sqlite://a.db\"\n";
        let c = Config::parse(text, "f", |k| (k == "DATABASE_URL").then(|| "postgres://x@h/d".into())).unwrap();
        assert_eq!(c.databases[0].url, "postgres://x@h/d");
        assert_eq!(c.databases[0].dialect, Dialect::Postgres);
        let c = Config::parse(text, "f", |k| (k == "DBWARDEN_PRIMARY_URL").then(|| "mysql://r@h/d".into())).unwrap();
        assert_eq!(c.databases[0].dialect, Dialect::MySql);
        let d = Config::defaults(|_| None);
        assert_eq!(d.databases[0].url, "sqlite://app.db");
        // Without a file, a URL from the environment that cannot be used keeps its dialect (not SQLite) and is
        // reported as the variable's by the commands that connect.
        let d = Config::defaults(|k| (k == "DATABASE_URL").then(|| "postgres://u:pw@h:99999/d".into()));
        assert_eq!(d.databases[0].dialect, Dialect::Postgres);
        let e = d.database(None).unwrap_err().to_string();
        assert_eq!(e, "DATABASE_URL: `postgres://u:***@h:99999/d`: invalid port number");
        let d = Config::defaults(|k| (k == "DBWARDEN_PRIMARY_URL").then(|| "sqlite3://app.db".into()));
        assert!(d
            .database(None)
            .unwrap_err()
            .to_string()
            .starts_with("DBWARDEN_PRIMARY_URL: `sqlite3://app.db`: a SQLite URL starts with sqlite:"));
    }

    #[test]
    fn migration_table_is_one_name() {
        let text = "[[database]]\nname = \"primary\"\nurl = \"sqlite://a.db\"\nmigration_table = \"myschema.hist\"\n";
        let e = Config::parse(text, "f", |_| None).unwrap_err().to_string();
        assert!(e.starts_with("f:4: migration_table = \"myschema.hist\": a table name, without a schema"), "{e}");
    }

    /// A wrong url in the environment is named as the variable's, not as a line of the file (which is right).
    #[test]
    fn a_wrong_url_from_the_environment_names_the_variable() {
        let text = "[[database]]\nname = \"primary\"\ntype = \"sqlite\"\nurl = \"sqlite://a.db\"\n";
        for (var, text) in [("DATABASE_URL", text), ("DBWARDEN_PRIMARY_URL", &text.replace("type = \"sqlite\"\n", ""))]
        {
            let e = Config::parse(text, "f", |k| (k == var).then(|| "mysq://r:pw@h/d".into())).unwrap_err();
            let message = e.to_string();
            assert!(matches!(&e, ConfigError::Env { var: v, .. } if v == var), "{message}");
            assert!(
                message.starts_with(&format!("{var}: ")) && message.contains("unknown database URL scheme"),
                "{message}"
            );
            assert!(!message.contains("pw") && !message.contains("f:"), "{message}");
        }
        // With a type, an unknown scheme in the file's url or in the variable url_env names is caught too.
        let e = Config::parse(&text.replace("sqlite://a.db", "sqlit://a.db"), "f", |_| None).unwrap_err();
        assert!(e.to_string().starts_with("f:4: url: `sqlit://a.db`: unknown database URL scheme"), "{e}");
        let from_var = text.replace("url = \"sqlite://a.db\"", "url_env = \"MY_URL\"");
        let e = Config::parse(&from_var, "f", |k| (k == "MY_URL").then(|| "sqlit://a.db".into())).unwrap_err();
        assert!(e.to_string().starts_with("MY_URL: `sqlit://a.db`: unknown database URL scheme"), "{e}");
        // Without a type, the same message: the variable's, not the name line's.
        let untyped = from_var.replace("type = \"sqlite\"\n", "");
        let e2 = Config::parse(&untyped, "f", |k| (k == "MY_URL").then(|| "sqlit://a.db".into())).unwrap_err();
        assert!(matches!(&e2, ConfigError::Env { var, .. } if var == "MY_URL"), "{e2}");
        assert_eq!(e2.to_string(), e.to_string());
        let e = Config::parse(text, "f", |k| (k == "DATABASE_URL").then(|| "mysql://r@h/d".into())).unwrap_err();
        assert!(
            e.to_string().starts_with("DATABASE_URL: the url's scheme (mysql) does not match type `sqlite`"),
            "{e}"
        );
        // A URL its driver cannot read (a bad port, host or option) is named by its source the same way.
        let untyped = text.replace("type = \"sqlite\"\n", "");
        let bad_port = untyped.replace("sqlite://a.db", "postgres://u:pw@h:99999/d");
        let e = Config::parse(&bad_port, "f", |_| None).unwrap_err();
        assert_eq!(e.to_string(), "f:3: url: `postgres://u:***@h:99999/d`: invalid port number");
        let e = Config::parse(&untyped, "f", |k| (k == "DATABASE_URL").then(|| "postgres://h/d?sslmode=x".into()))
            .unwrap_err();
        assert!(e.to_string().starts_with("DATABASE_URL: `postgres://h/d?sslmode=x`: "), "{e}");
        let e =
            Config::parse(&from_var, "f", |k| (k == "MY_URL").then(|| "mysql://r:pw@[::1:3306/d".into())).unwrap_err();
        assert!(e.to_string().starts_with("MY_URL: `mysql://r:***@[::1:3306/d`: "), "{e}");
    }
}

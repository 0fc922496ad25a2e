//! Database URLs: which dialect a URL speaks, and masking passwords so they never reach output or logs.

use dbwarden_core::Dialect;

/// A URL dbwarden cannot use: its scheme is unknown, or its driver cannot read it (a bad port, host or option).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BadUrl {
    /// The scheme is none of dbwarden's.
    #[error("`{masked}`: unknown database URL scheme; use postgres://, mysql://, mariadb:// or sqlite://")]
    UnknownScheme {
        /// The URL, its password masked.
        masked: String,
    },
    /// The driver refuses the rest of it.
    #[error("`{masked}`: {reason}")]
    Malformed {
        /// The URL, its password masked.
        masked: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// The dialect a URL speaks, from its scheme; the rest of the URL is read as its driver will read it, so that a
/// bad port, host or option is reported here, where the caller can say where the URL came from.
///
/// ```
/// use dbwarden::url::dialect_of;
/// use dbwarden::Dialect;
/// assert_eq!(dialect_of("postgresql://u:secret@h/db").unwrap(), Dialect::Postgres);
/// assert_eq!(dialect_of("sqlite:app.db").unwrap(), Dialect::Sqlite);
/// assert!(dialect_of("oracle://h/db").unwrap_err().to_string().contains("oracle://h/db"));
/// let bad_port = dialect_of("postgres://u:secret@h:99999/db").unwrap_err().to_string();
/// assert_eq!(bad_port, "`postgres://u:***@h:99999/db`: invalid port number");
/// ```
pub fn dialect_of(url: &str) -> Result<Dialect, BadUrl> {
    use std::str::FromStr;
    let dialect = scheme_dialect(url).ok_or_else(|| BadUrl::UnknownScheme { masked: mask(url) })?;
    let read = match dialect {
        Dialect::Postgres => sqlx::postgres::PgConnectOptions::from_str(url).map(drop),
        Dialect::MySql => sqlx::mysql::MySqlConnectOptions::from_str(url).map(drop),
        // sqlx takes a URL whose scheme is not `sqlite:` for a file name, whole (`sqlite3://app.db`, `SQLITE:a`).
        Dialect::Sqlite if !url.starts_with("sqlite:") => {
            return Err(BadUrl::Malformed {
                masked: mask(url),
                reason: "a SQLite URL starts with sqlite: (lower case), e.g. sqlite://app.db".into(),
            })
        }
        Dialect::Sqlite => sqlx::sqlite::SqliteConnectOptions::from_str(url).map(drop),
    };
    read.map(|()| dialect).map_err(|e| {
        let reason = e.to_string();
        let reason = reason.strip_prefix("error with configuration: ").unwrap_or(&reason);
        BadUrl::Malformed { masked: mask(url), reason: mask_in_text(reason) }
    })
}

/// The dialect a URL's scheme names, the rest of it unread (see [`dialect_of`] for a URL that is to be used).
///
/// ```
/// use dbwarden::url::scheme_dialect;
/// use dbwarden::Dialect;
/// assert_eq!(scheme_dialect("postgres://h:99999/db"), Some(Dialect::Postgres));
/// assert_eq!(scheme_dialect("oracle://h/db"), None);
/// ```
pub fn scheme_dialect(url: &str) -> Option<Dialect> {
    url.split_once(':').and_then(|(scheme, _)| Dialect::from_url_scheme(scheme))
}

/// The URL with its password replaced by `***`. A malformed URL (`postgres:/u:pw@h`, `postgres//u:pw@h`) is masked
/// too, erring on the side of hiding: whatever stands between the user's `:` (the first `:`, without `://`) and the
/// last `@` is the password, even where it holds a `/`, `?` or `#`.
///
/// ```
/// use dbwarden::url::mask;
/// assert_eq!(mask("postgres://app:s3cr%40t@db:5432/main"), "postgres://app:***@db:5432/main");
/// assert_eq!(mask("mysql://root@127.0.0.1/test"), "mysql://root@127.0.0.1/test");
/// assert_eq!(mask("postgres://h/db?password=x&sslmode=off"), "postgres://h/db?password=***&sslmode=off");
/// assert_eq!(mask("postgres:/app:s3cret@db/main"), "postgres:***@db/main");
/// assert_eq!(mask("postgres//app:s3cret@db/main"), "postgres//app:***@db/main");
/// assert_eq!(mask("postgres://app:ab#c?d@db/main"), "postgres://app:***@db/main");
/// ```
pub fn mask(url: &str) -> String {
    // The password ends at the last `@`, whatever it holds: found before anything is taken for the query.
    let masked = match userinfo_password(url) {
        Some(range) => format!("{}***{}", &url[..range.start], &url[range.end..]),
        None => url.to_string(),
    };
    mask_query(&masked)
}

/// Where the password is: after the first `:` of the user information, up to the last `@` (an `@` in the query
/// makes this hide more than the password, never less). Without `://` nothing tells the scheme's `:` from the
/// user's (`postgres//u:pw@h`, `postgres:/u:pw@h`): everything from the first `:` to the last `@` is hidden.
fn userinfo_password(url: &str) -> Option<std::ops::Range<usize>> {
    let at = url.rfind('@')?;
    // (`://` ends the scheme only where no `:`, `/` or `@` stands before it: in `postgres:/u:a://b@h` it is in the
    // password. Free text may put a quote or a backtick before the scheme.)
    let scheme = |i: &usize| *i > 0 && !url[..*i].contains([':', '/', '@']);
    match url.find("://").filter(|i| i + 3 <= at && scheme(i)) {
        Some(i) => {
            let colon = url[i + 3..at].find(':')?;
            Some(i + 3 + colon + 1..at)
        }
        None => Some(url[..at].find(':')? + 1..at),
    }
}

fn mask_query(tail: &str) -> String {
    let Some((path, query)) = tail.split_once('?') else {
        return tail.to_string();
    };
    let masked: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if secret_key(k) => format!("{k}=***"),
            _ => pair.to_string(),
        })
        .collect();
    format!("{path}?{}", masked.join("&"))
}

/// Whether a URL parameter (or a logged `key=`) names a secret: `password`, `sslpassword`, `pass`, `pwd`, any
/// case.
fn secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.contains("pass") || key == "pwd" || key.contains("secret")
}

/// [`mask_in_text`] for a log line, which also hides the value of a `key=<secret> value=...` pair (sqlx logs the
/// URL parameters it does not know that way, `?PASSWORD=` among them).
///
/// ```
/// let line = "WARN ignoring unrecognized connect parameter key=PASSWORD value=s3cret";
/// assert!(!dbwarden::url::mask_log_line(line).contains("s3cret"));
/// // A statement that only names such a key is left as it is.
/// let line = "DEBUG UPDATE settings SET value='x' WHERE key='password_min' rows=1";
/// assert_eq!(dbwarden::url::mask_log_line(line), line);
/// // In colours, as on a terminal, and with a space in the value.
/// let line = "WARN \u{1b}[3mkey\u{1b}[0m\u{1b}[2m=\u{1b}[0mPASSWORD \u{1b}[3mvalue\u{1b}[0m\u{1b}[2m=\u{1b}[0ms3 cret\n";
/// let masked = dbwarden::url::mask_log_line(line);
/// assert!(!masked.contains("s3") && !masked.contains("cret") && masked.ends_with("value=***\n"), "{masked}");
/// ```
pub fn mask_log_line(line: &str) -> String {
    let masked = mask_in_text(line);
    // (On a terminal the field names come in colours: judged, and written, without them.)
    let plain = without_colours(&masked);
    // The driver's `key=<name> value=<value>` pair: a value field right after a secret key field.
    let words: Vec<&str> = plain.split_whitespace().collect();
    let secret =
        words.windows(2).any(|w| w[0].strip_prefix("key=").is_some_and(secret_key) && w[1].starts_with("value="));
    if !secret {
        return masked;
    }
    // The value to the end of the line: a decoded password may hold spaces.
    match plain.find(" value=") {
        Some(at) => {
            let end = plain.trim_end_matches(['\r', '\n']).len();
            format!("{} value=***{}", &plain[..at], &plain[end..])
        }
        None => plain,
    }
}

/// `text` without ANSI colour sequences (`ESC [ ... m`).
fn without_colours(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// Masks every URL found in free text (driver messages sometimes echo the URL, or part of a malformed one, such as
/// a database name `u:pw@h/db`): each word holding `://`, or a `:` before an `@`.
pub fn mask_in_text(text: &str) -> String {
    text.split_inclusive(char::is_whitespace)
        .map(|word| {
            let userinfo = word.find(':').is_some_and(|colon| word[colon..].contains('@'));
            if word.contains("://") || userinfo {
                mask(word)
            } else {
                word.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_passwords_everywhere() {
        assert_eq!(mask("postgres://u:p@h"), "postgres://u:***@h");
        assert_eq!(mask("postgres://u:p:q@h/d"), "postgres://u:***@h/d");
        assert_eq!(mask("sqlite://app.db?mode=rwc"), "sqlite://app.db?mode=rwc");
        let text = mask_in_text("error connecting to postgres://a:topsecret@h/db: refused");
        assert!(!text.contains("topsecret"), "{text}");
        // Malformed: a missing `/` or `:`, a `/` in the password, the server echoing part of it as a name.
        assert_eq!(mask("postgres:/u:p/q@h/d"), "postgres:***@h/d");
        assert_eq!(mask("postgres://u:p/q@h/d"), "postgres://u:***@h/d");
        assert_eq!(mask("postgres:u:p@h"), "postgres:***@h");
        assert_eq!(mask("postgres:/a:PW://@db/main"), "postgres:***@db/main", "a `://` in the password");
        assert_eq!(mask_in_text("`postgres://u:pw@h/d`: bad"), "`postgres://u:***@h/d`: bad");
        assert_eq!(mask("sqlite:app.db"), "sqlite:app.db");
        assert_eq!(mask("mysql://root@h/db@x"), "mysql://root@h/db@x");
        let text = mask_in_text("database \"postgres:topsecret@127.0.0.1/x\" does not exist");
        assert_eq!(text, "database \"postgres:***@127.0.0.1/x\" does not exist");
        assert_eq!(mask_in_text("at 12:30 on user@host"), "at 12:30 on user@host");
    }

    proptest::proptest! {
        /// Whatever the separators around it, a password never survives masking.
        #[test]
        fn no_password_survives(
            password in "[A-Za-z0-9!$%^&*()_+=/:~.#?@ -]{1,24}",
            user in "[a-z]{1,8}",
            sep in proptest::sample::select(vec!["://", ":/", "//", ":", ":///"]),
            query in proptest::option::of("[a-z]{1,8}=[a-z0-9]{1,8}"),
        ) {
            let password = format!("PW{password}");
            let url = format!("postgres{sep}{user}:{password}@db.example:5432/main{}", query.map(|q| format!("?{q}")).unwrap_or_default());
            let masked = mask(&url);
            proptest::prop_assert!(!masked.contains(&password), "{} -> {}", url, masked);
            // Free text is cut at white space, so only a password without any is sure to be masked there (a URL
            // cannot hold a raw space anyway).
            if !password.contains(' ') {
                let echoed = mask_in_text(&format!("echo \"{}\" here", url));
                proptest::prop_assert!(!echoed.contains(&password), "{}", echoed);
            }
        }
    }
}

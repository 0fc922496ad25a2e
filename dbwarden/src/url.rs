//! Database URLs: which dialect a URL speaks, and masking passwords so they never reach output or logs.

use dbwarden_core::Dialect;

/// A URL whose scheme dbwarden does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{masked}`: unknown database URL scheme; use postgres://, mysql://, mariadb:// or sqlite://")]
pub struct UnknownScheme {
    masked: String,
}

/// The dialect a URL speaks, from its scheme.
///
/// ```
/// use dbwarden::url::dialect_of;
/// use dbwarden::Dialect;
/// assert_eq!(dialect_of("postgresql://u:secret@h/db").unwrap(), Dialect::Postgres);
/// assert_eq!(dialect_of("sqlite:app.db").unwrap(), Dialect::Sqlite);
/// assert!(dialect_of("oracle://h/db").unwrap_err().to_string().contains("oracle://h/db"));
/// ```
pub fn dialect_of(url: &str) -> Result<Dialect, UnknownScheme> {
    url.split_once(':')
        .and_then(|(scheme, _)| Dialect::from_url_scheme(scheme))
        .ok_or_else(|| UnknownScheme { masked: mask(url) })
}

/// The URL with its password replaced by `***`.
///
/// ```
/// use dbwarden::url::mask;
/// assert_eq!(mask("postgres://app:s3cr%40t@db:5432/main"), "postgres://app:***@db:5432/main");
/// assert_eq!(mask("mysql://root@127.0.0.1/test"), "mysql://root@127.0.0.1/test");
/// assert_eq!(mask("postgres://h/db?password=x&sslmode=off"), "postgres://h/db?password=***&sslmode=off");
/// ```
pub fn mask(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let rest_start = scheme_end + 3;
    let authority_end = url[rest_start..].find(['/', '?', '#']).map_or(url.len(), |i| rest_start + i);
    let authority = &url[rest_start..authority_end];
    let mut out = url[..rest_start].to_string();
    match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            match userinfo.split_once(':') {
                Some((user, _password)) => out.push_str(&format!("{user}:***")),
                None => out.push_str(userinfo),
            }
            out.push_str(&authority[at..]);
        }
        None => out.push_str(authority),
    }
    out.push_str(&mask_query(&url[authority_end..]));
    out
}

fn mask_query(tail: &str) -> String {
    let Some((path, query)) = tail.split_once('?') else {
        return tail.to_string();
    };
    let masked: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if k.eq_ignore_ascii_case("password") || k.eq_ignore_ascii_case("pass") => {
                format!("{k}=***")
            }
            _ => pair.to_string(),
        })
        .collect();
    format!("{path}?{}", masked.join("&"))
}

/// Masks every URL found in free text (driver messages sometimes echo the URL).
pub fn mask_in_text(text: &str) -> String {
    text.split_inclusive(char::is_whitespace)
        .map(|word| if word.contains("://") { mask(word) } else { word.to_string() })
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
    }
}

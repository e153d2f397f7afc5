//! A trigger endpoint's URL as it may be shown: in logs, in metrics' labels and
//! in the deliveries API.
//!
//! Receivers are often configured with their key in the URL itself
//! (`https://user:pass@host/hook`, `https://host/hook?api_key=...`), so the
//! configured URL is a secret as much as an address. Whoever reads a log line,
//! scrapes `/metrics` or lists the deliveries with a group token must learn
//! which receiver it is, never its key: the user and password are dropped, each
//! query value is replaced by `…` (the names stay, they say which receiver
//! expects what), and the fragment is dropped.

/// `url` without its userinfo, its query's values and its fragment. A string
/// that is not a URL is shown as `<not a URL>` (it could be anything the admin
/// typed, a secret included; the config check names the key that holds it).
pub fn shown_url(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return "<not a URL>".to_string();
    };
    // Only fails for URLs that cannot have a user ("mailto:"), which have none.
    let _ = parsed.set_username("");
    let _ = parsed.set_password(None);
    parsed.set_fragment(None);
    let names: Vec<String> = parsed
        .query_pairs()
        .map(|(name, _)| name.into_owned())
        .collect();
    if names.is_empty() {
        parsed.set_query(None);
    } else {
        let shown: Vec<String> = names
            .iter()
            .map(|name| {
                let name: String = form_urlencoded::byte_serialize(name.as_bytes()).collect();
                format!("{name}=…")
            })
            .collect();
        parsed.set_query(Some(&shown.join("&")));
    }
    // `set_query` percent-encodes the ellipsis; shown as typed, it reads better.
    parsed.to_string().replace("%E2%80%A6", "…")
}

#[cfg(test)]
mod tests {
    use super::shown_url;

    #[test]
    fn a_url_is_shown_without_its_user_password_query_values_and_fragment() {
        assert_eq!(
            shown_url("https://ann:s3cret-pw@hooks.example.com:8443/crm/hook?api_key=K3Y&x=1#frag"),
            "https://hooks.example.com:8443/crm/hook?api_key=…&x=…"
        );
        assert_eq!(
            shown_url("https://hooks.example.com/hook"),
            "https://hooks.example.com/hook"
        );
        assert_eq!(shown_url("http://token@10.0.0.5/h?"), "http://10.0.0.5/h");
        assert_eq!(shown_url("not a url with s3cret"), "<not a URL>");
    }

    #[test]
    fn a_query_name_cannot_smuggle_a_value() {
        // The name stays percent-encoded, so it never reads as `a=secret`; the
        // value is gone.
        let shown = shown_url("https://h.example/x?a%3Dsecret=v&b");
        assert_eq!(shown, "https://h.example/x?a%3Dsecret=…&b=…");
        assert!(!shown.contains("a=secret"), "{shown}");
        assert!(!shown.contains("=v"), "{shown}");
    }
}

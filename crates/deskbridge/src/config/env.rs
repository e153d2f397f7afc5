//! `${NAME}` in config values, read from the environment, so secrets stay out of
//! the file. `$${` writes a literal `${`.

use toml::Value;

use super::ConfigErrors;

/// The values read from the environment, by variable name: an error about a
/// config value must not print it (`${NAME}` is how secrets get into the config),
/// so [`Redactions::apply`] writes `${NAME}` in its place.
#[derive(Debug, Default)]
pub struct Redactions(Vec<(String, String)>);

impl Redactions {
    /// Values shorter than this are left as they are: they are no secrets, and
    /// replacing them would garble unrelated text.
    const MIN_LEN: usize = 4;

    pub fn apply(&self, errors: ConfigErrors) -> ConfigErrors {
        ConfigErrors(errors.0.into_iter().map(|e| self.redact(e)).collect())
    }

    fn redact(&self, mut text: String) -> String {
        for (name, value) in &self.0 {
            if value.len() >= Self::MIN_LEN {
                text = text.replace(value.as_str(), &format!("${{{name}}}"));
            }
        }
        text
    }
}

/// Parses TOML text and replaces `${NAME}` in every string value.
pub fn parse_with_env(text: &str) -> Result<(Value, Redactions), ConfigErrors> {
    let mut value: Value = text
        .parse::<toml::Table>()
        .map(Value::Table)
        .map_err(|e| ConfigErrors(vec![format!("the config file is not valid TOML: {e}")]))?;
    let mut errors = Vec::new();
    let mut read = Redactions::default();
    substitute(&mut value, "", &mut errors, &mut read);
    match errors.is_empty() {
        true => Ok((value, read)),
        false => Err(ConfigErrors(errors)),
    }
}

fn substitute(value: &mut Value, path: &str, errors: &mut Vec<String>, read: &mut Redactions) {
    let join = |k: &str| match path.is_empty() {
        true => k.to_string(),
        false => format!("{path}.{k}"),
    };
    match value {
        Value::String(s) => match expand(s, read) {
            Ok(expanded) => *s = expanded,
            Err(e) => errors.push(format!("{path}: {e}")),
        },
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                substitute(item, &format!("{path}[{i}]"), errors, read);
            }
        }
        Value::Table(table) => {
            for (k, v) in table.iter_mut() {
                substitute(v, &join(k), errors, read);
            }
        }
        _ => {}
    }
}

fn expand(s: &str, read: &mut Redactions) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find('$') {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        if let Some(lit) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = lit;
        } else if let Some(body) = after.strip_prefix("${") {
            let end = body
                .find('}')
                .ok_or_else(|| format!("unclosed ${{ in {s:?}"))?;
            let name = &body[..end];
            let value = std::env::var(name).map_err(|_| {
                format!("environment variable {name} is not set (set it, or write the value in the file)")
            })?;
            out.push_str(&value);
            read.0.push((name.to_string(), value));
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = &after[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    fn expand_test(s: &str) -> Result<String, String> {
        super::expand(s, &mut super::Redactions::default())
    }

    #[test]
    fn expands_and_escapes() {
        // SAFETY-free: a test-only variable name nobody else reads.
        unsafe { std::env::set_var("DESKBRIDGE_TEST_SECRET_X", "s3cret") };
        assert_eq!(
            expand_test("a ${DESKBRIDGE_TEST_SECRET_X} b").unwrap(),
            "a s3cret b"
        );
        assert_eq!(
            expand_test("cost $5, $${HOME}").unwrap(),
            "cost $5, ${HOME}"
        );
        assert!(
            expand_test("${DESKBRIDGE_TEST_UNSET_Y}")
                .unwrap_err()
                .contains("DESKBRIDGE_TEST_UNSET_Y")
        );
        assert!(expand_test("${OPEN").is_err());
    }
}

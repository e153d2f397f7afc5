//! The configuration reference (`docs/configuration.md`), generated from the
//! config types themselves: their JSON schema (`schemars`, from the same serde
//! attributes that read the file, and the doc comments as descriptions), the
//! defaults from their `Default`. So the reference cannot drift from what the
//! file accepts: a test regenerates it and fails when the committed file
//! differs (`UPDATE_DOCS=1 cargo test -p deskbridge --lib reference` or
//! `deskbridge config-reference > docs/configuration.md` to accept it).

use std::fmt::Write;

use serde_json::{Map, Value};

use super::Config;

/// The reference as Markdown.
pub fn markdown() -> String {
    let schema = schemars::schema_for!(Config);
    let root = schema.as_value();
    let defs = root
        .get("$defs")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut out = String::from(
        "# Configuration reference\n\n\
         <!-- Generated from the config types (crates/deskbridge/src/config) by\n     \
         `deskbridge config-reference`; do not edit: change the doc comments and run\n     \
         `UPDATE_DOCS=1 cargo test -p deskbridge --lib reference`. -->\n\n\
         Every key of `deskbridge.toml`, by section. A value can be written as\n\
         `\"${NAME}\"` to read it from the environment, and any key can be set with\n\
         `DESKBRIDGE__SECTION__KEY` (README, \"Configuration\"). Keys not listed here are\n\
         refused, each error naming its key. A group's keys are explained with examples\n\
         in [the README](../README.md) and the set-up guides.\n",
    );
    let reader = Reader { defs: &defs };
    reader.section(&mut out, "", false, root);
    out
}

struct Reader<'a> {
    defs: &'a Map<String, Value>,
}

impl Reader<'_> {
    /// `schema` with a `$ref` (also one wrapped in `anyOf` with `null`, an
    /// `Option`) replaced by what it names.
    fn resolve<'s>(&'s self, schema: &'s Value) -> &'s Value {
        if let Some(name) = schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("#/$defs/"))
        {
            return self.defs.get(name).map_or(schema, |d| self.resolve(d));
        }
        if let Some(variants) = schema.get("anyOf").and_then(Value::as_array) {
            let real: Vec<&Value> = variants
                .iter()
                .filter(|v| v.get("type").and_then(Value::as_str) != Some("null"))
                .collect();
            if let [one] = real.as_slice() {
                return self.resolve(one);
            }
        }
        schema
    }

    /// The table of one object's keys, then a section for each key that is
    /// an object, a list of objects or a map of objects.
    fn section(&self, out: &mut String, path: &str, list: bool, schema: &Value) {
        let Some(props) = self
            .resolve(schema)
            .get("properties")
            .and_then(Value::as_object)
        else {
            return;
        };
        let mut nested = Vec::new();
        let mut rows = Vec::new();
        for (key, prop) in props {
            let sub = join(path, key);
            match self.nesting(prop) {
                Some((Nesting::Table, inner)) => nested.push((sub, false, inner)),
                Some((Nesting::List, inner)) => nested.push((sub, true, inner)),
                Some((Nesting::Map, inner)) => nested.push((format!("{sub}.NAME"), false, inner)),
                None => rows.push((key.clone(), prop)),
            }
        }
        if !path.is_empty() {
            let title = match list {
                true => format!("[[{path}]]"),
                false => format!("[{path}]"),
            };
            let _ = write!(out, "\n## `{title}`\n\n");
            if let Some(text) = self
                .resolve(schema)
                .get("description")
                .and_then(Value::as_str)
            {
                let _ = write!(out, "{}\n\n", one_paragraph(text));
            }
            if !rows.is_empty() {
                out.push_str("| Key | Type | Default | Description |\n|---|---|---|---|\n");
            }
            for (key, prop) in &rows {
                let _ = writeln!(
                    out,
                    "| `{key}` | {} | {} | {} |",
                    self.type_of(prop),
                    default_of(prop),
                    cell(&self.description_of(prop)),
                );
            }
        }
        for (sub, list, inner) in nested {
            self.section(out, &sub, list, inner);
        }
    }

    fn nesting<'s>(&'s self, prop: &'s Value) -> Option<(Nesting, &'s Value)> {
        let resolved = self.resolve(prop);
        let is_table = |v: &Value| self.resolve(v).get("properties").is_some();
        if resolved.get("properties").is_some() {
            return Some((Nesting::Table, prop));
        }
        if let Some(items) = resolved.get("items").filter(|i| is_table(i)) {
            return Some((Nesting::List, items));
        }
        if let Some(values) = resolved.get("additionalProperties").filter(|v| is_table(v)) {
            return Some((Nesting::Map, values));
        }
        None
    }

    fn description_of(&self, prop: &Value) -> String {
        prop.get("description")
            .or_else(|| self.resolve(prop).get("description"))
            .and_then(Value::as_str)
            .map(one_paragraph)
            .unwrap_or_default()
    }

    fn type_of(&self, prop: &Value) -> String {
        let s = self.resolve(prop);
        if let Some(values) = s.get("enum").and_then(Value::as_array) {
            return values
                .iter()
                .map(|v| format!("`{v}`"))
                .collect::<Vec<_>>()
                .join(", ");
        }
        if let Some(variants) = s
            .get("oneOf")
            .or_else(|| s.get("anyOf"))
            .and_then(Value::as_array)
        {
            let names: Vec<String> = variants
                .iter()
                .filter(|v| v.get("type").and_then(Value::as_str) != Some("null"))
                .map(|v| {
                    match v
                        .get("const")
                        .or_else(|| v.get("enum").and_then(|e| e.get(0)))
                    {
                        Some(c) => format!("`{c}`"),
                        None => self.type_of(v),
                    }
                })
                .collect();
            return names.join(" or ");
        }
        let types: Vec<&str> = match s.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(ts)) => ts
                .iter()
                .filter_map(Value::as_str)
                .filter(|t| *t != "null")
                .collect(),
            _ => vec![],
        };
        match types.first().copied() {
            Some("array") => match s.get("items") {
                Some(items) => format!("list of {}", self.type_of(items)),
                None => "list".into(),
            },
            Some("object") => match s.get("additionalProperties") {
                Some(values) if values.is_object() => {
                    format!("table of {}", self.type_of(values))
                }
                _ => "table".into(),
            },
            Some(t) => t.to_string(),
            None => "any".into(),
        }
    }
}

enum Nesting {
    Table,
    List,
    Map,
}

fn join(path: &str, key: &str) -> String {
    match path.is_empty() {
        true => key.to_string(),
        false => format!("{path}.{key}"),
    }
}

fn default_of(prop: &Value) -> String {
    match prop.get("default") {
        None | Some(Value::Null) => String::new(),
        Some(Value::Array(a)) if a.is_empty() => String::new(),
        Some(Value::Object(o)) if o.is_empty() => String::new(),
        Some(v) => cell(&format!("`{v}`")),
    }
}

fn one_paragraph(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Text that stays inside one table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    /// Issue 16, point 5: `docs/configuration.md` is what the config types
    /// say. After changing a config type or its doc comment, accept the new
    /// text with `UPDATE_DOCS=1 cargo test -p deskbridge --lib reference`.
    #[test]
    fn the_configuration_reference_matches_the_config_types() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/configuration.md");
        let generated = super::markdown();
        if std::env::var("UPDATE_DOCS").is_ok_and(|v| v == "1") {
            std::fs::write(path, &generated).expect("write docs/configuration.md");
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == generated,
            "docs/configuration.md differs from the config types; regenerate it with \
             `UPDATE_DOCS=1 cargo test -p deskbridge --lib reference` (or \
             `deskbridge config-reference > docs/configuration.md`) and review the diff"
        );
    }

    #[test]
    fn every_section_and_a_few_keys_are_documented() {
        let text = super::markdown();
        for needle in [
            "## `[server]`",
            "## `[metrics]`",
            "## `[backends.NAME]`",
            "## `[[agents]]`",
            "## `[[groups]]`",
            "## `[groups.asterisk]`",
            "## `[[groups.triggers]]`",
            "## `[triggers]`",
            "| `listen` | string | `\"127.0.0.1:8080\"` |",
            "`\"ringing\"`",
        ] {
            assert!(text.contains(needle), "no {needle:?} in\n{text}");
        }
    }
}

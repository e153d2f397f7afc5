//! HTML bodies and their text. Freshdesk stores a ticket's `description` and a
//! note's `body` as HTML and answers a plain-text twin beside each
//! (`description_text`, `body_text`; freshdesk-api.md §4 and §5). How Freshdesk
//! flattens HTML exactly is unverified; the emulator drops tags, turns line
//! breaks and block ends into newlines and decodes entities.

/// The text of an HTML fragment.
pub(crate) fn to_text(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        text.push_str(&decode(&rest[..open]));
        let Some(close) = rest[open..].find('>') else {
            // A lone '<' is text.
            text.push_str(&decode(&rest[open..]));
            rest = "";
            break;
        };
        let tag = rest[open + 1..open + close].trim().to_ascii_lowercase();
        let name = tag
            .trim_start_matches('/')
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap_or("");
        let block_end = tag.starts_with('/')
            && matches!(
                name,
                "p" | "div" | "li" | "tr" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6"
            );
        if name == "br" || block_end {
            text.push('\n');
        }
        rest = &rest[open + close + 1..];
    }
    text.push_str(&decode(rest));
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    lines.join("\n").trim().to_owned()
}

/// Decodes the named entities HTML editors emit and numeric ones.
fn decode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let entity = after
            .find(';')
            .filter(|&end| end <= 10)
            .and_then(|end| entity(&after[..end]).map(|c| (c, end)));
        match entity {
            Some((c, end)) => {
                out.push(c);
                rest = &after[end + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn entity(name: &str) -> Option<char> {
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        _ => {
            let number = name.strip_prefix('#')?;
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse().ok()?,
            };
            char::from_u32(code)?
        }
    })
}

/// Escapes text for an HTML body (seeded tickets' descriptions).
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_go_and_entities_are_decoded() {
        assert_eq!(
            to_text(
                "<div>Call from <b>+1 555</b> &amp; more</div><div>Line&nbsp;2<br/>x &lt;3 &#39;q&#x27;</div>"
            ),
            "Call from +1 555 & more\nLine 2\nx <3 'q'"
        );
        assert_eq!(to_text("plain text"), "plain text");
        assert_eq!(to_text("a < b & c"), "a < b & c");
    }

    #[test]
    fn escape_round_trips() {
        assert_eq!(to_text(&escape("<Ann & Bob>")), "<Ann & Bob>");
    }
}

//! What deskbridge writes into Freshdesk's HTML fields, and the marks it
//! leaves to find its own writes again.

use sha2::{Digest, Sha256};

use deskbridge_core::ports::IdempotencyKey;

/// Plain text as Freshdesk's HTML `description` and note `body` take it
/// (Tickets and Conversations API: both are HTML): escaped, one `<br>` a
/// line, so the call's comment reads as deskbridge wrote it.
pub(crate) fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("<br>"),
            c => out.push(c),
        }
    }
    out
}

/// The line that ends every note deskbridge adds: the step's key, so a
/// retried step recognises its own note (Freshdesk notes take no
/// idempotency key).
pub(crate) fn note_reference(key: &IdempotencyKey) -> String {
    format!("deskbridge ref: {}", key.as_str())
}

/// The tag on every ticket deskbridge creates, naming the step that made it:
/// Freshdesk has no idempotency key and no external id for tickets, and a tag
/// is the one mark every account takes (at most 32 characters, no commas,
/// Tickets API), so the step's key is hashed into one.
pub(crate) fn key_tag(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    format!("deskbridge-{}", &hex::encode(digest)[..16])
}

/// The `unique_external_id` of a contact deskbridge creates for a number.
pub fn phone_external_id(e164: &str) -> String {
    format!("deskbridge:phone:{e164}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_comment_reads_in_html_as_written() {
        assert_eq!(
            html("Call from <+1415>\nAgent: Ann & Bob"),
            "Call from &lt;+1415&gt;<br>Agent: Ann &amp; Bob"
        );
    }

    #[test]
    fn a_key_tag_fits_freshdesks_tags_and_differs_per_key() {
        let a = key_tag("support/c1/open_ticket");
        assert!(a.len() <= 32 && !a.contains(','), "{a}");
        assert_ne!(a, key_tag("support/c2/open_ticket"));
        assert_eq!(a, key_tag("support/c1/open_ticket"));
    }
}

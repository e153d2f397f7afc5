//! AMI's wire format, without I/O: bytes in, [`Frame`]s out.
//!
//! The AMI v2 specification ("Message Layout"): a message is lines of `Key: Value`
//! ended by `\r\n`, and the message by an empty line; keys are case-insensitive and
//! may repeat (`ChanVariable`, `Variable`). A connection starts with one banner line,
//! `Asterisk Call Manager/<version>`, that is not a message.
//!
//! The reader is lenient where servers differ (a bare `\n` ends a line, the space
//! after `:` may be missing, a line without `:` is skipped) and bounded where a
//! broken or hostile peer could grow memory: a line and a message have a maximum
//! size, past which the connection is given up ([`FrameError`]).

use std::fmt;

/// The longest line accepted, in bytes (Asterisk's own limit is 1 KiB per header
/// line in `manager.c`; events with long variables stay far below this).
pub const MAX_LINE: usize = 8 * 1024;
/// The most fields one message may carry.
pub const MAX_FIELDS: usize = 512;

/// One AMI message: an event, an action's response, or an action (what we send).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frame {
    /// The fields in the order received; keys as sent.
    pub fields: Vec<(String, String)>,
}

impl Frame {
    /// The first value of `key` (keys are case-insensitive), trimmed; `None` when
    /// absent or empty.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The `Event` name, for events.
    pub fn event(&self) -> Option<&str> {
        self.get("Event")
    }

    /// A frame from fields, e.g. an action to send.
    pub fn of(fields: &[(&str, &str)]) -> Frame {
        Frame {
            fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    /// The frame in AMI's wire format, ended by the empty line. Line breaks inside a
    /// value are removed: they would end the field (and let a value inject fields).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        for (k, v) in &self.fields {
            let clean = |s: &str| s.replace(['\r', '\n'], "");
            out.push_str(&format!("{}: {}\r\n", clean(k), clean(v)));
        }
        out.push_str("\r\n");
        out
    }
}

/// What the stream carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// `Asterisk Call Manager/5.0.1`: the first line of a connection.
    Banner(String),
    Frame(Frame),
}

/// The peer sent something no AMI server sends; the connection is given up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    LineTooLong,
    TooManyFields,
    NotAmi(String),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::LineTooLong => write!(f, "a line longer than {MAX_LINE} bytes"),
            FrameError::TooManyFields => write!(f, "a message with more than {MAX_FIELDS} fields"),
            FrameError::NotAmi(first) => write!(
                f,
                "the server did not greet as Asterisk's manager interface (first line {first:?}); check groups[].asterisk.address"
            ),
        }
    }
}

impl std::error::Error for FrameError {}

/// Splits a byte stream into the banner and frames. Feed it what the socket gave
/// ([`FrameReader::push`]) and take what is complete ([`FrameReader::next_item`]).
#[derive(Debug)]
pub struct FrameReader {
    buf: Vec<u8>,
    /// How far `buf` was searched for a line end already.
    scanned: usize,
    banner_seen: bool,
    current: Frame,
}

impl Default for FrameReader {
    fn default() -> Self {
        FrameReader::new()
    }
}

impl FrameReader {
    /// A reader for a new connection (it expects the banner first).
    pub fn new() -> FrameReader {
        FrameReader {
            buf: Vec::new(),
            scanned: 0,
            banner_seen: false,
            current: Frame::default(),
        }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete item, if the bytes pushed so far hold one.
    pub fn next_item(&mut self) -> Option<Result<Item, FrameError>> {
        loop {
            let line = match self.next_line() {
                Ok(Some(line)) => line,
                Ok(None) => return None,
                Err(e) => return Some(Err(e)),
            };
            if !self.banner_seen {
                self.banner_seen = true;
                if !line.starts_with("Asterisk Call Manager/") {
                    return Some(Err(FrameError::NotAmi(line.chars().take(80).collect())));
                }
                return Some(Ok(Item::Banner(line)));
            }
            if line.is_empty() {
                if self.current.fields.is_empty() {
                    continue;
                }
                return Some(Ok(Item::Frame(std::mem::take(&mut self.current))));
            }
            let Some((key, value)) = line.split_once(':') else {
                // Not a field (e.g. the text of a `Response: Follows`): skipped.
                continue;
            };
            if self.current.fields.len() >= MAX_FIELDS {
                return Some(Err(FrameError::TooManyFields));
            }
            let value = value.strip_prefix(' ').unwrap_or(value);
            self.current
                .fields
                .push((key.trim().to_string(), value.to_string()));
        }
    }

    /// The next line without its line end, decoded lossily (AMI is ASCII; a caller
    /// name in another encoding must not break the stream).
    fn next_line(&mut self) -> Result<Option<String>, FrameError> {
        let Some(pos) = self.buf[self.scanned..].iter().position(|&b| b == b'\n') else {
            self.scanned = self.buf.len();
            if self.buf.len() > MAX_LINE {
                return Err(FrameError::LineTooLong);
            }
            return Ok(None);
        };
        let end = self.scanned + pos;
        if end > MAX_LINE {
            return Err(FrameError::LineTooLong);
        }
        let mut line = &self.buf[..end];
        if let [rest @ .., b'\r'] = line {
            line = rest;
        }
        let text = String::from_utf8_lossy(line).into_owned();
        self.buf.drain(..=end);
        self.scanned = 0;
        Ok(Some(text))
    }
}

/// Every item in `bytes`, read as one connection's stream from its start: the
/// parser as a pure function (what the fuzz target calls). Stops at the first error.
pub fn parse(bytes: &[u8]) -> Result<Vec<Item>, FrameError> {
    let mut reader = FrameReader::new();
    reader.push(bytes);
    let mut items = Vec::new();
    while let Some(item) = reader.next_item() {
        items.push(item?);
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_specifications_example_message_is_read() {
        // AMI v2 specification, "Message Layout", as one ASCII string.
        let wire = "Asterisk Call Manager/5.0.1\r\nEvent: Newchannel\r\nPrivilege: call,all\r\nChannel: PJSIP/misspiggy-00000001\r\nUniqueid: 1368479157.3\r\nChannelState: 3\r\nChannelStateDesc: Up\r\nCallerIDNum: 657-5309\r\nCallerIDName: Miss Piggy\r\nConnectedLineName:\r\nConnectedLineNum:\r\nAccountCode: Pork\r\nPriority:\r\nExten: 31337\r\nContext: inbound\r\n\r\n";
        let items = parse(wire.as_bytes()).unwrap();
        assert_eq!(items[0], Item::Banner("Asterisk Call Manager/5.0.1".into()));
        let Item::Frame(f) = &items[1] else {
            panic!("{items:?}")
        };
        assert_eq!(f.event(), Some("Newchannel"));
        assert_eq!(f.get("uniqueid"), Some("1368479157.3"));
        assert_eq!(f.get("CallerIDName"), Some("Miss Piggy"));
        assert_eq!(f.get("ConnectedLineName"), None);
        assert_eq!(f.get("Exten"), Some("31337"));
        assert_eq!(items.len(), 2);
    }

    #[test]
    fn frames_split_anywhere_are_put_together() {
        let wire = b"Asterisk Call Manager/2.10.3\r\nResponse: Success\r\nMessage: Authentication accepted\r\n\r\nEvent: Hangup\nCause: 16\n\n";
        for cut in 0..wire.len() {
            let mut r = FrameReader::new();
            let mut items = Vec::new();
            for part in [&wire[..cut], &wire[cut..]] {
                r.push(part);
                while let Some(item) = r.next_item() {
                    items.push(item.unwrap());
                }
            }
            assert_eq!(items.len(), 3, "cut at {cut}");
            let Item::Frame(f) = &items[2] else { panic!() };
            assert_eq!(f.get("Cause"), Some("16"));
        }
    }

    #[test]
    fn a_peer_that_is_not_asterisk_or_floods_is_refused() {
        assert!(matches!(
            parse(b"HTTP/1.1 400 Bad Request\r\n"),
            Err(FrameError::NotAmi(_))
        ));
        let long = format!(
            "Asterisk Call Manager/5\r\nEvent: {}",
            "x".repeat(MAX_LINE + 1)
        );
        assert_eq!(parse(long.as_bytes()), Err(FrameError::LineTooLong));
        let many = format!(
            "Asterisk Call Manager/5\r\n{}",
            "Variable: a=b\r\n".repeat(MAX_FIELDS + 1)
        );
        assert_eq!(parse(many.as_bytes()), Err(FrameError::TooManyFields));
    }

    #[test]
    fn an_action_cannot_carry_extra_fields_in_a_value() {
        let f = Frame::of(&[("Action", "Login"), ("Secret", "x\r\nAction: Logoff")]);
        assert_eq!(
            f.encode(),
            "Action: Login\r\nSecret: xAction: Logoff\r\n\r\n"
        );
    }
}

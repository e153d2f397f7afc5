//! Reading a history file: each of its records with its line number, as the
//! events of one call (a CDR line) or one event (a native JSON line), or why the
//! line is bad. One bad line never stops the others.

use std::io::{BufRead, BufReader, Read};

use chrono::Utc;
use deskbridge_core::CallEvent;

use crate::adapters::asterisk_cdr::{self, CdrSettings, Record};
use crate::adapters::native;
use crate::state::Group;

/// The formats `deskbridge backfill` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Asterisk's Master.csv, as cdr_csv writes it (no header line).
    AsteriskCsv,
    /// One native event (the JSON of `POST /api/v1/events`) per line.
    NativeJsonl,
}

/// One record of the file.
#[derive(Debug)]
pub struct Item {
    /// 1-based; for a CDR whose fields span lines, the line it starts on.
    pub line: u64,
    /// How far into the file the reader is (for the progress bar).
    pub bytes: u64,
    pub content: Content,
}

/// What a record holds.
#[derive(Debug)]
pub enum Content {
    Events(Vec<CallEvent>),
    /// Nothing to import (a call between two extensions).
    LeftOut,
    Bad(String),
}

/// The records of `input` in `format`, for `group`.
pub fn items<'a>(
    input: Box<dyn Read + 'a>,
    format: Format,
    group: &'a Group,
    cdr: CdrSettings,
) -> Box<dyn Iterator<Item = Item> + 'a> {
    match format {
        Format::AsteriskCsv => Box::new(cdr_items(input, cdr)),
        Format::NativeJsonl => Box::new(jsonl_items(input, group)),
    }
}

fn cdr_items<'a>(
    input: Box<dyn Read + 'a>,
    settings: CdrSettings,
) -> impl Iterator<Item = Item> + 'a {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(input);
    let mut record = csv::ByteRecord::new();
    let mut broken = false;
    std::iter::from_fn(move || {
        loop {
            if broken {
                return None;
            }
            let before = reader.position().line();
            let (line, content) = match reader.read_byte_record(&mut record) {
                Ok(false) => return None,
                Ok(true) => {
                    let line = record.position().map_or(before, |p| p.line());
                    match csv::StringRecord::from_byte_record(record.clone()) {
                        Ok(fields) => {
                            let fields: Vec<&str> = fields.iter().collect();
                            // A blank line (the file's last, say) is no record.
                            if fields.len() == 1 && fields[0].trim().is_empty() {
                                continue;
                            }
                            let content = match asterisk_cdr::record(&fields, &settings) {
                                Ok(Record::Call { events, .. }) => Content::Events(events),
                                Ok(Record::Internal) => Content::LeftOut,
                                Err(why) => Content::Bad(why),
                            };
                            (line, content)
                        }
                        Err(_) => (line, Content::Bad("not UTF-8 text".into())),
                    }
                }
                // The CSV itself is broken here; the reader goes on after it.
                Err(e) => (
                    {
                        // A file that cannot be read is read no further.
                        broken = e.is_io_error();
                        e.position().map_or(before, |p| p.line())
                    },
                    Content::Bad(format!("not CSV as cdr_csv writes it: {e}")),
                ),
            };
            return Some(Item {
                line,
                bytes: reader.position().byte(),
                content,
            });
        }
    })
}

fn jsonl_items<'a>(input: Box<dyn Read + 'a>, group: &'a Group) -> impl Iterator<Item = Item> + 'a {
    let mut lines = BufReader::new(input).split(b'\n');
    let mut line = 0;
    let mut bytes = 0;
    std::iter::from_fn(move || {
        loop {
            let raw = match lines.next()? {
                Ok(raw) => raw,
                Err(e) => {
                    line += 1;
                    return Some(Item {
                        line,
                        bytes,
                        content: Content::Bad(format!("cannot read the file: {e}")),
                    });
                }
            };
            line += 1;
            bytes += raw.len() as u64 + 1;
            let Ok(text) = std::str::from_utf8(&raw) else {
                return Some(Item {
                    line,
                    bytes,
                    content: Content::Bad("not UTF-8 text".into()),
                });
            };
            if text.trim().is_empty() {
                continue;
            }
            return Some(Item {
                line,
                bytes,
                content: match native_event(text, group) {
                    Ok(e) => Content::Events(vec![e]),
                    Err(why) => Content::Bad(why),
                },
            });
        }
    })
}

/// A native event, read as `POST /api/v1/events` reads it, for the run's group.
fn native_event(text: &str, group: &Group) -> Result<CallEvent, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let named = |e: native::FieldError| match e.field.is_empty() {
        true => e.message,
        false => format!("{}: {}", e.field, e.message),
    };
    let (group_name, _) = native::addressing(&value).map_err(named)?;
    if let Some(name) = group_name.filter(|n| *n != group.name) {
        return Err(format!(
            "group: the event is for group {name:?}; this run imports into {:?} (--group)",
            group.name
        ));
    }
    native::event(&value, group.region, Utc::now()).map_err(named)
}

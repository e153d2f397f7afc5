//! Structured logs on stderr: `key=value` text by default, JSON lines with
//! `DESKBRIDGE_LOG_FORMAT=json`; level from `RUST_LOG` (default `info`).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

pub fn init() {
    init_at("info")
}

/// Logs at `level` unless `RUST_LOG` says otherwise (a command with progress bars
/// logs only warnings by default).
pub fn init_at(level: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let json = std::env::var("DESKBRIDGE_LOG_FORMAT").is_ok_and(|f| f == "json");
    // A second init (tests starting several apps in one process) is harmless.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.fmt_fields(text_fields()).try_init()
    };
}

/// How the text log writes fields: `name=value`, with every control character
/// of a value escaped. Values are often a client's strings (a call id, an agent's
/// name, an error quoting a request): written raw, a newline in one would forge a
/// log line of the client's choosing and an escape sequence would rewrite the
/// operator's terminal. (JSON logs escape them by JSON's own rules.)
pub fn text_fields()
-> impl for<'w> tracing_subscriber::fmt::FormatFields<'w> + Send + Sync + 'static {
    use tracing_subscriber::field::MakeExt;
    tracing_subscriber::fmt::format::debug_fn(|w, field, value| {
        let text = escape_controls(&format!("{value:?}"));
        match field.name() {
            "message" => write!(w, "{text}"),
            name => write!(w, "{name}={text}"),
        }
    })
    .delimited(" ")
}

/// `text` with control characters written as escapes (`\n`, `\r`, `\t`,
/// `\u{1b}`), so that it stays on one line and carries no terminal commands.
pub fn escape_controls(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    text.chars()
        .map(|c| match c {
            c if c.is_control() => c.escape_default().to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// Installs the Prometheus recorder (once per process) and returns its handle.
pub fn metrics_recorder() -> anyhow::Result<metrics_exporter_prometheus::PrometheusHandle> {
    static HANDLE: std::sync::OnceLock<metrics_exporter_prometheus::PrometheusHandle> =
        std::sync::OnceLock::new();
    // Held from the check to the install: two apps starting at once in one process
    // (the in-process tests) would otherwise both install, and the second fails.
    static INSTALLING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _installing = INSTALLING.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(h) = HANDLE.get() {
        return Ok(h.clone());
    }
    let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
        .set_buckets_for_metric(
            metrics_exporter_prometheus::Matcher::Suffix("_seconds".into()),
            &[0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0],
        )?
        .install_recorder()?;
    Ok(HANDLE.get_or_init(|| handle).clone())
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A log writer that keeps what was written, for tests that read the log.
    #[derive(Clone, Default)]
    pub(crate) struct Captured(pub(crate) Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::ErrorKind::Other)?
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Issue 10, point 5: a client's newline or escape sequence, in a field or in
    /// the message, cannot start a line of its own or reach the terminal.
    #[test]
    fn client_strings_cannot_forge_log_lines() {
        let out = Captured::default();
        let writer = out.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .fmt_fields(text_fields())
            .finish();
        let forged = "c1\n2026-11-28T00:00:00Z  INFO deskbridge: admin signed in\u{1b}[2J";
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("step", call_id = %forged);
            let _entered = span.enter();
            tracing::info!(call_id = %forged, "event accepted for {forged}");
        });
        let text = String::from_utf8(out.0.lock().expect("log").clone()).expect("utf-8");
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(text.contains("c1\\n2026"), "{text}");
    }
}

//! The `deskbridge` command.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "deskbridge",
    version = deskbridge::VERSION,
    about = "Connects phone systems and chat platforms to a helpdesk."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the server (with no config: SQLite in ./deskbridge-data, built-in CRM,
    /// 127.0.0.1:8080).
    Serve {
        /// A TOML config file.
        #[arg(long, env = "DESKBRIDGE_CONFIG")]
        config: Option<PathBuf>,
        /// Address to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free port).
        #[arg(long, env = "DESKBRIDGE_LISTEN")]
        listen: Option<String>,
        /// Directory for the database and the ingest token.
        #[arg(long, env = "DESKBRIDGE_DATA_DIR")]
        data_dir: Option<PathBuf>,
        /// Database URL (sqlite://... or postgres://...).
        #[arg(long, env = "DESKBRIDGE_DATABASE_URL")]
        database_url: Option<String>,
    },
    /// Try deskbridge in a minute: a helpdesk account of its own (a Zendesk or
    /// Freshdesk emulator in the process), a few minutes of calls played into
    /// it, and the agent page to sign in to (the URL and sign-in are printed).
    #[cfg(feature = "demo")]
    Demo {
        /// The helpdesk the calls go to (an emulator in the process).
        #[arg(long, value_enum, default_value_t = deskbridge::demo::Helpdesk::Zendesk)]
        helpdesk: deskbridge::demo::Helpdesk,
        /// Address to listen on (port 0 picks a free port).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Play the calls this many times faster than real time.
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
        /// Keep the demo's database here (default: a temporary directory,
        /// removed when the demo stops).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Validate a config file and explain every error.
    Check {
        #[arg(long, env = "DESKBRIDGE_CONFIG")]
        config: PathBuf,
        /// Also check the config against the helpdesk account (credentials, ticket
        /// fields and forms, agents).
        #[arg(long)]
        online: bool,
    },
    /// Import a call history (CDRs) into a group's helpdesk, like live calls but in
    /// the bulk lane; safe to run again (what is there is not added twice).
    Backfill {
        /// The server's TOML config file (its groups, backends and agents).
        #[arg(long, env = "DESKBRIDGE_CONFIG")]
        config: Option<PathBuf>,
        /// Directory for the database (as for `serve`).
        #[arg(long, env = "DESKBRIDGE_DATA_DIR")]
        data_dir: Option<PathBuf>,
        /// Database URL (as for `serve`).
        #[arg(long, env = "DESKBRIDGE_DATABASE_URL")]
        database_url: Option<String>,
        /// The connector group the calls belong to (needed with several groups).
        #[arg(long)]
        group: Option<String>,
        #[arg(long, value_enum)]
        format: deskbridge::backfill::Format,
        /// Print each call that would be imported (id, time, caller, outcome,
        /// agent) and the totals; store nothing.
        #[arg(long)]
        dry_run: bool,
        /// The PBX clock's time zone for CDR times, e.g. Europe/Berlin (UTC when
        /// cdr.conf has `usegmtime = yes`).
        #[arg(long, default_value = "UTC")]
        timezone: String,
        /// A CDR whose source is an agent's extension in the directory, or a
        /// number of at most this many digits, was placed by an extension: an
        /// outbound call (both ends extensions: an internal call, left out).
        #[arg(long, default_value_t = 5)]
        extension_max_digits: usize,
        /// Calls per minute sent to the helpdesk; 0 = no limit. Default: no limit
        /// for the built-in CRM, a tenth of `requests_per_minute` for Zendesk.
        #[arg(long)]
        rate: Option<u32>,
        /// Store the calls and return, leaving their helpdesk work queued for a
        /// later run of this command.
        #[arg(long)]
        no_sync: bool,
        /// Events stored per commit (each commit is durable; a run stopped
        /// midway goes on from the last one when run again).
        #[arg(long, default_value_t = 500)]
        chunk: usize,
        /// The history file.
        file: PathBuf,
    },
    /// CRM triggers' dead letters: list them, send them again.
    Triggers {
        /// The server's TOML config file (its groups).
        #[arg(long, env = "DESKBRIDGE_CONFIG")]
        config: Option<PathBuf>,
        /// Directory for the database (as for `serve`).
        #[arg(long, env = "DESKBRIDGE_DATA_DIR")]
        data_dir: Option<PathBuf>,
        /// Database URL (as for `serve`).
        #[arg(long, env = "DESKBRIDGE_DATABASE_URL")]
        database_url: Option<String>,
        #[command(subcommand)]
        command: TriggersCommand,
    },
    /// Calls that failed for good: run one again, as the admin page's Retry.
    Calls {
        /// The server's TOML config file (its groups).
        #[arg(long, env = "DESKBRIDGE_CONFIG")]
        config: Option<PathBuf>,
        /// Directory for the database (as for `serve`).
        #[arg(long, env = "DESKBRIDGE_DATA_DIR")]
        data_dir: Option<PathBuf>,
        /// Database URL (as for `serve`).
        #[arg(long, env = "DESKBRIDGE_DATABASE_URL")]
        database_url: Option<String>,
        #[command(subcommand)]
        command: CallsCommand,
    },
    /// The agent page's sign-in.
    Agent {
        #[command(subcommand)]
        command: AgentCommand,
    },
    /// deskbridge inside Zendesk.
    Zendesk {
        #[command(subcommand)]
        command: ZendeskCommand,
    },
    /// Print the configuration reference (Markdown, docs/configuration.md),
    /// generated from the config types.
    ConfigReference,
}

#[derive(Subcommand)]
enum ZendeskCommand {
    /// Write the Zendesk app's zip, for a Zendesk admin to upload (Admin
    /// Center > Apps and integrations > Zendesk Support apps > Upload private
    /// app); see docs/zendesk.md.
    AppPackage {
        /// deskbridge's address as agents' browsers reach it (its
        /// `server.public_url`), e.g. https://deskbridge.acme.com.
        #[arg(long)]
        url: String,
        /// Where to write the zip.
        #[arg(long, default_value = "deskbridge-zendesk-app.zip")]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum CallsCommand {
    /// Put a failed call's failed step back in the queue (attempts reset, due
    /// now); a running server runs it, then the call's next steps. Fix the
    /// cause first (the call's `sync_error` says what).
    Retry {
        /// The call's id, as the phone system gave it.
        #[arg(long)]
        id: String,
        /// The call's group; default: every group that has a call of that id.
        #[arg(long)]
        group: Option<String>,
    },
}

#[derive(Subcommand)]
enum TriggersCommand {
    /// Print the notifications that failed for good (dead letters), newest
    /// first: id, made at, group, attempts, endpoint, last answer.
    ListFailed,
    /// Send dead letters again (a running server delivers them, with their
    /// `webhook-id`), one by id or all made since a time.
    Replay {
        #[arg(long, conflicts_with = "since", required_unless_present = "since")]
        id: Option<String>,
        /// RFC 3339 (2026-11-29T08:00:00Z) or a date (2026-11-29, midnight UTC).
        #[arg(long)]
        since: Option<String>,
    },
}

#[derive(Subcommand)]
enum AgentCommand {
    /// Print the argon2id hash of a password read from standard input, for an
    /// agent's `password_hash` (e.g. `echo -n 'secret' | deskbridge agent
    /// hash-password`).
    HashPassword,
}

/// The configuration, or the exit code after its errors were printed (2: the
/// file or the environment needs changing).
fn load_config(
    file: Option<&std::path::Path>,
    overrides: deskbridge::config::Overrides,
) -> Result<deskbridge::config::Config, ExitCode> {
    deskbridge::config::Config::load(file, overrides).map_err(|errors| {
        eprintln!("{errors}");
        ExitCode::from(2)
    })
}

/// The config of a command that does not listen (backfill, triggers, calls).
fn command_config(
    file: Option<&std::path::Path>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
) -> Result<deskbridge::config::Config, ExitCode> {
    let overrides = deskbridge::config::Overrides {
        listen: None,
        data_dir,
        database_url,
    };
    load_config(file, overrides)
}

/// The async runtime, or the exit code after saying why it could not start.
fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Runtime::new().map_err(|e| {
        eprintln!("cannot start the async runtime: {e}");
        ExitCode::FAILURE
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve {
            config,
            listen,
            data_dir,
            database_url,
        } => {
            let overrides = deskbridge::config::Overrides {
                listen,
                data_dir,
                database_url,
            };
            let config = match load_config(config.as_deref(), overrides) {
                Ok(c) => c,
                Err(code) => return code,
            };
            deskbridge::telemetry::init();
            let runtime = match runtime() {
                Ok(rt) => rt,
                Err(code) => return code,
            };
            match runtime.block_on(deskbridge::app::serve(config)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("deskbridge: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
        #[cfg(feature = "demo")]
        Command::Demo {
            helpdesk,
            listen,
            speed,
            data_dir,
        } => {
            deskbridge::telemetry::init_at("warn");
            let runtime = match runtime() {
                Ok(rt) => rt,
                Err(code) => return code,
            };
            let options = deskbridge::demo::Options {
                listen,
                speed,
                data_dir,
                helpdesk,
            };
            match runtime.block_on(deskbridge::demo::run(options)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("deskbridge demo: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Backfill {
            config,
            data_dir,
            database_url,
            group,
            format,
            dry_run,
            timezone,
            extension_max_digits,
            rate,
            no_sync,
            chunk,
            file,
        } => {
            let config = match command_config(config.as_deref(), data_dir, database_url) {
                Ok(c) => c,
                Err(code) => return code,
            };
            let Ok(timezone) = timezone.parse::<chrono_tz::Tz>() else {
                eprintln!(
                    "--timezone {timezone:?} is not a time zone; name one like Europe/Berlin or UTC"
                );
                return ExitCode::from(2);
            };
            let mut options = deskbridge::backfill::Options::new(&config, format);
            options.rate = rate
                .unwrap_or_else(|| deskbridge::backfill::default_rate(&config, group.as_deref()));
            options.group = group;
            options.dry_run = dry_run;
            options.timezone = timezone;
            options.extension_max_digits = extension_max_digits;
            options.sync = !no_sync;
            options.chunk = chunk.max(1);
            options.progress = std::io::IsTerminal::is_terminal(&std::io::stderr());
            deskbridge::telemetry::init_at("warn");
            let runtime = match runtime() {
                Ok(rt) => rt,
                Err(code) => return code,
            };
            let result = runtime.block_on(async {
                let (state, _) =
                    deskbridge::app::open(&config, deskbridge_core::WorkLane::Bulk).await?;
                let summary = deskbridge::backfill::run(
                    state.clone(),
                    &file,
                    &options,
                    &mut std::io::stdout(),
                    &mut std::io::stderr(),
                )
                .await;
                state.store.close().await;
                summary
            });
            match result {
                Ok(summary) if summary.interrupted => ExitCode::from(130),
                Ok(summary) if summary.bad.is_empty() && summary.failed.is_empty() => {
                    ExitCode::SUCCESS
                }
                Ok(summary) if summary.bad.is_empty() => ExitCode::from(1),
                Ok(summary) => {
                    eprintln!(
                        "{} bad lines were not imported (the others were); fix them and run again",
                        summary.bad.len()
                    );
                    ExitCode::from(1)
                }
                Err(e) => {
                    eprintln!("deskbridge backfill: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Triggers {
            config,
            data_dir,
            database_url,
            command,
        } => {
            let config = match command_config(config.as_deref(), data_dir, database_url) {
                Ok(c) => c,
                Err(code) => return code,
            };
            triggers(&config, command)
        }
        Command::Calls {
            config,
            data_dir,
            database_url,
            command,
        } => {
            let config = match command_config(config.as_deref(), data_dir, database_url) {
                Ok(c) => c,
                Err(code) => return code,
            };
            calls(&config, command)
        }
        Command::Zendesk {
            command: ZendeskCommand::AppPackage { url, out },
        } => {
            let zip = match deskbridge::zendesk_app::package::package(&url) {
                Ok(zip) => zip,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(2);
                }
            };
            if let Err(e) = std::fs::write(&out, zip) {
                eprintln!("cannot write {}: {e}", out.display());
                return ExitCode::from(1);
            }
            println!(
                "wrote {}: upload it in Zendesk (Admin Center > Apps and integrations > \
                 Zendesk Support apps > Upload private app), set deskbridge_url to {}",
                out.display(),
                url.trim_end_matches('/')
            );
            ExitCode::SUCCESS
        }
        Command::Agent {
            command: AgentCommand::HashPassword,
        } => {
            let mut password = String::new();
            if let Err(e) = std::io::stdin().read_line(&mut password) {
                eprintln!("cannot read the password from standard input: {e}");
                return ExitCode::from(2);
            }
            let password = password.trim_end_matches(['\r', '\n']);
            if password.is_empty() {
                eprintln!("send the password on standard input");
                return ExitCode::from(2);
            }
            match deskbridge::agent_auth::hash_password(password) {
                Ok(hash) => {
                    println!("{hash}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("cannot hash the password: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Command::ConfigReference => {
            print!("{}", deskbridge::config::reference::markdown());
            ExitCode::SUCCESS
        }
        Command::Check { config, online } => {
            match deskbridge::config::Config::load(Some(&config), Default::default()) {
                Ok(c) if online => check_online(&config, &c),
                Ok(c) => {
                    println!("{}: OK", config.display());
                    let groups: Vec<&str> = c.groups.iter().map(|g| g.name.as_str()).collect();
                    match groups.is_empty() {
                        true => println!("  groups: default (token generated on first start)"),
                        false => println!("  groups: {}", groups.join(", ")),
                    }
                    println!("  agents in the directory: {}", c.agents.len());
                    ExitCode::SUCCESS
                }
                Err(errors) => {
                    eprintln!("{errors}");
                    ExitCode::from(2)
                }
            }
        }
    }
}

fn triggers(config: &deskbridge::config::Config, command: TriggersCommand) -> ExitCode {
    use deskbridge::triggers::cli;
    let what = match &command {
        TriggersCommand::ListFailed => None,
        TriggersCommand::Replay { id: Some(id), .. } => match deskbridge_store::crm::parse_id(id) {
            Ok(id) => Some(cli::Replay::Id(id)),
            Err(e) => {
                eprintln!("--id: {e}");
                return ExitCode::from(2);
            }
        },
        TriggersCommand::Replay { since, .. } => {
            match cli::parse_since(since.as_deref().unwrap_or_default()) {
                Ok(t) => Some(cli::Replay::Since(t)),
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(2);
                }
            }
        }
    };
    deskbridge::telemetry::init_at("warn");
    let runtime = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let result = runtime.block_on(async {
        let (state, _) = deskbridge::app::open(config, deskbridge_core::WorkLane::Bulk).await?;
        let store = state.store.as_ref();
        let done = match what {
            None => {
                let n = cli::list_failed(config, store, &mut std::io::stdout()).await?;
                eprintln!("{n} failed notification(s)");
                Ok(())
            }
            Some(what) => cli::replay(config, store, what).await.map(|n| {
                println!("{n} notification(s) pending again; a running server sends them");
            }),
        };
        state.store.close().await;
        done
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `deskbridge calls retry`: exit 0 when the call is queued again, 1 when it
/// has not failed or does not exist.
fn calls(config: &deskbridge::config::Config, command: CallsCommand) -> ExitCode {
    use deskbridge_store::RetriedCall;
    let CallsCommand::Retry { id, group } = command;
    deskbridge::telemetry::init_at("warn");
    let runtime = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let result = runtime.block_on(async {
        let (state, _) = deskbridge::app::open(config, deskbridge_core::WorkLane::Bulk).await?;
        let groups: Vec<String> = match &group {
            Some(g) => vec![g.clone()],
            None => state.groups.iter().map(|g| g.name.clone()).collect(),
        };
        let mut outcome = None;
        for g in &groups {
            match state.store.retry_call(g, &id).await? {
                RetriedCall::NoSuchCall => {}
                RetriedCall::Queued(_) => {
                    outcome = Some(Ok(g.clone()));
                    break;
                }
                refused => outcome = Some(Err(refused.to_string())),
            }
        }
        state.store.close().await;
        anyhow::Ok(outcome)
    });
    match result {
        Ok(Some(Ok(g))) => {
            println!("call {id:?} of group {g:?} is queued again; a running server runs it");
            ExitCode::SUCCESS
        }
        Ok(Some(Err(why))) => {
            eprintln!("call {id:?}: {why}");
            ExitCode::from(1)
        }
        Ok(None) => {
            eprintln!(
                "no call {id:?} in the groups {}",
                groups_list(config, group)
            );
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

fn groups_list(config: &deskbridge::config::Config, group: Option<String>) -> String {
    match group {
        Some(g) => g,
        None if config.groups.is_empty() => "default".into(),
        None => config
            .groups
            .iter()
            .map(|g| g.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn check_online(path: &std::path::Path, config: &deskbridge::config::Config) -> ExitCode {
    let runtime = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let findings = runtime.block_on(deskbridge::check::online(config));
    for f in &findings {
        eprintln!("  - {f}");
    }
    let errors = findings
        .iter()
        .filter(|f| f.severity == deskbridge::check::Severity::Error)
        .count();
    if errors > 0 {
        eprintln!(
            "{}: {errors} error(s) against the helpdesk account",
            path.display()
        );
        return ExitCode::from(2);
    }
    println!(
        "{}: OK (checked against the helpdesk account)",
        path.display()
    );
    ExitCode::SUCCESS
}

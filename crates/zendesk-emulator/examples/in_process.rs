//! The emulator started in-process, as deskbridge's tests and demo start it:
//! `cargo run -p zendesk-emulator --example in_process` prints its URL and the
//! id of the agent it seeded, then serves until Ctrl-C.

use zendesk_emulator::{Emulator, EmulatorConfig};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let running = Emulator::new(EmulatorConfig::new("admin@acme.com", "TOKEN"))
        .start("127.0.0.1:0")
        .await?;
    let agent = running.seed_agent("ann@acme.com", "Ann Example");
    println!("{} agent {agent}", running.base_url);
    tokio::signal::ctrl_c().await
}

//! `kura history` (agent/src/cli/history.rs), compiled here on its own until it is wired into
//! the `kura` binary: it prints the log, verifies an intact chain (exit 0), and reports a
//! tampered one (exit 1).

#[path = "../src/cli/history.rs"]
mod history;

use std::process::ExitCode;
use std::time::SystemTime;

use clap::Parser as _;
use kura_agent::history::{Actor, Event, EventKind, Outcome};
use kura_agent::Store;

#[derive(clap::Parser)]
struct Cli {
    #[command(flatten)]
    args: history::Args,
}

fn run(arguments: &[&str]) -> anyhow::Result<ExitCode> {
    let cli = Cli::try_parse_from(std::iter::once("kura-history").chain(arguments.iter().copied()))
        .expect("arguments parse");
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
        .block_on(history::run(cli.args))
}

#[test]
fn prints_verifies_and_reports_tampering() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().to_str().expect("utf-8 path");
    {
        let store = Store::open(dir.path()).expect("open");
        for index in 0..3 {
            let event = Event::new(
                SystemTime::now(),
                Actor::Terminal("did:key:zV".into()),
                EventKind::Read,
                Outcome::Success,
            )
            .with_credentials([format!("urn:{index}")])
            .with_presentation(b"vp");
            store.append_history(&event).expect("append");
        }
    }
    assert_eq!(run(&["--data", data]).expect("print"), ExitCode::SUCCESS);
    assert_eq!(
        run(&["--data", data, "--verify", "--json"]).expect("verify"),
        ExitCode::SUCCESS
    );

    // Tamper with entry 2 through sled directly, as an attacker with disk access would.
    {
        let db = sled::open(dir.path()).expect("raw open");
        let tree = db.open_tree("history").expect("history tree");
        let key = 2u64.to_be_bytes();
        let mut value = tree.get(key).expect("get").expect("entry 2").to_vec();
        value[12] ^= 1;
        tree.insert(key, value).expect("tamper");
        db.flush().expect("flush");
    }
    assert_eq!(
        run(&["--data", data, "--verify"]).expect("verify"),
        ExitCode::from(1)
    );
    assert!(run(&["--data", "/nonexistent/kura"]).is_err());
}

//! `kura history`: print the repository's history log and check its hash chain (patent ST63,
//! ST81). It opens the data directory directly, so it runs while `kura serve` is stopped (sled
//! holds an exclusive lock on an open store).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use kura_agent::history::HistoryEntry;
use kura_agent::{Error, Store};

/// Print the history log; with `--verify`, check the hash chain too.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The repository's data directory (from `kura init`; its `store/` is read), or a bare
    /// store directory.
    #[arg(long, env = "KURA_DATA")]
    data: PathBuf,
    /// Check the hash chain: exit 1 and name the first broken entry if it does not verify.
    #[arg(long)]
    verify: bool,
    /// The first seq to print.
    #[arg(long, default_value_t = 1)]
    from: u64,
    /// At most this many entries.
    #[arg(long, default_value_t = usize::MAX)]
    limit: usize,
    /// One JSON object per line instead of columns.
    #[arg(long)]
    json: bool,
}

/// Runs `kura history`: 0 printed (and verified), 1 the chain is broken, 2 an error.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    if !args.data.is_dir() {
        anyhow::bail!("{} is not a kura data directory", args.data.display());
    }
    let store_dir = if args.data.join("config.json").is_file() {
        args.data.join("store")
    } else {
        args.data.clone()
    };
    let store = Store::open(&store_dir)
        .with_context(|| format!("opening the store in {}", store_dir.display()))?;
    for entry in store.history(args.from, args.limit)? {
        if args.json {
            println!("{}", entry.to_json());
        } else {
            println!("{}", entry_line(&entry));
        }
    }
    if !args.verify {
        return Ok(ExitCode::SUCCESS);
    }
    match store.verify_chain() {
        Ok(summary) => {
            let head = summary
                .head
                .map_or_else(|| "(empty)".to_owned(), |head| hex::encode(head.hash));
            eprintln!("history verified: {} entries, head {head}", summary.entries);
            Ok(ExitCode::SUCCESS)
        }
        Err(Error::HistoryTampered { seq, reason }) => {
            eprintln!("history chain BROKEN at seq {seq}: {reason}");
            Ok(ExitCode::from(1))
        }
        Err(error) => Err(error.into()),
    }
}

fn entry_line(entry: &HistoryEntry) -> String {
    let event = &entry.event;
    let mut line = format!(
        "{:>6}  {}  {:<18}  {:<8}  {}",
        entry.seq,
        entry.time_text(),
        event.kind.as_str(),
        event.outcome.as_str(),
        entry.actor_name(),
    );
    if !event.credential_ids.is_empty() {
        line.push_str(&format!("  ids={}", event.credential_ids.join(",")));
    }
    if let Some(hash) = &event.presentation_hash {
        line.push_str(&format!("  vp=sha256:{}", hex::encode(hash)));
    }
    if !event.reason.is_empty() {
        line.push_str(&format!("  reason={:?}", event.reason));
    }
    line
}

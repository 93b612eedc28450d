//! `kura serve`: run a repository's HTTP API.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use kura_agent::repository::Repository;
use kura_agent::server::{self, AppState, Options};

/// Serve a repository: the holder's DID document, the terminal API of FIG. 7, 8 and 9, the
/// owner's routes and /openapi.json.
///
/// Plain HTTP on the given address. Put it behind a TLS reverse proxy (see
/// docs/repository-api.md) for anything but loopback; did:web resolvers insist on HTTPS.
///
/// Example:
///   kura serve --data /tmp/repo --listen 127.0.0.1:8443
///
/// Stops on SIGINT/SIGTERM after finishing the requests in flight. Every acknowledged write is
/// on disk before its answer leaves (ST83).
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The repository's data directory (from `kura init`).
    #[arg(long, env = "KURA_DATA")]
    data: PathBuf,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:8443")]
    listen: String,
    /// Resolve terminals' and issuers' did:web over plain HTTP (loopback tests and demos only).
    #[arg(long)]
    allow_http: bool,
    /// Session lifetime in seconds.
    #[arg(long, default_value_t = 300)]
    session_seconds: u64,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let repository = Repository::open(&args.data)
        .with_context(|| format!("opening the repository in {}", args.data.display()))?;
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let address = listener.local_addr()?;
    let options = Options {
        allow_http_resolution: args.allow_http,
        session_lifetime: std::time::Duration::from_secs(args.session_seconds),
        ..Options::default()
    };
    eprintln!(
        "kura serve: {} on http://{address} (endpoint {}, DID document at {})",
        repository.config.did,
        repository.config.endpoint,
        repository
            .did_document_path()
            .unwrap_or_else(|| "- (did:key)".into())
    );
    let state = AppState::new(repository, options);
    server::serve(listener, state, shutdown_signal()).await;
    eprintln!("kura serve: stopped");
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut terminate) = signal(SignalKind::terminate()) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}

//! `kura context add|list|show`: the JSON-LD contexts the repository serves. kura never
//! fetches a context: a Data Integrity credential naming one that is neither bundled nor added
//! is refused with the URL and this command (docs/contexts.md).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::SystemTime;

use anyhow::Context as _;
use serde_json::{json, Value};
use vc_schemas::jsonld::{PreparedContext, MAX_CONTEXT_BYTES};

use super::owner::{send, Repository, Target};

const LONG_HELP: &str = "\
kura processes JSON-LD offline. It bundles the W3C contexts (credentials v1 and v2,
undefined-terms/v2, examples, security, data-integrity, multikey, jws-2020, ed25519-2020, the
status lists) and Open Badges 3.0 (docs/contexts.md lists them with their SHA-256). Any other
context a Data Integrity credential names must be added here first; a JWT-secured credential
needs none.

`add` checks the file: JSON, an object with a `@context` member that processes as a JSON-LD
context (every context it imports served already); a URL kura bundles is refused unless the
file is the same document; an added URL cannot be changed. It is pinned by the SHA-256 of the
file's bytes (printed), recorded in the history (context-added), and served at once by a
running kura serve.

How it reaches the repository: with --url, or while kura serve runs (it holds the store),
through the owner's routes GET /v1/admin/contexts[/{url}] and PUT /v1/admin/contexts/{url},
with the admin secret from DIR/admin.secret; otherwise through the store in DIR/store directly.

Examples:
  kura context add --data /srv/kura https://licences.example/contexts/v1 licence-context.json
  kura context list --data /srv/kura
  kura context show --data /srv/kura https://licences.example/contexts/v1 --raw

Exit status: 0 done, 2 an error (the context was refused, the repository cannot be reached).";

/// Add, list and show the JSON-LD contexts the repository serves (offline, pinned by SHA-256).
#[derive(clap::Args, Debug)]
#[command(after_long_help = LONG_HELP)]
pub struct Args {
    #[command(flatten)]
    repository: Repository,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    /// Add the context document FILE for URL; prints its SHA-256.
    Add {
        /// The URL documents name the context by (http or https, no fragment).
        // Not `url`: that is the global `--url` of the server to go through.
        #[arg(value_name = "URL")]
        context: String,
        /// The context document: JSON with a `@context` member, at most 256 KiB.
        file: PathBuf,
    },
    /// Every context served: bundled (with package and version) and added.
    List,
    /// One context with its document (`--raw`: the document only, byte for byte).
    Show {
        /// The context's URL.
        #[arg(value_name = "URL")]
        context: String,
        /// Print the document only, byte for byte.
        #[arg(long)]
        raw: bool,
    },
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let target = args.repository.target()?;
    let http = reqwest::Client::new();
    let route = |url: &str, context: &str| {
        format!(
            "{url}/v1/admin/contexts/{}",
            kura_agent::server::encode_segment(context)
        )
    };
    match (args.command, &target) {
        (Command::Add { context: url, file }, target) => {
            let text = read_context(&file)?;
            let answer = match target {
                Target::Store(store) => add_to_store(store, &url, &text).await?,
                Target::Server {
                    url: server,
                    secret,
                } => {
                    send(
                        http.put(route(server, &url))
                            .header("content-type", "application/json")
                            .body(text),
                        secret,
                    )
                    .await?
                }
            };
            let summary = json!({
                "url": answer["url"],
                "sha256": answer["sha256"],
                "origin": answer["origin"],
                "added": answer["added"],
            });
            println!("{}", serde_json::to_string_pretty(&summary)?);
        }
        (Command::List, Target::Store(store)) => {
            let jsonld = kura_agent::server::jsonld_with_stored_contexts(store);
            println!("{}", serde_json::to_string_pretty(&jsonld.contexts())?);
        }
        (Command::List, Target::Server { url, secret }) => {
            let answer = send(http.get(format!("{url}/v1/admin/contexts")), secret).await?;
            println!("{}", serde_json::to_string_pretty(&answer)?);
        }
        (Command::Show { context: url, raw }, target) => {
            let answer = match target {
                Target::Store(store) => {
                    let jsonld = kura_agent::server::jsonld_with_stored_contexts(store);
                    let (info, document) = jsonld
                        .context(&url)
                        .with_context(|| format!("the repository serves no context {url}"))?;
                    let mut answer = serde_json::to_value(info)?;
                    answer["document"] = Value::String(document);
                    answer
                }
                Target::Server {
                    url: server,
                    secret,
                } => send(http.get(route(server, &url)), secret).await?,
            };
            if raw {
                print!("{}", answer["document"].as_str().unwrap_or_default());
            } else {
                println!("{}", serde_json::to_string_pretty(&answer)?);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The file, if it is UTF-8 within the size limit.
fn read_context(file: &std::path::Path) -> anyhow::Result<String> {
    let size = std::fs::metadata(file)
        .with_context(|| format!("cannot read {}", file.display()))?
        .len();
    if size > MAX_CONTEXT_BYTES as u64 {
        anyhow::bail!(
            "{} is {size} bytes; a context document is at most {MAX_CONTEXT_BYTES}",
            file.display()
        );
    }
    std::fs::read_to_string(file)
        .with_context(|| format!("cannot read {} as UTF-8 text", file.display()))
}

/// Adds through the store: checked against the bundled and stored contexts, stored with its
/// history entry, flushed.
async fn add_to_store(store: &kura_agent::Store, url: &str, text: &str) -> anyhow::Result<Value> {
    let jsonld = kura_agent::server::jsonld_with_stored_contexts(store);
    let context = match jsonld.prepare_context(url, text).await? {
        PreparedContext::New(context) => context,
        PreparedContext::AlreadyServed(info) => {
            let mut answer = serde_json::to_value(info)?;
            answer["added"] = false.into();
            return Ok(answer);
        }
    };
    let now = SystemTime::now();
    let record = kura_agent::store::ContextRecord {
        url: context.url.clone(),
        sha256: context.sha256.clone(),
        document: context.text.clone(),
        added_at_ms: kura_agent::token::unix_millis(now),
    };
    let stored =
        store.add_context_lazy(&record, &kura_agent::server::context_event(now, &record))?;
    store.flush()?;
    Ok(json!({
        "url": record.url,
        "sha256": record.sha256,
        "origin": "added",
        "added": stored.is_some(),
    }))
}

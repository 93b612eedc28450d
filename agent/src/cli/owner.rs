//! How an owner's command reaches the repository: sled lets one process open a store at a
//! time, and a running `kura serve` holds it. So a command opens the store in `DIR/store`
//! directly, unless `--url` is given or the store is in use; then it goes through the owner's
//! routes of that server (`/v1/admin/…`) with the admin secret from `DIR/admin.secret` as the
//! bearer credential. The URL defaults to the endpoint in `DIR/config.json`.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use kura_agent::repository::Config;
use kura_agent::{Error, Store};
use serde_json::Value;

/// The options every owner's command takes to find its repository.
#[derive(clap::Args, Debug)]
pub struct Repository {
    /// The repository's data directory (from `kura init`).
    #[arg(long, env = "KURA_DATA", global = true)]
    data: Option<PathBuf>,
    /// The running `kura serve` to go through (default: the endpoint in config.json, used when
    /// the store is in use).
    #[arg(long, global = true)]
    url: Option<String>,
}

impl Repository {
    /// Whether a data directory was named (`--data` or `KURA_DATA`).
    pub fn is_named(&self) -> bool {
        self.data.is_some()
    }

    /// Where the command goes ([`Target::of`]).
    pub fn target(&self) -> anyhow::Result<Target> {
        let data = self
            .data
            .as_deref()
            .context("--data DIR (or KURA_DATA) names the repository")?;
        Target::of(data, self.url.as_deref())
    }
}

/// Where an owner's command goes.
pub enum Target {
    Store(Store),
    Server { url: String, secret: String },
}

impl Target {
    /// The store of the data directory `data`, or its running server (see the module docs).
    pub fn of(data: &Path, url: Option<&str>) -> anyhow::Result<Target> {
        let config_path = data.join("config.json");
        let config: Config =
            serde_json::from_slice(&std::fs::read(&config_path).with_context(|| {
                format!("{} (is it a kura data directory?)", config_path.display())
            })?)
            .with_context(|| format!("{}", config_path.display()))?;
        let server = |url: &str| -> anyhow::Result<Target> {
            let secret = kura_agent::admin::load_admin_credential(&data.join("admin.secret"))?;
            Ok(Target::Server {
                url: url.trim_end_matches('/').to_owned(),
                secret: secret.dangerous_to_text().to_string(),
            })
        };
        if let Some(url) = url {
            return server(url);
        }
        match Store::open(data.join("store")) {
            Ok(store) => Ok(Target::Store(store)),
            // sled's lock: a running kura serve has the store; go through its owner routes.
            Err(Error::Store(message)) if message.contains("in use by another process") => {
                server(&config.endpoint)
            }
            Err(error) => Err(error.into()),
        }
    }
}

/// Sends an owner's request with the admin secret; a problem answer becomes an error with its
/// detail. An empty answer (204) is `Value::Null`.
pub async fn send(request: reqwest::RequestBuilder, secret: &str) -> anyhow::Result<Value> {
    let response = request
        .bearer_auth(secret)
        .send()
        .await
        .context("reaching kura serve")?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        let detail = body["detail"].as_str().unwrap_or("no detail");
        anyhow::bail!("kura serve answered {status}: {detail}");
    }
    Ok(body)
}

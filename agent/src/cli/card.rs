//! `kura card`.

use std::process::ExitCode;

/// Not built yet.
#[derive(clap::Args)]
pub struct Args {}

pub async fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`kura card` is not built yet")
}

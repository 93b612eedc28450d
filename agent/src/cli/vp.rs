//! `kura vp`: create a presentation bound to a verifier's challenge and domain.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use vc_schemas::{ProofFormat, Secured};

/// Create Verifiable Presentations.
///
/// A presentation wraps one or more credentials and is signed by their holder for one
/// verifier: it carries the verifier's `challenge` (a fresh random value, so it cannot be
/// replayed) and `domain` (the verifier's name, so it cannot be forwarded). In kura the
/// holder's IC card signs presentations; this command signs with a key file.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Sign a presentation of the given credentials; print it.
    ///
    /// Each --credential file holds a secured credential: JSON with a Data Integrity proof,
    /// or a compact JWT. JWT credentials are embedded as EnvelopedVerifiableCredential in
    /// both formats. --format jwt writes VC-JOSE-COSE (header `typ` vp+jwt; the payload is the
    /// presentation with `nonce` and `aud`).
    ///
    /// Example: kura vp create --key holder.key --credential licence.vc.json \
    ///     --challenge 4f1c9a --domain verifier.example --format di > presentation.json
    Create(CreateArgs),
}

#[derive(clap::Args)]
struct CreateArgs {
    /// Key file of the holder (written by `kura did create`).
    #[arg(long)]
    key: PathBuf,
    /// Secured credential(s) to present; repeat or list several.
    #[arg(long, required = true, num_args = 1..)]
    credential: Vec<PathBuf>,
    /// The verifier's challenge (DI `challenge`, JWT `nonce`).
    #[arg(long)]
    challenge: String,
    /// The verifier's domain (DI `domain`, JWT `aud`).
    #[arg(long)]
    domain: String,
    /// Proof format: `di` (Data Integrity, JSON output) or `jwt` (compact JWT output).
    #[arg(long, value_enum, default_value_t = ProofFormat::DataIntegrity)]
    format: ProofFormat,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Command::Create(args) = args.command;
    let key = vc_schemas::read_key_file(&args.key)?;
    let mut credentials = Vec::new();
    for path in &args.credential {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        credentials.push(Secured::parse(&text).with_context(|| format!("{}", path.display()))?);
    }
    let secured = vc_schemas::create_presentation(
        &credentials,
        &key,
        &vc_schemas::PresentationOptions::new(
            &args.challenge,
            &args.domain,
            args.format,
            chrono::Utc::now(),
        ),
        vc_schemas::shared_jsonld(),
    )
    .await?;
    println!("{}", secured.to_text());
    Ok(ExitCode::SUCCESS)
}

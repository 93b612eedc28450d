//! FIG. 8 at the terminal: the read request (ST51–53), the token (ST60–61), the released
//! presentation (ST64) and its verification against the holder's DID document (ST65).

use did_methods::ResolverOptions;
use vc_schemas::{DidMethodsResolver, Secured, Verdict, Verifier, VerifyOptions};

use super::checks::{describe_request, unexpected};
use super::{
    check_verdict, flow, local, refused, Cause, OnStep, ReadOutcome, Session, Step, Terminal,
};
use crate::host::Locator;
use crate::terminal::api::{self, Next};
use crate::transport::Transport;
use crate::Error;

impl<T: Transport + ?Sized> Terminal<'_, T> {
    /// FIG. 7 + FIG. 8: the card-signed presentation of what `request` asks for, verified.
    /// A request that breaks ST51's rule ([`api::ReadRequest::check`]) is refused before the
    /// card is touched.
    pub async fn read(
        &mut self,
        request: api::ReadRequest,
        on_step: OnStep<'_>,
    ) -> Result<ReadOutcome, Error> {
        request
            .check()
            .map_err(|invalid| flow("ST51", Cause::Request(invalid)))?;
        let locator = self.open_card(on_step)?;
        let endpoint = self.find_repository(&locator, on_step).await?;
        let session = self.open_session(&endpoint, &locator, on_step).await?;
        let outcome = self.read_in(&session, &locator, request, on_step).await;
        self.close(&session).await;
        outcome
    }

    async fn read_in(
        &mut self,
        session: &Session,
        locator: &Locator,
        request: api::ReadRequest,
        on_step: OnStep<'_>,
    ) -> Result<ReadOutcome, Error> {
        let holder = locator.holder_did.clone();
        let key_id = self.prepare(session, &holder, on_step).await?;
        let next: Next = self
            .post("ST51-53", &session.route("read"), &request)
            .await?;
        on_step(Step::new(
            "ST51-53",
            format!("asked for {}", describe_request(&request)),
        ));
        let next = self.relay(session, next, on_step).await?;
        if next != Next::ReleaseToken {
            return Err(unexpected("ST60", &next, "the token release"));
        }
        let token = self.release_token("ST60")?;
        on_step(Step::new("ST60", "the card released the one-time token"));
        let submission = api::TokenSubmission {
            token: hex::encode(&token[..]),
        };
        let result: api::ReadResult = self
            .post("ST61-64", &session.route("token"), &submission)
            .await?;
        on_step(Step::new(
            "ST61-64",
            format!(
                "the repository accepted the token and released a presentation of {} credential(s)",
                result.credential_ids.len()
            ),
        ));
        if !request.ids.is_empty() {
            if let Some(extra) = result
                .credential_ids
                .iter()
                .find(|id| !request.ids.contains(id))
            {
                return Err(refused(format!(
                    "the presentation holds {extra}, which was not asked for"
                )));
            }
        }
        let verdict = self
            .verify_presentation(&result.presentation, &holder, &key_id, &request)
            .await?;
        on_step(Step::new(
            "ST65",
            format!("presentation verified: signed by {key_id}, challenge and domain bound"),
        ));
        Ok(ReadOutcome {
            presentation: result.presentation,
            credential_ids: result.credential_ids,
            holder,
            key_id,
            verdict,
        })
    }

    /// ST65: the presentation must verify against the holder's DID document, carry this
    /// verifier's challenge and domain, and be signed by the session's card key.
    async fn verify_presentation(
        &mut self,
        presentation: &Secured,
        holder: &str,
        key_id: &str,
        request: &api::ReadRequest,
    ) -> Result<Verdict, Error> {
        let resolver = DidMethodsResolver(did_methods::Resolver::new(ResolverOptions {
            allow_http: self.allow_http,
            ..ResolverOptions::default()
        }));
        let verify_options = VerifyOptions {
            challenge: Some(request.challenge.clone()),
            domain: Some(request.domain.clone()),
            now: (self.clock)(),
        };
        let verdict = Verifier {
            resolver: &resolver,
            jsonld: vc_schemas::shared_jsonld(),
            schemas: vc_schemas::schema::lenient_schemas(),
        }
        .verify(presentation, &verify_options)
        .await
        .map_err(|error| local("ST65", format!("cannot verify the presentation: {error}")))?;
        check_verdict(&verdict, holder, key_id)?;
        Ok(verdict)
    }
}

//! Lets ssi verify Data Integrity proofs with this crate's resolution.
//!
//! [`SsiResolver`] implements `ssi::dids::DIDResolver`, so
//! `ssi::dids::VerificationMethodDIDResolver::new(SsiResolver::new(resolver))`
//! (or `.into_vm_resolver()`) resolves verification methods for ssi's
//! cryptosuites. did:web always goes through [`Resolver`] (caller's client,
//! size limit, timeout, https-only). For did:key and did:jwk our document is
//! returned when it already has the requested `publicKeyFormat`; any other
//! format (ssi's suites ask for `Multikey`, `Ed25519VerificationKey2020`, …)
//! is produced by ssi's own `DIDKey`/`DIDJWK` after our key checks.

use ssi::dids::document::representation::MediaType;
use ssi::dids::resolution::{self, DIDMethodResolver as _, Output};
use ssi::dids::{DIDResolver, DID, DIDJWK};

use crate::did::Did;
use crate::error::Error;
use crate::methods::{jwk, key};
use crate::resolver::Resolver;

/// A [`Resolver`] seen through ssi's `DIDResolver` trait.
#[derive(Clone, Debug)]
pub struct SsiResolver {
    resolver: Resolver,
}

impl SsiResolver {
    pub fn new(resolver: Resolver) -> Self {
        Self { resolver }
    }

    /// The wrapped resolver.
    pub fn resolver(&self) -> &Resolver {
        &self.resolver
    }
}

impl Resolver {
    /// This resolver as an `ssi::dids::DIDResolver`.
    pub fn to_ssi(&self) -> SsiResolver {
        SsiResolver::new(self.clone())
    }
}

/// Maps our errors to ssi's resolution errors (both follow DID Resolution).
fn to_ssi_error(error: Error) -> resolution::Error {
    match error {
        Error::MethodNotSupported(method) => resolution::Error::MethodNotSupported(method),
        Error::NotFound(_) => resolution::Error::NotFound,
        Error::RepresentationNotSupported(what) => {
            resolution::Error::RepresentationNotSupported(what)
        }
        Error::InvalidDid { did, reason } => {
            resolution::Error::InvalidMethodSpecificId(format!("{did}: {reason}"))
        }
        other => resolution::Error::Internal(format!("{} ({})", other, other.code())),
    }
}

impl DIDResolver for SsiResolver {
    async fn resolve_representation<'a>(
        &'a self,
        did: &'a DID,
        options: resolution::Options,
    ) -> Result<Output<Vec<u8>>, resolution::Error> {
        let our_did = Did::parse(did.as_str()).map_err(to_ssi_error)?;
        let format = options.parameters.public_key_format.clone();
        match (our_did.method(), format.as_deref()) {
            ("key", Some(format)) if format != "Multikey" => {
                key::decode_did_key(&our_did).map_err(to_ssi_error)?;
                ssi::dids::DIDKey
                    .resolve_method_representation(our_did.method_specific_id(), options)
                    .await
            }
            ("jwk", Some(format)) if format != "JsonWebKey2020" => {
                jwk::decode_did_jwk(&our_did).map_err(to_ssi_error)?;
                DIDJWK
                    .resolve_method_representation(our_did.method_specific_id(), options)
                    .await
            }
            _ => {
                let document = self
                    .resolver
                    .resolve(&our_did)
                    .await
                    .map_err(to_ssi_error)?
                    // ssi does not check relationships: hide retired keys.
                    .without_retired();
                let media_type = if document.context().is_some() {
                    MediaType::JsonLd
                } else {
                    MediaType::Json
                };
                Ok(Output::from_content(
                    document.to_json_bytes(),
                    Some(media_type.to_string()),
                ))
            }
        }
    }
}

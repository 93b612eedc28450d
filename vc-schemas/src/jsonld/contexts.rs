//! The contexts kura serves, offline: the bundled set ([`super::bundled::BUNDLED`]) and the
//! ones the owner added (`kura context add URL FILE`), behind one JSON-LD [`Loader`],
//! [`OfflineLoader`]. Nothing is ever fetched.
//!
//! A URL is served by one document only: the owner cannot add a bundled URL with other content, nor change a context
//! once added (so a processed context, cached by [`super::JsonLd`], never goes stale).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde::Serialize;
use ssi::json_ld::{iref::Iri, LoadError, Loader, RemoteDocument, UnknownContext};

use super::bundled::{
    self, bundled_document, remote_document, sha256_hex, BundledContext, BUNDLED,
    MAX_CONTEXT_BYTES, MAX_CONTEXT_URL,
};
use super::{process_context, JsonLd};
use crate::Error;

/// A context the owner added, as kura serves it.
#[derive(Debug, Clone)]
pub struct AddedContext {
    pub url: String,
    /// The document, byte for byte as given.
    pub text: String,
    /// SHA-256 of [`AddedContext::text`], hex.
    pub sha256: String,
    document: RemoteDocument,
}

impl AddedContext {
    /// A context checked when it was added, as stored: parsed again, not checked again (its
    /// imports may be other stored contexts, loaded in any order).
    pub fn from_stored(url: &str, text: &str) -> Result<AddedContext, crate::Error> {
        Self::parse(url, text).map_err(|reason| crate::Error::InvalidContext {
            url: url.to_owned(),
            reason,
        })
    }

    /// Parses `text` as the document behind `url`; [`super::JsonLd::prepare_context`] checks
    /// the rest.
    pub(super) fn parse(url: &str, text: &str) -> Result<AddedContext, String> {
        Ok(AddedContext {
            url: url.to_owned(),
            text: text.to_owned(),
            sha256: sha256_hex(text.as_bytes()),
            document: remote_document(url, text)?,
        })
    }
}

/// What `kura context list` shows of one context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContextInfo {
    pub url: String,
    pub sha256: String,
    /// `bundled` or `added`.
    pub origin: &'static str,
    /// For a bundled context: its package and version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<&'static str>,
    /// For a bundled context: its file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<&'static str>,
    pub bytes: usize,
}

impl ContextInfo {
    pub(super) fn of_bundled(context: &'static BundledContext) -> Self {
        ContextInfo {
            url: context.url.to_owned(),
            sha256: context.sha256.to_owned(),
            origin: "bundled",
            source: Some(context.source),
            file: Some(context.file),
            bytes: context.text.len(),
        }
    }

    pub(super) fn of_added(context: &AddedContext) -> Self {
        ContextInfo {
            url: context.url.clone(),
            sha256: context.sha256.clone(),
            origin: "added",
            source: None,
            file: None,
            bytes: context.text.len(),
        }
    }
}

/// The JSON-LD document loader: bundled contexts, then the owner's. Never a fetch: any other
/// URL fails to load, and [`super::JsonLd`] reports it as [`crate::Error::UnknownContext`].
#[derive(Debug, Default)]
pub struct OfflineLoader {
    added: RwLock<HashMap<String, Arc<AddedContext>>>,
}

impl OfflineLoader {
    /// The owner's context for `url`.
    pub fn added(&self, url: &str) -> Option<Arc<AddedContext>> {
        read(&self.added).get(url).cloned()
    }

    /// Every context the owner added, in URL order.
    pub fn all_added(&self) -> Vec<Arc<AddedContext>> {
        let mut all: Vec<_> = read(&self.added).values().cloned().collect();
        all.sort_by(|a, b| a.url.cmp(&b.url));
        all
    }

    /// Serves `context` from now on. The caller checked that nothing serves its URL yet.
    pub(super) fn insert(&self, context: AddedContext) {
        self.added
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(context.url.clone(), Arc::new(context));
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    // Entries are inserted whole: a poisoned table is still a valid table.
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Loader for OfflineLoader {
    async fn load(&self, url: &Iri) -> Result<RemoteDocument, LoadError> {
        if let Some(document) = bundled_document(url.as_str()) {
            return Ok(document);
        }
        self.added(url.as_str())
            .map(|context| context.document.clone())
            .ok_or_else(|| LoadError::new(url.to_owned(), UnknownContext))
    }
}

/// What [`JsonLd::prepare_context`] found.
#[derive(Debug)]
pub enum PreparedContext {
    /// A new context, checked: [`JsonLd::install_context`] serves it.
    New(Box<AddedContext>),
    /// kura serves this very document under this URL already (bundled or added before).
    AlreadyServed(ContextInfo),
}

impl JsonLd {
    /// The context kura serves for `url` (bundled or added), with its text.
    pub fn context(&self, url: &str) -> Option<(ContextInfo, String)> {
        if let Some(context) = bundled::bundled(url) {
            return Some((ContextInfo::of_bundled(context), context.text.to_owned()));
        }
        self.loader
            .added(url)
            .map(|context| (ContextInfo::of_added(&context), context.text.clone()))
    }

    /// Every context kura serves: the bundled ones, then the added ones, each in URL order.
    pub fn contexts(&self) -> Vec<ContextInfo> {
        let mut bundled: Vec<ContextInfo> = BUNDLED.iter().map(ContextInfo::of_bundled).collect();
        bundled.sort_by(|a, b| a.url.cmp(&b.url));
        bundled.extend(
            self.loader
                .all_added()
                .iter()
                .map(|context| ContextInfo::of_added(context)),
        );
        bundled
    }

    /// Checks `text` as the context document for `url` without serving it yet: a URL (http or
    /// https, no fragment), a JSON object with a `@context` member that processes as a JSON-LD
    /// context offline (every context it imports is served already). A URL served already is
    /// [`PreparedContext::AlreadyServed`] when the document is the same JSON (bundled) or the
    /// same bytes (added), and refused otherwise: a served context never changes.
    pub async fn prepare_context(&self, url: &str, text: &str) -> Result<PreparedContext, Error> {
        let refuse = |reason: String| Error::InvalidContext {
            url: url.to_owned(),
            reason,
        };
        check_context_url(url).map_err(refuse)?;
        if text.len() > MAX_CONTEXT_BYTES {
            return Err(refuse(format!(
                "the document is {} bytes; at most {MAX_CONTEXT_BYTES} are taken",
                text.len()
            )));
        }
        let json: serde_json::Value = serde_json::from_str(text)
            .map_err(|error| refuse(format!("the document is not JSON: {error}")))?;
        let Some(context) = json.as_object().and_then(|object| object.get("@context")) else {
            return Err(refuse(
                "a context document is a JSON object with a `@context` member (JSON-LD 1.1 \
                 §3.1)"
                    .into(),
            ));
        };
        if let Some(bundled) = bundled::bundled(url) {
            let same = serde_json::from_str::<serde_json::Value>(bundled.text)
                .is_ok_and(|served| served == json);
            return if same {
                Ok(PreparedContext::AlreadyServed(ContextInfo::of_bundled(
                    bundled,
                )))
            } else {
                Err(refuse(format!(
                    "kura bundles another document for this URL (SHA-256 {}, from {}); a \
                     bundled context cannot be replaced",
                    bundled.sha256, bundled.source
                )))
            };
        }
        let added = AddedContext::parse(url, text).map_err(refuse)?;
        if let Some(existing) = self.loader.added(url) {
            return if existing.sha256 == added.sha256 {
                Ok(PreparedContext::AlreadyServed(ContextInfo::of_added(
                    &existing,
                )))
            } else {
                Err(refuse(format!(
                    "a context was added for this URL already, with SHA-256 {}; an added \
                     context cannot be changed",
                    existing.sha256
                )))
            };
        }
        self.check_contexts(&json).await?;
        process_context(context, &self.loader)
            .await
            .map_err(|error| {
                refuse(format!("it does not process as a JSON-LD context: {error}"))
            })?;
        Ok(PreparedContext::New(Box::new(added)))
    }

    /// Serves a context [`JsonLd::prepare_context`] checked, from now on. A URL served in the
    /// meantime keeps its document.
    pub fn install_context(&self, context: AddedContext) {
        if bundled::bundled(&context.url).is_none() && self.loader.added(&context.url).is_none() {
            self.loader.insert(context);
        }
    }

    /// [`JsonLd::prepare_context`] then [`JsonLd::install_context`]: the context's
    /// description, and whether it is new.
    pub async fn add_context(&self, url: &str, text: &str) -> Result<(ContextInfo, bool), Error> {
        match self.prepare_context(url, text).await? {
            PreparedContext::New(context) => {
                let info = ContextInfo::of_added(&context);
                self.install_context(*context);
                Ok((info, true))
            }
            PreparedContext::AlreadyServed(info) => Ok((info, false)),
        }
    }
}

/// A context URL the owner may add: an absolute `http`/`https` URL without a fragment.
fn check_context_url(url: &str) -> Result<(), String> {
    if url.len() > MAX_CONTEXT_URL {
        return Err(format!(
            "the URL is longer than {MAX_CONTEXT_URL} characters"
        ));
    }
    let iri = ssi::json_ld::Iri::new(url).map_err(|_| "not an absolute URL".to_owned())?;
    let scheme = iri.scheme().as_str();
    if scheme != "https" && scheme != "http" {
        return Err(format!(
            "a context URL is http or https (JSON-LD 1.1 §3.1), not `{scheme}:`"
        ));
    }
    if iri.fragment().is_some() {
        return Err("a context URL has no fragment".into());
    }
    Ok(())
}

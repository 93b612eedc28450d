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

use super::bundled::{bundled_document, remote_document, sha256_hex, BundledContext};

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

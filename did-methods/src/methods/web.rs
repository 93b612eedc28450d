//! did:web (W3C CCG did:web Method Specification), the parts without I/O:
//! DID → URL, and checking the fetched document.
//!
//! Hand-written rather than taken from ssi's `DIDWeb`: ssi builds its own
//! HTTP client (no caller-supplied client, no size limit, no timeout) and
//! silently switches to plain `http` for `localhost` and private IPv4
//! addresses. Here plain HTTP and IP hosts need `allow_http`.

use std::net::Ipv4Addr;

use percent_encoding::percent_decode_str;
use url::{Host, Url};

use crate::did::Did;
use crate::document::DidDocument;
use crate::error::Error;

/// RFC 1035 §2.3.4 limits.
const MAX_LABEL_LEN: usize = 63;
const MAX_DOMAIN_LEN: usize = 253;

/// Maps a did:web to the URL of its `did.json` (did:web §Read steps 1–5):
/// `did:web:example.com%3A8443:user:alice` →
/// `https://example.com:8443/user/alice/did.json`, and a bare domain →
/// `https://<domain>/.well-known/did.json`.
///
/// The spec forbids IP addresses; with `allow_http` (loopback tests and
/// development only) an IPv4 address or `localhost` is accepted and is
/// fetched over plain `http`.
pub fn did_web_url(did: &Did, allow_http: bool) -> Result<Url, Error> {
    if did.method() != "web" {
        return Err(Error::invalid_did(did.as_str(), "not a did:web"));
    }
    let invalid = |reason: &str| Error::invalid_did(did.as_str(), reason);
    let mut parts = did.method_specific_id().split(':');
    let authority = parts.next().unwrap_or_default();
    let segments: Vec<&str> = parts.collect();

    // did:web §Read step 2: only the port colon is percent-encoded.
    let lower = authority.to_ascii_lowercase();
    let (host, port) = match lower.find("%3a") {
        Some(at) => (&authority[..at], Some(&authority[at + 3..])),
        None => (authority, None),
    };
    let port = match port {
        None => None,
        Some(digits) => Some(
            digits
                .parse::<u16>()
                .ok()
                .filter(|port| *port != 0 && digits.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| invalid("port must be a number from 1 to 65535"))?,
        ),
    };

    let is_ip = host.parse::<Ipv4Addr>().is_ok();
    let is_localhost = host.eq_ignore_ascii_case("localhost");
    if is_ip && !allow_http {
        return Err(invalid("IP addresses are not allowed in did:web"));
    }
    if !is_ip {
        validate_domain(host).map_err(invalid)?;
    }

    for segment in &segments {
        validate_segment(segment).map_err(invalid)?;
    }

    let scheme = if allow_http && (is_ip || is_localhost) {
        "http"
    } else {
        "https"
    };
    let port = port.map(|port| format!(":{port}")).unwrap_or_default();
    let path = if segments.is_empty() {
        ".well-known".to_owned()
    } else {
        segments.join("/")
    };
    let url = Url::parse(&format!("{scheme}://{host}{port}/{path}/did.json"))
        .map_err(|error| invalid(&format!("does not map to a URL ({error})")))?;

    // The WHATWG URL parser turns hosts such as `0x7f.1` into IPv4
    // addresses; check what the URL really points at.
    match url.host() {
        Some(Host::Domain(_)) => {}
        Some(Host::Ipv4(_)) if allow_http => {}
        _ => return Err(invalid("host is an IP address")),
    }
    Ok(url)
}

/// RFC 1035/1123 host name: dot-separated labels of letters, digits and
/// hyphens, no hyphen at either end of a label.
fn validate_domain(host: &str) -> Result<(), &'static str> {
    if host.is_empty() {
        return Err("missing domain name");
    }
    if host.len() > MAX_DOMAIN_LEN {
        return Err("domain name too long");
    }
    for label in host.split('.') {
        if label.is_empty() || label.len() > MAX_LABEL_LEN {
            return Err("empty or over-long domain label");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err("domain name may only hold letters, digits, `-` and `.`");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("domain label must not start or end with `-`");
        }
    }
    Ok(())
}

/// A path segment must name a directory: not empty, not `.`/`..` even
/// percent-encoded, no encoded `/`, `\`, `?` or `#`.
fn validate_segment(segment: &str) -> Result<(), &'static str> {
    if segment.is_empty() {
        return Err("empty path segment");
    }
    let decoded = percent_decode_str(segment).collect::<Vec<u8>>();
    if decoded == b"." || decoded == b".." {
        return Err("`.` and `..` path segments are not allowed");
    }
    if decoded
        .iter()
        .any(|b| matches!(b, b'/' | b'\\' | b'?' | b'#') || b.is_ascii_control())
    {
        return Err("path segment hides a URL delimiter");
    }
    Ok(())
}

/// Checks fetched bytes: JSON (else `representationNotSupported`), a DID
/// document (else `invalidDidDocument`), and `id` equal to the DID
/// resolved (did:web §Read step 7).
pub fn document_from_bytes(did: &Did, bytes: &[u8]) -> Result<DidDocument, Error> {
    let document = DidDocument::from_json_bytes(bytes)?;
    if document.id() != did {
        return Err(Error::InvalidDidDocument(format!(
            "document id `{}` does not match the DID `{did}`",
            document.id()
        )));
    }
    Ok(document)
}

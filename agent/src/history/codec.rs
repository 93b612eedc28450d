//! The canonical bytes of a history entry (format 1): what the chain hash covers.
//!
//! A fixed, length-prefixed binary layout rather than JSON, so that the hashed bytes do not depend
//! on a serializer's choices and every byte of the stored entry is covered by the hash.

use super::{Actor, Event, EventKind, Outcome, ENTRY_FORMAT};
use crate::error::{Error, Result};

/// The canonical bytes of entry `seq` (see the module docs).
pub fn encode_entry(seq: u64, event: &Event) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(64 + event.reason.len());
    out.push(ENTRY_FORMAT);
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&event.time_ms.to_be_bytes());
    match &event.actor {
        Actor::Owner => out.push(0),
        Actor::Terminal(did) => {
            out.push(1);
            put_text(&mut out, did)?;
        }
    }
    out.push(event.kind.tag());
    put_len(&mut out, event.credential_ids.len())?;
    for id in &event.credential_ids {
        put_text(&mut out, id)?;
    }
    match &event.presentation_hash {
        None => out.push(0),
        Some(hash) => {
            out.push(1);
            out.extend_from_slice(hash);
        }
    }
    out.push(event.outcome.tag());
    put_text(&mut out, &event.reason)?;
    Ok(out)
}

fn put_len(out: &mut Vec<u8>, len: usize) -> Result<()> {
    let len = u32::try_from(len)
        .map_err(|_| Error::InvalidInput("history field longer than 4 GiB".into()))?;
    out.extend_from_slice(&len.to_be_bytes());
    Ok(())
}

fn put_text(out: &mut Vec<u8>, text: &str) -> Result<()> {
    put_len(out, text.len())?;
    out.extend_from_slice(text.as_bytes());
    Ok(())
}

/// Decodes canonical bytes strictly, returning the seq and the event.
pub fn decode_entry(bytes: &[u8]) -> std::result::Result<(u64, Event), String> {
    let mut reader = Reader { bytes };
    let format = reader.u8()?;
    if format != ENTRY_FORMAT {
        return Err(format!(
            "entry format {format}, this kura reads {ENTRY_FORMAT}"
        ));
    }
    let seq = reader.u64()?;
    let time_ms = reader.u64()?;
    let actor = match reader.u8()? {
        0 => Actor::Owner,
        1 => Actor::Terminal(reader.text()?),
        tag => return Err(format!("unknown actor tag {tag}")),
    };
    let kind_tag = reader.u8()?;
    let kind = EventKind::from_tag(kind_tag).ok_or(format!("unknown event tag {kind_tag}"))?;
    let count = reader.u32()?;
    let mut credential_ids = Vec::new();
    for _ in 0..count {
        credential_ids.push(reader.text()?);
    }
    let presentation_hash = match reader.u8()? {
        0 => None,
        1 => Some(reader.array::<32>()?),
        flag => return Err(format!("bad presentation flag {flag}")),
    };
    let outcome_tag = reader.u8()?;
    let outcome =
        Outcome::from_tag(outcome_tag).ok_or(format!("unknown outcome tag {outcome_tag}"))?;
    let reason = reader.text()?;
    if !reader.bytes.is_empty() {
        return Err(format!("{} trailing bytes", reader.bytes.len()));
    }
    let event = Event {
        time_ms,
        actor,
        kind,
        credential_ids,
        presentation_hash,
        outcome,
        reason,
    };
    Ok((seq, event))
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl Reader<'_> {
    fn take(&mut self, len: usize) -> std::result::Result<&[u8], String> {
        if self.bytes.len() < len {
            return Err("entry truncated".into());
        }
        let (head, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> std::result::Result<[u8; N], String> {
        let mut array = [0u8; N];
        array.copy_from_slice(self.take(N)?);
        Ok(array)
    }

    fn u8(&mut self) -> std::result::Result<u8, String> {
        Ok(self.array::<1>()?[0])
    }

    fn u32(&mut self) -> std::result::Result<u32, String> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn u64(&mut self) -> std::result::Result<u64, String> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    fn text(&mut self) -> std::result::Result<String, String> {
        let len = usize::try_from(self.u32()?).map_err(|_| "length overflow".to_string())?;
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| "text is not UTF-8".into())
    }
}

// Tampering for the interop tests: a copy of a VC or VP with one field
// changed and the original proof or signature kept.
import {parseInput} from './verify.mjs';

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

function decodeJwt(jwt) {
  const [header, payload, signature] = jwt.split('.');
  return {header, payload: JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')),
    signature};
}

function encodeJwt({header, payload, signature}) {
  return [header, Buffer.from(JSON.stringify(payload)).toString('base64url'), signature]
    .join('.');
}

// Changes the first string leaf of the subject (depth first, skipping `id`
// and `type`), so that the document stays well-formed JSON-LD and only the
// signature can tell.
function changeSubject(credential) {
  const subject = [].concat(credential.credentialSubject ?? [])[0];
  if(!subject || typeof subject !== 'object') {
    throw new Error('credential has no credentialSubject object');
  }
  const change = node => {
    for(const [key, value] of Object.entries(node)) {
      if(key === 'id' || key === 'type' || key === '@context') {
        continue;
      }
      if(typeof value === 'string') {
        node[key] = `${value} (tampered)`;
        return true;
      }
      if(value && typeof value === 'object' && change(value)) {
        return true;
      }
    }
    return false;
  };
  if(!change(subject)) {
    throw new Error('credentialSubject has no string field to change');
  }
}

function tamperJwtString(jwt, mode) {
  const parts = decodeJwt(jwt);
  tamperJwtPayload(parts.payload, mode);
  return encodeJwt(parts);
}

function tamperJwtPayload(claims, mode) {
  const body = claims.vc ?? claims.vp ?? claims;
  const isPresentation = claims.vp !== undefined ||
    [].concat(body.type ?? []).includes('VerifiablePresentation');
  if(mode === 'challenge') {
    if(!isPresentation || claims.nonce === undefined) {
      throw new Error('only a presentation JWT with a nonce has a challenge');
    }
    claims.nonce = `${claims.nonce}-tampered`;
    return;
  }
  if(!isPresentation) {
    changeSubject(body);
    return;
  }
  const list = [].concat(body.verifiableCredential ?? []);
  if(list.length === 0) {
    throw new Error('presentation carries no credential');
  }
  const first = list[0];
  if(typeof first === 'string') {
    list[0] = tamperJwtString(first, mode);
  } else if(typeof first.id === 'string' && first.id.startsWith('data:application/vc+jwt,')) {
    const inner = first.id.slice('data:application/vc+jwt,'.length);
    list[0] = {...first, id: `data:application/vc+jwt,${tamperJwtString(inner, mode)}`};
  } else {
    changeSubject(first);
  }
  body.verifiableCredential = list;
}

function tamperDi(document, mode) {
  const isPresentation = [].concat(document.type ?? []).includes('VerifiablePresentation');
  if(mode === 'challenge') {
    const proof = [].concat(document.proof ?? [])[0];
    if(!isPresentation || !proof || proof.challenge === undefined) {
      throw new Error('only a presentation proof with a challenge has a challenge');
    }
    proof.challenge = `${proof.challenge}-tampered`;
    return document;
  }
  if(isPresentation) {
    const first = [].concat(document.verifiableCredential ?? [])[0];
    if(!first) {
      throw new Error('presentation carries no credential');
    }
    changeSubject(first);
  } else {
    changeSubject(document);
  }
  return document;
}

/**
 * Returns a tampered copy of file content, in the same shape (bare JWT,
 * JSON string, enveloped object, or Data Integrity document).
 * @param {string} text - file content.
 * @param {'subject'|'challenge'} mode
 */
export function tamperText(text, mode) {
  if(!['subject', 'challenge'].includes(mode)) {
    throw new Error(`unknown tamper mode "${mode}"`);
  }
  const parsed = parseInput(text);
  if(parsed.format === 'jwt') {
    const tampered = tamperJwtString(parsed.jwt, mode);
    const trimmed = text.trim();
    if(COMPACT_JWS.test(trimmed)) {
      return tampered + '\n';
    }
    const outer = JSON.parse(trimmed);
    const out = typeof outer === 'string' ? tampered :
      {...outer, id: outer.id.replace(parsed.jwt, tampered)};
    return JSON.stringify(out, null, 2) + '\n';
  }
  return JSON.stringify(tamperDi(parsed.document, mode), null, 2) + '\n';
}

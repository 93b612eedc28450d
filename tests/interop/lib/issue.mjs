// Issuing VCs and VPs with the @digitalbazaar/vc stack (Data Integrity) and
// jose (VC-JWT / VP-JWT), from did:key keys generated on the spot.
import * as EcdsaMultikey from '@digitalbazaar/ecdsa-multikey';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import * as jose from 'jose';
import * as vc from '@digitalbazaar/vc';
import {cryptosuite as ecdsaRdfc2019} from '@digitalbazaar/ecdsa-rdfc-2019-cryptosuite';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {documentLoader} from './offline.mjs';

export const VC_V2_CONTEXT = 'https://www.w3.org/ns/credentials/v2';

/**
 * A fresh did:key with its signing key.
 * @param {'Ed25519'|'P-256'} alg
 */
export async function newDidKey(alg) {
  let keyPair;
  let toJwk;
  if(alg === 'Ed25519') {
    keyPair = await Ed25519Multikey.generate();
    toJwk = Ed25519Multikey.toJwk;
  } else if(alg === 'P-256') {
    keyPair = await EcdsaMultikey.generate({curve: 'P-256'});
    toJwk = EcdsaMultikey.toJwk;
  } else {
    throw new Error(`unsupported key algorithm "${alg}"`);
  }
  // did:key spec §3.1.2: the DID is the multibase public key, and the single
  // verification method's fragment repeats it.
  const did = `did:key:${keyPair.publicKeyMultibase}`;
  keyPair.controller = did;
  keyPair.id = `${did}#${keyPair.publicKeyMultibase}`;
  const privateJwk = await toJwk({keyPair, secretKey: true});
  if(alg === 'Ed25519') {
    // ed25519-multikey keeps the 64-byte NaCl secret (seed || public key) and
    // exports it whole; RFC 8037 §2 wants the 32-byte seed as `d`.
    privateJwk.d = Buffer.from(keyPair.secretKey.subarray(0, 32)).toString('base64url');
  }
  return {
    alg,
    did,
    vmId: keyPair.id,
    keyPair,
    jwsAlg: alg === 'Ed25519' ? 'EdDSA' : 'ES256',
    cryptosuite: alg === 'Ed25519' ? eddsaRdfc2022 : ecdsaRdfc2019,
    privateJwk
  };
}

function signingSuite(key) {
  return new DataIntegrityProof({signer: key.keyPair.signer(), cryptosuite: key.cryptosuite});
}

/** Seconds-precision XML Schema dateTime (VCDM 2.0 §4.9). */
export function dateTime(date) {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The unsigned credential: the template with this issuer and validFrom. */
export function prepareCredential(template, issuerDid, now) {
  const credential = structuredClone(template);
  credential.issuer = issuerDid;
  if(credential.validFrom === undefined && credential.issuanceDate === undefined) {
    credential.validFrom = dateTime(now);
  }
  return credential;
}

/** A Data Integrity VC (eddsa-rdfc-2022 or ecdsa-rdfc-2019 by key type). */
export async function issueDi(credential, key) {
  return vc.issue({credential, suite: signingSuite(key), documentLoader});
}

/** A Data Integrity VP carrying `challenge` and `domain` in its proof. */
export async function presentDi(credentials, key, {challenge, domain}) {
  const presentation = vc.createPresentation({verifiableCredential: credentials,
    holder: key.did});
  return vc.signPresentation({presentation, suite: signingSuite(key), challenge, domain,
    documentLoader});
}

async function signJwt(payload, key, typ) {
  const privateKey = await jose.importJWK(key.privateJwk, key.jwsAlg);
  return new jose.CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({alg: key.jwsAlg, kid: key.vmId, typ})
    .sign(privateKey);
}

/**
 * A VC-JWT. `style` 'vc-jose-cose' (VCDM 2.0: the payload is the credential,
 * typ vc+jwt) or 'vc-jwt-1.1' (the credential under the `vc` claim).
 */
export async function issueJwt(credential, key, {style = 'vc-jose-cose', now,
  dataModel = '2.0'}) {
  if(style === 'vc-jwt-1.1') {
    // VC-JWT 1.1 §6.3.1: registered claims mirror the credential.
    const payload = {iss: key.did, nbf: Math.floor(now.getTime() / 1000), vc: credential};
    if(credential.id) {
      payload.jti = credential.id;
    }
    if(credential.credentialSubject?.id) {
      payload.sub = credential.credentialSubject.id;
    }
    if(dataModel === '1.1') {
      Object.assign(payload, vcdm11Claims(credential, key, now));
    }
    return signJwt(payload, key, 'JWT');
  }
  return signJwt({...credential, iss: key.did}, key, 'vc+jwt');
}

export const VC_V1_CONTEXT = 'https://www.w3.org/2018/credentials/v1';

/**
 * A VCDM 1.1 credential as didkit writes it in VC-JWT 1.1: the members the
 * registered claims represent (issuer, id, credentialSubject.id, issuanceDate)
 * only as claims, and `nbf` as a non-integer NumericDate (RFC 7519 §2).
 */
function vcdm11Claims(credential, key, now) {
  const vc = structuredClone(credential);
  vc['@context'] = [VC_V1_CONTEXT, ...[].concat(vc['@context']).slice(1)];
  delete vc.issuer;
  delete vc.id;
  delete vc.validFrom;
  delete vc.issuanceDate;
  if(vc.validUntil !== undefined) {
    vc.expirationDate = vc.validUntil;
    delete vc.validUntil;
  }
  if(vc.credentialSubject && typeof vc.credentialSubject === 'object') {
    delete vc.credentialSubject.id;
  }
  // Half a second before the current whole second: never an integer, and never after `now`
  // (jose compares `nbf` with the whole seconds of its clock, so a fraction of the current
  // second would be "not yet valid" for the rest of that second).
  const nbf = Math.floor(now.getTime() / 1000) - 0.5;
  return {vc, nbf};
}

/** A VP-JWT: challenge as `nonce`, domain as `aud`. */
export async function presentJwt(credentialJwts, key, {challenge, domain, style = 'vc-jose-cose'}) {
  if(style === 'vc-jwt-1.1') {
    const payload = {iss: key.did, aud: domain, nonce: challenge, vp: {
      '@context': ['https://www.w3.org/2018/credentials/v1'],
      type: ['VerifiablePresentation'],
      holder: key.did,
      verifiableCredential: credentialJwts
    }};
    return signJwt(payload, key, 'JWT');
  }
  // VCDM 2.0 §4.13: credentials inside a presentation as enveloped JWTs.
  const payload = {
    '@context': [VC_V2_CONTEXT],
    type: ['VerifiablePresentation'],
    holder: key.did,
    verifiableCredential: credentialJwts.map(jwt => ({
      '@context': VC_V2_CONTEXT,
      id: `data:application/vc+jwt,${jwt}`,
      type: 'EnvelopedVerifiableCredential'
    })),
    iss: key.did,
    aud: domain,
    nonce: challenge
  };
  return signJwt(payload, key, 'vp+jwt');
}

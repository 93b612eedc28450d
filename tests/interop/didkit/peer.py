"""didkit as a peer for kura's interop tests (tests/tests/interop_didkit.rs).

  peer.py keygen                              print {"jwk", "did", "verificationMethod"}
  peer.py issue JWK_FILE CREDENTIAL [--jwt]   sign a credential (Ed25519Signature2020, or a VC-JWT)
  peer.py verify FILE                         verify a credential; print didkit's result

`verify` exits 0 when didkit reports no error, 1 when it does, 2 on a failure to run.
The didkit 0.3.3 wheel can crash while the interpreter shuts down, after its work is done, so
the script ends with os._exit once its output is flushed.
"""

import asyncio
import json
import os
import sys

import didkit


def finish(code, text=None):
    if text is not None:
        sys.stdout.write(text + "\n")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


async def keygen():
    jwk = didkit.generate_ed25519_key()
    did = didkit.key_to_did("key", jwk)
    method = await didkit.key_to_verification_method("key", jwk)
    return json.dumps({"jwk": json.loads(jwk), "did": did, "verificationMethod": method})


async def issue(jwk_file, credential_file, as_jwt):
    with open(jwk_file, encoding="utf-8") as f:
        jwk = f.read()
    with open(credential_file, encoding="utf-8") as f:
        credential = f.read()
    method = await didkit.key_to_verification_method("key", jwk)
    options = {"proofPurpose": "assertionMethod", "verificationMethod": method}
    if as_jwt:
        options["proofFormat"] = "jwt"
    else:
        options["type"] = "Ed25519Signature2020"
    return await didkit.issue_credential(credential, json.dumps(options), jwk)


async def verify(path):
    with open(path, encoding="utf-8") as f:
        text = f.read().strip()
    options = {"proofPurpose": "assertionMethod"}
    if not text.startswith("{"):
        options["proofFormat"] = "jwt"
    return await didkit.verify_credential(text, json.dumps(options))


def main(argv):
    try:
        if argv[:1] == ["keygen"]:
            finish(0, asyncio.run(keygen()))
        if argv[:1] == ["issue"] and len(argv) in (3, 4):
            finish(0, asyncio.run(issue(argv[1], argv[2], argv[3:] == ["--jwt"])))
        if argv[:1] == ["verify"] and len(argv) == 2:
            result = asyncio.run(verify(argv[1]))
            finish(0 if not json.loads(result)["errors"] else 1, result)
    except Exception as error:  # didkit raises its own exception types
        sys.stderr.write(f"didkit: {error}\n")
        finish(2)
    sys.stderr.write(__doc__)
    finish(2)


if __name__ == "__main__":
    main(sys.argv[1:])

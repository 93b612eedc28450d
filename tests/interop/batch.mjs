#!/usr/bin/env node
// Usage: node batch.mjs [--context URL=FILE]... [--did-document FILE]... < JOBS.json
// Runs many verify/tamper steps in one process (Node's start-up, loading the
// whole @digitalbazaar/vc stack, costs seconds on a busy machine). JOBS is a
// JSON array, run in order:
//   {"op": "verify", "file": F, "challenge"?: C, "domain"?: D, "now"?: ISO}
//   {"op": "tamper", "file": F, "mode": "subject"|"challenge", "out": F2}
// Prints a JSON array with one result per job: the verdict for "verify" (with
// "exit": 0 valid / 1 invalid / 2 bad input, as verify.mjs would exit), and
// {"ok": true} or {"ok": false, "error": …} for "tamper". Exit 2 on a bad
// job list, else 0.
import {readFile, writeFile} from 'node:fs/promises';
import {parseArgs} from 'node:util';
import {forbidNetwork, registerContextFiles, registerDidDocuments} from './lib/offline.mjs';
import {InputError, verifyText} from './lib/verify.mjs';
import {tamperText} from './lib/tamper.mjs';

forbidNetwork();

async function runJob(job) {
  if(job?.op === 'verify') {
    const now = job.now === undefined ? new Date() : new Date(job.now);
    try {
      const verdict = await verifyText(await readFile(job.file, 'utf8'),
        {challenge: job.challenge, domain: job.domain, now});
      return {...verdict, exit: verdict.valid ? 0 : 1};
    } catch(e) {
      if(e instanceof InputError || e.code === 'ENOENT') {
        return {valid: false, error: e.message, exit: 2};
      }
      throw e;
    }
  }
  if(job?.op === 'tamper') {
    try {
      await writeFile(job.out, tamperText(await readFile(job.file, 'utf8'), job.mode));
      return {ok: true};
    } catch(e) {
      return {ok: false, error: e.message};
    }
  }
  throw new Error(`unknown job ${JSON.stringify(job)}`);
}

async function main() {
  const {values} = parseArgs({options: {
    context: {type: 'string', multiple: true},
    'did-document': {type: 'string', multiple: true}
  }});
  await registerContextFiles(values.context);
  await registerDidDocuments(values['did-document']);
  const chunks = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk);
  }
  const jobs = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  if(!Array.isArray(jobs)) {
    throw new Error('the job list must be a JSON array');
  }
  const results = [];
  for(const job of jobs) {
    results.push(await runJob(job));
  }
  process.stdout.write(JSON.stringify(results) + '\n');
}

try {
  await main();
} catch(e) {
  process.stderr.write(`batch.mjs: ${e.message}\n`);
  process.exitCode = 2;
}

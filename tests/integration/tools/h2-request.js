// h2-request.js - one request with Node's built-in http2 client over
// prior-knowledge h2c, for switchyard's integration tests.
//
//   node h2-request.js URL METHOD PATH [HEADER=VALUE ...]
//
// For POST/PUT the request body is read from stdin.  Prints one JSON line:
// {"status": N, "headers": {...}, "body_b64": "...", "body_len": N}.
// Exits 0 once the response ended, 1 on any error, 2 on timeout.
'use strict';
const http2 = require('http2');

const [url, method, path, ...extra] = process.argv.slice(2);
const timer = setTimeout(() => { console.log('timeout'); process.exit(2); }, 20000);

function readStdin() {
  return new Promise((resolve, reject) => {
    const parts = [];
    process.stdin.on('data', (d) => parts.push(d));
    process.stdin.on('end', () => resolve(Buffer.concat(parts)));
    process.stdin.on('error', reject);
  });
}

async function main() {
  const body = (method === 'POST' || method === 'PUT') ? await readStdin() : null;
  const client = http2.connect(url);
  client.on('error', (e) => { console.log('session error', e.message); process.exit(1); });
  const headers = { ':method': method, ':path': path };
  for (const kv of extra) {
    const i = kv.indexOf('=');
    headers[kv.slice(0, i)] = kv.slice(i + 1);
  }
  if (body !== null) headers['content-length'] = String(body.length);
  const req = client.request(headers, { endStream: body === null });
  let status = 0, rhdrs = {};
  const chunks = [];
  req.on('response', (h) => { status = h[':status']; rhdrs = h; });
  req.on('data', (d) => chunks.push(d));
  req.on('end', () => {
    const b = Buffer.concat(chunks);
    console.log(JSON.stringify({ status, headers: rhdrs, body_b64: b.toString('base64'),
                                 body_len: b.length }));
    clearTimeout(timer);
    client.close();
  });
  req.on('error', (e) => { console.log('stream error', e.message); process.exit(1); });
  if (body !== null) req.end(body);
}

main().catch((e) => { console.log('error', e.message); process.exit(1); });

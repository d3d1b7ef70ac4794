// ws-echo.js - Debian's node-ws as a WebSocket client for switchyard's
// integration tests.
//
//   NODE_PATH=/usr/share/nodejs node ws-echo.js URL SIZE...
//
// For every SIZE sends a binary message of SIZE random bytes and a text
// message of SIZE characters (multi-byte UTF-8 included), each checked
// against its echo, then closes with 1000.  Prints "closed <code> after
// <n>" and exits 0 when every message came back intact.
'use strict';
const WebSocket = require('ws');
const crypto = require('crypto');

const [url, ...sizeArgs] = process.argv.slice(2);
const sizes = sizeArgs.map(Number);
const timer = setTimeout(() => { console.log('timeout after', i); process.exit(2); }, 120000);
const ws = new WebSocket(url, { maxPayload: 64 << 20, perMessageDeflate: false });
const plan = [];
for (const n of sizes) { plan.push([n, true]); plan.push([n, false]); }
let i = 0, expect;

function textOf(n) {
  // n characters, two-byte 'ü' and one-byte 'x' alternating
  return 'üx'.repeat(Math.ceil(n / 2)).slice(0, n);
}

function next() {
  if (i === plan.length) { ws.close(1000, 'done'); return; }
  const [n, bin] = plan[i];
  expect = bin ? crypto.randomBytes(n) : textOf(n);
  ws.send(expect, { binary: bin });
}

ws.on('open', next);
ws.on('message', (data, isBinary) => {
  const [n, bin] = plan[i];
  const ok = isBinary === bin &&
    (bin ? Buffer.compare(data, expect) === 0 : data.toString() === expect);
  if (!ok) { console.log('mismatch at', n, bin ? 'binary' : 'text'); process.exit(1); }
  i++;
  next();
});
ws.on('unexpected-response', (req, res) => { console.log('status', res.statusCode); process.exit(1); });
ws.on('close', (code) => {
  clearTimeout(timer);
  console.log('closed', code, 'after', i);
  process.exit(code === 1000 && i === plan.length ? 0 : 1);
});
ws.on('error', (e) => { console.log('error', e.message); process.exit(1); });

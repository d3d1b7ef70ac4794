// h2-connect.js - an RFC 8441 extended CONNECT client with Node's built-in
// http2 module, for switchyard's integration tests.
//
//   node h2-connect.js URL PATH TEXT
//
// Connects with prior-knowledge h2c, waits for the server's SETTINGS to
// allow extended CONNECT (SETTINGS_ENABLE_CONNECT_PROTOCOL), opens
// `:method CONNECT, :protocol websocket` without sec-websocket-key (as
// browsers do), sends TEXT as one masked WebSocket text frame, prints the
// echoed frame, then closes the WebSocket (close frame 1000) and the stream.
// Output lines: "settings enableConnectProtocol=<bool>", "status <N>",
// "accept <value or none>", "echo <opcode> <payload>", "close <code>",
// "end".  Exits 0 after "end"; 1 on error; 2 on timeout; 3 when the
// server does not allow extended CONNECT.
'use strict';
const http2 = require('http2');
const crypto = require('crypto');

const [url, path, text] = process.argv.slice(2);
const timer = setTimeout(() => { console.log('timeout'); process.exit(2); }, 20000);

function frame(op, payload) {
  const key = crypto.randomBytes(4);
  let head;
  if (payload.length < 126) {
    head = Buffer.from([0x80 | op, 0x80 | payload.length]);
  } else if (payload.length < 65536) {
    head = Buffer.alloc(4);
    head[0] = 0x80 | op; head[1] = 0x80 | 126; head.writeUInt16BE(payload.length, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = 0x80 | op; head[1] = 0x80 | 127; head.writeBigUInt64BE(BigInt(payload.length), 2);
  }
  const masked = Buffer.alloc(payload.length);
  for (let i = 0; i < payload.length; i++) masked[i] = payload[i] ^ key[i % 4];
  return Buffer.concat([head, key, masked]);
}

// Whole frames from buf: [{op, payload}], rest.
function parse(buf) {
  const out = [];
  for (;;) {
    if (buf.length < 2) break;
    let n = buf[1] & 0x7f, pos = 2;
    if (n === 126) { if (buf.length < 4) break; n = buf.readUInt16BE(2); pos = 4; }
    else if (n === 127) { if (buf.length < 10) break; n = Number(buf.readBigUInt64BE(2)); pos = 10; }
    const masked = (buf[1] & 0x80) !== 0;
    let key = null;
    if (masked) { if (buf.length < pos + 4) break; key = buf.subarray(pos, pos + 4); pos += 4; }
    if (buf.length < pos + n) break;
    let payload = Buffer.from(buf.subarray(pos, pos + n));
    if (masked) for (let i = 0; i < n; i++) payload[i] ^= key[i % 4];
    out.push({ op: buf[0] & 0x0f, payload, masked });
    buf = buf.subarray(pos + n);
  }
  return [out, buf];
}

const client = http2.connect(url);
client.on('error', (e) => { console.log('session error', e.message); process.exit(1); });
client.on('remoteSettings', (settings) => {
  console.log('settings enableConnectProtocol=' + Boolean(settings.enableConnectProtocol));
  if (!settings.enableConnectProtocol) { clearTimeout(timer); client.close(); process.exitCode = 3; return; }
  const authority = new URL(url).host;
  const req = client.request({
    ':method': 'CONNECT', ':protocol': 'websocket', ':scheme': 'http',
    ':path': path, ':authority': authority, 'sec-websocket-version': '13',
  }, { endStream: false });
  let buf = Buffer.alloc(0);
  let state = 'open';
  req.on('response', (h) => {
    console.log('status ' + h[':status']);
    console.log('accept ' + (h['sec-websocket-accept'] || 'none'));
    if (h[':status'] !== 200) { req.close(); client.close(); clearTimeout(timer); return; }
    req.write(frame(1, Buffer.from(text)));
  });
  req.on('data', (d) => {
    let frames;
    [frames, buf] = parse(Buffer.concat([buf, d]));
    for (const f of frames) {
      if (f.masked) { console.log('masked frame from the server'); process.exit(1); }
      if (f.op === 8) {
        console.log('close ' + (f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 'none'));
        state = 'closed';
        req.end();
      } else {
        console.log('echo ' + f.op + ' ' + f.payload.toString());
        if (state === 'open') { state = 'closing'; req.write(frame(8, Buffer.from([0x03, 0xe8]))); }
      }
    }
  });
  req.on('end', () => { console.log('end'); clearTimeout(timer); client.close(); });
  req.on('error', (e) => { console.log('stream error', e.message); process.exit(1); });
});

// cdp-ws.js - drive a running Chromium through its DevTools protocol (CDP)
// for switchyard's browser test: load a page, then open a WebSocket from
// inside it and exchange messages, and report what the browser saw.
//
//   NODE_PATH=/usr/share/nodejs node cdp-ws.js BROWSER_WS_URL PAGE_URL WS_URL COUNT
//
// BROWSER_WS_URL is ws://127.0.0.1:<port><path> from the browser's
// DevToolsActivePort file.  A new tab is opened on about:blank, Network and
// Page events are switched on, PAGE_URL is loaded (waiting for its load
// event), then Runtime.evaluate runs, in the page, a script that opens
// `new WebSocket(WS_URL)` and sends COUNT text messages one after another
// (message i is "msg <i>:" followed by i*700 "x", so the larger ones cross
// HTTP/2 flow-control windows), checking that each echo is the message
// sent, then closes with 1000.  Output: one JSON line
//   {"page": {"status", "protocol", "url"}, "navigation_protocol",
//    "title", "echoes", "close_code", "ws_handshake_status",
//    "ws_created": n, "ws_errors": [...], "failed": [...]}
// Exit status 0 when the script ran to the end (the caller judges the
// numbers), 1 on a CDP error, 2 on the overall timeout (45 s).
// The ws module is Debian's node-ws (Node 20's global WebSocket needs a
// flag).
'use strict';
const WebSocket = require('ws');

const [browserUrl, pageUrl, wsUrl, countArg] = process.argv.slice(2);
const count = parseInt(countArg, 10);
const report = {
  page: null, navigation_protocol: null, title: null, echoes: 0, close_code: null,
  ws_handshake_status: null, ws_created: 0, ws_errors: [], failed: [],
};
const overall = setTimeout(() => {
  report.error = 'timeout';
  console.log(JSON.stringify(report));
  process.exit(2);
}, 45000);

const sock = new WebSocket(browserUrl, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
let nextId = 0;
const pending = new Map();
const waiters = [];

function call(method, params, sessionId) {
  return new Promise((resolve, reject) => {
    const id = ++nextId;
    pending.set(id, { resolve, reject, method });
    const msg = { id, method, params: params || {} };
    if (sessionId) msg.sessionId = sessionId;
    sock.send(JSON.stringify(msg));
  });
}

function waitEvent(method, timeoutMs) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no ' + method + ' event')), timeoutMs);
    waiters.push({ method, resolve: (m) => { clearTimeout(t); resolve(m); } });
  });
}

function onEvent(m) {
  const p = m.params || {};
  switch (m.method) {
    case 'Network.responseReceived':
      if (p.type === 'Document' && report.page === null) {
        report.page = { status: p.response.status, protocol: p.response.protocol,
                        url: p.response.url };
      }
      break;
    case 'Network.loadingFailed':
      report.failed.push(p.errorText + (p.blockedReason ? ' ' + p.blockedReason : ''));
      break;
    case 'Network.webSocketCreated':
      report.ws_created += 1;
      break;
    case 'Network.webSocketHandshakeResponseReceived':
      report.ws_handshake_status = p.response.status;
      break;
    case 'Network.webSocketFrameError':
      report.ws_errors.push(p.errorMessage);
      break;
    default:
      break;
  }
  for (let i = 0; i < waiters.length; i++) {
    if (waiters[i].method === m.method) {
      const w = waiters.splice(i, 1)[0];
      w.resolve(m);
      break;
    }
  }
}

sock.on('message', (data) => {
  const m = JSON.parse(data.toString());
  if (m.id !== undefined) {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.error) p.reject(new Error(p.method + ': ' + JSON.stringify(m.error)));
    else p.resolve(m.result);
  } else {
    onEvent(m);
  }
});
sock.on('error', (e) => {
  console.log(JSON.stringify({ error: 'cdp socket: ' + e.message }));
  process.exit(1);
});

// Runs in the page: the WebSocket exchange.
function pageScript(url, n) {
  return `new Promise((resolve) => {
    const nav = performance.getEntriesByType('navigation')[0] || {};
    const out = { echoes: 0, close_code: null, title: document.title,
                  navigation_protocol: nav.nextHopProtocol || null };
    const msg = (i) => 'msg ' + i + ':' + 'x'.repeat(i * 700);
    const done = (why) => { clearTimeout(t); if (why) out.error = why; resolve(out); };
    const t = setTimeout(() => done('timeout in the page'), 30000);
    let ws;
    try {
      ws = new WebSocket(${JSON.stringify(url)});
    } catch (e) {
      done('constructor: ' + e);
      return;
    }
    ws.onopen = () => ws.send(msg(0));
    ws.onmessage = (e) => {
      if (e.data !== msg(out.echoes)) {
        done('bad echo of message ' + out.echoes);
        ws.close();
        return;
      }
      out.echoes += 1;
      if (out.echoes < ${n}) ws.send(msg(out.echoes)); else ws.close(1000, 'done');
    };
    ws.onerror = () => { out.error = 'websocket error event'; };
    ws.onclose = (e) => { out.close_code = e.code; done(out.error); };
  })`;
}

sock.on('open', async () => {
  try {
    const { targetId } = await call('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await call('Target.attachToTarget', { targetId, flatten: true });
    await call('Network.enable', {}, sessionId);
    await call('Page.enable', {}, sessionId);
    const loaded = waitEvent('Page.loadEventFired', 20000);
    const nav = await call('Page.navigate', { url: pageUrl }, sessionId);
    if (nav.errorText) throw new Error('navigate: ' + nav.errorText);
    await loaded;
    const r = await call('Runtime.evaluate', {
      expression: pageScript(wsUrl, count), awaitPromise: true, returnByValue: true,
    }, sessionId);
    if (r.exceptionDetails) throw new Error('evaluate: ' + JSON.stringify(r.exceptionDetails));
    Object.assign(report, r.result.value);
    await call('Target.closeTarget', { targetId });
    clearTimeout(overall);
    console.log(JSON.stringify(report));
    sock.close();
  } catch (e) {
    report.error = e.message;
    console.log(JSON.stringify(report));
    process.exit(1);
  }
});

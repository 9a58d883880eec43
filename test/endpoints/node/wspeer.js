// A WebSocket peer for sockit's tests, built on the ws package: not sockit.
//
//   node wspeer.js server [--tls CERT KEY] [--client-ca CA]
//     listens on 127.0.0.1, port 0; prints {"port":N}; then one JSON line
//     per event: {"ev":"connect","protocol":…,"headers":{…},"path":…},
//     {"ev":"message","binary":bool,"hex":…}, {"ev":"close","code":N,"reason":…}.
//     Echoes every message with its type. The text message "close:CODE:REASON"
//     makes it close with that code instead.
//
//   node wspeer.js client URL [--protocol P] [--insecure] [--ca CA]
//     reads JSON lines on stdin: {"text":…} or {"hex":…} to send, {"close":CODE,"reason":…}
//     to close; prints the same events as the server.
'use strict';
const fs = require('fs');
const https = require('https');
const readline = require('readline');
const WebSocket = require('ws');

const args = process.argv.slice(2);
const mode = args.shift();
function opt(name) {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}
function out(o) { process.stdout.write(JSON.stringify(o) + '\n'); }

function watch(ws) {
  ws.on('message', (data, isBinary) => {
    const buf = Buffer.isBuffer(data) ? data : Buffer.concat(data);
    out({ ev: 'message', binary: isBinary, hex: buf.toString('hex') });
    if (mode === 'server') {
      const s = buf.toString();
      if (!isBinary && s.startsWith('close:')) {
        const [, code, reason] = s.split(':');
        ws.close(Number(code), reason || '');
        return;
      }
      ws.send(buf, { binary: isBinary });
    }
  });
  ws.on('ping', (d) => out({ ev: 'ping', hex: d.toString('hex') }));
  ws.on('pong', (d) => out({ ev: 'pong', hex: d.toString('hex') }));
  ws.on('close', (code, reason) => out({ ev: 'close', code, reason: reason.toString() }));
  ws.on('error', (e) => out({ ev: 'error', message: e.message }));
}

if (mode === 'server') {
  const handleProtocols = (protocols) => protocols.values().next().value || false;
  let wss;
  const tlsCert = opt('--tls');
  if (tlsCert) {
    const i = args.indexOf('--tls');
    const o = { cert: fs.readFileSync(args[i + 1]), key: fs.readFileSync(args[i + 2]) };
    const ca = opt('--client-ca');
    if (ca) { o.ca = fs.readFileSync(ca); o.requestCert = true; o.rejectUnauthorized = true; }
    const server = https.createServer(o);
    server.on('tlsClientError', (e) => out({ ev: 'tlserror', message: e.message }));
    wss = new WebSocket.Server({ server, handleProtocols, maxPayload: 64 << 20 });
    server.listen(0, '127.0.0.1', () => out({ port: server.address().port }));
  } else {
    wss = new WebSocket.Server({ host: '127.0.0.1', port: 0, handleProtocols, maxPayload: 64 << 20 }, () => out({ port: wss.address().port }));
  }
  wss.on('connection', (ws, req) => {
    out({ ev: 'connect', protocol: ws.protocol, path: req.url, headers: req.headers });
    watch(ws);
  });
} else if (mode === 'client') {
  const url = args.shift();
  const o = { maxPayload: 64 << 20 };
  if (args.includes('--insecure')) o.rejectUnauthorized = false;
  const ca = opt('--ca');
  if (ca) o.ca = fs.readFileSync(ca);
  const protocol = opt('--protocol');
  const ws = new WebSocket(url, protocol ? [protocol] : [], o);
  watch(ws);
  ws.on('open', () => {
    out({ ev: 'open', protocol: ws.protocol });
    const rl = readline.createInterface({ input: process.stdin });
    rl.on('line', (line) => {
      const m = JSON.parse(line);
      if (m.text !== undefined) ws.send(m.text);
      else if (m.hex !== undefined) ws.send(Buffer.from(m.hex, 'hex'), { binary: true });
      else if (m.ping !== undefined) ws.ping(m.ping);
      else if (m.close !== undefined) ws.close(m.close, m.reason || '');
    });
  });
  ws.on('close', () => process.exit(0));
  ws.on('error', () => process.exit(1));
} else {
  console.error('usage: node wspeer.js server|client …');
  process.exit(2);
}

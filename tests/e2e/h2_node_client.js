// node's own http2 client (node bundles nghttp2 and OpenSSL), for the shim
// tests: one session to URL, one request per token given (x-twilio-token),
// all on that session (streams 1, 3, ...); prints each response's status.
// usage: node h2_node_client.js URL TOKEN...
'use strict';
const http2 = require('http2');
const [url, ...tokens] = process.argv.slice(2);
const session = http2.connect(url, { rejectUnauthorized: false });
session.on('error', (e) => { console.error('session error', e.message); process.exit(1); });
let left = tokens.length;
const timer = setTimeout(() => { console.error('timeout'); process.exit(1); }, 20000);
for (const tok of tokens) {
	const req = session.request({ ':path': '/index.html', 'x-twilio-token': tok });
	req.on('response', (h) => console.log('status', h[':status']));
	req.resume();
	req.on('end', () => {
		if (--left === 0) {
			clearTimeout(timer);
			session.close();
		}
	});
	req.end();
}

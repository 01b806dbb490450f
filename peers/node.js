// node.js as a peer for `srvlab sweep --peers node`: one process, one event loop (libuv, epoll),
// the same 13-byte body as srvlab's GET /. Usage: node node.js PORT
'use strict';
const http = require('http');
const port = Number(process.argv[2] || 8080);
const body = 'Hello, World!';
const server = http.createServer((req, res) => {
    res.writeHead(200, {'Content-Type': 'text/plain', 'Content-Length': body.length});
    res.end(body);
});
server.keepAliveTimeout = 65000;
server.headersTimeout = 66000;
server.listen(port, '127.0.0.1', 4096);
process.on('SIGTERM', () => server.close(() => process.exit(0)));

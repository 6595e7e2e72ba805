// The lab's device web UI: serves the files of one directory over HTTP/1.1 with keep-alive (the
// agent pools connections to its target), streaming large ones. `node device-web.mjs DIR PORT`.
import { createReadStream, statSync } from 'node:fs';
import http from 'node:http';
import { join, normalize } from 'node:path';

const [dir, port] = process.argv.slice(2);
http
  .createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    const file = join(dir, path);
    let size;
    try {
      size = statSync(file).size;
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
    createReadStream(file).pipe(res);
  })
  .listen(Number(port), '127.0.0.1', () => console.log(JSON.stringify({ msg: 'device web listening', port: Number(port) })));

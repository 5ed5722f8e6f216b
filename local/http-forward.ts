/** Passes one request on to an upstream HTTP server and its answer back: the local S3 proxies' shared plumbing. */
import { type IncomingMessage, request, type ServerResponse } from 'node:http';

/** Forwards `req` to `upstream` unchanged (or with `body`, when the proxy has already read it). */
export function forwardRequest(
  upstream: URL,
  req: IncomingMessage,
  res: ServerResponse,
  body?: Buffer,
): void {
  const out = request(
    { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  out.on('error', () => res.destroy());
  if (body) out.end(body);
  else req.pipe(out);
}

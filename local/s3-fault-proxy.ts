/**
 * An HTTP proxy in front of the embedded S3 that answers chosen requests with S3's own error
 * responses (503 SlowDown, 500 InternalError, …), so tests can see how the real handlers, the
 * AWS SDK's retries and the state machine's retries cope with a throttled or failing S3.
 * No library injects faults into s3rver; this is ~60 lines of node:http.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { forwardRequest } from './http-forward.js';

export interface S3Fault {
  /** HTTP method to match, e.g. `PUT`. @default any */
  method?: string;
  /** Matched against the request path (`/bucket/key`), without the query. */
  path: RegExp;
  /** Also matched against the query string, when given (e.g. only presigned downloads). */
  query?: RegExp;
  status: number;
  /** S3 error code in the XML body, e.g. `SlowDown`. */
  code: string;
  /** Let the first N matching requests through before faulting. @default 0 */
  after?: number;
  /** Answer the next N matching requests, then pass them through. @default every one */
  times?: number;
}

export interface S3FaultProxy {
  url: string;
  inject(fault: S3Fault): void;
  clear(): void;
  /** Requests answered with a fault, by S3 error code. */
  faulted(): Record<string, number>;
  close(): Promise<void>;
}

export async function startS3FaultProxy(target: string): Promise<S3FaultProxy> {
  const upstream = new URL(target);
  let faults: S3Fault[] = [];
  const counts: Record<string, number> = {};

  const server = createServer((req, res) => {
    const [path = '/', query = ''] = (req.url ?? '/').split('?');
    const fault = faults.find(
      (f) => (!f.method || f.method === req.method) && f.path.test(path) && (!f.query || f.query.test(query)),
    );
    if (fault?.after) fault.after -= 1;
    else if (fault) {
      if (fault.times !== undefined && --fault.times <= 0) faults = faults.filter((f) => f !== fault);
      counts[fault.code] = (counts[fault.code] ?? 0) + 1;
      req.resume();
      res.writeHead(fault.status, { 'Content-Type': 'application/xml' });
      res.end(
        `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${fault.code}</Code><Message>Injected by the test</Message></Error>`,
      );
      return;
    }
    forwardRequest(upstream, req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    inject: (fault) => faults.push({ ...fault }),
    clear: () => {
      faults = [];
    },
    faulted: () => ({ ...counts }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

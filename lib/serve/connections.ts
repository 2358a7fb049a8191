/**
 * The HTTP server's connections: what each socket is doing, counting every response where Node
 * closes it, and cutting connections off at shutdown.
 *
 * The timeouts themselves are Node's (server.headersTimeout, requestTimeout, keepAliveTimeout,
 * timeout); this class only sees their outcome — the `clientError` a receive timeout raises and
 * the socket `timeout` of an idle connection — to count and close them. Node stops enforcing the
 * receive timeouts once `server.close()` is called, so at shutdown {@link Connections.beginShutdown}
 * closes at once every connection that is not waiting for a response to a complete request.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionCloseReason, ServerMetrics } from './metrics';

/** The route label of a request that was never read far enough to be routed. */
const NO_ROUTE = 'none';
/** The route label of a request no route matched (404) or refused before routing. */
const UNMATCHED = 'unmatched';
const COMPLETIONS = '/v1/completions';

/** @internal Per-server connection bookkeeping; created by createServer. */
export class Connections {
  /** True once shutdown began: new completions are refused and finished connections closed. */
  closing = false;
  private readonly sockets = new Set<Socket>();
  /** The response in progress on each socket (the latest one, when a client pipelines). */
  private readonly current = new WeakMap<Socket, ServerResponse>();
  private readonly routes = new WeakMap<ServerResponse, string>();
  private readonly statusFor = new WeakMap<ServerResponse, number>();
  private readonly counted = new WeakSet<ServerResponse>();

  constructor(
    private readonly server: Server,
    private readonly metrics: ServerMetrics,
  ) {
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      metrics.openConnections.inc();
      socket.once('close', () => {
        this.sockets.delete(socket);
        metrics.openConnections.dec();
      });
    });
    // Runs after fastify's own 'request' listener, so it sees every request Node parsed,
    // answered by a route, by fastify itself (404, 503 while closing) or by the error handler.
    server.on('request', (req: IncomingMessage, res: ServerResponse) => this.onRequest(req, res));
    // A socket without traffic for server.timeout or past the keep-alive timeout. With a
    // listener here Node leaves the socket to us (it destroys it only when nobody listens).
    server.on('timeout', (socket: Socket) => {
      this.closeSocket(socket, this.current.has(socket) ? 'idle_timeout' : 'keep_alive_timeout');
    });
  }

  /** Connections open now. */
  get size(): number {
    return this.sockets.size;
  }

  /** Records the route pattern a response belongs to (its metrics label). */
  setRoute(res: ServerResponse, route: string | undefined): void {
    this.routes.set(res, route ?? UNMATCHED);
  }

  /**
   * The status to count for a response whose HTTP status cannot say how it ended (a stream
   * already sent 200 before it timed out: 504, or was cut short by shutdown: 503).
   */
  setOutcome(res: ServerResponse, status: number): void {
    this.statusFor.set(res, status);
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket;
    this.current.set(socket, res);
    res.once('close', () => {
      if (this.current.get(socket) === res) this.current.delete(socket);
      if (!this.counted.has(res)) this.count(res, this.statusFor.get(res) ?? (res.writableFinished ? res.statusCode : 499));
      // While closing, a connection is closed as soon as its last response is out.
      if (this.closing) this.server.closeIdleConnections();
    });
  }

  private count(res: ServerResponse | undefined, status: number): void {
    if (res) this.counted.add(res);
    const route = res ? (this.routes.get(res) ?? UNMATCHED) : NO_ROUTE;
    this.metrics.responses.inc({ route, status: String(status) });
    if (route === COMPLETIONS) this.metrics.requests.inc({ status: String(status) });
  }

  /**
   * fastify's `clientErrorHandler`: a request Node could not read — malformed (400), headers
   * too large (431), or not received within headersTimeout / requestTimeout (408). Answers as
   * fastify's default handler does (unless a response already started), counts, and closes.
   */
  readonly onClientError = (err: Error & { code?: string }, socket: Socket): void => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return; // the client is gone; nothing to answer
    const res = this.current.get(socket);
    const [status, message] =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, res ? 'the request body did not arrive in time' : 'the request headers did not arrive in time']
        : err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'the request headers are too large']
          : [400, 'the request could not be parsed as HTTP/1.1'];
    if (status === 408) this.metrics.connectionsClosed.inc({ reason: res ? 'request_timeout' : 'headers_timeout' });
    if (!res || !res.headersSent) {
      this.count(res, status);
      if (socket.writable) {
        const body = JSON.stringify({ error: { message, type: status === 408 ? 'timeout' : 'invalid_request_error', param: null, code: null } });
        socket.write(`HTTP/1.1 ${status} ${status === 408 ? 'Request Timeout' : status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      }
    }
    socket.destroy();
  };

  /**
   * Shutdown, first step: refuse new completions, and close every connection that is not
   * waiting for the answer to a complete request — idle keep-alive ones, those still sending
   * headers or a body (slow uploads), those that never sent anything.
   */
  beginShutdown(): void {
    this.closing = true;
    for (const socket of this.sockets) {
      const res = this.current.get(socket);
      if (!res || !res.req.complete) this.closeSocket(socket, 'shutdown');
    }
  }

  /** Shutdown, last step: closes every connection left, whatever it is doing. */
  closeAll(): void {
    for (const socket of this.sockets) this.closeSocket(socket, 'shutdown');
    this.server.closeAllConnections();
  }

  private closeSocket(socket: Socket, reason: ConnectionCloseReason): void {
    if (socket.destroyed) return;
    this.metrics.connectionsClosed.inc({ reason });
    socket.destroy();
  }
}

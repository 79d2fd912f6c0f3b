// The server's public API as the console uses it: POST /v1/<op> and the /v1/ws subscriptions.
// Nothing here is private to the console; every call is one a script can make.

/** An operation's error: the server's message and HTTP status. */
export class ApiError extends Error {
  constructor(message, status) { super(message); this.status = status; }
}

/** Calls operations over REST. With `serve --api-key`, the key typed into the page is sent. */
export class Api {
  constructor() { this.key = sessionStorage.getItem('soundstar-key') || ''; }

  /** Uses `key` (serve --api-key) for later calls, for this browser tab only. */
  setKey(key) {
    this.key = key; sessionStorage.setItem('soundstar-key', key);
    for (const s of Subscription.open) s.reconnect();   // the sockets carry the key too
  }

  /** The operations as OpenAI function-calling tools (GET /v1/tools). */
  async tools() {
    const r = await fetch('/v1/tools', { headers: this.key ? { Authorization: `Bearer ${this.key}` } : {} });
    if (!r.ok) throw new ApiError(`/v1/tools: HTTP ${r.status}`, r.status);
    return r.json();
  }

  /** Runs `op` and resolves to the whole answer ({"result"} or {"error", "status"}), never rejecting on an API error. */
  async raw(op, args = {}) {
    try {
      return { result: await this.call(op, args) };
    } catch (e) {
      return { error: e.message, status: e.status };
    }
  }

  /** Runs operation `op` with `args`; resolves to its result, rejects with an ApiError. */
  async call(op, args = {}) {
    const headers = { 'Content-Type': 'application/json' };
    if (this.key) headers.Authorization = `Bearer ${this.key}`;
    let response;
    try {
      response = await fetch(`/v1/${op}`, { method: 'POST', headers, body: JSON.stringify(args) });
    } catch (e) {
      throw new ApiError(`the server did not answer ${op} (${e.message})`, 0);
    }
    const body = await response.json().catch(() => ({ error: `${op}: HTTP ${response.status}` }));
    if (!response.ok || body.error) throw new ApiError(body.error || `${op}: HTTP ${response.status}`, response.status);
    return body.result;
  }
}

/**
 * A WebSocket subscription to some of the server's streams ("transport", "meters", "events",
 * "audio"), reconnected after a second when it drops. `handlers` has one function per stream
 * (audio gets ArrayBuffers), plus optional `open()` and `close()`.
 */
export class Subscription {
  static open = new Set();

  constructor(streams, handlers, rateHz = 30) {
    this.streams = streams; this.handlers = handlers; this.rateHz = rateHz;
    this.closed = false; this.socket = null; this.retryMs = 1000; this.connect();
    Subscription.open.add(this);
  }

  /** Opens the socket again at once (with the key the page has now). */
  reconnect() {
    const old = this.socket;
    this.socket = null;
    if (old) { old.onclose = null; old.close(1000, 'reconnecting'); }
    this.retryMs = 1000;
    this.connect();
  }

  connect() {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    // A browser cannot put the API key in a header on a WebSocket: it goes in the query.
    const key = sessionStorage.getItem('soundstar-key');
    const ws = new WebSocket(`${scheme}://${location.host}/v1/ws${key ? `?key=${encodeURIComponent(key)}` : ''}`);
    ws.binaryType = 'arraybuffer';
    this.socket = ws;
    ws.onopen = () => {
      this.retryMs = 1000;
      ws.send(JSON.stringify({ id: 1, op: 'subscribe', args: { streams: this.streams, rate_hz: this.rateHz } }));
    };
    ws.onmessage = (m) => {
      if (typeof m.data !== 'string') return this.handlers.audio?.(m.data);
      const msg = JSON.parse(m.data);
      if (msg.stream) this.handlers[msg.stream]?.(msg.data);
      else if (msg.id === 1 && msg.error) this.handlers.close?.(msg.error);
      else if (msg.id === 1) this.handlers.open?.(msg.result);
    };
    ws.onclose = () => {
      if (this.closed || this.socket !== ws) return;
      this.handlers.close?.(`the connection to the server dropped; trying again in ${this.retryMs / 1000} s`);
      setTimeout(() => { if (!this.closed) this.connect(); }, this.retryMs);
      this.retryMs = Math.min(10000, this.retryMs * 2);   // a server that is gone is not hammered
    };
  }

  /** Ends the subscription (the server frees it when the socket closes). */
  close() { this.closed = true; Subscription.open.delete(this); this.socket?.close(1000, 'done'); }
}

// SignalingClient: the Dropin websocket protocol (JSON request/reply + events).
// No DOM here, so any front end (or a test harness) can reuse it.

const DEFAULT_KEEPALIVE_MS = 20_000;
const DEFAULT_TIMEOUT_MS = 15_000;

/** An Error carrying the server's stable error `code`. */
export class SignalingError extends Error {
  constructor(code, message) {
    super(message || code);
    this.name = 'SignalingError';
    this.code = code;
  }
}

export class SignalingClient {
  /**
   * @param {string} url  websocket URL, e.g. "wss://example.org/ws"
   * @param {{keepaliveMs?: number, timeoutMs?: number}} [options]
   */
  constructor(url, { keepaliveMs = DEFAULT_KEEPALIVE_MS, timeoutMs = DEFAULT_TIMEOUT_MS } = {}) {
    this.url = url;
    this.keepaliveMs = keepaliveMs;
    this.timeoutMs = timeoutMs;
    /** Called once with the CloseEvent when the socket closes, whoever closed it. */
    this.onclose = null;
    this._ws = null;
    this._nextId = 1;
    this._pending = new Map(); // request id -> {resolve, reject, timer}
    this._handlers = new Map(); // event type -> Set of handlers
    this._keepalive = null;
  }

  /** Opens the socket; resolves once it is open. */
  connect() {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url);
      this._ws = ws;
      let opened = false;
      ws.onopen = () => {
        opened = true;
        this._startKeepalive();
        resolve(this);
      };
      ws.onmessage = (event) => this._dispatch(event.data);
      ws.onclose = (event) => {
        this._stopKeepalive();
        this._failPending(new SignalingError('closed', 'The connection to the server closed.'));
        if (!opened) {
          reject(new SignalingError('connect_failed', 'Could not connect to the server.'));
          return;
        }
        if (this.onclose) this.onclose(event);
      };
    });
  }

  /**
   * Sends a request and resolves with the reply whose `re` matches its id.
   * Rejects with a SignalingError (`.code`) on an `error` reply or a timeout.
   */
  request(type, fields = {}) {
    if (!this._ws || this._ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(new SignalingError('closed', 'Not connected to the server.'));
    }
    const id = String(this._nextId++);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this._pending.delete(id);
        reject(new SignalingError('timeout', `The server did not answer "${type}" in time.`));
      }, this.timeoutMs);
      this._pending.set(id, { resolve, reject, timer });
      this._ws.send(JSON.stringify({ ...fields, type, id }));
    });
  }

  /** Subscribes to server events of `type`; returns a function that unsubscribes. */
  on(type, handler) {
    if (!this._handlers.has(type)) this._handlers.set(type, new Set());
    this._handlers.get(type).add(handler);
    return () => this._handlers.get(type)?.delete(handler);
  }

  /** Closes the socket; pending requests reject with code "closed". */
  close() {
    this._stopKeepalive();
    if (this._ws && this._ws.readyState < WebSocket.CLOSING) this._ws.close(1000);
  }

  _dispatch(data) {
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return; // The server only sends JSON; ignore anything else.
    }
    const pending = message.re != null && this._pending.get(message.re);
    if (pending) {
      this._pending.delete(message.re);
      clearTimeout(pending.timer);
      if (message.type === 'error') pending.reject(new SignalingError(message.code, message.message));
      else pending.resolve(message);
      return;
    }
    for (const handler of this._handlers.get(message.type) ?? []) handler(message);
  }

  _failPending(error) {
    for (const { reject, timer } of this._pending.values()) {
      clearTimeout(timer);
      reject(error);
    }
    this._pending.clear();
  }

  _startKeepalive() {
    this._keepalive = setInterval(() => {
      this.request('ping').catch(() => {}); // A dead socket shows up as a close event.
    }, this.keepaliveMs);
  }

  _stopKeepalive() {
    clearInterval(this._keepalive);
    this._keepalive = null;
  }
}

// The Socket.IO connection: pushes the server's events to the page and sends session changes
// with an acknowledgement, falling back to REST while the socket is down.

import { ApiError, getAccessToken, refreshAccess } from "./api.js";

// How long to wait for an acknowledgement before sending the change over REST instead.
const ACK_TIMEOUT_MS = 5000;
const RECONNECT_DELAY_MS = 2000;

export class LiveConnection {
  // onEvent(name, data) receives every server event, and onStatus(state) receives
  // "connecting", "live" or "offline". onFreshConnect() runs after a connect without a
  // replay, because the page must then reload what it shows over REST.
  constructor({ onEvent, onStatus, onFreshConnect }) {
    this.onEvent = onEvent;
    this.onStatus = onStatus;
    this.onFreshConnect = onFreshConnect;
    this.lastEventId = null;
    this.socket = null;
    this.sentLastEventId = false;
    this.refreshedForSocket = false;
  }

  connect() {
    if (this.socket !== null) {
      return;
    }
    this.onStatus("connecting");
    // The WebSocket transport needs no sticky sessions behind a load balancer; long polling
    // is the fallback for networks that block WebSockets.
    this.socket = window.io({
      transports: ["websocket", "polling"],
      tryAllTransports: true,
      auth: (callback) => callback(this.authPayload()),
    });
    this.socket.on("connect", () => this.handleConnect());
    this.socket.on("disconnect", (reason) => this.handleDisconnect(reason));
    this.socket.on("connect_error", (error) => this.handleConnectError(error));
    this.socket.io.on("reconnect_attempt", () => this.onStatus("connecting"));
    this.socket.onAny((name, data) => {
      if (typeof data?.eventId === "string") {
        this.lastEventId = data.eventId;
      }
      this.onEvent(name, data ?? {});
    });
  }

  disconnect() {
    this.socket?.disconnect();
    this.socket = null;
    this.lastEventId = null;
    this.onStatus("offline");
  }

  get connected() {
    return this.socket?.connected === true;
  }

  // Send a client event and return the reply body. `viaRest` makes the same change over REST
  // when the socket is down or the acknowledgement times out. A set sent both ways is stored
  // once, because the server identifies sets by their clientId.
  async send(event, data, viaRest) {
    if (this.connected) {
      let ack;
      try {
        ack = await this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, data);
      } catch (error) {
        console.warn("no acknowledgement for %s, sending over REST", event, error);
        return viaRest();
      }
      if (!ack.ok) {
        throw new ApiError(ack.status, ack.error, ack.details ?? null);
      }
      return ack;
    }
    return viaRest();
  }

  authPayload() {
    const payload = { token: getAccessToken() };
    this.sentLastEventId = this.lastEventId !== null;
    if (this.sentLastEventId) {
      // The server first replays every event after this one, or sends `resync`.
      payload.lastEventId = this.lastEventId;
    }
    return payload;
  }

  handleConnect() {
    this.refreshedForSocket = false;
    this.onStatus("live");
    if (!this.sentLastEventId) {
      this.onFreshConnect();
    }
  }

  handleDisconnect(reason) {
    this.onStatus(this.socket?.active ? "connecting" : "offline");
    if (reason === "io server disconnect" && this.socket !== null) {
      // The server closed the socket, and the client does not reconnect on its own then.
      setTimeout(() => this.socket?.connect(), RECONNECT_DELAY_MS);
    }
  }

  async handleConnectError(error) {
    if (this.socket === null || this.socket.active) {
      // A transport error: the client retries with backoff by itself.
      this.onStatus("connecting");
      return;
    }
    this.onStatus("offline");
    if (error.data?.code !== 401 || this.refreshedForSocket) {
      console.warn("socket connection rejected: %s", error.message);
      return;
    }
    // The access token expired or was rejected: refresh it once, then connect again.
    this.refreshedForSocket = true;
    try {
      await refreshAccess();
    } catch (refreshError) {
      console.warn("socket connection rejected and token refresh failed", refreshError);
      return;
    }
    this.socket?.connect();
  }
}

// REST calls with the account's tokens: the access token lives in memory only, the refresh
// token in localStorage so that a reload stays signed in.

const REFRESH_KEY = "nappatzim.refreshToken";

export class ApiError extends Error {
  constructor(status, message, details = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.details = details;
  }
}

// The refresh token was rejected, so the page went back to the login form.
export class SignedOutError extends ApiError {
  constructor(message) {
    super(401, message);
    this.name = "SignedOutError";
  }
}

let accessToken = null;
let refreshing = null;
let signedOutHandler = () => {};
// Milliseconds to add to Date.now() to get the server's time, and the range it must lie in.
let clockOffsetMs = 0;
let offsetRange = [-Infinity, Infinity];

export function onSignedOut(handler) {
  signedOutHandler = handler;
}

export function getAccessToken() {
  return accessToken;
}

export function serverNow() {
  return Date.now() + clockOffsetMs;
}

export function hasStoredLogin() {
  return localStorage.getItem(REFRESH_KEY) !== null;
}

export async function register(email, password) {
  await send("POST", "/auth/register", { email, password });
  return login(email, password);
}

export async function login(email, password) {
  const reply = await send("POST", "/auth/login", { email, password });
  accessToken = reply.accessToken;
  localStorage.setItem(REFRESH_KEY, reply.refreshToken);
  return { userId: reply.userId, email: reply.email };
}

// Exchange the stored refresh token for a new access token; on 401 the login is dropped.
// Calls made while a refresh runs share it.
export function refreshAccess() {
  refreshing ??= doRefresh().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

async function doRefresh() {
  const refreshToken = localStorage.getItem(REFRESH_KEY);
  if (refreshToken === null) {
    throw new ApiError(401, "not signed in");
  }
  try {
    const reply = await send("POST", "/auth/refresh", { refreshToken });
    accessToken = reply.accessToken;
    return { userId: reply.userId, email: reply.email };
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      forget();
      signedOutHandler();
      throw new SignedOutError(error.message);
    }
    throw error;
  }
}

export async function logout() {
  const refreshToken = localStorage.getItem(REFRESH_KEY);
  forget();
  if (refreshToken !== null) {
    try {
      await send("POST", "/auth/logout", { refreshToken });
    } catch (error) {
      // The token is gone from this browser either way, and it expires on its own.
      console.warn("logout request failed", error);
    }
  }
}

function forget() {
  accessToken = null;
  localStorage.removeItem(REFRESH_KEY);
}

// Call the API as the signed-in user; a 401 refreshes the access token once and retries.
export async function request(method, path, body = undefined) {
  if (accessToken === null) {
    await refreshAccess();
  }
  try {
    return await send(method, path, body, accessToken);
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) {
      throw error;
    }
  }
  await refreshAccess();
  return send(method, path, body, accessToken);
}

async function send(method, path, body, token = null) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
  }
  if (token !== null) {
    headers.Authorization = `Bearer ${token}`;
  }
  const sentAt = Date.now();
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new ApiError(0, `network error: ${error.message}`);
  }
  updateClockOffset(response, sentAt);
  const text = await response.text();
  const reply = text ? parseJson(text) : null;
  if (!response.ok) {
    const message = reply?.error ?? `${method} ${path} failed with status ${response.status}`;
    throw new ApiError(response.status, message, reply?.details ?? null);
  }
  return reply;
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

// Narrow down the clock offset from the Date header, which has whole seconds: at the response
// the server's time was in [date, date + 1 s), so the offset lies in
// [date - receivedAt, date + 1 s - sentAt]. Each response narrows the range, and the offset is
// the value of the range nearest to zero, so clocks in sync keep an offset of 0.
function updateClockOffset(response, sentAt) {
  const date = Date.parse(response.headers.get("Date") ?? "");
  if (Number.isNaN(date)) {
    return;
  }
  const low = date - Date.now();
  const high = date + 1000 - sentAt;
  offsetRange = [Math.max(offsetRange[0], low), Math.min(offsetRange[1], high)];
  if (offsetRange[0] > offsetRange[1]) {
    // One of the clocks was changed: start again from this response alone.
    offsetRange = [low, high];
  }
  clockOffsetMs = Math.min(Math.max(0, offsetRange[0]), offsetRange[1]);
}

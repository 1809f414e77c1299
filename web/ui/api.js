// @ts-check
// The HTTP client: bearer token, JSON errors, one silent refresh on 401 then one retry.
// The access token lives in memory only; the refresh token is kept in sessionStorage so a
// reload of this tab stays signed in (never in a URL, never in localStorage).

const BASE = "/api/v1";
const REFRESH_KEY = "atende.refresh";

/** @typedef {import("./state.js").User} User */
/**
 * What sign-in and refresh answer.
 * @typedef {{access_token: string, refresh_token: string, expires_in?: number, user: User}} TokenPair
 */
/** @typedef {{body?: unknown, form?: FormData | Blob, auth?: boolean}} RequestOptions */

/** @type {string | null} */
let access = null;
/** @type {string | null} */
let refreshToken = sessionStorage.getItem(REFRESH_KEY);
/** @type {User | null} */
let user = null;
/** @type {Promise<User | null> | null} */
let refreshing = null;
/** @type {ReturnType<typeof setTimeout> | undefined} */
let refreshTimer;
/** @type {Set<(reason: string) => void>} */
const signedOutListeners = new Set();
/** @type {Set<(user: User | null) => void>} */
const sessionListeners = new Set();
/** @type {Set<() => void>} */
const setupListeners = new Set();

/** An API error: HTTP status, the API's code, message and per-field problems. */
export class ApiError extends Error {
  /**
   * @param {number} status the HTTP status; 0 when the request did not reach the hub
   * @param {{error?: {code?: string, message?: string, fields?: Record<string, string>}} | null} body
   */
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    /** @type {string} */
    this.code = error.code || (status === 0 ? "network" : "http_" + status);
    /** @type {Record<string, string> | null} */
    this.fields = error.fields || null;
    /** @type {string | null} */
    this.retryAfter = null;
  }
}

export function currentUser() {
  return user;
}

export function accessToken() {
  return access;
}

export function hasRefreshToken() {
  return !!refreshToken;
}

/** @param {(reason: string) => void} fn */
export function onSignedOut(fn) {
  signedOutListeners.add(fn);
  return () => signedOutListeners.delete(fn);
}

/**
 * Called when the hub refuses a request until the user enrols a second factor (an admin
 * made it mandatory for their role while they were signed in).
 * @param {() => void} fn
 */
export function onSetupRequired(fn) {
  setupListeners.add(fn);
  return () => setupListeners.delete(fn);
}

/**
 * Called with the user whenever a sign-in or refresh brings a new user record.
 * @param {(user: User | null) => void} fn
 */
export function onSession(fn) {
  sessionListeners.add(fn);
  return () => sessionListeners.delete(fn);
}

/** @param {TokenPair} pair */
function keep(pair) {
  access = pair.access_token;
  refreshToken = pair.refresh_token;
  user = pair.user;
  sessionStorage.setItem(REFRESH_KEY, refreshToken);
  clearTimeout(refreshTimer);
  // Refresh a minute before the access token expires so the socket can always re-auth.
  const seconds = Math.max(30, (pair.expires_in || 900) - 60);
  refreshTimer = setTimeout(() => refresh().catch(() => {}), seconds * 1000);
  for (const fn of sessionListeners) fn(user);
}

function forget() {
  access = null;
  refreshToken = null;
  user = null;
  clearTimeout(refreshTimer);
  sessionStorage.removeItem(REFRESH_KEY);
}

/** @param {string} reason */
function signedOut(reason) {
  forget();
  for (const fn of signedOutListeners) fn(reason);
}

/**
 * @param {Response} response
 * @returns {Promise<any>}
 */
async function parse(response) {
  if (response.status === 204) return null;
  const type = response.headers.get("content-type") || "";
  if (type.includes("application/json")) return response.json();
  return response.text();
}

/**
 * @param {string} method
 * @param {string} path below /api/v1
 * @param {RequestOptions} [options]
 * @returns {Promise<Response>}
 */
async function raw(method, path, { body, form, auth = true } = {}) {
  /** @type {Record<string, string>} */
  const headers = {};
  let payload;
  if (form) {
    payload = form;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  if (auth && access) headers.Authorization = "Bearer " + access;
  let response;
  try {
    response = await fetch(BASE + path, { method, headers, body: payload, credentials: "same-origin" });
  } catch (e) {
    throw new ApiError(0, { error: { code: "network", message: String(e) } });
  }
  return response;
}

/**
 * @param {Response} response
 * @returns {Promise<ApiError>}
 */
async function failure(response) {
  let body = null;
  try {
    body = await parse(response);
  } catch (e) {
    body = null;
  }
  const error = new ApiError(response.status, typeof body === "object" ? body : null);
  error.retryAfter = response.headers.get("Retry-After");
  return error;
}

/**
 * Gets a new token pair with the refresh token; one request at a time.
 * @returns {Promise<User | null>}
 */
export function refresh() {
  if (!refreshToken) return Promise.reject(new ApiError(401, null));
  if (!refreshing) {
    const token = refreshToken;
    refreshing = (async () => {
      const response = await raw("POST", "/auth/refresh", { body: { refresh_token: token }, auth: false });
      if (!response.ok) {
        const error = await failure(response);
        if (response.status === 401) signedOut("expired");
        throw error;
      }
      keep(await response.json());
      return user;
    })().finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

/**
 * A request whose 401 triggers one refresh and one retry. Returns the raw Response.
 * @param {string} method
 * @param {string} path
 * @param {RequestOptions} options
 */
async function authorized(method, path, options) {
  if (!access && refreshToken) await refresh();
  let response = await raw(method, path, options);
  if (response.status === 401 && refreshToken) {
    await refresh();
    response = await raw(method, path, options);
  }
  if (response.status === 401) signedOut("expired");
  return response;
}

/**
 * A JSON API call: resolves with the body (null for 204), rejects with ApiError.
 * @param {string} method
 * @param {string} path below /api/v1
 * @param {unknown} [body]
 * @returns {Promise<any>}
 */
export async function api(method, path, body) {
  const response = await authorized(method, path, { body });
  if (!response.ok) {
    const error = await failure(response);
    if (error.code === "two_factor_setup_required") for (const fn of setupListeners) fn();
    throw error;
  }
  return parse(response);
}

/** @param {string} path */
export const get = (path) => api("GET", path);
/** @param {string} path @param {unknown} [body] */
export const post = (path, body) => api("POST", path, body === undefined ? {} : body);
/** @param {string} path @param {unknown} body */
export const patch = (path, body) => api("PATCH", path, body);
/** @param {string} path @param {unknown} body */
export const put = (path, body) => api("PUT", path, body);
/** @param {string} path */
export const del = (path) => api("DELETE", path);

/**
 * Query string from an object, skipping empty values.
 * @param {Record<string, string | number | boolean | null | undefined>} params
 */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? "?" + text : "";
}

/**
 * Bytes of an authorized download as a Blob.
 * @param {string} path with or without the /api/v1 prefix
 */
export async function blob(path) {
  const response = await authorized("GET", path.replace(/^\/api\/v1/, ""), {});
  if (!response.ok) throw await failure(response);
  return response.blob();
}

/**
 * Uploads a file as multipart field `file`.
 * @param {Blob & {name?: string}} file
 */
export async function upload(file) {
  const form = new FormData();
  form.append("file", file, file.name || "file");
  const response = await authorized("POST", "/media", { form });
  if (!response.ok) throw await failure(response);
  return response.json();
}

/**
 * Posts a file as the whole request body (its type as Content-Type), e.g. a CSV import;
 * resolves with the JSON answer.
 * @param {string} path below /api/v1
 * @param {Blob} file
 */
export async function postFile(path, file) {
  const response = await authorized("POST", path, { form: file });
  if (!response.ok) throw await failure(response);
  return parse(response);
}

/**
 * @param {string} email
 * @param {string} password
 * @param {string} [code] the authenticator's code or a recovery code (two-step verification)
 */
export async function login(email, password, code) {
  const body = code ? { email, password, code } : { email, password };
  const response = await raw("POST", "/auth/login", { body, auth: false });
  if (!response.ok) throw await failure(response);
  keep(await response.json());
  return user;
}

/** Signs in again from the kept refresh token (a reload); resolves with the user. */
export async function resume() {
  if (!refreshToken) return null;
  try {
    return await refresh();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return null;
    throw e;
  }
}

export async function logout() {
  const token = refreshToken;
  if (token) {
    try {
      await raw("POST", "/auth/logout", { body: { refresh_token: token } });
    } catch (e) {
      // Signing out locally is what matters; the token expires anyway.
    }
  }
  signedOut("logout");
}

/**
 * @param {string} currentPassword
 * @param {string} newPassword
 */
export async function changePassword(currentPassword, newPassword) {
  return api("POST", "/auth/password", { current_password: currentPassword, new_password: newPassword });
}

/** Ends the session locally without telling listeners (after a password change). */
export function dropSession() {
  forget();
}

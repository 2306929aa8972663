// REST helpers and the locally stored identity (token + {id, name}).

const TOKEN_KEY = 'dropin.token';
const IDENTITY_KEY = 'dropin.identity';

/** An Error from the REST API, with the server's `code` and the HTTP `status`. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || `Request failed (${status}).`);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

export function getToken() {
  return localStorage.getItem(TOKEN_KEY);
}

/** The stored identity {id, name}, or null. */
export function getIdentity() {
  try {
    return JSON.parse(localStorage.getItem(IDENTITY_KEY));
  } catch {
    return null;
  }
}

/** Drops the stored token so the next ensureIdentity() asks for a new one. */
export function forgetToken() {
  localStorage.removeItem(TOKEN_KEY);
}

/** Calls the REST API with the stored bearer token; returns the parsed JSON reply. */
export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';

  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'network', 'Could not reach the server. Check your connection.');
  }

  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const error = data?.error ?? {};
    throw new ApiError(response.status, error.code ?? 'http_error', error.message);
  }
  return data;
}

/**
 * Makes sure a valid token exists for `name` and returns the identity.
 * A new identity is requested when there is no token, the name changed,
 * or the server no longer accepts the token (401).
 */
export async function ensureIdentity(name) {
  const wanted = name.trim();
  if (!wanted) throw new ApiError(0, 'name_required', 'Please enter your name first.');

  const stored = getIdentity();
  if (getToken() && stored?.name === wanted) {
    try {
      return await api('GET', '/api/me');
    } catch (error) {
      if (error.status !== 401) throw error;
      forgetToken();
    }
  }

  forgetToken();
  const reply = await api('POST', '/api/identity', { name: wanted });
  localStorage.setItem(TOKEN_KEY, reply.token);
  localStorage.setItem(IDENTITY_KEY, JSON.stringify(reply.identity));
  return reply.identity;
}

// api.js: the JSON API client. Same-origin credentials, the X-CSRF-Token header on every
// state-changing request, errors thrown as ApiError, and uploads with progress.

/** ApiError is a failed API call: code and message from the server, HTTP status. */
export class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message || code || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = code || 'internal';
    this.retryAfter = retryAfter;
  }
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

let unauthorizedHandler = null;

/**
 * onUnauthorized sets a function called when a request other than login, register or
 * the initial /api/me answers 401 (the session ended).
 */
export function onUnauthorized(fn) {
  unauthorizedHandler = fn;
}

/** csrfCookie reads the mm_csrf cookie, or '' when it is missing. */
export function csrfCookie() {
  for (const part of document.cookie.split(';')) {
    const [k, ...rest] = part.trim().split('=');
    if (k === 'mm_csrf') return decodeURIComponent(rest.join('='));
  }
  return '';
}

let csrfPromise = null;

async function csrfToken(force = false) {
  const c = force ? '' : csrfCookie();
  if (c) return c;
  if (!csrfPromise) {
    csrfPromise = fetch('/api/csrf', { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then((r) => r.json())
      .then((j) => csrfCookie() || j.csrf_token || '')
      .finally(() => { csrfPromise = null; });
  }
  return csrfPromise;
}

async function toError(res) {
  let code = '';
  let message = '';
  let retryAfter;
  try {
    const j = await res.json();
    if (j && j.error) {
      code = j.error.code;
      message = j.error.message;
      retryAfter = j.error.retry_after;
    }
  } catch {
    // not JSON: keep the status text
  }
  if (retryAfter === undefined && res.headers.get('Retry-After')) {
    retryAfter = Number(res.headers.get('Retry-After'));
  }
  return new ApiError(res.status, code || statusCode(res.status), message || res.statusText, retryAfter);
}

function statusCode(status) {
  return { 400: 'invalid', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 409: 'conflict',
    413: 'too_large', 415: 'unsupported_media_type', 429: 'too_many', 503: 'unavailable' }[status] || 'internal';
}

/**
 * request sends one API call and returns the parsed JSON answer (or null for 204).
 * opts.quiet401 stops the global unauthorized handler (for login, register, /api/me).
 */
export async function request(method, path, body, opts = {}) {
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let token = '';
  if (UNSAFE.has(method)) {
    token = await csrfToken();
    headers['X-CSRF-Token'] = token;
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, 'network', 'Cannot reach the server. Check your connection.');
  }
  if (res.status === 403 && UNSAFE.has(method) && !opts.retried) {
    // The CSRF cookie may have changed (a new session or a cleared cookie): retry once.
    const fresh = await csrfToken(!csrfCookie());
    if (fresh && fresh !== token) return request(method, path, body, { ...opts, retried: true });
  }
  if (!res.ok) {
    const err = await toError(res);
    if (res.status === 401 && !opts.quiet401 && unauthorizedHandler) unauthorizedHandler(err);
    throw err;
  }
  if (res.status === 204) return null;
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

/** enc percent-encodes one path segment (conversation ids, message ids, emoji). */
export const enc = encodeURIComponent;

export const get = (path, opts) => request('GET', path, undefined, opts);
export const post = (path, body, opts) => request('POST', path, body, opts);
export const patch = (path, body, opts) => request('PATCH', path, body, opts);
export const put = (path, body, opts) => request('PUT', path, body, opts);
export const del = (path, opts) => request('DELETE', path, undefined, opts);

/**
 * upload posts a multipart form with XMLHttpRequest so that onProgress(fraction) can follow
 * it. It resolves with the parsed JSON answer. The returned promise has an abort() method.
 */
export function upload(path, formData, onProgress) {
  const xhr = new XMLHttpRequest();
  const p = (async () => {
    const token = await csrfToken();
    return new Promise((resolve, reject) => {
      xhr.open('POST', path);
      xhr.withCredentials = true;
      xhr.setRequestHeader('X-CSRF-Token', token);
      xhr.setRequestHeader('Accept', 'application/json');
      xhr.responseType = 'text';
      if (onProgress) {
        xhr.upload.addEventListener('progress', (e) => {
          if (e.lengthComputable) onProgress(e.loaded / e.total);
        });
      }
      xhr.addEventListener('load', () => {
        let j = null;
        try {
          j = xhr.responseText ? JSON.parse(xhr.responseText) : null;
        } catch {
          // leave j null
        }
        if (xhr.status >= 200 && xhr.status < 300) {
          if (onProgress) onProgress(1);
          resolve(j);
          return;
        }
        const e = (j && j.error) || {};
        const ra = e.retry_after ?? (Number(xhr.getResponseHeader('Retry-After')) || undefined);
        const err = new ApiError(xhr.status, e.code || statusCode(xhr.status), e.message || xhr.statusText, ra);
        if (xhr.status === 401 && unauthorizedHandler) unauthorizedHandler(err);
        reject(err);
      });
      xhr.addEventListener('error', () => reject(new ApiError(0, 'network', 'Upload failed: cannot reach the server.')));
      xhr.addEventListener('abort', () => reject(new ApiError(0, 'aborted', 'Upload cancelled.')));
      xhr.send(formData);
    });
  })();
  p.abort = () => xhr.abort();
  return p;
}

/** errorText turns any error into a sentence for the user. */
export function errorText(err) {
  if (err instanceof ApiError) {
    if (err.status === 429) {
      const s = Math.max(1, Math.ceil(Number(err.retryAfter) || 1));
      return `Too many attempts, try again in ${s} s.`;
    }
    if (err.status === 413) return err.message && err.message !== 'Request Entity Too Large' ? err.message : 'That is too large.';
    return err.message || `Request failed (${err.status}).`;
  }
  return (err && err.message) || String(err);
}

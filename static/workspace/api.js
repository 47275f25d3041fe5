// Small helpers for the portal's JSON API: CSRF header, readable errors, never a stack trace.

export class ApiError extends Error {
  constructor(message, status, body) {
    super(message);
    this.status = status;
    this.body = body || {};
  }
}

let csrfToken = "";

export function setCsrf(token) {
  csrfToken = token;
}

export function csrf() {
  return csrfToken;
}

const GENERIC = "The server could not be reached. Check the connection and try again.";

export async function requestJson(url, { method = "GET", body, headers = {} } = {}) {
  let response;
  try {
    response = await fetch(url, {
      method,
      credentials: "same-origin",
      headers: {
        Accept: "application/json",
        ...(body !== undefined ? { "Content-Type": "application/json" } : {}),
        ...(method !== "GET" ? { "X-CSRFToken": csrfToken } : {}),
        ...headers,
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
  } catch (err) {
    throw new ApiError(GENERIC, 0, {});
  }
  let data = {};
  const text = await response.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch (err) {
      data = {};
    }
  }
  if (!response.ok) {
    const message = data.detail || (response.status === 403
      ? "You do not have permission to do this."
      : response.status === 404 ? "Not found: the page may be out of date. Reload it."
        : response.status >= 500 ? "Something went wrong on our side. It has been logged; try again in a moment."
          : "The request could not be completed.");
    throw new ApiError(message, response.status, data);
  }
  return { status: response.status, data };
}

export function clock(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) seconds = 0;
  const total = Math.floor(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mm = h ? String(m).padStart(2, "0") : String(m);
  return (h ? `${h}:` : "") + `${mm}:${String(s).padStart(2, "0")}`;
}

export function clockPrecise(seconds) {
  const whole = Math.floor(seconds);
  const tenth = Math.floor((seconds - whole) * 10);
  return `${clock(whole)}.${tenth}`;
}

// "1:02.5", "62.5", "1:02" -> seconds; NaN when unreadable.
export function parseClock(text) {
  const value = String(text || "").trim().replace(",", ".");
  if (!value) return NaN;
  const parts = value.split(":").map(Number);
  if (parts.some((p) => !Number.isFinite(p))) return NaN;
  return parts.reduce((acc, p) => acc * 60 + p, 0);
}

export function bytes(n) {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(2)} GB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KB`;
  return `${n} bytes`;
}

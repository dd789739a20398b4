// Calls to the services through the dashboard's proxy (/api/<service>/<path>), with the
// signed-in bearer token. Errors are the services' problem+json bodies, surfaced as ApiError.

export type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface Session {
  token: string;
  subject: string;
  roles: string[];
}

const KEY = "nexus.session";

export function session(): Session | null {
  const text = sessionStorage.getItem(KEY);
  return text ? (JSON.parse(text) as Session) : null;
}

export function saveSession(s: Session | null): void {
  if (s) sessionStorage.setItem(KEY, JSON.stringify(s));
  else sessionStorage.removeItem(KEY);
}

export function hasRole(...roles: string[]): boolean {
  const s = session();
  return !!s && s.roles.some((r) => roles.includes(r) || r === "admin");
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Json,
  ) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
  }
}

export async function api(service: string, path: string, init: RequestInit = {}): Promise<Json> {
  const s = session();
  const headers = new Headers(init.headers);
  if (s) headers.set("authorization", `Bearer ${s.token}`);
  if (init.body && !headers.has("content-type")) headers.set("content-type", "application/json");
  const resp = await fetch(`/api/${service}${path}`, { ...init, headers });
  const text = await resp.text();
  const body = text ? JSON.parse(text) : null;
  if (!resp.ok) throw new ApiError(resp.status, body);
  return body;
}

export function post(service: string, path: string, body: Json, method = "POST"): Promise<Json> {
  return api(service, path, { method, body: JSON.stringify(body) });
}

/** Follow a server-sent event stream (with the bearer header), reconnecting with backoff. */
export function follow(
  service: string,
  path: string,
  onEvent: (data: Json) => void,
  onState: (connected: boolean) => void,
): () => void {
  let stopped = false;
  let controller: AbortController | null = null;
  let delay = 1000;
  const run = async (): Promise<void> => {
    while (!stopped) {
      controller = new AbortController();
      try {
        const s = session();
        const resp = await fetch(`/api/${service}${path}`, {
          headers: s ? { authorization: `Bearer ${s.token}`, accept: "text/event-stream" } : {},
          signal: controller.signal,
        });
        if (!resp.ok || !resp.body) throw new Error(`HTTP ${resp.status}`);
        onState(true);
        delay = 1000;
        const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let cut: number;
          while ((cut = buffer.indexOf("\n\n")) >= 0) {
            const frame = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            const data = frame
              .split("\n")
              .filter((l) => l.startsWith("data:"))
              .map((l) => l.slice(5).trimStart())
              .join("\n");
            if (data) {
              try {
                onEvent(JSON.parse(data));
              } catch {
                /* keep-alive or non-JSON frame */
              }
            }
          }
        }
      } catch {
        /* reconnect below */
      }
      onState(false);
      if (stopped) return;
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 15000);
    }
  };
  void run();
  return () => {
    stopped = true;
    controller?.abort();
  };
}

/** A WebSocket through the dashboard (/ws/<service>/<path>), reconnecting with backoff. */
export function socket(
  service: string,
  path: string,
  onMessage: (data: Json) => void,
  onState: (connected: boolean) => void,
  onOpen: (send: (msg: Json) => void) => void = () => {},
): () => void {
  let stopped = false;
  let ws: WebSocket | null = null;
  let delay = 1000;
  const open = (): void => {
    const s = session();
    const proto = location.protocol === "https:" ? "wss" : "ws";
    ws = new WebSocket(`${proto}://${location.host}/ws/${service}${path}`);
    ws.onopen = () => {
      delay = 1000;
      ws?.send(JSON.stringify({ type: "auth", token: s?.token ?? "" }));
      onOpen((msg) => ws?.send(JSON.stringify(msg)));
      onState(true);
    };
    ws.onmessage = (m) => {
      try {
        onMessage(JSON.parse(String(m.data)));
      } catch {
        /* ignore a non-JSON frame */
      }
    };
    ws.onclose = () => {
      onState(false);
      if (!stopped) {
        setTimeout(open, delay);
        delay = Math.min(delay * 2, 15000);
      }
    };
  };
  open();
  return () => {
    stopped = true;
    ws?.close();
  };
}

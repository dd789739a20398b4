// Small DOM helpers: element builder, formatting, tables, messages.

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | EventListener | undefined>;

export function h(tag: string, attrs: Attrs = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = String(v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el: HTMLElement, ...children: Child[]): HTMLElement {
  el.replaceChildren();
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

export function fmtNs(ns: number): string {
  if (!ns) return "";
  return new Date(ns / 1e6).toISOString().replace("T", " ").replace("Z", "");
}

export function fmtNum(value: unknown, digits = 2): string {
  const n = typeof value === "string" ? Number(value) : (value as number);
  if (value === null || value === undefined || Number.isNaN(n)) return String(value ?? "");
  return n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A money/decimal string shown as is (exact), grouped for reading. */
export function fmtDecimal(text: unknown): string {
  if (typeof text !== "string") return String(text ?? "");
  if (!/^-?\d+(\.\d+)?$/.test(text)) return text;
  const [int, frac] = text.split(".");
  const sign = int.startsWith("-") ? "-" : "";
  const digits = int.replace("-", "").replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return sign + digits + (frac !== undefined ? "." + frac : "");
}

export function table(
  headers: string[],
  rows: Child[][],
  opts: { caption?: string; rowAttrs?: (i: number) => Attrs } = {},
): HTMLElement {
  return h(
    "table",
    {},
    opts.caption ? h("caption", {}, opts.caption) : null,
    h("thead", {}, h("tr", {}, ...headers.map((x) => h("th", { scope: "col" }, x)))),
    h(
      "tbody",
      {},
      ...rows.map((r, i) => h("tr", opts.rowAttrs ? opts.rowAttrs(i) : {}, ...r.map((c) => h("td", {}, c)))),
    ),
  );
}

export function errorBox(err: unknown): HTMLElement {
  const e = err as { status?: number; problem?: { title?: string; detail?: string; errors?: unknown[] }; message?: string };
  const title = e?.problem?.title ?? "Error";
  const detail = e?.problem?.detail ?? e?.message ?? String(err);
  return h("div", { class: "error", role: "alert" }, h("strong", {}, `${e?.status ?? ""} ${title}`), " ", detail);
}

export function toast(text: string): void {
  const el = document.getElementById("toast");
  if (!el) return;
  el.textContent = text;
  el.classList.add("show");
  setTimeout(() => el.classList.remove("show"), 3000);
}

export function card(title: string, ...children: Child[]): HTMLElement {
  return h("section", { class: "card" }, h("h2", {}, title), ...children);
}

export function liveBadge(): { el: HTMLElement; set: (on: boolean) => void } {
  const el = h("span", { class: "live off", title: "live updates" }, "offline");
  return {
    el,
    set: (on) => {
      el.className = on ? "live on" : "live off";
      el.textContent = on ? "live" : "reconnecting";
    },
  };
}

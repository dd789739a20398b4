import { api, follow, type Json } from "../api";
import { clear, errorBox, fmtNs, h, liveBadge, table } from "../dom";

const TYPES = ["SPOOFING", "LAYERING", "WASH_TRADING", "MOMENTUM_IGNITION"];
const SEVERITIES = ["CRITICAL", "HIGH", "MEDIUM", "LOW"];
const STATUSES = ["OPEN", "UNDER_REVIEW", "ESCALATED", "DISMISSED", "CONFIRMED"];

function select(id: string, label: string, values: string[]): HTMLSelectElement {
  return h(
    "select",
    { id, "aria-label": label },
    h("option", { value: "" }, `${label}: any`),
    ...values.map((v) => h("option", { value: v }, v)),
  ) as HTMLSelectElement;
}

/** The alert queue: filters, counts by type and severity, live as alerts arrive. */
export function compliancePage(app: HTMLElement): () => void {
  const type = select("f-type", "type", TYPES);
  const severity = select("f-severity", "severity", SEVERITIES);
  const status = select("f-status", "status", STATUSES);
  const user = h("input", { id: "f-user", placeholder: "user", "aria-label": "user" }) as HTMLInputElement;
  const symbol = h("input", { id: "f-symbol", placeholder: "symbol", "aria-label": "symbol" }) as HTMLInputElement;
  const counts = h("div", { class: "counts", id: "alert-counts" });
  const list = h("div", { id: "alert-list" });
  const more = h("button", { id: "more", hidden: true }, "Load more");
  const badge = liveBadge();
  let items: Json[] = [];
  let cursor: string | null = null;
  let selected = 0;

  const query = (): string => {
    const q = new URLSearchParams({ limit: "50" });
    if (type.value) q.set("type", type.value);
    if (severity.value) q.set("severity", severity.value);
    if (status.value) q.set("status", status.value);
    if (user.value.trim()) q.set("user_id", user.value.trim());
    if (symbol.value.trim()) q.set("symbol", symbol.value.trim().toUpperCase());
    return q.toString();
  };
  const render = (): void => {
    const byType = new Map<string, number>();
    const bySev = new Map<string, number>();
    for (const a of items) {
      byType.set(a.type, (byType.get(a.type) ?? 0) + 1);
      bySev.set(a.severity, (bySev.get(a.severity) ?? 0) + 1);
    }
    clear(
      counts,
      ...SEVERITIES.map((s) => h("span", { class: `pill sev-${s}` }, `${s} ${bySev.get(s) ?? 0}`)),
      ...TYPES.map((t) => h("span", { class: "pill" }, `${t} ${byType.get(t) ?? 0}`)),
      h("span", { class: "muted" }, `(${items.length} loaded${cursor ? ", more available" : ""})`),
    );
    const t = table(
      ["Severity", "Type", "Symbol", "User", "Window (UTC)", "Score", "Status", "Version"],
      items.map((a) => [
        h("span", { class: `pill sev-${a.severity}` }, a.severity),
        a.type,
        a.symbol,
        h("a", { href: `#/profiles/${encodeURIComponent(a.user_id)}`, title: "trading profile", onclick: (ev: Event) => ev.stopPropagation() }, a.user_id),
        `${fmtNs(a.start_ns)} → ${fmtNs(a.end_ns).slice(11)}`,
        Number(a.score).toFixed(1),
        a.status,
        `v${a.version}`,
      ]),
      {
        caption: "Alerts (arrow keys or j/k to move, Enter to open)",
        rowAttrs: (i) => ({
          tabindex: i === selected ? 0 : -1,
          class: i === selected ? "sel" : "",
          "data-alert-id": items[i].alert_id,
          onclick: () => (location.hash = `#/alerts/${encodeURIComponent(items[i].alert_id)}`),
        }),
      },
    );
    t.id = "alert-table";
    t.addEventListener("keydown", (ev: KeyboardEvent) => {
      if (["ArrowDown", "j"].includes(ev.key)) selected = Math.min(items.length - 1, selected + 1);
      else if (["ArrowUp", "k"].includes(ev.key)) selected = Math.max(0, selected - 1);
      else if (ev.key === "Enter" && items[selected]) {
        location.hash = `#/alerts/${encodeURIComponent(items[selected].alert_id)}`;
        return;
      } else return;
      ev.preventDefault();
      render();
      (document.querySelector("#alert-table tbody tr.sel") as HTMLElement | null)?.focus();
    });
    clear(list, items.length ? t : h("p", { class: "muted", id: "no-alerts" }, "No alerts match."));
    more.hidden = !cursor;
  };
  const load = async (append = false): Promise<void> => {
    try {
      const q = query() + (append && cursor ? `&cursor=${encodeURIComponent(cursor)}` : "");
      const page = await api("surveillance", `/alerts?${q}`);
      items = append ? [...items, ...page.items] : page.items;
      cursor = page.next_cursor;
      if (!append) selected = 0;
      render();
    } catch (e) {
      clear(list, errorBox(e));
    }
  };
  for (const f of [type, severity, status]) f.addEventListener("change", () => void load());
  for (const f of [user, symbol]) f.addEventListener("change", () => void load());
  more.addEventListener("click", () => void load(true));

  app.replaceChildren(
    h("h1", {}, "Alert queue ", badge.el),
    h("div", { class: "filters" }, type, severity, status, user, symbol),
    counts,
    list,
    more,
  );
  void load();
  let pending: number | null = null;
  return follow(
    "surveillance",
    "/alerts/stream",
    () => {
      // a new alert or version: refresh the first page at most once a second
      if (pending === null) pending = window.setTimeout(() => ((pending = null), void load()), 1000);
    },
    badge.set,
  );
}

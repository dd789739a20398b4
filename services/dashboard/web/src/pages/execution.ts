import { api, ApiError, session, type Json } from "../api";
import { card, clear, errorBox, fmtNs, h, table } from "../dom";

const price = (v: unknown): string => (v === null || v === undefined || v === 0 || v === "0" ? "—" : String(v));

/** A symbol's books per venue and the NBBO (refreshed each second), routing decisions with
 * their rationale and alternatives, venue rankings and statistics. */
export function executionPage(app: HTMLElement, symbol: string): () => void {
  const sym = h("input", { id: "exec-symbol", value: symbol, "aria-label": "symbol" }) as HTMLInputElement;
  sym.addEventListener("change", () => (location.hash = `#/execution/${encodeURIComponent(sym.value.trim().toUpperCase())}`));
  const nbbo = h("div", { id: "nbbo" });
  const rankings = h("div", { id: "rankings" });
  const venues = h("div", { id: "venues" });
  const decisions = h("div", { id: "decisions" });
  const alternatives = h("div", { id: "decision-alternatives" }, h("p", { class: "muted" }, "Select a routed order to see every venue its router weighed."));
  // one parent's decisions, each with every venue it scored and why it took or left it
  const showDecisions = async (orderId: string): Promise<void> => {
    try {
      const o: Json = await api("routing", `/orders/${encodeURIComponent(orderId)}`);
      const ds: Json[] = o.decisions ?? [];
      clear(
        alternatives,
        h("p", {}, h("strong", {}, orderId), ` · ${o.symbol} ${o.side} ${o.quantity} · ${o.strategy ?? ""} · ${o.status ?? ""}`),
        ...(ds.length
          ? ds.map((d: Json, n: number) =>
              h(
                "div",
                { class: "decision" },
                h("p", { class: "muted" }, `round ${d.round ?? n} · ${d.rationale ?? ""}`),
                table(
                  ["Rank", "Venue", "Score / share", "Price", "Available", "Fee", "Latency (ms)", "Fill rate", "Chosen", "Why"],
                  (d.alternatives ?? []).map((a: Json) => [a.rank, a.venue_id, Number(a.score).toFixed(4), price(a.price), a.available, a.fee, (Number(a.latency_ns) / 1e6).toFixed(2), Number(a.fill_rate).toFixed(2), a.chosen ? "yes" : "no", a.reason]),
                ),
              ),
            )
          : [h("p", { class: "muted" }, "No decision recorded for this order.")]),
      );
    } catch (e) {
      clear(alternatives, errorBox(e));
    }
  };
  const reports = h("div", { id: "reports" });
  const reportMessage = h("div", {});
  // a report is fetched with the bearer token, then handed to the browser as a file
  const download = (path: string, filename: string, text: string): HTMLElement =>
    h(
      "button",
      {
        type: "button",
        class: "link",
        onclick: async () => {
          try {
            const s = session();
            const resp = await fetch(`/api/routing${path}`, { headers: s ? { authorization: `Bearer ${s.token}` } : {} });
            if (!resp.ok) throw new ApiError(resp.status, await resp.json().catch(() => null));
            const url = URL.createObjectURL(await resp.blob());
            const a = h("a", { href: url, download: filename }) as HTMLAnchorElement;
            a.click();
            URL.revokeObjectURL(url);
            reportMessage.replaceChildren();
          } catch (e) {
            reportMessage.replaceChildren(errorBox(e));
          }
        },
      },
      text,
    );
  app.replaceChildren(
    h("h1", {}, "Execution · ", sym),
    card("NBBO and venue books", nbbo),
    h("div", { class: "grid" }, card("Venue rankings (buy 100)", rankings), card("Venue statistics", venues)),
    card("Routing decisions", decisions),
    card("Decision alternatives", alternatives),
    card("Regulatory reports", reports),
  );
  const s = encodeURIComponent(symbol);
  const loadNbbo = async (): Promise<void> => {
    try {
      const n = await api("routing", `/nbbo/${s}`);
      clear(
        nbbo,
        h("p", { class: "nbbo" }, h("strong", {}, `${price(n.bid_price)} × ${price(n.ask_price)}`), ` · sizes ${n.bid_size ?? ""} × ${n.ask_size ?? ""} · bid at ${(n.bid_venues ?? []).join(", ")} · ask at ${(n.ask_venues ?? []).join(", ")} · ${n.state ?? ""}`),
        table(
          ["Venue", "Bid size", "Bid", "Ask", "Ask size", "Protected", "Quote time (UTC)"],
          (n.quotes ?? []).map((q: Json) => [q.venue, q.bid_size, price(q.bid_price), price(q.ask_price), q.ask_size, q.protected ? "yes" : q.stale ? "stale" : "no", fmtNs(q.ts_event)]),
        ),
      );
    } catch (e) {
      clear(nbbo, errorBox(e));
    }
  };
  const loadRest = async (): Promise<void> => {
    try {
      const r: Json[] = await api("routing", `/rankings/${s}?side=BUY&quantity=100`);
      clear(rankings, table(["#", "Venue", "Score", "Why"], r.map((v, i) => [i + 1, v.venue, String(v.score ?? ""), v.reason ?? (v.reasons ?? []).join("; ")])));
    } catch (e) {
      clear(rankings, errorBox(e));
    }
    try {
      const v: Json = await api("routing", "/venues");
      const rows: Json[] = Array.isArray(v) ? v : (v.items ?? Object.values(v));
      const ms = (ns: unknown): string => (ns === undefined || ns === null ? "" : (Number(ns) / 1e6).toFixed(2));
      clear(venues, table(["Venue", "Fill rate", "Latency p50/p99 (ms)", "Reject rate", "Toxicity penalty / share"], rows.map((x) => [x.venue ?? x.name, String(x.fill_rate ?? x.stats?.fill_rate ?? ""), `${ms(x.stats?.latency_p50_ns)} / ${ms(x.stats?.latency_p99_ns)}`, String(x.reject_rate ?? x.stats?.reject_rate ?? ""), String(x.toxicity_penalty ?? "")])));
    } catch (e) {
      clear(venues, errorBox(e));
    }
    try {
      const d: Json = await api("routing", "/orders?limit=20");
      const rows: Json[] = Array.isArray(d) ? d : (d.items ?? []);
      clear(
        decisions,
        rows.length
          ? table(
              ["Order", "User", "Symbol", "Side", "Qty", "Strategy", "Status", "Rationale"],
              rows.map((o) => [o.order_id, o.user_id, o.symbol, o.side, o.quantity, o.strategy ?? "", o.status ?? "", o.rationale ?? o.decision?.rationale ?? ""]),
              { rowAttrs: (i) => ({ "data-order-id": rows[i].order_id, class: "clickable", tabindex: 0, onclick: () => void showDecisions(rows[i].order_id), onkeydown: (ev: Event) => ((ev as KeyboardEvent).key === "Enter" ? void showDecisions(rows[i].order_id) : undefined) }) },
            )
          : h("p", { class: "muted" }, "No routed orders yet."),
      );
    } catch (e) {
      clear(decisions, errorBox(e));
    }
    const now = new Date();
    const quarter = `${now.getUTCFullYear()}Q${Math.floor(now.getUTCMonth() / 3) + 1}`;
    const month = now.toISOString().slice(0, 7);
    clear(
      reports,
      download(`/reports/606?quarter=${quarter}&format=csv`, `rule606-${quarter}.csv`, `Rule 606 routing report, ${quarter} (CSV)`),
      " ",
      download(`/reports/605?month=${month}&format=csv`, `rule605-${month}.csv`, `Rule 605 execution quality, ${month} (CSV)`),
      reportMessage,
    );
  };
  void loadNbbo();
  void loadRest();
  const timer = window.setInterval(() => void loadNbbo(), 1000);
  return () => clearInterval(timer);
}

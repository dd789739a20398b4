import { api, ApiError, post, type Json } from "../api";
import { replayChart, type Replay } from "../charts";
import { card, clear, errorBox, fmtNs, h, table, toast } from "../dom";

const NEXT: Record<string, string[]> = {
  OPEN: ["UNDER_REVIEW", "ESCALATED", "DISMISSED"],
  UNDER_REVIEW: ["ESCALATED", "DISMISSED", "CONFIRMED"],
  ESCALATED: ["UNDER_REVIEW", "DISMISSED", "CONFIRMED"],
  DISMISSED: ["UNDER_REVIEW"],
  CONFIRMED: [],
};
const CATEGORIES = ["FALSE_POSITIVE", "LEGITIMATE_ACTIVITY", "INSUFFICIENT_EVIDENCE", "DUPLICATE", "OTHER"];

function kv(obj: Json): HTMLElement {
  return table(
    ["Field", "Value"],
    Object.entries(obj ?? {}).map(([k, v]) => [k, typeof v === "object" ? JSON.stringify(v) : String(v)]),
  );
}

/** A replay from the alert's own evidence when the service offers no recorded window. */
function replayFromEvidence(alert: Json): Replay {
  const ev = alert.evidence ?? {};
  const orders = [ev.order, ...(ev.layers ?? []), ...(ev.orders ?? [])].filter((o) => o && o.price !== undefined);
  const bbo: Replay["bbo"] = [];
  const placed = ev.book_at_placement;
  if (placed && ev.order) {
    const buy = ev.order.side === "BUY";
    bbo.push([ev.order.placed_ns, Number(buy ? placed.best_same_side : placed.best_opposite_side) || null, Number(buy ? placed.best_opposite_side : placed.best_same_side) || null]);
  }
  if (ev.book_at_cancel && ev.order?.cancelled_ns) {
    bbo.push([ev.order.cancelled_ns, Number(ev.book_at_cancel.best_bid) || null, Number(ev.book_at_cancel.best_ask) || null]);
  }
  return {
    bbo,
    trades: [],
    start_ns: alert.start_ns,
    end_ns: alert.end_ns,
    orders: orders.map((o: Json) => ({
      order_id: o.order_id,
      side: o.side,
      price: Number(o.price),
      quantity: Number(o.quantity),
      placed_ns: o.placed_ns ?? alert.start_ns,
      ended_ns: o.cancelled_ns ?? o.ended_ns ?? null,
      outcome: o.cancelled_ns ? "cancelled" : "open",
      own: true,
    })),
  };
}

/** One alert: explanation, evidence, versions, market replay, workflow and its audit trail. */
export async function alertPage(app: HTMLElement, alertId: string): Promise<void> {
  app.replaceChildren(h("p", { class: "muted" }, "Loading alert…"));
  let detail: Json;
  try {
    detail = await api("surveillance", `/alerts/${encodeURIComponent(alertId)}`);
  } catch (e) {
    app.replaceChildren(errorBox(e));
    return;
  }
  const a = detail.alert;
  const chart = h("div", { id: "replay-chart", class: "chart" });
  const chartNote = h("p", { class: "muted" });
  const status = h("select", { id: "wf-status", "aria-label": "new status" }, ...(NEXT[detail.status] ?? []).map((s) => h("option", { value: s }, s))) as HTMLSelectElement;
  const category = h("select", { id: "wf-category", "aria-label": "dismissal reason category" }, h("option", { value: "" }, "reason category…"), ...CATEGORIES.map((c) => h("option", { value: c }, c))) as HTMLSelectElement;
  const reason = h("input", { id: "wf-reason", placeholder: "why (kept in the audit trail)", "aria-label": "reason", size: 48 }) as HTMLInputElement;
  const wfMessage = h("div", {});
  const workflow = h(
    "form",
    {
      id: "workflow",
      onsubmit: async (ev: Event) => {
        ev.preventDefault();
        try {
          const body: Json = { status: status.value, reason: reason.value, expected_status: detail.status };
          if (status.value === "DISMISSED") body.reason_category = category.value || null;
          await post("surveillance", `/alerts/${encodeURIComponent(alertId)}/status`, body);
          toast(`Alert ${status.value.toLowerCase().replace("_", " ")}`);
          await alertPage(app, alertId);
        } catch (e) {
          wfMessage.replaceChildren(errorBox(e));
        }
      },
    },
    status,
    category,
    reason,
    h("button", { type: "submit", disabled: !(NEXT[detail.status] ?? []).length }, "Apply"),
    wfMessage,
  );
  app.replaceChildren(
    h("p", {}, h("a", { href: "#/compliance" }, "← alert queue"), " · ", h("a", { href: `#/profiles/${encodeURIComponent(a.user_id)}`, id: "profile-link" }, `trading profile of ${a.user_id}`)),
    h("h1", {}, `${a.type} · ${a.symbol} · ${a.user_id} `, h("span", { class: `pill sev-${a.severity}` }, a.severity), " ", h("span", { class: "pill", id: "alert-status" }, detail.status)),
    card("Explanation", h("p", { class: "explanation", id: "explanation" }, a.explanation), h("p", { class: "muted" }, `score ${Number(a.score).toFixed(1)} / 100 · window ${fmtNs(a.start_ns)} → ${fmtNs(a.end_ns)} UTC · accounts ${(a.account_ids ?? []).join(", ")} · owner ${a.owner_id} · version ${a.version}`)),
    card("Market replay", chart, chartNote),
    card("Review", workflow),
    card(
      "Audit trail",
      table(
        ["When", "Who", "From", "To", "Category", "Why"],
        (detail.history ?? []).map((c: Json) => [c.changed_at ?? c.at ?? "", c.actor ?? c.changed_by ?? "", c.from_status ?? "", c.to_status ?? c.status ?? "", c.reason_category ?? "", c.reason ?? ""]),
      ),
    ),
    card("Evidence", ...Object.entries(a.evidence ?? {}).map(([k, v]) => h("div", {}, h("h3", {}, k), typeof v === "object" && v !== null && !Array.isArray(v) ? kv(v) : h("pre", {}, JSON.stringify(v, null, 2))))),
    card("Thresholds judged against", kv(a.thresholds)),
    card("Orders and trades", h("p", {}, `orders: ${(a.order_ids ?? []).join(", ")}`), h("p", {}, `trades: ${(a.trade_ids ?? []).join(", ")}`)),
    card(
      "Versions",
      table(
        ["Version", "Recorded", "Severity", "Score", "Window end"],
        (detail.versions ?? []).map((v: Json) => [`v${v.version}`, v.recorded_at, v.alert.severity, Number(v.alert.score).toFixed(1), fmtNs(v.alert.end_ns)]),
      ),
    ),
  );
  let replay: Replay;
  try {
    replay = await api("surveillance", `/alerts/${encodeURIComponent(alertId)}/replay`);
    chartNote.textContent = `Recorded market from the surveillance archive: ${replay.bbo.length} book changes, ${replay.trades.length} trades, ${replay.orders.length} orders (the user's in colour, green buy, red sell; thickness by quantity).`;
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 404)) {
      clear(chartNote, errorBox(e));
    } else {
      chartNote.textContent = "No recorded window for this alert: drawn from its evidence (book at placement and cancel).";
    }
    replay = replayFromEvidence(a);
  }
  replayChart(chart, replay);
}

import { api, post, session, socket, type Json } from "../api";
import { backtestChart, barChart, heatmap, type BacktestDay } from "../charts";
import { card, clear, errorBox, fmtDecimal, fmtNum, h, liveBadge, table } from "../dom";

const METHODS = ["historical", "parametric_normal", "cornish_fisher", "monte_carlo_normal", "monte_carlo_student_t"];

function summaryView(summary: Json): HTMLElement {
  return table(
    ["Measure", "Value"],
    Object.entries(summary ?? {})
      .filter(([, v]) => typeof v !== "object" || v === null)
      .map(([k, v]) => [k, typeof v === "string" ? fmtDecimal(v) : String(v)]),
  );
}

/** The Basel traffic light as a coloured pill with its counts, or why it is not defined. */
function baselPill(b: Json): HTMLElement {
  if (!b.basel_zone) {
    return h("p", { id: "backtest-zone" }, "Basel traffic light: ", h("span", { class: "pill" }, "not defined"), " ", h("span", { class: "muted" }, b.basel_rule ?? ""));
  }
  const zone = String(b.basel_zone);
  return h(
    "p",
    { id: "backtest-zone" },
    "Basel traffic light: ",
    h("span", { class: `pill zone-${zone}`, title: b.basel_rule ?? "" }, `${zone} · ${b.basel_exceptions} exception${b.basel_exceptions === 1 ? "" : "s"} in ${b.basel_observations} days`),
    " ",
    h("span", { class: "muted" }, "green 0-4, yellow 5-9, red 10+ (99%, last 250 days)"),
  );
}

/** The reason a backtest was refused for lack of history or holdings, else null. */
function backtestRefusal(e: unknown): string | null {
  const err = e as { status?: number; problem?: Json };
  if (err?.status !== 422) return null;
  const errors: Json[] = Array.isArray(err.problem?.errors) ? err.problem.errors : [];
  const about = (name: string): Json => errors.find((x) => String(x?.field ?? "").replace(/^\$\./, "") === name);
  const window = about("window");
  if (window) return `Not enough history for a VaR backtest: ${window.message}.`;
  const user = about("user_id");
  if (user) return `No VaR backtest: ${user.message}.`;
  return null;
}

/** A portfolio: summary and positions with live marks, VaR/ES by method, decomposition,
 * correlations, stress scenarios and the VaR backtest. */
export function riskPage(app: HTMLElement, userId: string): () => void {
  const badge = liveBadge();
  const summary = h("div", { id: "risk-summary" });
  const positions = h("div", { id: "risk-positions" });
  const vars = h("div", { id: "risk-var" });
  const decomposition = h("div", { id: "risk-decomposition" });
  const correlation = h("div", { id: "risk-correlation" });
  const stress = h("div", { id: "risk-stress" });
  const backtest = h("div", { id: "risk-backtest" });
  const who = h("input", { id: "risk-user", value: userId, "aria-label": "user" }) as HTMLInputElement;
  who.addEventListener("change", () => (location.hash = `#/risk/${encodeURIComponent(who.value.trim())}`));
  app.replaceChildren(
    h("h1", {}, "Portfolio risk · ", who, " ", badge.el),
    h("div", { class: "grid" }, card("Summary", summary), card("Positions (live marks)", positions)),
    card("VaR and expected shortfall (1 day, 99%)", vars),
    card("Component VaR", decomposition),
    card("Correlation", correlation),
    card("Stress scenarios", stress),
    card("VaR backtest", backtest),
  );
  const u = encodeURIComponent(userId);
  const loadPositions = async (): Promise<void> => {
    try {
      const rows: Json[] = await api("analytics", `/users/${u}/positions`);
      clear(
        positions,
        table(
          ["Symbol", "Quantity", "Mark", "Sector"],
          rows.map((p) => [p.symbol, fmtDecimal(p.quantity), fmtDecimal(p.price), p.sector ?? ""]),
        ),
      );
    } catch (e) {
      clear(positions, errorBox(e));
    }
  };
  const loadBacktest = async (): Promise<void> => {
    let b: Json;
    try {
      b = await api("analytics", `/users/${u}/var/backtest?confidence=0.99&series=true`);
    } catch (e) {
      const short = backtestRefusal(e);
      clear(backtest, short ? h("p", { class: "muted", id: "backtest-fallback" }, short) : errorBox(e));
      return;
    }
    const days: BacktestDay[] = Array.isArray(b.series) ? b.series : [];
    const chart = h("div", { class: "chart", id: "backtest-chart" });
    clear(
      backtest,
      baselPill(b),
      days.length >= 2
        ? chart
        : h("p", { class: "muted", id: "backtest-fallback" }, `Not enough history for a backtest chart: ${days.length} tested day(s).`),
      table(
        ["Test", "Statistic", "p-value"],
        [
          ["Exceptions", `${b.n_exceptions} of ${b.n_observations} days (expected rate ${fmtNum(b.expected_rate * 100)}%, observed ${fmtNum(b.observed_rate * 100)}%)`, ""],
          ["Kupiec POF", fmtNum(b.lr_pof, 3), fmtNum(b.p_value_pof, 4)],
          ["Christoffersen independence", fmtNum(b.lr_independence, 3), fmtNum(b.p_value_independence, 4)],
          ["Conditional coverage", fmtNum(b.lr_conditional_coverage, 3), fmtNum(b.p_value_conditional_coverage, 4)],
        ],
      ),
      h("p", { class: "muted" }, `Rolling 1-day historical VaR at 99% on ${b.n_observations} days; money ${b.rounding}.`),
    );
    if (days.length >= 2) backtestChart(chart, days);
  };
  const loadAll = async (): Promise<void> => {
    await loadPositions();
    try {
      clear(summary, summaryView(await api("analytics", `/users/${u}/summary`)));
    } catch (e) {
      clear(summary, errorBox(e));
    }
    const results = await Promise.all(
      METHODS.map((m) => api("analytics", `/users/${u}/var?confidence=0.99&method=${m}`).catch((e) => e)),
    );
    clear(
      vars,
      table(
        ["Method", "VaR", "ES", "VaR CI", "Observations", "Simulations"],
        results.map((r, i) =>
          r instanceof Error
            ? [METHODS[i], h("span", { class: "muted" }, r.message), "", "", "", ""]
            : [METHODS[i], fmtDecimal(r.var), fmtDecimal(r.expected_shortfall), `${fmtDecimal(r.var_ci_lower)} – ${fmtDecimal(r.var_ci_upper)} (${(r.ci_level * 100).toFixed(0)}%)`, r.n_observations, r.n_simulations || ""],
        ),
      ),
    );
    let held: Json[] = [];
    try {
      held = await api("analytics", `/users/${u}/positions`);
      const factor = held[0]?.symbol;
      const d = await api("analytics", `/users/${u}/risk-decomposition${factor ? `?factors=${factor}` : ""}`);
      clear(
        decomposition,
        barChart(d.symbols, d.component_var.map(Number), d.component_var.map(fmtDecimal)),
        h("p", { class: "muted" }, `total VaR ${fmtDecimal(d.total_var)} · ES ${fmtDecimal(d.expected_shortfall)} · ${d.method}`),
      );
    } catch (e) {
      clear(decomposition, errorBox(e));
    }
    const symbols = new Set(held.map((p) => p.symbol));
    if (symbols.size < 2) {
      // the API answers 422 for fewer than two symbols: say why instead of asking
      clear(correlation, h("p", { class: "muted" }, `A correlation needs at least two positions; this portfolio holds ${symbols.size}.`));
    } else try {
      const c = await api("analytics", `/users/${u}/correlation`);
      clear(correlation, heatmap(c.symbols, c.matrix), h("p", { class: "muted" }, `${c.estimator}, ${c.n_observations} observations`));
    } catch (e) {
      clear(correlation, errorBox(e));
    }
    try {
      const scenarios: Json[] = await api("analytics", "/stress/scenarios");
      const rows: Json[] = await post("analytics", `/users/${u}/stress`, { scenarios: scenarios.map((s) => s.name) });
      clear(
        stress,
        table(
          ["Scenario", "P&L", "Stressed VaR"],
          rows.map((r) => [r.scenario ?? r.name, fmtDecimal(r.total_pnl ?? r.pnl), fmtDecimal(r.stressed_var ?? "")]),
        ),
      );
    } catch (e) {
      clear(stress, errorBox(e));
    }
    await loadBacktest();
  };
  void loadAll();
  const s = session();
  return socket(
    "analytics",
    "/ws/summary",
    (msg) => {
      if (msg.type === "snapshot" || msg.type === "update") {
        clear(summary, summaryView(msg.summary));
        if (msg.type === "update") void loadPositions();
      }
    },
    badge.set,
    (send) => send({ type: "subscribe", user_id: userId || s?.subject }),
  );
}

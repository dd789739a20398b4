import { api, post, type Json } from "../api";
import { card, clear, errorBox, fmtNs, h, table, toast } from "../dom";

/** A user's trading profile with its anomaly scores (own history and peers). */
export async function profilePage(app: HTMLElement, userId: string): Promise<void> {
  const days = h("input", { id: "lookback", type: "number", min: 1, max: 3660, value: 30, "aria-label": "lookback days" }) as HTMLInputElement;
  const body = h("div", { id: "profile" });
  const load = async (): Promise<void> => {
    try {
      const p = await api("surveillance", `/users/${encodeURIComponent(userId)}/profile?lookback_days=${days.value}`);
      const profile = p.profile ?? p;
      const scores = ["anomaly_self", "anomaly_peers"].map((k) =>
        h("div", { class: "score" }, h("div", { class: "muted" }, k.replace("_", " vs ")), h("meter", { min: 0, max: 1, value: Number(profile[k] ?? 0), "aria-label": k }), ` ${Number(profile[k] ?? 0).toFixed(2)}`),
      );
      clear(
        body,
        card("Anomaly", ...scores),
        card("Profile", table(["Measure", "Value"], Object.entries(profile).filter(([, v]) => typeof v !== "object").map(([k, v]) => [k, typeof v === "number" ? Number(v).toLocaleString("en-US", { maximumFractionDigits: 3 }) : String(v)]))),
        ...Object.entries(p).filter(([, v]) => Array.isArray(v)).map(([k, v]) => card(k, h("pre", {}, JSON.stringify(v, null, 2)))),
      );
    } catch (e) {
      clear(body, errorBox(e));
    }
  };
  days.addEventListener("change", () => void load());
  app.replaceChildren(h("h1", {}, `Trading profile · ${userId}`), h("label", {}, "Lookback (days) ", days), body);
  await load();
}

/** The detectors' thresholds: view, change (with a reason), and the audited changes. */
export async function thresholdsPage(app: HTMLElement): Promise<void> {
  app.replaceChildren(h("h1", {}, "Detector thresholds"));
  let list: Json;
  try {
    list = await api("surveillance", "/thresholds");
  } catch (e) {
    app.append(errorBox(e));
    return;
  }
  const detectors: string[] = Array.isArray(list) ? list.map((d: Json) => d.detector ?? d) : Object.keys(list);
  for (const detector of detectors) {
    const view = await api("surveillance", `/thresholds/${detector}`);
    const editor = h("textarea", { rows: 8, cols: 60, "aria-label": `${detector} thresholds` }, JSON.stringify(view.thresholds, null, 2)) as HTMLTextAreaElement;
    const reason = h("input", { placeholder: "reason for the change", "aria-label": `${detector} reason`, size: 40 }) as HTMLInputElement;
    const msg = h("div", {});
    const form = h(
      "form",
      {
        onsubmit: async (ev: Event) => {
          ev.preventDefault();
          try {
            await post("surveillance", `/thresholds/${detector}`, { thresholds: JSON.parse(editor.value), reason: reason.value }, "PUT");
            toast(`${detector} thresholds updated`);
            await thresholdsPage(app);
          } catch (e) {
            msg.replaceChildren(errorBox(e));
          }
        },
      },
      editor,
      h("div", {}, reason, h("button", { type: "submit" }, "Save")),
      msg,
    );
    app.append(
      card(
        detector,
        form,
        table(["#", "When", "Who", "Why"], (view.changes ?? []).map((c: Json) => [c.seq, c.at, c.actor, c.reason]), { caption: "Changes (audit)" }),
      ),
    );
  }
}

/** Historical scan jobs: start one over a time range, watch its progress bar, read results. */
export function scansPage(app: HTMLElement): () => void {
  const hours = h("input", { id: "scan-hours", type: "number", min: 1, max: 24 * 366, value: 24, "aria-label": "hours back" }) as HTMLInputElement;
  const symbols = h("input", { id: "scan-symbols", placeholder: "symbols (comma separated, optional)", "aria-label": "symbols" }) as HTMLInputElement;
  const jobs = h("div", { id: "scan-jobs" });
  const mine: string[] = JSON.parse(sessionStorage.getItem("nexus.scans") ?? "[]");
  let timer = 0;
  const refresh = async (): Promise<void> => {
    const rows: HTMLElement[] = [];
    for (const id of mine) {
      try {
        const s = await api("surveillance", `/scans/${id}`);
        const pct = s.events_total ? (100 * s.events_scanned) / s.events_total : s.status === "DONE" || s.status === "COMPLETED" ? 100 : 0;
        rows.push(
          card(
            `Scan ${id.slice(0, 12)}`,
            h("progress", { max: 100, value: pct.toFixed(1), "aria-label": "scan progress" }),
            ` ${pct.toFixed(0)}% · ${s.status} · ${s.events_scanned}/${s.events_total} events · ${s.alerts_found} alerts · ${fmtNs(s.start_ns)} → ${fmtNs(s.end_ns)}`,
            s.error ? h("div", { class: "error" }, s.error) : null,
          ),
        );
      } catch (e) {
        rows.push(errorBox(e));
      }
    }
    clear(jobs, ...rows);
  };
  const form = h(
    "form",
    {
      onsubmit: async (ev: Event) => {
        ev.preventDefault();
        const end = Date.now() * 1e6;
        const body: Json = { start_ns: end - Number(hours.value) * 3600e9, end_ns: end };
        const syms = symbols.value.split(",").map((s) => s.trim().toUpperCase()).filter(Boolean);
        if (syms.length) body.symbols = syms;
        try {
          const job = await post("surveillance", "/scans", body);
          mine.unshift(job.scan_id);
          sessionStorage.setItem("nexus.scans", JSON.stringify(mine.slice(0, 20)));
          await refresh();
        } catch (e) {
          jobs.prepend(errorBox(e));
        }
      },
    },
    h("label", {}, "Hours back ", hours),
    symbols,
    h("button", { type: "submit" }, "Start scan"),
  );
  app.replaceChildren(h("h1", {}, "Historical scans"), form, jobs);
  void refresh();
  timer = window.setInterval(() => void refresh(), 1500);
  return () => clearInterval(timer);
}

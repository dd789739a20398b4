// Charts: uPlot for dense time series (market replay, backtest), SVG bars, a table heat map.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { h } from "./dom";

export interface ReplayOrder {
  order_id: string;
  side: "BUY" | "SELL";
  price: number;
  quantity: number;
  placed_ns: number;
  ended_ns: number | null;
  outcome: string;
  own: boolean;
}

export interface Replay {
  bbo: [number, number | null, number | null][]; // ns, bid, ask
  trades: [number, number, number][]; // ns, price, quantity
  orders: ReplayOrder[];
  start_ns: number;
  end_ns: number;
}

const width = (el: HTMLElement): number => Math.max(480, Math.min(el.clientWidth || 900, 1400));

/**
 * Market replay of an alert's window: best bid/ask (steps) and trades over time, with the
 * user's orders drawn from placement to cancel or fill at their prices, thicker when larger.
 */
export function replayChart(el: HTMLElement, replay: Replay): uPlot {
  const times = new Set<number>();
  replay.bbo.forEach((r) => times.add(r[0]));
  replay.trades.forEach((t) => times.add(t[0]));
  const xs = [...times].sort((a, b) => a - b);
  const idx = new Map(xs.map((x, i) => [x, i]));
  const bid: (number | null)[] = new Array(xs.length).fill(null);
  const ask: (number | null)[] = new Array(xs.length).fill(null);
  const trade: (number | null)[] = new Array(xs.length).fill(null);
  let lastBid: number | null = null;
  let lastAsk: number | null = null;
  const bboAt = new Map(replay.bbo.map((r) => [r[0], r]));
  xs.forEach((x, i) => {
    const r = bboAt.get(x);
    if (r) {
      lastBid = r[1];
      lastAsk = r[2];
    }
    bid[i] = lastBid;
    ask[i] = lastAsk;
  });
  replay.trades.forEach((t) => (trade[idx.get(t[0])!] = t[1]));
  const maxQty = Math.max(1, ...replay.orders.map((o) => o.quantity));
  const secs = xs.map((x) => x / 1e9);
  const endS = replay.end_ns / 1e9;
  const opts: uPlot.Options = {
    width: width(el),
    height: 360,
    title: "Market replay",
    scales: { x: { time: true } },
    axes: [{}, { size: 72 }],
    series: [
      {},
      { label: "best bid", stroke: "#1a7f37", paths: uPlot.paths.stepped!({ align: 1 }), spanGaps: true },
      { label: "best ask", stroke: "#cf222e", paths: uPlot.paths.stepped!({ align: 1 }), spanGaps: true },
      { label: "trades", stroke: "#444", paths: () => null, points: { show: true, size: 6, fill: "#444" } },
    ],
    hooks: {
      draw: [
        (u) => {
          const ctx = u.ctx;
          ctx.save();
          for (const o of replay.orders) {
            const x0 = u.valToPos(o.placed_ns / 1e9, "x", true);
            const x1 = u.valToPos((o.ended_ns ?? replay.end_ns) / 1e9 || endS, "x", true);
            const y = u.valToPos(o.price, "y", true);
            ctx.strokeStyle = o.side === "BUY" ? "rgba(26,127,55,0.75)" : "rgba(207,34,46,0.75)";
            if (!o.own) ctx.strokeStyle = "rgba(120,120,120,0.35)";
            ctx.lineWidth = (2 + 10 * Math.sqrt(o.quantity / maxQty)) * devicePixelRatio;
            ctx.beginPath();
            ctx.moveTo(x0, y);
            ctx.lineTo(Math.max(x1, x0 + 2), y);
            ctx.stroke();
          }
          ctx.restore();
        },
      ],
    },
  };
  const prices = [
    ...replay.orders.map((o) => o.price),
    ...replay.trades.map((t) => t[1]),
    ...bid.filter((v): v is number => v !== null),
    ...ask.filter((v): v is number => v !== null),
  ];
  if (prices.length) {
    const lo = Math.min(...prices);
    const hi = Math.max(...prices);
    const pad = Math.max((hi - lo) * 0.08, hi * 0.0005, 0.01);
    opts.scales!.y = { range: [lo - pad, hi + pad] };
  }
  return new uPlot(opts, [secs, bid, ask, trade], el);
}

export interface BacktestDay {
  date: string; // ISO date
  pnl: string; // money decimal string
  var: string; // money decimal string, a positive loss
  exception: boolean; // decided by the service on unrounded values
}

/**
 * VaR backtest: daily P&L as bars against the -VaR line, the exceptions (loss beyond VaR, as
 * the service flags them) as red points.
 */
export function backtestChart(el: HTMLElement, days: BacktestDay[]): uPlot {
  const xs = days.map((d) => Date.parse(`${d.date}T00:00:00Z`) / 1000);
  const pnl = days.map((d) => Number(d.pnl));
  const negVar = days.map((d) => -Number(d.var));
  const exceptions = days.map((d, i) => (d.exception ? pnl[i] : null));
  const bars = uPlot.paths.bars!({ size: [0.8, 8] });
  return new uPlot(
    {
      width: width(el),
      height: 300,
      title: "Daily P&L against -VaR",
      scales: { x: { time: true } },
      axes: [{}, { size: 80 }],
      series: [
        {},
        { label: "P&L", stroke: "#0969da", fill: "rgba(9,105,218,0.35)", paths: bars, points: { show: false } },
        { label: "-VaR", stroke: "#cf222e", width: 1.5, points: { show: false } },
        { label: "exception", stroke: "#cf222e", paths: () => null, points: { show: true, size: 9, fill: "#cf222e" } },
      ],
    },
    [xs, pnl, negVar, exceptions],
    el,
  );
}

/** Horizontal bars (component VaR per position), signed, labelled with the exact values. */
export function barChart(labels: string[], values: number[], texts: string[]): HTMLElement {
  const max = Math.max(1e-12, ...values.map((v) => Math.abs(v)));
  const rowH = 22;
  const w = 640;
  const mid = 220 + (w - 220) / 2;
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${w} ${rowH * labels.length + 8}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", "component VaR by position");
  svg.classList.add("bars");
  labels.forEach((label, i) => {
    const y = 4 + i * rowH;
    const len = ((w - 220) / 2) * (Math.abs(values[i]) / max);
    const x = values[i] >= 0 ? mid : mid - len;
    svg.insertAdjacentHTML(
      "beforeend",
      `<text x="0" y="${y + 15}">${label}</text>` +
        `<rect x="${x}" y="${y + 3}" width="${Math.max(len, 1)}" height="${rowH - 6}" fill="${values[i] >= 0 ? "#cf222e" : "#1a7f37"}"/>` +
        `<text x="${w - 4}" y="${y + 15}" text-anchor="end">${texts[i]}</text>`,
    );
  });
  return h("div", { class: "barwrap" }, svg);
}

/** Correlation matrix as a heat map (blue negative, red positive), values in each cell. */
export function heatmap(symbols: string[], matrix: number[][]): HTMLElement {
  const color = (v: number): string => {
    const a = Math.min(1, Math.abs(v));
    return v >= 0 ? `rgba(207,34,46,${a * 0.85})` : `rgba(9,105,218,${a * 0.85})`;
  };
  return h(
    "table",
    { class: "heatmap", "aria-label": "correlation matrix" },
    h("thead", {}, h("tr", {}, h("th", {}, ""), ...symbols.map((s) => h("th", { scope: "col" }, s)))),
    h(
      "tbody",
      {},
      ...matrix.map((row, i) =>
        h(
          "tr",
          {},
          h("th", { scope: "row" }, symbols[i]),
          ...row.map((v) => h("td", { style: `background:${color(v)}`, title: v.toFixed(4) }, v.toFixed(2))),
        ),
      ),
    ),
  );
}

// The dashboard's router: #/signin, #/compliance, #/alerts/<id>, #/profiles/<user>,
// #/thresholds, #/scans, #/risk/<user>, #/execution/<symbol>.
import "./style.css";
import { hasRole, saveSession, session } from "./api";
import { h } from "./dom";
import { alertPage } from "./pages/alert";
import { compliancePage } from "./pages/compliance";
import { executionPage } from "./pages/execution";
import { riskPage } from "./pages/risk";
import { signIn } from "./pages/signin";
import { profilePage, scansPage, thresholdsPage } from "./pages/surveillance_admin";

const app = document.getElementById("app")!;
const nav = document.getElementById("nav")!;
const who = document.getElementById("who")!;
let teardown: (() => void) | null = null;

function renderNav(): void {
  const s = session();
  const links: [string, string, boolean][] = [
    ["#/compliance", "Alerts", hasRole("compliance")],
    ["#/thresholds", "Thresholds", hasRole("compliance")],
    ["#/scans", "Scans", hasRole("compliance")],
    [`#/risk/${encodeURIComponent(s?.subject ?? "")}`, "Risk", !!s],
    ["#/execution/SIM0000", "Execution", !!s],
  ];
  nav.replaceChildren(...links.filter(([, , show]) => show).map(([href, text]) => h("a", { href, class: location.hash.startsWith(href.split("/").slice(0, 2).join("/")) ? "active" : "" }, text)));
  who.replaceChildren(
    s ? `${s.subject} (${s.roles.join(", ")}) ` : "",
    s ? h("button", { id: "signout", onclick: () => (saveSession(null), (location.hash = "#/signin")) }, "Sign out") : "",
  );
}

async function route(): Promise<void> {
  teardown?.();
  teardown = null;
  const s = session();
  const [, page = "", arg = ""] = location.hash.split("/").map(decodeURIComponent);
  renderNav();
  if (!s && page !== "signin") {
    location.hash = "#/signin";
    return;
  }
  switch (page) {
    case "signin":
      await signIn(app, () => (location.hash = hasRole("compliance") ? "#/compliance" : `#/risk/${encodeURIComponent(session()!.subject)}`));
      break;
    case "compliance":
      teardown = compliancePage(app);
      break;
    case "alerts":
      await alertPage(app, arg);
      break;
    case "profiles":
      await profilePage(app, arg);
      break;
    case "thresholds":
      await thresholdsPage(app);
      break;
    case "scans":
      teardown = scansPage(app);
      break;
    case "risk":
      teardown = riskPage(app, arg || s!.subject);
      break;
    case "execution":
      teardown = executionPage(app, arg || "SIM0000");
      break;
    default:
      location.hash = hasRole("compliance") ? "#/compliance" : `#/risk/${encodeURIComponent(s!.subject)}`;
      return;
  }
  app.focus();
}

window.addEventListener("hashchange", () => void route());
void route();

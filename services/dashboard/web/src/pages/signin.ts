import { saveSession, type Json } from "../api";
import { errorBox, h } from "../dom";

/** Sign-in: a development token for a role (under `make run`), or a pasted bearer token. */
export async function signIn(app: HTMLElement, done: () => void): Promise<void> {
  const config: Json = await fetch("/config.json").then((r) => r.json());
  const message = h("div", {});
  const subject = h("input", { id: "subject", name: "subject", value: "U00001", required: true, autocomplete: "username" }) as HTMLInputElement;
  const role = h(
    "select",
    { id: "role", name: "role" },
    ...config.roles.map((r: string) => h("option", { value: r }, r)),
  ) as HTMLSelectElement;
  const token = h("textarea", { id: "token", rows: 3, placeholder: "Bearer token (JWT or API key)" }) as HTMLTextAreaElement;
  const dev = h(
    "form",
    {
      id: "dev-signin",
      onsubmit: async (ev: Event) => {
        ev.preventDefault();
        try {
          const r = await fetch("/dev/token", {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ subject: subject.value, role: role.value }),
          });
          const body = await r.json();
          if (!r.ok) throw { status: r.status, problem: body };
          saveSession({ token: body.token, subject: body.subject, roles: body.roles });
          done();
        } catch (e) {
          message.replaceChildren(errorBox(e));
        }
      },
    },
    h("h2", {}, "Development sign-in"),
    h("label", { for: "subject" }, "User"),
    subject,
    h("label", { for: "role" }, "Role"),
    role,
    h("button", { type: "submit" }, "Sign in"),
  );
  const paste = h(
    "form",
    {
      id: "token-signin",
      onsubmit: async (ev: Event) => {
        ev.preventDefault();
        const value = token.value.trim().replace(/^Bearer\s+/i, "");
        saveSession({ token: value, subject: "?", roles: [] });
        try {
          const claims = JSON.parse(atob(value.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
          saveSession({ token: value, subject: claims.sub, roles: claims.roles ?? [] });
          done();
        } catch (e) {
          saveSession(null);
          message.replaceChildren(errorBox(e));
        }
      },
    },
    h("h2", {}, "Bearer token"),
    h("label", { for: "token" }, "Token"),
    token,
    h("button", { type: "submit" }, "Use token"),
  );
  app.replaceChildren(
    h("div", { class: "signin" }, config.dev_sign_in ? dev : null, paste, message),
  );
  (config.dev_sign_in ? subject : token).focus();
}

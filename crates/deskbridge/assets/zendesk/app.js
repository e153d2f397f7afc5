// The agent page inside Zendesk's top bar: what only Zendesk can do, through
// the Apps framework SDK. Loaded after the agent page's own script.
"use strict";

(function () {
  // ZAFClient.init needs the `origin` and `app_guid` Zendesk put in the URL;
  // without them (the page opened outside Zendesk) it returns false.
  const client = window.ZAFClient && window.ZAFClient.init();
  document.body.classList.add("in-zendesk");
  if (!client) {
    document.body.classList.add("zendesk-missing");
    return;
  }
  window.deskbridgeZendesk = client;

  // Links to Zendesk's tickets and users open them in Zendesk (routeTo)
  // instead of a new tab.
  document.addEventListener("click", (ev) => {
    const a = ev.target.closest ? ev.target.closest("a[href]") : null;
    if (!a) return;
    const m = /\/agent\/(tickets|users)\/(\d+)(?:[/?#]|$)/.exec(a.getAttribute("href") || "");
    if (!m) return;
    ev.preventDefault();
    client.invoke("routeTo", m[1] === "tickets" ? "ticket" : "user", m[2]);
  });

  // A call ringing for this agent opens the pane.
  window.addEventListener("deskbridge:pop", () => {
    client.invoke("popover", "show");
  });

  client.invoke("resize", { width: "440px", height: "640px" });
})();

// The customer's chat: send inquiries, show replies. Every text goes in through
// textContent, never as HTML, so whatever a message holds is shown as typed. Who the
// customer is comes from the gateway (a signed cookie it sets with the first reply),
// never from this page.
"use strict";

(function () {
  const form = document.getElementById("chat");
  const customer = document.getElementById("customer");
  const lang = document.getElementById("lang");
  const text = document.getElementById("text");
  const send = document.getElementById("send");
  const log = document.getElementById("log");
  const status = document.getElementById("status");
  const seen = new Set();

  function line(role, body, detail) {
    const item = document.createElement("li");
    item.className = "msg " + role;
    const p = document.createElement("p");
    p.className = "text";
    p.textContent = body;
    item.append(p);
    if (detail) {
      const small = document.createElement("small");
      small.className = "detail";
      small.textContent = detail;
      item.append(small);
    }
    log.append(item);
    item.scrollIntoView({ block: "end" });
  }

  function showReply(reply) {
    if (seen.has(reply.id)) return;
    seen.add(reply.id);
    const parts = [reply.status];
    if (reply.ticket) parts.push("ticket " + reply.ticket);
    parts.push(reply.agent);
    line("reply " + reply.status, reply.text, parts.join(" · "));
  }

  async function poll() {
    try {
      const r = await fetch("/api/messages", { credentials: "same-origin" });
      if (!r.ok) return;
      const mine = await r.json();
      if (mine.customer_id) customer.textContent = mine.customer_id;
      mine.messages.forEach(showReply);
    } catch (e) {
      // offline for a moment: the next poll tries again
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { text: text.value };
    if (lang.value) body.lang = lang.value;
    line("customer", text.value, "");
    text.value = "";
    send.disabled = true;
    status.textContent = "Waiting for a reply…";
    try {
      const r = await fetch("/api/inquiries", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        credentials: "same-origin",
        body: JSON.stringify(body),
      });
      const answer = await r.json();
      if (r.status === 200) {
        customer.textContent = answer.customer_id;
        showReply(answer);
        status.textContent = "";
      } else if (r.status === 202) {
        status.textContent = answer.message;
      } else {
        status.textContent = "Not sent: " + answer.error;
      }
    } catch (e) {
      status.textContent = "Not sent: the service cannot be reached.";
    } finally {
      send.disabled = false;
    }
  });

  setInterval(poll, 2000);
  poll();
})();

// The KPI page: polls /api/kpis and shows each figure (as text, never as HTML).
"use strict";

(function () {
  const body = document.getElementById("kpis");
  const updated = document.getElementById("updated");

  function format(value) {
    if (typeof value === "number" && !Number.isInteger(value)) return value.toFixed(3);
    return String(value);
  }

  async function refresh() {
    try {
      const r = await fetch("/api/kpis", { credentials: "same-origin" });
      if (!r.ok) {
        updated.textContent = "failed (" + r.status + ")";
        return;
      }
      const kpis = await r.json();
      const rows = Object.entries(kpis).map(([name, value]) => {
        const row = document.createElement("tr");
        const key = document.createElement("th");
        key.textContent = name;
        const cell = document.createElement("td");
        cell.className = "value";
        cell.dataset.kpi = name;
        cell.textContent = format(value);
        row.append(key, cell);
        return row;
      });
      body.replaceChildren(...rows);
      updated.textContent = new Date().toLocaleTimeString();
    } catch (e) {
      updated.textContent = "failed (unreachable)";
    }
  }

  setInterval(refresh, 2000);
  refresh();
})();

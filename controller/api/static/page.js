// The operator page: polls the API of the controller that serves it and draws what it says.
// No framework and no download: the edge PC has no internet, the charts are inline SVG.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const COLOURS = ["#2563eb", "#16a34a", "#9333ea", "#0891b2", "#ca8a04", "#db2777", "#4b5563", "#65a30d"];
const BOILER_COLOUR = "#dc2626";
const STATE_MS = 2000;
const PLAN_MS = 15000;

function $(id) { return document.getElementById(id); }

function text(value, digits, unit) {
  if (value === null || value === undefined) return "–";
  return `${Number(value).toFixed(digits)}${unit ? " " + unit : ""}`;
}

function mw(kw) { return kw === null || kw === undefined ? "–" : text(kw / 1000, 2, "MW"); }

function cell(row, value, cls) {
  const td = document.createElement("td");
  td.textContent = value;
  if (cls) td.className = cls;
  row.appendChild(td);
  return td;
}

async function getJson(path) {
  const response = await fetch(path, { cache: "no-store" });
  const body = await response.json();
  return { ok: response.ok, status: response.status, body };
}

function showError(message) {
  const box = $("error");
  box.hidden = !message;
  box.textContent = message || "";
}

function renderState(state) {
  $("plant-name").textContent = state.plant;
  $("updated").textContent = `cycle ${state.cycle} at ${short(state.at_utc)}`;
  $("readonly").hidden = !state.read_only;
  $("handedback").hidden = !state.handed_back;
  $("rung").textContent = state.dispatch.rung;
  $("policy").textContent = state.dispatch.policy;
  $("rung-reason").textContent = state.dispatch.reason;
  const error = $("policy-error");
  error.hidden = !state.dispatch.policy_error;
  error.textContent = state.dispatch.policy_error ? `policy error: ${state.dispatch.policy_error}` : "";

  $("tank-fill").style.width = state.soc === null ? "0" : `${Math.round(state.soc * 100)}%`;
  $("tank-soc").textContent = state.soc === null ? "unknown (tank sensors bad)" : text(state.soc * 100, 0, "%");
  $("tank-energy").textContent = state.energy_kwh === null ? "–" : text(state.energy_kwh / 1000, 1, "MWh");
  $("network-heat").textContent = mw(state.network_heat_kw);
  $("outdoor").textContent = text(state.outdoor_temp_c, 1, "°C");
  $("source").textContent = text(state.source_temp_c, 1, "°C");

  const units = $("units").querySelector("tbody");
  units.replaceChildren();
  for (const unit of state.units) {
    const row = document.createElement("tr");
    row.dataset.unit = unit.name;
    cell(row, unit.name);
    const status = cell(row, "");
    const badge = document.createElement("span");
    badge.className = `state state-${unit.state}`;
    badge.textContent = unit.state.replace("_", " ");
    status.appendChild(badge);
    cell(row, mw(unit.heat_kw), "num");
    cell(row, mw(unit.power_kw), "num");
    cell(row, text(unit.cop, 2), "num");
    cell(row, unit.target_on ? mw(unit.target_heat_kw) : "off", "num");
    cell(row, unit.reason);
    units.appendChild(row);
  }
  const boiler = state.boiler;
  $("boiler").textContent = boiler ? `Boiler ${boiler.name}: ${boiler.state.replace("_", " ")}, ${mw(boiler.heat_kw)}` : "";
  const interlocks = $("interlocks");
  interlocks.replaceChildren();
  for (const item of state.interlocks) {
    const li = document.createElement("li");
    li.className = "alarm-text";
    li.textContent = `${item.equipment}: ${item.reason} (${item.detail})`;
    interlocks.appendChild(li);
  }
  $("writes").textContent = state.writes_enabled ? "" : "writes are off: no API token is configured on the controller";
  renderOverrides(state.overrides, state.writes_enabled);
}

function renderOverrides(overrides, writesEnabled) {
  const body = $("overrides").querySelector("tbody");
  body.replaceChildren();
  $("no-overrides").hidden = overrides.length > 0;
  for (const item of overrides) {
    const row = document.createElement("tr");
    row.dataset.id = item.id;
    cell(row, item.id);
    cell(row, item.describe);
    cell(row, String(item.priority), "num");
    cell(row, item.operator || "–");
    cell(row, short(item.expires_utc));
    const action = cell(row, "");
    const button = document.createElement("button");
    button.className = "cancel";
    button.dataset.id = item.id;
    button.dataset.priority = String(item.priority);
    button.textContent = "Cancel";
    button.disabled = !writesEnabled;
    button.addEventListener("click", () => cancel(item.id, item.priority));
    action.appendChild(button);
    body.appendChild(row);
  }
}

async function cancel(id, priority) {
  const token = $("token").value.trim();
  if (!token) {
    $("message").textContent = "Enter the API token to cancel a request.";
    return;
  }
  sessionStorage.setItem("hpctl-token", token);
  const query = new URLSearchParams({ priority: String(priority), operator: "operator page" });
  const response = await fetch(`/api/v1/overrides/${encodeURIComponent(id)}?${query}`, {
    method: "DELETE",
    headers: { Authorization: `Bearer ${token}` },
  });
  const body = await response.json();
  $("message").textContent = body.reason || body.detail || `HTTP ${response.status}`;
  $("message").className = response.ok ? "" : "alarm-text";
  await refresh();
}

function renderAudit(rows) {
  const body = $("audit").querySelector("tbody");
  body.replaceChildren();
  for (const row of rows.slice().reverse()) {
    const tr = document.createElement("tr");
    tr.dataset.kind = row.kind;
    cell(tr, row.at_utc.replace("T", " ").slice(0, 19), "time");
    cell(tr, row.kind);
    cell(tr, row.equipment || "");
    const detail = cell(tr, "");
    const code = document.createElement("code");
    code.textContent = JSON.stringify(row.detail);
    detail.appendChild(code);
    body.appendChild(tr);
  }
}

function svgElement(name, attributes, parent) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  if (parent) parent.appendChild(element);
  return element;
}

function frame(svg, label, low, high, width, height) {
  svg.replaceChildren();
  const left = 70;
  svgElement("line", { x1: left, y1: 5, x2: left, y2: height - 20, stroke: "#9ca3af" }, svg);
  svgElement("line", { x1: left, y1: height - 20, x2: width, y2: height - 20, stroke: "#9ca3af" }, svg);
  const top = svgElement("text", { x: 2, y: 14 }, svg);
  top.textContent = text(high, Math.abs(high) >= 100 ? 0 : 1);
  const name = svgElement("text", { x: 2, y: 30 }, svg);
  name.textContent = label;
  const bottom = svgElement("text", { x: 2, y: height - 22 }, svg);
  bottom.textContent = text(low, Math.abs(low) >= 100 ? 0 : 1);
  return { left, plotWidth: width - left, plotHeight: height - 25 };
}

function short(utc) { return utc.replace("T", " ").slice(0, 19) + " UTC"; }

function timeLabels(svg, plan, box, height) {
  const every = Math.max(1, Math.round(plan.steps / 8));
  for (let k = 0; k < plan.steps; k += every) {
    const x = box.left + (k / plan.steps) * box.plotWidth;
    const label = svgElement("text", { x, y: height - 6 }, svg);
    label.textContent = plan.step_start_utc[k].slice(11, 16);
  }
}

function drawHeat(plan) {
  const svg = $("plan-heat");
  const width = 900, height = 220;
  const names = Object.keys(plan.units);
  const totals = plan.boiler_heat_kw.map((b, k) => names.reduce((s, n) => s + plan.units[n].heat_kw[k], b));
  const high = Math.max(1, ...totals, ...plan.heat_demand_kw) / 1000;
  const box = frame(svg, "heat, MW", 0, high, width, height);
  const barWidth = box.plotWidth / plan.steps;
  const scale = (mwValue) => (mwValue / high) * box.plotHeight;
  const series = names.map((n, i) => ({ values: plan.units[n].heat_kw, colour: COLOURS[i % COLOURS.length] }));
  series.push({ values: plan.boiler_heat_kw, colour: BOILER_COLOUR });
  for (let k = 0; k < plan.steps; k += 1) {
    let base = 0;
    for (const s of series) {
      const h = scale(s.values[k] / 1000);
      if (h > 0) {
        svgElement("rect", {
          x: box.left + k * barWidth, y: 5 + box.plotHeight - base - h,
          width: Math.max(barWidth - 0.5, 0.5), height: h, fill: s.colour,
        }, svg);
      }
      base += h;
    }
  }
  const demand = plan.heat_demand_kw.map((v, k) => `${box.left + (k + 0.5) * barWidth},${5 + box.plotHeight - scale(v / 1000)}`);
  svgElement("polyline", { points: demand.join(" "), fill: "none", stroke: "#111827", "stroke-dasharray": "4 3" }, svg);
  timeLabels(svg, plan, box, height);

  const legend = $("plan-legend");
  legend.replaceChildren();
  const entries = names.map((n, i) => [n, COLOURS[i % COLOURS.length]]);
  entries.push(["boiler", BOILER_COLOUR], ["demand (dashed)", "#111827"]);
  for (const [name, colour] of entries) {
    const span = document.createElement("span");
    const swatch = document.createElement("i");
    swatch.style.background = colour;
    span.append(swatch, name);
    legend.appendChild(span);
  }
}

function drawLine(id, values, label, colour, plan) {
  const svg = $(id);
  const width = 900, height = 110;
  const high = Math.max(1, ...values);
  const low = Math.min(0, ...values);
  const box = frame(svg, label, low, high, width, height);
  const step = box.plotWidth / plan.steps;
  const y = (v) => 5 + box.plotHeight - ((v - low) / (high - low)) * box.plotHeight;
  const points = [];
  values.forEach((v, k) => { points.push(`${box.left + k * step},${y(v)}`, `${box.left + (k + 1) * step},${y(v)}`); });
  svgElement("polyline", { points: points.join(" "), fill: "none", stroke: colour, "stroke-width": 1.5 }, svg);
  timeLabels(svg, plan, box, height);
}

function renderPlan(result) {
  if (!result.ok) {
    $("plan-summary").textContent = result.body.detail;
    for (const id of ["plan-heat", "plan-price", "plan-carbon"]) $(id).replaceChildren();
    $("plan-legend").replaceChildren();
    return;
  }
  const plan = result.body;
  $("plan-summary").textContent = `${plan.status}, from ${short(plan.start_utc)} until ${short(plan.valid_until_utc)}, ` +
    `${plan.steps} steps of ${plan.step_s / 60} min; electricity ${text(plan.electricity_eur, 0, "EUR")}, ` +
    `carbon ${text(plan.carbon_t, 2, "t")}`;
  drawHeat(plan);
  drawLine("plan-price", plan.price_eur_per_mwh, "price, EUR/MWh", "#ea580c", plan);
  drawLine("plan-carbon", plan.carbon_g_per_kwh, "carbon, g/kWh", "#15803d", plan);
}

async function refresh() {
  try {
    const state = await getJson("/api/v1/state");
    if (state.ok) {
      renderState(state.body);
      showError("");
    } else {
      showError(state.body.detail);
    }
    const audit = await getJson("/api/v1/audit?limit=30");
    if (audit.ok) renderAudit(audit.body);
  } catch (error) {
    showError(`the controller does not answer: ${error}`);
  }
}

async function refreshPlan() {
  try {
    renderPlan(await getJson("/api/v1/plan"));
  } catch (error) {
    showError(`the controller does not answer: ${error}`);
  }
}

$("token").value = sessionStorage.getItem("hpctl-token") || "";
refresh();
refreshPlan();
setInterval(refresh, STATE_MS);
setInterval(refreshPlan, PLAN_MS);

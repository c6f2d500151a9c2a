/* NAIA operator dashboard: polls the backfill API about once a second. No build step, no CDN. */
"use strict";

(() => {
  const POLL_MS = 1000;
  const HIDDEN_POLL_MS = 5000;
  const HEALTH_MS = 30000;
  const BIG_MAP = 20000; // chunk maps larger than this are refreshed every 5th poll
  const MAX_PITCH = 26;
  const MIN_PITCH = 4;
  const BAND_GAP = 10;
  const RATE_WINDOW = 5; // samples averaged per point of the throughput chart
  const FIELDS = ["connectorType", "pointAddresses", "startTime", "endTime", "chunkSize"];

  const $ = (id) => document.getElementById(id);
  const state = {
    selected: null,
    rows: new Map(),
    detail: null,
    chunks: null,
    chunksFor: null,
    chunksKey: null,
    throughputFor: null,
    fleetFor: null,
    noFleet: false, // this API reads PI itself (GET …/fleet answers 404 NOT_FLEET): stop asking
    layout: null,
    polls: 0,
    timer: null,
    busy: false,
    connectorsLoaded: false,
  };

  // Formatting ------------------------------------------------------------------------------
  const pad = (n) => String(n).padStart(2, "0");

  function esc(text) {
    return String(text).replace(/[&<>"']/g, (c) => ({
      "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
    }[c]));
  }

  function fmtInt(n) {
    return n == null ? "–" : Math.round(n).toLocaleString("en-US");
  }

  function fmtCompact(n) {
    if (n == null) return "–";
    const a = Math.abs(n);
    if (a >= 1e9) return (n / 1e9).toFixed(2) + " G";
    if (a >= 1e6) return (n / 1e6).toFixed(2) + " M";
    if (a >= 1e4) return (n / 1e3).toFixed(1) + " k";
    return fmtInt(n);
  }

  function fmtDuration(seconds) {
    if (seconds == null) return "–";
    const s = Math.max(0, Math.round(seconds));
    const d = Math.floor(s / 86400);
    const h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60);
    if (d) return `${d}d ${h}h ${pad(m)}m`;
    if (h) return `${h}:${pad(m)}:${pad(s % 60)}`;
    return `${pad(m)}:${pad(s % 60)}`;
  }

  function utcParts(iso) {
    const d = new Date(iso);
    const date = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
    const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
    return { date, time };
  }

  function fmtTs(iso) {
    if (!iso) return "–";
    const p = utcParts(iso);
    return `${p.date} ${p.time}`;
  }

  function fmtRange(startIso, endIso) {
    const a = utcParts(startIso);
    const b = utcParts(endIso);
    if (a.time === "00:00:00" && b.time === "00:00:00") return `${a.date} → ${b.date}`;
    return `${a.date} ${a.time.slice(0, 5)} → ${b.date} ${b.time.slice(0, 5)}`;
  }

  function isActive(status) {
    return status === "Queued" || status === "Running";
  }

  function runSeconds(req) {
    if (!req.startedAt || !req.completedAt) return null;
    return (Date.parse(req.completedAt) - Date.parse(req.startedAt)) / 1000;
  }

  function averageRate(req) {
    const seconds = runSeconds(req);
    return seconds && seconds > 0 ? req.pointsProcessed / seconds : null;
  }

  // API ----------------------------------------------------------------------------------------
  async function api(path, options = {}) {
    const headers = { Accept: "application/json" };
    if (options.body) headers["Content-Type"] = "application/json";
    const response = await fetch(path, { ...options, headers, cache: "no-store" });
    let body = null;
    try {
      body = await response.json();
    } catch (_) {
      body = null;
    }
    return { ok: response.ok && !!body && body.success === true, status: response.status, body };
  }

  function apiError(result) {
    return (result.body && result.body.error) || `HTTP ${result.status}`;
  }

  // Polling --------------------------------------------------------------------------------------
  function schedule(ms) {
    clearTimeout(state.timer);
    state.timer = setTimeout(tick, ms);
  }

  function wake() {
    if (!state.busy) schedule(0);
  }

  async function tick() {
    if (state.busy) return; // the tick in flight schedules the next one
    state.busy = true;
    try {
      await refresh();
      setConnection(true);
    } catch (err) {
      setConnection(false, err);
    } finally {
      state.busy = false;
      state.polls += 1;
      schedule(document.hidden ? HIDDEN_POLL_MS : POLL_MS);
    }
  }

  async function refresh() {
    const result = await api("/api/backfill/status");
    if (!result.ok) throw new Error(apiError(result));
    renderStatus(result.body.data);
    if (state.selected) await refreshDetail(state.selected);
  }

  function setConnection(ok, err) {
    const el = $("conn");
    el.dataset.state = ok ? "ok" : "error";
    const now = new Date();
    $("conn-text").textContent = ok
      ? `live · ${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())}`
      : "API unreachable — retrying";
    el.title = ok ? "updated every second" : String(err);
  }

  async function refreshHealth() {
    try {
      const result = await api("/health");
      if (result.ok) renderHealth(result.body.data);
    } catch (_) {
      /* the status poll reports the connection */
    }
    setTimeout(refreshHealth, HEALTH_MS);
  }

  function renderHealth(health) {
    $("health").textContent = `v${health.version} · ${health.mode} mode`;
    if (!state.connectorsLoaded) fillConnectors(health.connectors);
  }

  function fillConnectors(connectors) {
    const select = $("connectorType");
    const names = Object.keys(connectors);
    select.innerHTML = names
      .map((name) => {
        const c = connectors[name];
        const label = c.available ? name : `${name} (unavailable)`;
        const title = c.reason ? ` title="${esc(c.reason)}"` : "";
        return `<option value="${esc(name)}"${title}>${esc(label)}</option>`;
      })
      .join("");
    const preferred = names.find((n) => connectors[n].available && n === "Simulator")
      || names.find((n) => connectors[n].available);
    if (preferred) select.value = preferred;
    state.connectorsLoaded = true;
  }

  // Summary and requests table -------------------------------------------------------------------
  function renderStatus(data) {
    const active = data.activeRequests;
    const running = active.filter((r) => r.status === "Running");
    const stats = data.stats;
    setTile("tile-running", fmtInt(running.length));
    setTile("tile-queued", fmtInt(data.queueDepth));
    setTile("tile-completed", fmtInt(stats.completedRequests));
    setTile("tile-failed", fmtInt(stats.failedRequests), stats.failedRequests > 0);
    setTile("tile-failed-chunks", fmtInt(stats.failedChunks), stats.failedChunks > 0);
    setTile("tile-values", fmtCompact(stats.totalPointsBackfilled));
    const rate = running.reduce((sum, r) => sum + (r.valuesPerSecond || 0), 0);
    setTile("tile-rate", running.length ? `${fmtCompact(rate)}/s` : "–");
    const ordered = [...running, ...active.filter((r) => r.status !== "Running")];
    renderRows(ordered.concat([...data.recentRequests].reverse()));
  }

  function setTile(id, text, alert = false) {
    const el = $(id);
    el.textContent = text;
    el.classList.toggle("alert", alert);
  }

  function renderRows(requests) {
    const body = $("requests-body");
    const seen = new Set();
    for (const req of requests) {
      let tr = state.rows.get(req.requestId);
      if (!tr) {
        tr = makeRow(req.requestId);
        state.rows.set(req.requestId, tr);
      }
      updateRow(tr, req);
      body.appendChild(tr); // keeps the order of the list; moving a node does not rebuild it
      seen.add(req.requestId);
    }
    for (const [id, tr] of state.rows) {
      if (!seen.has(id)) {
        tr.remove();
        state.rows.delete(id);
      }
    }
    $("requests-empty").hidden = requests.length > 0;
    $("requests").hidden = requests.length === 0;
    $("requests-note").textContent = requests.length ? `${requests.length} shown · click a row for details` : "";
  }

  function makeRow(id) {
    const tr = document.createElement("tr");
    tr.dataset.id = id;
    tr.innerHTML = `
      <td><span class="badge"></span></td>
      <td><span class="req-id"></span><span class="req-sub req-what"></span></td>
      <td><span class="req-range"></span><span class="req-sub req-chunk"></span></td>
      <td><div class="progress-cell"><div class="bar"><div class="bar-fill"></div></div>
          <span class="pct"></span></div></td>
      <td class="num"><span class="req-chunks"></span><span class="failed-note"></span></td>
      <td class="num req-values"></td>
      <td class="num req-rate"></td>
      <td class="num req-eta"></td>
      <td><div class="row-actions">
          <button type="button" class="btn btn-sm" data-action="retry">Retry failed</button>
          <button type="button" class="btn btn-sm btn-danger" data-action="cancel">Cancel</button>
      </div></td>`;
    return tr;
  }

  function setText(root, selector, text) {
    const el = root.querySelector(selector);
    if (el.textContent !== text) el.textContent = text;
    return el;
  }

  function updateRow(tr, req) {
    const badge = setText(tr, ".badge", req.status);
    badge.dataset.status = req.status;
    tr.dataset.status = req.status;
    tr.classList.toggle("selected", req.requestId === state.selected);
    setText(tr, ".req-id", req.requestId.slice(0, 8)).title = req.requestId;
    setText(tr, ".req-what", `${req.connectorType} · ${fmtInt(req.pointCount)} points`);
    setText(tr, ".req-range", fmtRange(req.startTime, req.endTime));
    setText(tr, ".req-chunk", `chunks of ${req.chunkSize}`);
    setBar(tr.querySelector(".bar"), req);
    setText(tr, ".pct", `${req.progress.toFixed(1)} %`);
    setText(tr, ".req-chunks", `${fmtInt(req.completedChunks)} / ${fmtInt(req.totalChunks)}`);
    setText(tr, ".failed-note", req.failedChunks ? `${fmtInt(req.failedChunks)} failed` : "");
    setText(tr, ".req-values", fmtInt(req.pointsProcessed));
    updateRate(tr.querySelector(".req-rate"), req);
    setText(tr, ".req-eta", req.status === "Running" ? fmtDuration(req.etaSeconds) : "–").title =
      req.estimatedCompletion ? `done at ${fmtTs(req.estimatedCompletion)} UTC` : "";
    updateActions(tr, req);
  }

  function updateRate(el, req) {
    if (req.status === "Running") {
      el.textContent = fmtCompact(req.valuesPerSecond);
      el.title = "values per second since this run started";
      el.classList.remove("muted");
      return;
    }
    const avg = averageRate(req);
    el.textContent = avg == null ? "–" : fmtCompact(avg);
    el.title = avg == null ? "" : "average over the whole request";
    el.classList.add("muted");
  }

  function setBar(bar, req) {
    bar.dataset.status = req.status;
    bar.firstElementChild.style.width = `${Math.min(100, Math.max(0, req.progress))}%`;
    bar.title = `${req.completedChunks} of ${req.totalChunks} chunks`;
  }

  function retryLabel(req) {
    if (isActive(req.status)) return null;
    if (req.failedChunks > 0) return "Retry failed";
    return req.status === "Cancelled" ? "Resume" : null;
  }

  function updateActions(tr, req) {
    const retry = tr.querySelector('[data-action="retry"]');
    const label = retryLabel(req);
    retry.hidden = label === null;
    if (label) retry.textContent = label;
    tr.querySelector('[data-action="cancel"]').hidden = !isActive(req.status);
  }

  // Actions ----------------------------------------------------------------------------------
  async function cancelRequest(id) {
    const short = id.slice(0, 8);
    if (!window.confirm(`Cancel request ${short}? The chunk in flight is rolled back.`)) return;
    await command(`/api/backfill/request/${encodeURIComponent(id)}/cancel`, `Cancelling ${short}`);
  }

  async function retryRequest(id) {
    const short = id.slice(0, 8);
    await command(`/api/backfill/request/${encodeURIComponent(id)}/retry-failed`, `Queued ${short} again`);
  }

  async function command(path, success) {
    try {
      const result = await api(path, { method: "POST" });
      if (result.ok) toast(success);
      else toast(apiError(result), true);
    } catch (err) {
      toast(`Request failed: ${err}`, true);
    }
    wake();
  }

  function onTableClick(event) {
    const tr = event.target.closest("tr[data-id]");
    if (!tr) return;
    const button = event.target.closest("button[data-action]");
    if (button) {
      event.stopPropagation();
      if (button.dataset.action === "cancel") cancelRequest(tr.dataset.id);
      else retryRequest(tr.dataset.id);
      return;
    }
    select(tr.dataset.id);
  }

  function toast(message, error = false) {
    const el = document.createElement("div");
    el.className = error ? "toast error" : "toast";
    el.textContent = message;
    $("toasts").appendChild(el);
    setTimeout(() => el.remove(), error ? 8000 : 4000);
  }

  // Start form -------------------------------------------------------------------------------
  function formBody() {
    const points = $("pointAddresses").value.split(/[\s,;]+/).filter((p) => p);
    const chunk = $("chunkSize").value.trim();
    return {
      connectorType: $("connectorType").value,
      pointAddresses: points,
      startTime: $("startTime").value.trim(),
      endTime: $("endTime").value.trim(),
      chunkSize: chunk || null,
    };
  }

  function clearErrors() {
    for (const name of FIELDS) showFieldError(name, "");
    $("form-error").textContent = "";
  }

  function showFieldError(name, message) {
    const field = document.querySelector(`.field[data-field="${name}"]`);
    field.classList.toggle("invalid", !!message);
    $(name).setAttribute("aria-invalid", message ? "true" : "false");
    $(`${name}-error`).textContent = message;
  }

  function showApiError(body, status) {
    const message = (body && body.error) || `HTTP ${status}`;
    const name = body && body.field ? String(body.field).split(".")[0] : null;
    if (name && FIELDS.includes(name)) {
      showFieldError(name, message);
      $(name).focus();
    } else {
      $("form-error").textContent = message;
    }
  }

  async function onSubmit(event) {
    event.preventDefault();
    clearErrors();
    const button = $("start-button");
    button.disabled = true;
    try {
      const result = await api("/api/backfill/start", {
        method: "POST",
        body: JSON.stringify(formBody()),
      });
      if (!result.ok) {
        showApiError(result.body, result.status);
        return;
      }
      const data = result.body.data;
      toast(`Queued ${data.requestId.slice(0, 8)}: ${fmtInt(data.totalChunks)} chunks`);
      select(data.requestId);
    } catch (err) {
      $("form-error").textContent = `Cannot reach the API: ${err}`;
    } finally {
      button.disabled = false;
    }
  }

  // Detail -------------------------------------------------------------------------------------
  function select(id) {
    const hash = `#request=${encodeURIComponent(id)}`;
    if (location.hash !== hash) location.hash = hash;
    else openFromHash();
  }

  function openFromHash() {
    const match = /^#request=(.+)$/.exec(location.hash);
    const id = match ? decodeURIComponent(match[1]) : null;
    if (id !== state.selected) {
      state.selected = id;
      state.detail = null;
      state.chunks = null;
      state.chunksFor = null;
      state.chunksKey = null;
      state.throughputFor = null;
      state.fleetFor = null;
      $("fleet-panel").hidden = true;
      $("chart").innerHTML = "";
    }
    $("detail").hidden = !id;
    for (const [rowId, tr] of state.rows) tr.classList.toggle("selected", rowId === id);
    if (id) {
      $("detail-id").textContent = id;
      $("detail").scrollIntoView({ behavior: "smooth", block: "start" });
      wake();
    }
  }

  function closeDetail() {
    history.replaceState(null, "", location.pathname + location.search);
    openFromHash();
  }

  async function refreshDetail(id) {
    const path = `/api/backfill/request/${encodeURIComponent(id)}`;
    const result = await api(path);
    if (result.status === 404) {
      showMissing(`No request ${id} on this server.`);
      return;
    }
    if (!result.ok) throw new Error(apiError(result));
    if (id !== state.selected) return;
    const req = result.body.data;
    const previous = state.detail;
    state.detail = req;
    renderDetail(req);
    if (needsChunks(req)) await refreshChunks(id, req);
    if (isActive(req.status) || state.throughputFor !== id || statusChanged(previous, req)) {
      await refreshThroughput(id, req);
    }
    if (!state.noFleet && (isActive(req.status) || state.fleetFor !== id || statusChanged(previous, req))) {
      await refreshFleet(id);
    }
  }

  async function refreshFleet(id) {
    const result = await api(`/api/backfill/request/${encodeURIComponent(id)}/fleet`);
    if (id !== state.selected) return;
    if (!result.ok) {
      if (result.status === 404 && /runs no fleet/.test(apiError(result))) state.noFleet = true;
      $("fleet-panel").hidden = true;
      return;
    }
    state.fleetFor = id;
    renderFleet(result.body.data);
  }

  function renderFleet(fleet) {
    $("fleet-panel").hidden = false;
    const parts = [
      `${fmtInt(fleet.dispatchedUnits)} units dispatched`,
      `${fmtInt(fleet.outstandingUnits)} outstanding`,
    ];
    if (fleet.skippedUnits) parts.push(`${fmtInt(fleet.skippedUnits)} skipped`);
    if (fleet.owner) parts.push(`owner ${fleet.owner} (run ${fleet.run})`);
    $("fleet-summary").textContent = parts.join(" · ");
    const fetchers = [...fleet.fetchers].sort((a, b) => a.fetcher.localeCompare(b.fetcher));
    $("fleet-empty").hidden = fetchers.length > 0;
    $("fleet-body").innerHTML = fetchers
      .map((f) => `<tr data-fetcher="${esc(f.fetcher)}"><td class="fleet-id">${esc(f.fetcher)}</td>`
        + `<td class="num fleet-units">${fmtInt(f.units)}</td><td class="num fleet-values">${fmtInt(f.values)}</td>`
        + `<td class="num fleet-seconds">${f.seconds.toFixed(1)}</td>`
        + `<td class="num fleet-rate">${f.valuesPerSecond == null ? "–" : fmtInt(f.valuesPerSecond)}</td></tr>`)
      .join("");
  }

  function statusChanged(previous, req) {
    return !previous || previous.status !== req.status;
  }

  function chunksKey(req) {
    return `${req.status}|${req.completedChunks}|${req.failedChunks}`;
  }

  function needsChunks(req) {
    if (state.chunksFor !== req.requestId || state.chunksKey !== chunksKey(req)) return true;
    if (!isActive(req.status)) return false;
    return req.totalChunks <= BIG_MAP || state.polls % 5 === 0;
  }

  async function refreshChunks(id, req) {
    const result = await api(`/api/backfill/request/${encodeURIComponent(id)}/chunks`);
    if (!result.ok || id !== state.selected) return;
    state.chunks = result.body.data;
    state.chunksFor = id;
    state.chunksKey = chunksKey(req);
    drawChunkMap();
  }

  async function refreshThroughput(id, req) {
    const result = await api(`/api/dashboard/throughput/${encodeURIComponent(id)}`);
    if (!result.ok || id !== state.selected) return;
    state.throughputFor = id;
    renderChart(result.body.data.samples, req);
  }

  function showMissing(message) {
    $("detail-missing").hidden = false;
    $("detail-missing").textContent = message;
    $("detail-body").hidden = true;
    $("detail-cancel").hidden = true;
    $("detail-retry").hidden = true;
  }

  function renderDetail(req) {
    $("detail-missing").hidden = true;
    $("detail-body").hidden = false;
    const badge = $("detail-status");
    badge.textContent = req.status;
    badge.dataset.status = req.status;
    $("detail-title").textContent = `${req.connectorType} · ${fmtInt(req.pointCount)} points`;
    setBar($("detail-bar"), req);
    $("detail-percent").textContent = `${req.progress.toFixed(1)} %`;
    $("detail-facts").innerHTML = facts(req)
      .map(([k, v, alert]) => `<div><dt>${esc(k)}</dt><dd${alert ? ' class="alert"' : ""} title="${esc(v)}">${esc(v)}</dd></div>`)
      .join("");
    $("detail-error").hidden = !req.error;
    $("detail-error").textContent = req.error || "";
    const label = retryLabel(req);
    $("detail-retry").hidden = label === null;
    if (label) $("detail-retry").textContent = label === "Resume" ? "Resume" : "Retry failed chunks";
    $("detail-cancel").hidden = !isActive(req.status);
    renderFailures(req.failedChunkErrors || {});
    renderVerification(req);
    $("points-count").textContent = fmtInt(req.pointCount);
    $("points-list").textContent = (req.pointAddresses || []).join(", ");
  }

  function facts(req) {
    const running = req.status === "Running";
    const rate = running ? req.valuesPerSecond : averageRate(req);
    const list = [
      ["Start (UTC)", fmtTs(req.startTime)],
      ["End (UTC, exclusive)", fmtTs(req.endTime)],
      ["Chunk size", req.chunkSize],
      ["Chunks done", `${fmtInt(req.completedChunks)} / ${fmtInt(req.totalChunks)}`],
      ["Failed chunks", fmtInt(req.failedChunks), req.failedChunks > 0],
      ["Values written", fmtInt(req.pointsProcessed)],
      ["Batches", fmtInt(req.batchesPublished)],
      [running ? "Values/s (this run)" : "Values/s (average)", rate == null ? "–" : fmtInt(rate)],
      ["ETA", running ? fmtDuration(req.etaSeconds) : "–"],
      ["Estimated completion", req.estimatedCompletion ? fmtTs(req.estimatedCompletion) : "–"],
      ["Retries", fmtInt(req.retries), req.retries > 0],
      ["Queued at", fmtTs(req.queuedAt)],
      ["Started at", fmtTs(req.startedAt)],
      ["Finished at", fmtTs(req.completedAt)],
      ["Duration", runSeconds(req) == null ? "–" : fmtDuration(runSeconds(req))],
    ];
    if ("storedValues" in req) {
      list.push(["Stored (QuestDB)", fmtInt(req.storedValues)]);
      list.push(["Stored progress", req.storedProgress == null ? "–" : `${req.storedProgress} %`]);
    }
    return list;
  }

  function verificationLabel(v) {
    if (!v) return "not verified";
    if (v.status === "Verified") return "verified";
    if (v.status === "Mismatched") return `${fmtInt(v.mismatchedWindows)} windows differ`;
    if (v.status === "Repairing") return `repairing ${fmtInt(v.repairedChunks.length)} chunks`;
    if (v.status === "Running") return "verifying…";
    return "verification failed";
  }

  function renderVerification(req) {
    const v = req.verification;
    const badge = $("verify-state");
    badge.textContent = verificationLabel(v);
    badge.dataset.verify = v ? v.status : "none";
    const busy = v && (v.status === "Running" || v.status === "Repairing");
    $("detail-verify").hidden = isActive(req.status) || busy;
    $("detail-repair").hidden = isActive(req.status) || busy || !v || v.status !== "Mismatched";
    $("verify-summary").textContent = !v ? "Compare the store with the PI server's own counts, per point and window."
      : v.error ? v.error
      : `checked ${fmtTs(v.checkedAt)} · ${fmtInt(v.windowsChecked)} point-windows · source ${fmtInt(v.sourceEvents)} events · stored ${fmtInt(v.storedEvents)}`
        + (v.windowsSkipped ? ` · ${fmtInt(v.windowsSkipped)} skipped (live)` : "");
    $("verify-mismatches").innerHTML = (v ? v.mismatches : [])
      .slice(0, 500)
      .map((m) => `<li><b>${esc(m.point)}</b>${esc(fmtRange(m.start, m.end))} — source ${fmtInt(m.sourceCount)}, stored ${fmtInt(m.storedCount)}${m.duplicates ? `, ${fmtInt(m.duplicates)} doubled` : ""}</li>`)
      .join("");
  }

  async function verifyRequest(id, repair) {
    const short = id.slice(0, 8);
    const path = `/api/backfill/request/${encodeURIComponent(id)}/verify${repair ? "?repair=true" : ""}`;
    await command(path, repair ? `Repairing ${short}` : `Verifying ${short}`);
  }

  function renderFailures(errors) {
    const entries = Object.entries(errors).sort((a, b) => Number(a[0]) - Number(b[0]));
    $("failures-panel").hidden = entries.length === 0;
    $("failures").innerHTML = entries
      .slice(0, 500)
      .map(([index, message]) => `<li><b>chunk ${esc(index)}</b>${esc(chunkLabel(Number(index)))} — ${esc(message)}</li>`)
      .join("");
  }

  function chunkLabel(index) {
    const chunks = state.chunks;
    if (!chunks || state.chunksFor !== state.selected) return "";
    const groups = chunks.pointGroups.length;
    const win = chunks.windows[Math.floor(index / groups)];
    return win ? ` (${fmtTs(win[0])} → ${fmtTs(win[1])})` : "";
  }

  // Chunk map (canvas) ---------------------------------------------------------------------------
  function chunkLayout(width, windows, groups) {
    const pitch = Math.max(MIN_PITCH, Math.min(MAX_PITCH, Math.floor(width / Math.max(1, windows))));
    const gap = pitch >= 10 ? 2 : pitch >= 6 ? 1 : 0;
    const perLine = Math.max(1, Math.floor(width / pitch));
    const lines = Math.ceil(windows / perLine);
    const labelH = 18;
    const bandH = labelH + lines * pitch + BAND_GAP;
    return { pitch, gap, perLine, lines, labelH, bandH, windows, groups, height: groups * bandH - BAND_GAP };
  }

  function cellRect(layout, index) {
    const win = Math.floor(index / layout.groups);
    const group = index % layout.groups;
    const line = Math.floor(win / layout.perLine);
    const col = win % layout.perLine;
    const y = group * layout.bandH + layout.labelH + line * layout.pitch;
    return { x: col * layout.pitch, y, size: layout.pitch - layout.gap };
  }

  function cellAt(layout, x, y) {
    const group = Math.floor(y / layout.bandH);
    const inBand = y - group * layout.bandH - layout.labelH;
    if (group < 0 || group >= layout.groups || inBand < 0) return -1;
    const line = Math.floor(inBand / layout.pitch);
    const col = Math.floor(x / layout.pitch);
    const win = line * layout.perLine + col;
    if (col >= layout.perLine || line >= layout.lines || win >= layout.windows) return -1;
    return win * layout.groups + group;
  }

  function cssVar(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  function groupLabel(points, index) {
    const head = points.slice(0, 4).join(", ");
    const more = points.length > 4 ? ` … +${points.length - 4}` : "";
    return `Group ${index + 1} · ${points.length} point${points.length === 1 ? "" : "s"}: ${head}${more}`;
  }

  function drawChunkMap() {
    const chunks = state.chunks;
    if (!chunks) return;
    const canvas = $("chunk-map");
    const width = Math.max(120, canvas.parentElement.clientWidth);
    const layout = chunkLayout(width, chunks.windows.length, chunks.pointGroups.length);
    state.layout = layout;
    const ratio = window.devicePixelRatio || 1;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(layout.height * ratio);
    canvas.style.height = `${layout.height}px`;
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, layout.height);
    drawBands(ctx, chunks, layout);
    drawCells(ctx, chunks.states, layout);
    updateLegend(chunks);
  }

  function drawBands(ctx, chunks, layout) {
    ctx.fillStyle = cssVar("--muted");
    ctx.font = "11px system-ui, sans-serif";
    ctx.textBaseline = "top";
    chunks.pointGroups.forEach((points, g) => {
      ctx.fillText(groupLabel(points, g), 0, g * layout.bandH + 2);
    });
  }

  function drawCells(ctx, states, layout) {
    const colours = {
      done: cssVar("--done"), running: cssVar("--running"),
      failed: cssVar("--failed"), pending: cssVar("--pending"),
    };
    const radius = layout.pitch >= 10 ? 2 : 0;
    states.forEach((s, i) => {
      const r = cellRect(layout, i);
      ctx.fillStyle = colours[s] || colours.pending;
      if (radius) {
        ctx.beginPath();
        ctx.roundRect(r.x, r.y, r.size, r.size, radius);
        ctx.fill();
      } else {
        ctx.fillRect(r.x, r.y, r.size, r.size);
      }
    });
  }

  function updateLegend(chunks) {
    const counts = { done: 0, running: 0, failed: 0, pending: 0 };
    for (const s of chunks.states) counts[s] = (counts[s] || 0) + 1;
    for (const key of Object.keys(counts)) $(`count-${key}`).textContent = fmtInt(counts[key]);
    const w = chunks.windows;
    const span = w.length ? `${fmtTs(w[0][0])} → ${fmtTs(w[w.length - 1][1])} UTC` : "";
    $("chunk-caption").textContent =
      `${fmtInt(w.length)} windows × ${fmtInt(chunks.pointGroups.length)} point group(s) · ${span} · hover a cell for details`;
  }

  function onChunkHover(event) {
    const tip = $("chunk-tip");
    const layout = state.layout;
    const chunks = state.chunks;
    if (!layout || !chunks) return;
    const box = event.target.getBoundingClientRect();
    const index = cellAt(layout, event.clientX - box.left, event.clientY - box.top);
    if (index < 0 || index >= chunks.states.length) {
      tip.hidden = true;
      return;
    }
    tip.textContent = chunkTip(chunks, index);
    tip.hidden = false;
    const wrap = $("chunk-wrap").getBoundingClientRect();
    const left = Math.min(event.clientX - wrap.left + 12, wrap.width - tip.offsetWidth);
    tip.style.left = `${Math.max(0, left)}px`;
    tip.style.top = `${event.clientY - wrap.top + 14}px`;
  }

  function chunkTip(chunks, index) {
    const groups = chunks.pointGroups.length;
    const [a, b] = chunks.windows[Math.floor(index / groups)];
    const group = index % groups;
    const lines = [
      `Chunk ${index} · ${chunks.states[index]}`,
      `${fmtTs(a)} → ${fmtTs(b)} UTC`,
      groupLabel(chunks.pointGroups[group], group),
    ];
    const errors = (state.detail && state.detail.failedChunkErrors) || {};
    if (errors[String(index)]) lines.push(errors[String(index)]);
    return lines.join("\n");
  }

  // Throughput chart (SVG) -----------------------------------------------------------------------
  function rateSeries(samples) {
    const points = [];
    for (let i = 1; i < samples.length; i += 1) {
      const j = Math.max(0, i - RATE_WINDOW);
      const dt = samples[i][0] - samples[j][0];
      if (dt > 0) points.push([samples[i][0], (samples[i][1] - samples[j][1]) / dt]);
    }
    return points;
  }

  function niceCeil(value) {
    if (value <= 0) return 1;
    const base = 10 ** Math.floor(Math.log10(value));
    for (const step of [1, 2, 2.5, 5, 10]) if (step * base >= value) return step * base;
    return 10 * base;
  }

  function timeLabel(seconds, span) {
    const d = new Date(seconds * 1000);
    const hm = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
    if (span > 2 * 86400) return `${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${hm}`;
    return span > 600 ? hm : `${hm}:${pad(d.getUTCSeconds())}`;
  }

  function renderChart(samples, req) {
    const el = $("chart");
    const points = rateSeries(samples);
    if (points.length < 2) {
      const why = isActive(req.status)
        ? "Collecting samples — the chart fills while the request runs."
        : "No samples: this request did not run while this server was up.";
      el.innerHTML = `<p class="chart-empty">${esc(why)}</p>`;
      return;
    }
    const first = samples[0];
    const last = samples[samples.length - 1];
    const average = (last[1] - first[1]) / Math.max(1e-9, last[0] - first[0]);
    el.innerHTML = chartSvg(points, average, el.clientWidth || 600) + chartCaption(points, average);
  }

  function chartCaption(points, average) {
    const peak = Math.max(...points.map((p) => p[1]));
    const now = points[points.length - 1][1];
    return `<p class="muted small">now ${esc(fmtInt(now))}/s · peak ${esc(fmtInt(peak))}/s · average ${esc(fmtInt(average))}/s</p>`;
  }

  function chartSvg(points, average, width) {
    const height = 200;
    const m = { left: 56, right: 10, top: 10, bottom: 22 };
    const t0 = points[0][0];
    const t1 = points[points.length - 1][0];
    const top = niceCeil(Math.max(average, ...points.map((p) => p[1])) * 1.08);
    const x = (t) => m.left + ((t - t0) / Math.max(1e-9, t1 - t0)) * (width - m.left - m.right);
    const y = (v) => m.top + (1 - v / top) * (height - m.top - m.bottom);
    const parts = [`<svg viewBox="0 0 ${width} ${height}" role="img" aria-label="values per second over time">`];
    for (let i = 0; i <= 4; i += 1) {
      const v = (top * i) / 4;
      parts.push(`<line class="gridline" x1="${m.left}" x2="${width - m.right}" y1="${y(v)}" y2="${y(v)}"/>`);
      parts.push(`<text class="axis" x="${m.left - 6}" y="${y(v) + 4}" text-anchor="end">${esc(fmtCompact(v))}</text>`);
    }
    for (let i = 0; i <= 4; i += 1) {
      const t = t0 + ((t1 - t0) * i) / 4;
      const anchor = i === 0 ? "start" : i === 4 ? "end" : "middle";
      parts.push(`<text class="axis" x="${x(t)}" y="${height - 4}" text-anchor="${anchor}">${esc(timeLabel(t, t1 - t0))}</text>`);
    }
    const line = points.map((p, i) => `${i ? "L" : "M"}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join("");
    const base = y(0).toFixed(1);
    parts.push(`<path class="area" d="${line}L${x(t1).toFixed(1)},${base}L${x(t0).toFixed(1)},${base}Z"/>`);
    parts.push(`<path class="line" d="${line}"/>`);
    parts.push(`<line class="avg" x1="${m.left}" x2="${width - m.right}" y1="${y(average)}" y2="${y(average)}"/>`);
    parts.push(`<text class="avg-label" x="${width - m.right}" y="${y(average) - 5}" text-anchor="end">average</text>`);
    parts.push("</svg>");
    return parts.join("");
  }

  // Wiring ---------------------------------------------------------------------------------------
  function bind() {
    $("requests-body").addEventListener("click", onTableClick);
    $("start-form").addEventListener("submit", onSubmit);
    for (const name of FIELDS) $(name).addEventListener("input", () => showFieldError(name, ""));
    $("detail-close").addEventListener("click", closeDetail);
    $("detail-cancel").addEventListener("click", () => state.selected && cancelRequest(state.selected));
    $("detail-retry").addEventListener("click", () => state.selected && retryRequest(state.selected));
    $("detail-verify").addEventListener("click", () => state.selected && verifyRequest(state.selected, false));
    $("detail-repair").addEventListener("click", () => state.selected && verifyRequest(state.selected, true));
    $("chunk-map").addEventListener("mousemove", onChunkHover);
    $("chunk-map").addEventListener("mouseleave", () => { $("chunk-tip").hidden = true; });
    window.addEventListener("hashchange", openFromHash);
    window.addEventListener("resize", () => {
      drawChunkMap();
      if (state.detail) state.throughputFor = null;
    });
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden) wake();
    });
  }

  /** For tests and the curious: where chunk ``index`` is drawn, in CSS pixels of the canvas. */
  window.naiaDashboard = {
    chunkCellCenter(index) {
      if (!state.layout) return null;
      const r = cellRect(state.layout, index);
      return { x: r.x + r.size / 2, y: r.y + r.size / 2 };
    },
    chunkColours() {
      return ["done", "running", "failed", "pending"].reduce((o, k) => ({ ...o, [k]: cssVar(`--${k}`) }), {});
    },
  };

  bind();
  openFromHash();
  refreshHealth();
  tick();
})();

import { json, type RouteHandler } from '@vigil/service-kit';
import type { WatchdogStatus } from './watchdog.js';

/** `/` is the live page, `/api/status` what it polls. Served by startService's HTTP server next to /metrics. */
export function statusRoutes(status: () => WatchdogStatus | null): Record<string, RouteHandler> {
  return {
    '/': (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(PAGE);
    },
    '/api/status': (_req, res) => {
      const s = status();
      if (!s) return json(res, 503, { error: 'watchdog starting; try again in a moment' });
      json(res, 200, s);
    },
  };
}

// Plain HTML and JS, no build step and no CDN: it must work on an operator's laptop with no network but this one.
const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Vigil watchdog</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; background: #0f1419; color: #e6e6e6; }
  header { padding: 12px 20px; background: #1a2029; display: flex; gap: 24px; align-items: baseline; flex-wrap: wrap; }
  h1 { font-size: 18px; margin: 0; }
  main { padding: 16px 20px; display: grid; grid-template-columns: 2fr 1fr; gap: 16px; }
  section { background: #1a2029; border-radius: 6px; padding: 12px 16px; }
  h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .05em; color: #8a94a6; margin: 0 0 8px; }
  .figure b { font-size: 20px; display: block; }
  .ok { color: #4cc38a; } .bad { color: #ff6369; } .warn { color: #f5a524; } .muted { color: #8a94a6; }
  #incident { grid-column: 1 / -1; font-size: 16px; } #services { grid-column: 1 / -1; }
  #incident.open { background: #3b1219; } #incident.fresh { background: #10291e; }
  table { width: 100%; border-collapse: collapse; } td, th { text-align: left; padding: 3px 6px; border-bottom: 1px solid #2a3140; }
  #timeline { grid-column: 1 / -1; } #timeline li { list-style: none; padding: 4px 0; border-bottom: 1px solid #2a3140; }
  #timeline ul { margin: 0; padding: 0; max-height: 360px; overflow: auto; }
  .sev-critical { color: #ff6369; font-weight: bold; } .sev-warning { color: #f5a524; } .sev-info { color: #70b8ff; }
  svg rect { fill: #70b8ff; }
</style>
</head>
<body>
<header>
  <h1>Vigil watchdog</h1>
  <div class="figure">market <b id="phase">…</b></div>
  <div class="figure">gateway <b id="gateway">…</b></div>
  <div class="figure">bars / min <b id="bpm">…</b></div>
  <div class="figure">reconnects <b id="reconnects">…</b></div>
  <div class="figure">uptime <b id="uptime">…</b></div>
  <div class="figure">open alerts <b id="open-alerts">…</b></div>
  <div class="figure">executor <b id="executor">…</b></div>
  <div class="figure">feed <b id="feed">…</b></div>
  <div class="figure" title="equity − equity at the last close, as the broker reports them: realised and unrealised together">day P&amp;L <b id="day-pl">…</b></div>
  <div class="muted" id="updated"></div>
</header>
<main>
  <section id="incident" data-state="unknown">waiting for the watchdog…</section>
  <section id="services"><h2>Services (health reports)</h2><table><thead><tr><th>service</th><th>status</th><th>last report</th><th>version</th><th>uptime at that report</th><th>figures</th><th>notes</th></tr></thead><tbody id="service-rows"></tbody></table></section>
  <section id="positions"><h2>Held positions (broker)</h2><table><thead><tr><th>symbol</th><th>qty</th><th>market value</th><th>unrealised P&amp;L today</th><th>unrealised P&amp;L since opened</th><th>waiting for a decision</th></tr></thead><tbody id="held"></tbody></table><p id="book" class="muted"></p><p id="pl" class="muted"></p><p id="unmanaged" class="muted"></p></section>
  <section id="orders"><h2>Open orders (broker)</h2><table><thead><tr><th>submitted</th><th>symbol</th><th>side</th><th>qty</th><th>type</th><th>limit</th><th>filled</th><th>status</th></tr></thead><tbody id="open-orders"></tbody></table><p id="orders-state" class="muted"></p></section>
  <section><h2>Bars per minute, last hour</h2><svg id="chart" width="100%" height="140" viewBox="0 0 600 140" preserveAspectRatio="none"></svg></section>
  <section><h2>Last bar per symbol, stalest first <span class="muted" id="symbol-count"></span></h2><table><thead><tr><th>symbol</th><th>age</th></tr></thead><tbody id="symbols"></tbody></table></section>
  <section id="timeline"><h2>Alert timeline</h2><ul id="alerts"></ul></section>
</main>
<script>
const $ = (id) => document.getElementById(id);
const age = (ms) => ms == null ? '–' : ms < 60000 ? (ms / 1000).toFixed(1) + ' s' : (ms / 60000).toFixed(1) + ' min';
function set(id, text, cls) { const el = $(id); el.textContent = text; el.className = cls || ''; }
const money = (x) => x == null ? 'unknown' : (x > 0 ? '+' : x < 0 ? '−' : '') + '$' + Math.abs(x).toFixed(2);
const plClass = (x) => x == null ? 'warn' : x < 0 ? 'bad' : 'ok';
function rows(id, items, cells, data) {
  $(id).replaceChildren(...items.map((item) => {
    const tr = document.createElement('tr'); if (data) Object.assign(tr.dataset, data(item));
    for (const [text, cls] of cells(item)) { const td = document.createElement('td'); td.textContent = text; if (cls) td.className = cls; tr.append(td); }
    return tr;
  }));
}
const statusClass = { ok: 'ok', degraded: 'warn', down: 'bad', unknown: 'muted' };
function services(list) {
  rows('service-rows', list, (v) => [
    [v.service], [v.status.toUpperCase() + (v.reason ? ' — ' + v.reason : ''), statusClass[v.status]],
    [v.lastReportAgeMs == null ? (v.service === 'watchdog' ? 'this page’s server' : 'none yet') : age(v.lastReportAgeMs) + ' ago'],
    [v.version || '–'], [v.uptimeSec == null ? '–' : age(v.uptimeSec * 1000)],
    [Object.entries(v.figures).map(([k, x]) => k + ' ' + (x == null ? '–' : x)).join(' · ')], [v.notes.join('; ')],
  ], (v) => ({ service: v.service, status: v.status }));
}
// Only what the last refresh read: a part whose read failed is "unknown", never the figure from an earlier read.
function book(s) {
  const b = s.broker; const owed = Object.fromEntries((s.positions || []).map((p) => [p.symbol, p.owedForMs]));
  set('book', !b ? 'broker not read yet' : 'broker read ' + age(b.readAgeMs) + ' ago' + (b.positions ? '' : ' · positions UNKNOWN: the read failed'), b && b.positions ? 'muted' : 'warn');
  rows('held', (b && b.positions) || [], (p) => [
    [p.symbol], [String(p.qty)], [p.marketValue == null ? '–' : '$' + p.marketValue.toFixed(2)],
    [money(p.unrealizedIntradayPl), plClass(p.unrealizedIntradayPl)], [money(p.unrealizedPl), plClass(p.unrealizedPl)],
    [owed[p.symbol] == null ? 'no' : age(owed[p.symbol])],
  ], (p) => ({ symbol: p.symbol }));
  const a = b && b.account;
  set('day-pl', a ? money(a.dayPl) : 'unknown', a ? plClass(a.dayPl) : 'warn');
  set('pl', a ? "today's P&L " + money(a.dayPl) + ' (equity $' + a.equity.toFixed(2) + ' − $' + a.lastEquity.toFixed(2) + ' at the last close: realised and unrealised together)' : "today's P&L UNKNOWN: " + (b ? 'the account read failed' : 'not read yet'), a ? 'muted' : 'warn');
  rows('open-orders', (b && b.orders) || [], (o) => [
    [o.submittedAt ? o.submittedAt.slice(11, 19) : '–'], [o.symbol], [o.side], [o.qty != null ? String(o.qty) : o.notional != null ? '$' + o.notional : '–'],
    [o.type], [o.limitPrice == null ? '–' : String(o.limitPrice)], [String(o.filledQty)], [o.status],
  ], (o) => ({ id: o.id }));
  set('orders-state', !b ? 'not read yet' : !b.orders ? 'open orders UNKNOWN: the read failed' : b.orders.length + ' open', b && b.orders ? 'muted' : 'warn');
}
function chart(history) {
  const svg = $('chart'); const max = Math.max(1, ...history.map((h) => h.bars)); const w = 600 / history.length;
  svg.replaceChildren(...history.map((h, i) => {
    const r = document.createElementNS('http://www.w3.org/2000/svg', 'rect'); const hgt = (h.bars / max) * 130;
    r.setAttribute('x', String(i * w + 1)); r.setAttribute('width', String(w - 2)); r.setAttribute('y', String(140 - hgt)); r.setAttribute('height', String(hgt));
    const t = document.createElementNS('http://www.w3.org/2000/svg', 'title'); t.textContent = h.minute.slice(11, 16) + ' UTC: ' + h.bars + ' bars'; r.append(t);
    return r;
  }));
}
function render(s) {
  set('phase', s.phase, s.phase === 'open' ? 'ok' : s.phase === 'closed' ? 'muted' : 'warn');
  set('gateway', (s.gateway.up ? 'up' : 'DOWN') + (s.gateway.state ? ' · ' + s.gateway.state : '') +
    (s.gateway.standbys && s.gateway.standbys.length ? ' · standby ' + s.gateway.standbys.join(', ') : ' · no standby'),
    s.gateway.up ? 'ok' : 'bad');
  set('bpm', String(s.barsPerMinute)); set('reconnects', String(s.reconnects));
  set('uptime', s.uptimePct.toFixed(2) + ' %', s.uptimePct >= 99 ? 'ok' : 'warn');
  set('open-alerts', String(s.openAlerts), s.openAlerts ? 'bad' : 'ok');
  set('executor', s.executorHalted ? 'HALTED' : 'trading', s.executorHalted ? 'bad' : 'ok');
  const f = s.feed;
  set('feed', !f ? '–' : f.liveDownForMs == null ? 'live' : f.dataPath + ' · live down ' + age(f.liveDownForMs), !f ? '' : f.liveDownForMs == null ? 'ok' : s.degraded && s.degraded.critical ? 'bad' : 'warn');
  services(s.services);
  book(s);
  set('unmanaged', s.positions == null ? 'positions not read yet' : s.unmanaged ? 'UNMANAGED: ' + s.unmanaged.symbols.join(', ') + ' · halt ' + s.unmanaged.halt + ' · flatten ' + s.unmanaged.flatten : 'every held position is being decided on', s.unmanaged ? 'bad' : 'muted');
  $('updated').textContent = 'updated ' + s.at.slice(11, 19) + ' UTC · last bar ' + age(s.lastBarAgeMs) + ' ago';
  const inc = $('incident');
  if (s.incident) {
    inc.className = 'open'; inc.dataset.state = 'open';
    inc.textContent = 'STALE DATA — incident ' + s.incident.id + ': stale for ' + age(s.incident.staleForMs) + ' · halt ' + s.incident.halt + ' · flatten ' + s.incident.flatten + (s.incident.freshSince ? ' · bars back, resolving…' : '');
  } else {
    inc.className = 'fresh'; inc.dataset.state = 'fresh'; inc.textContent = 'Data fresh: no open incident';
  }
  chart(s.history);
  $('symbol-count').textContent = s.symbolCount > s.symbols.length ? '(' + s.symbols.length + ' of ' + s.symbolCount + ')' : '';
  $('symbols').replaceChildren(...s.symbols.map((x) => {
    const tr = document.createElement('tr'); const a = document.createElement('td'); const b = document.createElement('td');
    a.textContent = x.symbol; b.textContent = age(x.lastBarAgeMs); tr.append(a, b); return tr;
  }));
  $('alerts').replaceChildren(...s.alerts.map((a) => {
    const li = document.createElement('li'); li.dataset.kind = a.kind; li.dataset.status = a.status;
    const sev = document.createElement('span'); sev.className = 'sev-' + a.severity; sev.textContent = a.kind + ' ' + a.status;
    li.append(a.at.slice(11, 19) + ' ', sev, ' ' + a.message);
    return li;
  }));
}
async function poll() {
  try { const r = await fetch('/api/status', { cache: 'no-store' }); if (r.ok) render(await r.json()); else $('updated').textContent = 'watchdog starting…'; }
  catch { $('updated').textContent = 'watchdog unreachable'; $('updated').className = 'bad'; }
  setTimeout(poll, 1000);
}
poll();
</script>
</body>
</html>
`;

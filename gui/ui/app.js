// csvagent desktop: a thin page over the Tauri commands in gui/src (which call csvagent-sdk).
// Plain JS, no build step. Every command either resolves with data or rejects with
// {code, message} (the SDK's ErrorCode and a readable message).
'use strict';

const { invoke, Channel } = window.__TAURI__.core;
const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
const esc = (v) => String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
const json = (v) => JSON.stringify(v, null, 2);
const SOURCES = ['template', 'procedural', 'llm_gen'];

// ---------- errors ----------
function errorParts(err) {
  if (err && typeof err === 'object' && 'code' in err) return [err.code, err.message];
  return ['invalid_input', String(err)];
}
function showError(err) {
  const [code, message] = errorParts(err);
  const b = $('#error-banner');
  $('.code', b).textContent = `[${code}]`;
  $('.message', b).textContent = message;
  b.classList.remove('hidden');
}
$('#error-banner .close').onclick = () => $('#error-banner').classList.add('hidden');
async function call(cmd, args) {
  try { return await invoke(cmd, args); } catch (e) { showError(e); throw e; }
}

// ---------- navigation ----------
const loaders = {};
function show(view) {
  $$('#nav button').forEach((b) => b.classList.toggle('active', b.dataset.view === view));
  $$('.view').forEach((v) => v.classList.toggle('active', v.id === `view-${view}`));
  if (loaders[view]) loaders[view]().catch(() => {});
}
$$('#nav button').forEach((b) => (b.onclick = () => show(b.dataset.view)));
document.addEventListener('click', (e) => {
  const a = e.target.closest('[data-goto]');
  if (a) { e.preventDefault(); show(a.dataset.goto); }
});

// ---------- settings ----------
let config = null;
async function loadConfig() {
  config = await call('get_config');
  const f = $('#cfg-form');
  for (const k of ['data_dir', 'datasets_dir', 'teacher_url', 'teacher_model']) f.elements[k].value = config[k] ?? '';
  $('#run-teacher').textContent = `${config.teacher_url || 'embedded local model / config'}${config.teacher_model ? ' · ' + config.teacher_model : ''}`;
}
loaders.settings = loadConfig;
$('#cfg-save').onclick = async () => {
  const f = $('#cfg-form');
  const v = (k) => f.elements[k].value.trim();
  await call('set_config', { config: { data_dir: v('data_dir'), datasets_dir: v('datasets_dir'), teacher_url: v('teacher_url') || null, teacher_model: v('teacher_model') || null } });
  $('#cfg-saved').textContent = 'saved';
  await loadConfig();
};

// ---------- datasets ----------
let datasets = [];
async function loadDatasets() {
  const list = await call('list_datasets');
  datasets = list.datasets;
  $('#ds-dir').textContent = list.dir;
  const tb = $('#ds-table tbody');
  tb.innerHTML = datasets.map((d, i) => `<tr class="clickable" data-i="${i}">
    <td>${esc(d.name)}</td><td>${esc(d.title)}</td>
    <td>${d.usable ? `${d.rows}×${d.columns}` : '-'}</td><td>${esc(d.encoding ?? '-')}</td><td>${esc(d.delimiter ?? '-')}</td>
    <td><code>${esc((d.dataset_hash ?? '-').slice(0, 12))}</code></td>
    <td>${SOURCES.map((s) => d.questions[s]).join(' / ')}</td>
    <td>${SOURCES.map((s) => `${d.episodes[s]} (${d.verified[s]})`).join(' / ')}</td>
    <td>${d.usable ? '<span class="badge ok">usable</span>' : `<span class="badge bad">skipped</span> ${esc(d.reason)}`}</td></tr>`).join('');
  $$('tr', tb).forEach((tr) => (tr.onclick = () => datasetDetail(datasets[tr.dataset.i])));
  fillRunDatasets();
}
loaders.datasets = loadDatasets;
$('#ds-refresh').onclick = () => loadDatasets().catch(() => {});

function datasetDetail(d) {
  const p = $('#ds-detail');
  p.classList.remove('hidden');
  p.innerHTML = `<h2>${esc(d.title || d.name)}</h2>
    <dl class="kv"><dt>folder</dt><dd>${esc(d.name)}</dd><dt>ref</dt><dd>${esc(d.reference ?? '-')}</dd>
    <dt>shape</dt><dd>${d.usable ? `${d.rows} rows × ${d.columns} columns` : esc(d.reason)}</dd>
    <dt>dialect</dt><dd>${esc(d.encoding ?? '-')}, ${esc(d.delimiter ?? '-')}</dd><dt>dataset_hash</dt><dd><code>${esc(d.dataset_hash ?? '-')}</code></dd></dl>
    <div class="buttons">${d.usable ? '<button id="ds-profile" class="primary">Profile and first rows</button>' : ''}
    <button id="ds-q">Questions</button><button id="ds-e">Episodes</button></div><div id="ds-profile-body"></div>`;
  $('#ds-q').onclick = () => { $('#q-dataset').value = d.name; show('questions'); };
  $('#ds-e').onclick = () => { $('#ep-dataset').value = d.name; show('episodes'); };
  const btn = $('#ds-profile');
  if (btn) btn.onclick = async () => {
    btn.disabled = true; btn.textContent = 'profiling in the sandbox…';
    try { renderProfile(await call('profile_dataset', { name: d.name })); } catch (_) {} finally { btn.disabled = false; btn.textContent = 'Profile and first rows'; }
  };
}
function columnStats(c) {
  const f = (x) => {
    if (x === null || x === undefined) return '-';
    const t = Number(x).toPrecision(4);
    return t.includes('.') && !t.includes('e') ? t.replace(/0+$/, '').replace(/\.$/, '') : t;
  };
  if (c.type === 'numeric') return `mean ${f(c.mean)} · sd ${f(c.std)} · min ${f(c.min)} · median ${f(c.median)} · max ${f(c.max)}`;
  if (c.type === 'datetime') return `${c.min} … ${c.max} (${f(c.range_days)} days)`;
  if (c.type === 'categorical') return Object.entries(c.top_values || {}).map(([k, v]) => `${k}: ${v}`).join(' · ');
  return 'all values missing';
}
function renderProfile(v) {
  const p = v.profile;
  const cols = Object.entries(p.columns);
  const head = p.sample_head || [];
  const names = head.length ? Object.keys(head[0]) : cols.map(([n]) => n);
  $('#ds-profile-body').innerHTML = `<p class="muted">${esc(v.description).slice(0, 400)} ${v.cached ? '(cached profile)' : ''}</p>
    <h2>Columns</h2><table class="grid small"><thead><tr><th>column</th><th>type</th><th>dtype</th><th>missing</th><th>distinct</th><th>stats</th></tr></thead><tbody>
    ${cols.map(([n, c]) => `<tr><td>${esc(n)}</td><td>${esc(c.type)}${c.is_boolean ? ' (boolean)' : ''}${c.is_currency ? ' (currency)' : ''}${c.is_index_like ? ' (index-like)' : ''}</td><td>${esc(c.dtype)}</td><td>${c.missing_count} (${(+c.missing_pct).toFixed(1)}%)</td><td>${c.unique_count}</td><td>${esc(columnStats(c))}</td></tr>`).join('')}
    </tbody></table>
    ${(p.quality_alerts || []).length ? `<h2>Quality alerts</h2><ul>${p.quality_alerts.map((a) => `<li>${esc(a)}</li>`).join('')}</ul>` : ''}
    <h2>First rows</h2><div style="overflow:auto"><table class="grid small"><thead><tr>${names.map((n) => `<th>${esc(n)}</th>`).join('')}</tr></thead>
    <tbody>${head.map((r) => `<tr>${names.map((n) => `<td>${esc(r[n])}</td>`).join('')}</tr>`).join('')}</tbody></table></div>`;
}

// ---------- questions ----------
async function loadQuestions() {
  const source = $('#q-source').value;
  const dataset = $('#q-dataset').value.trim() || null;
  const r = await call('list_questions', { source, dataset });
  const diffs = ['EASY', 'MEDIUM', 'HARD', 'VERY_HARD', 'unknown'];
  $('#q-counts').innerHTML = `<thead><tr><th>source</th>${diffs.map((d) => `<th>${d}</th>`).join('')}<th>total</th></tr></thead><tbody>${Object.entries(r.by_difficulty).map(([s, c]) =>
    `<tr><td>${esc(s)}</td>${diffs.map((d) => `<td>${c[d] ?? 0}</td>`).join('')}<td>${Object.values(c).reduce((a, b) => a + b, 0)}</td></tr>`).join('')}</tbody>`;
  const warn = r.malformed.length ? `<div class="panel"><span class="badge bad">malformed</span> ${r.malformed.map(esc).join('<br>')}</div>` : '';
  $('#q-list').innerHTML = warn + (r.questions.length ? r.questions.map((q) => `<details><summary><span class="badge warn">${esc(q.difficulty ?? '?')}</span> <b>${esc(q.source)}</b> · ${esc(q.dataset)} · ${esc(q.question_text)}</summary>
    <dl class="kv"><dt>id</dt><dd>${esc(q.id)}</dd><dt>hint</dt><dd>${esc(q.hint ?? '-')}</dd>
    <dt>ground truth</dt><dd><code>${esc(JSON.stringify(q.ground_truth))}</code></dd>
    <dt>accepted answers</dt><dd><code>${esc(JSON.stringify(q.accepted_answers ?? []))}</code></dd>
    <dt>output schema</dt><dd><code>${esc(JSON.stringify(q.output_schema))}</code></dd>
    <dt>name</dt><dd>${esc(q.template_name ?? q.program_name ?? '-')}</dd></dl>
    ${q.code ? `<pre>${highlight(q.code)}</pre>` : ''}</details>`).join('') : '<p class="muted">no questions</p>');
}
loaders.questions = loadQuestions;
$('#q-refresh').onclick = () => loadQuestions().catch(() => {});

// ---------- code highlighting (tiny, Python) ----------
function highlight(code) {
  const kw = /\b(def|return|import|from|as|for|in|if|elif|else|while|with|lambda|and|or|not|None|True|False|print|submit|hook|try|except)\b/g;
  // Split each raw line into code and comment (a '#' outside quotes), then escape and colour.
  const splitComment = (line) => {
    let quote = null;
    for (let i = 0; i < line.length; i++) {
      const ch = line[i];
      if (quote) { if (ch === '\\') i++; else if (ch === quote) quote = null; } else if (ch === '"' || ch === "'") quote = ch; else if (ch === '#') return [line.slice(0, i), line.slice(i)];
    }
    return [line, ''];
  };
  const colour = (text) => text.split(/("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')/).map((part, i) =>
    i % 2 ? `<span class="str">${esc(part)}</span>` : esc(part).replace(kw, '<span class="kw">$1</span>').replace(/\b(\d+(\.\d+)?)\b/g, '<span class="num">$1</span>')).join('');
  return String(code).split('\n').map((line) => {
    const [body, com] = splitComment(line);
    return colour(body) + (com ? `<span class="com">${esc(com)}</span>` : '');
  }).join('\n');
}

// ---------- run ----------
let running = false;
let stages = {}; // label -> state
let dsRows = {}; // stage|dataset -> state
let logLines = [];

function fillRunDatasets() {
  const sel = $('#run-form').elements.datasets;
  const chosen = new Set(Array.from(sel.selectedOptions).map((o) => o.value));
  sel.innerHTML = datasets.filter((d) => d.usable).map((d) => `<option ${chosen.has(d.name) ? 'selected' : ''}>${esc(d.name)}</option>`).join('');
}
function runRequest() {
  const f = $('#run-form').elements;
  const num = (k) => (f[k].value === '' ? null : Number(f[k].value));
  return {
    mode: f.mode.value, action: f.action.value,
    datasets: Array.from(f.datasets.selectedOptions).map((o) => o.value),
    max_datasets: num('max_datasets'), max_questions: num('max_questions'), n_consistency: num('n_consistency'),
    retry_failed: f.retry_failed.checked, fresh: f.fresh.checked,
  };
}
let lastPreflight = null;
async function checkPreflight() {
  const p = await call('run_preflight', { request: runRequest() });
  lastPreflight = p;
  const box = $('#run-preflight');
  box.innerHTML = (p.ok ? '<span class="badge ok">preflight ok</span> ready to start' : `<span class="badge bad">preflight refused</span><ul>${p.reasons.map((r) => `<li>${esc(r)}</li>`).join('')}</ul>`) +
    (p.fresh_moves.length ? `<div>fresh will move aside: <ul>${p.fresh_moves.map((m) => `<li><code>${esc(m)}</code></li>`).join('')}</ul></div>` : '');
  updateRunButtons();
}
function updateRunButtons() {
  $('#run-start').disabled = running || !(lastPreflight && lastPreflight.ok);
  $('#run-stop').disabled = !running;
  $('#run-indicator').classList.toggle('hidden', !running);
}
loaders.run = async () => { await loadConfig(); if (!datasets.length) await loadDatasets(); await checkPreflight(); };
$('#run-form').addEventListener('change', () => checkPreflight().catch(() => {}));

$('#run-dry').onclick = async () => {
  const plan = await call('run_plan', { request: runRequest() }).catch(() => null);
  if (!plan) return;
  const p = $('#run-plan');
  p.classList.remove('hidden');
  p.innerHTML = `<b>Dry run</b> (no changes made): ${plan.stages.map((s) => `${s.source} ${s.kind}`).join(' → ')}
    <table class="grid small"><thead><tr><th>source</th><th>datasets</th><th>to generate for</th><th>questions on disk</th><th>to process</th><th>outputs</th></tr></thead><tbody>
    ${plan.sources.map((s) => `<tr><td>${esc(s.source)}</td><td>${esc(s.datasets.join(', '))}</td><td>${esc(s.datasets_to_generate.join(', ') || '(none)')}</td><td>${s.questions_on_disk}</td><td>${s.questions_to_process}</td><td>${esc(s.outputs.join(', '))}</td></tr>`).join('')}
    </tbody></table>${plan.skipped_datasets.map(([n, r]) => `<div class="muted">skipped ${esc(n)}: ${esc(r)}</div>`).join('')}`;
};

function stageKey(stage) { return `${stage.source} ${stage.kind}`; }
function stageState(stage) {
  const k = stageKey(stage);
  if (!stages[k]) stages[k] = { label: k, kind: stage.kind, done: 0, total: null, verified: 0, unverified: 0, failed: 0, outcome: 'pending', started: null };
  return stages[k];
}
function fmtEta(s) {
  if (!s.started || !s.total || !s.done || s.done >= s.total) return '';
  const per = (Date.now() - s.started) / s.done;
  const sec = Math.round((per * (s.total - s.done)) / 1000);
  return sec >= 60 ? `${Math.floor(sec / 60)}m ${sec % 60}s` : `${sec}s`;
}
function renderStages() {
  $('#run-stages tbody').innerHTML = Object.values(stages).map((s) => {
    const pct = s.total ? Math.min(100, (100 * s.done) / s.total) : 0;
    const badge = s.outcome === 'ok' ? 'ok' : s.outcome === 'failed' ? 'bad' : 'warn';
    return `<tr><td>${esc(s.label)}</td><td><span class="bar"><div style="width:${pct}%"></div></span></td><td>${s.done}/${s.total ?? '?'}</td>
      <td>${s.kind === 'episodes' ? `${s.verified}${s.verified + s.unverified + s.failed ? ` (${Math.round((100 * s.verified) / (s.verified + s.unverified + s.failed))}%)` : ''}` : '-'}</td><td>${s.kind === 'episodes' ? s.unverified : '-'}</td><td>${s.failed}</td><td>${fmtEta(s)}</td>
      <td><span class="badge ${badge}">${esc(s.outcome)}</span></td></tr>`;
  }).join('');
  $('#run-datasets tbody').innerHTML = Object.values(dsRows).map((d) => `<tr><td>${esc(d.stage)}</td><td>${esc(d.dataset)}</td><td>${esc(d.state)}</td><td>${d.written}</td><td>${d.rejected}</td><td>${esc(d.current ?? '')}</td></tr>`).join('');
}
function log(level, msg) {
  const t = new Date().toISOString().slice(11, 19);
  logLines.push({ level, text: `${t} ${level.toUpperCase().padEnd(5)} ${msg}` });
  renderLog();
}
function renderLog() {
  const f = $('#log-filter').value.toLowerCase();
  const errorsOnly = $('#log-errors').checked;
  const debug = $('#log-debug').checked;
  const el = $('#run-log');
  el.innerHTML = logLines.filter((l) => (!errorsOnly || l.level === 'error') && (debug || l.level !== 'debug') && (!f || l.text.toLowerCase().includes(f)))
    .slice(-2000).map((l) => `<div class="${l.level}">${esc(l.text)}</div>`).join('');
  el.scrollTop = el.scrollHeight;
}
$('#log-filter').oninput = renderLog;
$('#log-errors').onchange = renderLog;
$('#log-debug').onchange = renderLog;

function dsRow(stage, dataset) {
  const k = `${stageKey(stage)}|${dataset}`;
  if (!dsRows[k]) dsRows[k] = { stage: stageKey(stage), dataset, state: 'running', written: 0, rejected: 0, current: '' };
  return dsRows[k];
}
function onEvent(e) {
  switch (e.type) {
    case 'run_started': log('info', `run ${e.run_id} started: ${e.stages.map(stageKey).join(' → ')}`); e.stages.forEach(stageState); break;
    case 'run_finished': log(e.success ? 'info' : 'error', `run ${e.run_id} finished (${e.success ? 'success' : 'failed'})`); break;
    case 'stage_started': { const s = stageState(e.stage); s.total = e.total; s.outcome = 'running'; s.started = Date.now(); log('info', `${stageKey(e.stage)} started`); break; }
    case 'stage_progress': { const s = stageState(e.stage); s.done = e.done; s.total = e.total; break; }
    case 'stage_finished': {
      const s = stageState(e.stage); s.outcome = e.outcome; if (e.stage.kind === 'questions') s.failed = e.item_failures;
      log(e.outcome === 'failed' ? 'error' : 'info', `${stageKey(e.stage)} ${e.outcome}: ${e.written} written, ${e.item_failures} item failures${e.detail ? ' — ' + e.detail : ''}`);
      break;
    }
    case 'dataset_started': { const d = dsRow(e.stage, e.dataset); d.state = 'running'; break; }
    case 'dataset_finished': { const d = dsRow(e.stage, e.dataset); d.state = 'done'; d.written = e.written; d.rejected = e.rejected; d.current = ''; break; }
    case 'dataset_skipped': { const d = dsRow(e.stage, e.dataset); d.state = 'skipped'; d.current = e.reason; log('warn', `${e.dataset} skipped: ${e.reason}`); break; }
    case 'question_finished': {
      const st = { kind: 'questions', source: e.source };
      const d = dsRow(st, e.dataset); d.current = e.name;
      if (e.accepted) d.written += 0; else log('debug', `${e.dataset}: ${e.name} rejected${e.detail ? ': ' + e.detail : ''}`);
      break;
    }
    case 'episode_finished': {
      const st = { kind: 'episodes', source: e.source }; const s = stageState(st);
      if (e.verified) s.verified += 1; else if (e.error_kind && e.error_kind !== 'answer_mismatch') s.failed += 1; else s.unverified += 1;
      const d = dsRow(st, e.dataset); d.current = e.question_id;
      if (e.verified) d.written += 1; else d.rejected += 1;
      log(e.verified ? 'info' : 'warn', `episode ${e.question_id} on ${e.dataset}: ${e.verified ? 'verified' : 'not verified (' + (e.error_kind ?? 'unverified') + ')'} in ${(e.elapsed_ms / 1000).toFixed(1)}s`);
      break;
    }
    case 'container': log(e.action === 'stop_failed' ? 'error' : 'debug', `container ${e.id} ${e.action}${e.detail ? ': ' + e.detail : ''}`); break;
    case 'image_build': log('info', `[${e.step}] ${e.message}`); break;
    case 'model_download': log('info', `downloading ${e.repo}/${e.file}: ${e.done_bytes}/${e.total_bytes} bytes`); break;
    case 'upload': log('info', `upload ${e.phase} ${e.done}/${e.total}`); break;
    case 'log': log(e.level, e.msg); break;
    default: log('debug', JSON.stringify(e));
  }
  renderStages();
}
function setRunStatus(state, text) {
  const el = $('#run-status');
  el.dataset.state = state;
  el.textContent = text;
}
function renderOutcome(r) {
  $('#run-outcome').innerHTML = `<div>run <code>${esc(r.run_id)}</code> in <code>${esc(r.data_dir)}</code>${r.interrupted ? ' — <span class="badge bad">interrupted</span>' : ''}</div>
    <table class="grid"><thead><tr><th>stage</th><th>outcome</th><th>written</th><th>verified</th><th>failures</th><th>elapsed</th><th>detail</th></tr></thead><tbody>
    ${r.stages.map((s) => `<tr><td>${esc(stageKey(s.stage))}</td><td><span class="badge ${s.outcome === 'ok' ? 'ok' : s.outcome === 'failed' ? 'bad' : 'warn'}">${esc(s.outcome === 'failed' ? 'FAILED' : s.outcome)}</span></td>
      <td>${s.written}</td><td>${s.stage.kind === 'episodes' ? s.verified : '-'}</td><td>${s.item_failures}</td><td>${(s.elapsed_ms / 1000).toFixed(1)}s</td><td>${esc(s.detail ?? '')}</td></tr>`).join('')}
    </tbody></table>${r.episode_lines.length ? `<div>Episode files: ${r.episode_lines.map(([src, n, path]) => `${esc(src)} ${n} lines <code>${esc(path)}</code>`).join(' · ')}</div>` : ''}${r.moved_aside.length ? `<div class="muted">moved aside: ${r.moved_aside.map(esc).join(', ')}</div>` : ''}${r.stop_failures.map(([id, e]) => `<div class="badge bad">container ${esc(id)} could not be stopped: ${esc(e)}</div>`).join('')}`;
  for (const s of r.stages) { const st = stageState(s.stage); st.outcome = s.outcome; }
  renderStages();
}
$('#run-start').onclick = async () => {
  const request = runRequest();
  if (request.fresh && lastPreflight && lastPreflight.fresh_moves.length &&
      !window.confirm(`Fresh run: these will be moved aside to .previous/:\n${lastPreflight.fresh_moves.join('\n')}`)) return;
  stages = {}; dsRows = {}; logLines = []; renderStages(); renderLog();
  $('#run-outcome').textContent = 'running…';
  running = true; updateRunButtons(); setRunStatus('running', 'running');
  const channel = new Channel();
  channel.onmessage = onEvent;
  try {
    const r = await invoke('start_run', { request, on_event: channel });
    renderOutcome(r);
    setRunStatus(r.interrupted ? 'interrupted' : 'finished', r.interrupted ? 'interrupted' : r.success ? 'finished: success' : 'finished: a stage failed');
  } catch (e) {
    const [code, message] = errorParts(e);
    showError(e); log('error', `[${code}] ${message}`);
    $('#run-outcome').textContent = `[${code}] ${message}`;
    setRunStatus('failed', `failed [${code}]`);
  } finally {
    running = false; updateRunButtons(); checkPreflight().catch(() => {});
  }
};
$('#run-stop').onclick = async () => {
  const r = await call('stop_run').catch(() => null);
  if (r === 'cancelling') { log('warn', 'stopping: in-flight items are abandoned, written records stay; press Stop again to force'); $('#run-stop').textContent = 'Force stop'; }
  if (r === 'forced') log('error', 'forced: sandbox containers stopped');
  setTimeout(() => { if (!running) $('#run-stop').textContent = 'Stop'; }, 500);
};

// ---------- episodes ----------
let episodes = [];
async function loadEpisodes() {
  const v = $('#ep-verified').value;
  episodes = await call('list_episodes', { source: $('#ep-source').value, verified: v === '' ? null : v === 'true', dataset: $('#ep-dataset').value.trim() || null });
  const tb = $('#ep-table tbody');
  tb.innerHTML = episodes.length ? episodes.map((e, i) => `<tr class="clickable" data-i="${i}" data-episode="${esc(e.episode_id)}"><td>${e.verified ? '<span class="badge ok">verified</span>' : `<span class="badge bad" title="${esc(e.error ?? '')}">unverified</span>`}</td>
    <td>${esc(e.question_text)}</td><td>${esc(e.source)}</td><td>${esc(e.dataset ?? '')}</td><td>${esc(e.difficulty)}</td><td>${e.turns}</td></tr>`).join('') : '<tr><td colspan="6" class="muted">no episodes</td></tr>';
  $$('tr.clickable', tb).forEach((tr) => (tr.onclick = () => { $$('tr', tb).forEach((r) => r.classList.remove('selected')); tr.classList.add('selected'); openTrace(episodes[tr.dataset.i].episode_id); }));
}
loaders.episodes = loadEpisodes;
$('#ep-refresh').onclick = () => loadEpisodes().catch(() => {});

async function openTrace(id) {
  const e = await call('get_episode', { episode_id: id });
  const pane = $('#trace');
  pane.classList.remove('muted');
  const tabs = [['gold', 'gold trace']].concat(e.consistency_traces.map((_, k) => [`c${k}`, `consistency ${k + 1}`])).concat([['transcript', 'transcript'], ['verification', 'verification']]);
  pane.innerHTML = `<h2 id="trace-title">${esc(e.question.question_text)}</h2>
    <div>${e.verified ? '<span class="badge ok" id="trace-verdict">verified</span>' : '<span class="badge bad" id="trace-verdict">not verified</span>'}
    method <b>${esc(e.verification.method)}</b>${e.verification.matched_by ? ` · matched by ${esc(e.verification.matched_by)}` : ''}${e.verification.error ? ` · <span class="badge bad">${esc(e.verification.error)}</span>` : ''}</div>
    <dl class="kv"><dt>episode</dt><dd>${esc(e.episode_id)}</dd><dt>dataset</dt><dd>${esc(e.question.dataset)} (${esc(e.source)})</dd>
    <dt>model</dt><dd>${esc(e.model?.name)}</dd><dt>ground truth</dt><dd><code>${esc(JSON.stringify(e.question.ground_truth))}</code></dd>
    <dt>final answer</dt><dd><code>${esc(JSON.stringify(e.gold_trace.final_answer))}</code></dd></dl>
    <div class="tabs">${tabs.map(([k, l], i) => `<button data-tab="${k}" class="${i ? '' : 'active'}">${esc(l)}</button>`).join('')}</div><div id="trace-body"></div>`;
  const render = (k) => {
    $$('.tabs button', pane).forEach((b) => b.classList.toggle('active', b.dataset.tab === k));
    const body = $('#trace-body');
    if (k === 'gold') body.innerHTML = renderTrace(e.gold_trace);
    else if (k === 'transcript') body.innerHTML = renderTranscript(e.gold_trace);
    else if (k === 'verification') body.innerHTML = renderVerification(e);
    else body.innerHTML = renderTrace(e.consistency_traces[Number(k.slice(1))]);
  };
  $$('.tabs button', pane).forEach((b) => (b.onclick = () => render(b.dataset.tab)));
  render('gold');
}
function renderTrace(t) {
  const head = `<div class="muted">stop: ${esc(t.stop_reason)} · success: ${t.success} · ${t.turns.length} turns · ${(+t.elapsed_seconds || 0).toFixed(1)}s${t.error ? ` · <span class="badge bad">${esc(t.error)}</span>` : ''}</div>`;
  return head + t.turns.map((turn) => {
    const x = turn.execution;
    const hooks = x && x.hooks && x.hooks.length ? `<table class="grid small"><thead><tr><th>hook</th><th>value</th><th>grounded</th><th>description</th></tr></thead><tbody>${x.hooks.map((h) =>
      `<tr><td><code>${esc(h.variable_name)}</code></td><td><code>${esc(JSON.stringify(h.value)).slice(0, 200)}</code></td><td>${h.ungrounded_reason ? `<span class="badge bad">no</span> ${esc(h.ungrounded_reason)}` : '<span class="badge ok">yes</span>'}</td><td>${esc(h.description ?? '')}</td></tr>`).join('')}</tbody></table>` : '';
    const corr = turn.correction ? `<div><span class="badge warn">correction</span> of turn ${turn.correction.corrects_turn}: ${esc(turn.correction.error_type)} — ${esc(turn.correction.error_message)}</div>` : '';
    const review = turn.submission ? `<div><span class="badge ${turn.submission.status === 'accepted' ? 'ok' : 'warn'}">review: ${esc(turn.submission.status)}</span> ${esc((turn.submission.reasons || []).join('; '))}</div>` : '';
    return `<div class="turn"><h3>Turn ${turn.turn_index} ${x ? `<span class="badge ${x.success ? 'ok' : 'bad'}">${esc(x.status)}</span>` : ''}</h3>
      ${turn.reasoning ? `<div class="reasoning">${esc(turn.reasoning)}</div>` : ''}
      ${turn.code ? `<pre>${highlight(turn.code)}</pre>` : ''}
      ${x && x.stdout ? `<pre class="out">${esc(x.stdout)}</pre>` : ''}${x && x.stderr ? `<pre class="err">${esc(x.stderr)}</pre>` : ''}
      ${x && x.exception ? `<pre class="err">${esc(x.exception.type)}: ${esc(x.exception.message)}</pre>` : ''}
      ${x && x.submitted_answer !== undefined && x.submitted_answer !== null ? `<div>submitted <code>${esc(JSON.stringify(x.submitted_answer))}</code></div>` : ''}
      ${hooks}${corr}${review}</div>`;
  }).join('');
}
function renderTranscript(t) {
  const calls = t.llm_calls || [];
  return `<div class="muted">${t.messages.length} messages, ${calls.length} LLM calls</div>` + calls.map((c, i) =>
    `<details><summary>call ${i + 1}: sent messages 0..${c.sent - 1}, received #${c.received} (${esc(c.finish_reason ?? '')}, ${c.elapsed_ms} ms)</summary>${t.messages.slice(0, c.sent).map((m) => `<div><b>${esc(m.role)}</b><pre class="out">${esc(m.content)}</pre></div>`).join('')}
     <div><b>reply</b><pre>${esc(t.messages[c.received]?.content)}</pre></div></details>`).join('') +
    (calls.length ? '' : t.messages.map((m) => `<div><b>${esc(m.role)}</b><pre class="out">${esc(m.content)}</pre></div>`).join(''));
}
function renderVerification(e) {
  const tri = e.triangulation;
  return `<h3>Verification</h3><pre class="out">${esc(json(e.verification))}</pre>
    ${tri ? `<h3>Triangulation</h3><dl class="kv"><dt>runs</dt><dd>${tri.n_consistency_succeeded}/${tri.n_consistency_runs} succeeded</dd><dt>majority</dt><dd>${tri.has_majority ? 'yes' : 'no'} (${tri.majority_count}, required ${tri.required_majority})</dd><dt>gold matches</dt><dd>${tri.gold_matches_majority}</dd></dl>
      <table class="grid small"><thead><tr><th>cluster</th><th>size</th><th>members</th></tr></thead><tbody>${(tri.clusters || []).map((c) => `<tr><td><code>${esc(c.representative_hash)}</code></td><td>${c.size}</td><td>${esc(JSON.stringify(c.members))}</td></tr>`).join('')}</tbody></table>` : '<p class="muted">no triangulation (ground-truth verification)</p>'}
    <h3>Timing</h3><pre class="out">${esc(json(e.timing))}</pre>`;
}

// ---------- system ----------
async function loadSystem() {
  const s = await call('system_status');
  const i = s.image;
  const gb = (b) => (b ? `${(b / 2 ** 30).toFixed(1)} GiB` : '?');
  const row = (c) => `<tr><td><code>${esc(c.id.slice(0, 12))}</code></td><td>${esc(c.name)}</td><td>${esc(c.run_id ?? '')}${c.run_id && c.run_id === s.active_run ? ' <span class="badge ok">this run</span>' : ''}</td><td>${esc(c.pid ?? '')}</td><td>${esc(c.state)}</td></tr>`;
  $('#sys-body').innerHTML = `<div class="panel"><dl class="kv"><dt>CPUs</dt><dd>${s.cpus}</dd><dt>memory</dt><dd>${gb(s.memory_bytes)}</dd>
    <dt>Docker</dt><dd>${i.daemon_reachable ? '<span class="badge ok">reachable</span>' : `<span class="badge bad">unreachable</span> ${esc(i.daemon_error ?? '')}`}</dd>
    <dt>image</dt><dd><code>${esc(i.tag)}</code> ${i.present ? '<span class="badge ok">present</span>' : '<span class="badge bad">missing</span>'}</dd>
    <dt>versions</dt><dd>${Object.entries(i.versions).map(([k, v]) => `${esc(k)} ${esc(v)}`).join(', ') || '-'}</dd>
    <dt>teacher</dt><dd>${esc(s.teacher.base_url ?? 'embedded local model')} · model ${esc(s.teacher.model ?? 'default')} · key ${s.teacher.key_present ? 'present' : 'absent'}</dd>
    <dt>active run</dt><dd>${esc(s.active_run ?? 'none')}</dd></dl></div>
    <h2>csvagent containers (${i.running.length})</h2><table class="grid small"><thead><tr><th>id</th><th>name</th><th>run</th><th>pid</th><th>state</th></tr></thead><tbody>${i.running.map(row).join('')}</tbody></table>
    <h2>Orphans (${i.orphans.length})</h2><table class="grid small"><thead><tr><th>id</th><th>name</th><th>run</th><th>pid</th><th>state</th></tr></thead><tbody>${i.orphans.map(row).join('')}</tbody></table>
    ${i.orphans.length ? '<button id="sys-prune" class="danger">Remove orphans (dead owner, this host)</button>' : ''}`;
  const prune = $('#sys-prune');
  if (prune) prune.onclick = async () => { const r = await call('prune_orphans').catch(() => null); if (r) { window.alert(`removed ${r.removed.length}, failed ${r.failed.length}`); loadSystem().catch(() => {}); } };
}
loaders.system = loadSystem;
$('#sys-refresh').onclick = () => loadSystem().catch(() => {});
$('#sys-build').onclick = async () => {
  const btn = $('#sys-build'); const el = $('#sys-build-log');
  el.classList.remove('hidden'); el.textContent = '';
  btn.disabled = true;
  const ch = new Channel();
  ch.onmessage = (e) => { if (e.type === 'image_build') { el.textContent += `[${e.step}] ${e.message}\n`; el.scrollTop = el.scrollHeight; } else if (e.type === 'log') el.textContent += `${e.level}: ${e.msg}\n`; };
  try { const r = await call('build_image', { on_event: ch }); el.textContent += `${r.built ? 'built' : 'present'}: ${r.tag}\n`; } catch (_) {} finally { btn.disabled = false; loadSystem().catch(() => {}); }
};

// ---------- publish ----------
function publishRequest() {
  const f = $('#pub-form').elements;
  return { repo: f.repo.value.trim(), license: f.license.value.trim(), private: f.private.checked, include_csvs: f.include_csvs.checked, verified_only: f.verified_only.checked, sources: [] };
}
function tokenText(t) {
  if (t.kind === 'env') return '<span class="badge ok">HF_TOKEN (environment)</span>';
  if (t.kind === 'file') return `<span class="badge ok">file</span> ${esc(t.path)}`;
  if (t.kind === 'explicit') return '<span class="badge ok">given</span>';
  return '<span class="badge bad">missing</span> set HF_TOKEN or log in with the Hugging Face CLI';
}
loaders.publish = async () => { $('#pub-token').innerHTML = tokenText(await call('token_status')); };
$('#pub-preview').onclick = async () => {
  const s = await call('publish_preview', { request: publishRequest() }).catch(() => null);
  if (!s) return;
  $('#pub-preview-body').innerHTML = `<h2>Files (${s.files.length}) to stage in <code>${esc(s.dir)}</code> (preview: nothing written yet)</h2>${s.sources.filter((x) => x.torn_line).map((x) => `<p class="small">${esc(x.source)}: skipped the incomplete last line ${x.torn_line} of its episodes file (an interrupted write; the next run repairs it)</p>`).join('')}<table class="grid small"><thead><tr><th>path in repo</th><th>bytes</th></tr></thead><tbody>
    ${s.files.map((f) => `<tr><td>${esc(f.path_in_repo)}</td><td>${f.size_bytes}</td></tr>`).join('')}</tbody></table>
    <h2>Dataset card</h2><pre class="out">${esc(s.card)}</pre>`;
};
$('#pub-upload').onclick = async () => {
  const req = publishRequest();
  if (!window.confirm(`Upload to ${req.repo}${req.private ? ' (private)' : ''}?`)) return;
  const prog = $('#pub-progress'); prog.classList.remove('hidden');
  const ch = new Channel();
  ch.onmessage = (e) => { if (e.type === 'upload') { $('progress', prog).max = e.total || 1; $('progress', prog).value = e.done; $('span', prog).textContent = `${e.phase} ${e.done}/${e.total}`; } };
  const r = await call('publish', { request: req, on_event: ch }).catch(() => null);
  const box = $('#pub-result'); box.classList.remove('hidden');
  box.innerHTML = r ? (r.unchanged ? `Nothing changed: <a href="${esc(r.url)}">${esc(r.url)}</a> already holds these files.` : `Committed ${esc(r.commit ?? '')} (${r.added.length} added, ${r.deleted.length} deleted): <a href="${esc(r.url)}">${esc(r.url)}</a>`) : 'upload failed (see the error above)';
};

// ---------- start ----------
loadConfig().then(loadDatasets).catch(() => {});

// sockit ui: the page. Everything it shows comes from the sockit process over
// one WebSocket (internal/web/client.go): session states, batches of events
// and counters. The text of messages arrives decoded and escaped by sockit's
// codec; the page only lays it out. Plain JavaScript, no build step, no
// inline script (the Content-Security-Policy forbids it).
'use strict';

(function () {
  const MAX_ITEMS = 100000; // events a session keeps in the page
  const TRIM = 5000;        // forgotten at a time once past MAX_ITEMS
  const LINE_H = 19;        // px: the log's line height (app.css says the same)
  const OVERSCAN = 8;       // rows drawn beyond the edges of the view
  const FLOOD_RATE = 200;   // events a second past which the log is a flood
  const FLOOD_GAP = 200;    // ms between draws of the log during a flood
  const narrow = window.matchMedia ? window.matchMedia('(max-width: 900px)') : null;

  const I = window.sockitI18n;
  const t = I.t, tr = I.tr;

  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  function h(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  // num groups thousands with commas (toLocaleString is far too slow for
  // the rates the log is drawn at).
  function num(n) {
    n = Math.trunc(Number(n) || 0);
    const neg = n < 0;
    let s = String(neg ? -n : n);
    if (s.length > 3) {
      let out = s.slice(0, s.length % 3 || 3);
      for (let i = out.length; i < s.length; i += 3) out += ',' + s.slice(i, i + 3);
      s = out;
    }
    return neg ? '-' + s : s;
  }
  function human(n) {
    n = Number(n || 0);
    if (n < 1024) return n + ' B';
    const u = ['KiB', 'MiB', 'GiB', 'TiB'];
    let i = -1;
    do { n /= 1024; i++; } while (n >= 1024 && i < u.length - 1);
    return n.toFixed(n < 10 ? 2 : n < 100 ? 1 : 0) + ' ' + u[i];
  }
  function clock(ms) {
    const d = new Date(ms);
    const p = (v, n) => String(v).padStart(n || 2, '0');
    return p(d.getHours()) + ':' + p(d.getMinutes()) + ':' + p(d.getSeconds()) + '.' + p(d.getMilliseconds(), 3);
  }
  function stamp(ms) {
    const d = new Date(ms);
    const p = (v) => String(v).padStart(2, '0');
    return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + ' ' + clock(ms);
  }

  const app = {
    ws: null, connected: false, sessions: new Map(), active: 0,
    encodings: [], checksums: [], saved: [], reqs: new Map(), seq: 0, activateNext: 0, extraLine: 0,
    frame: 0, later: 0, flood: false, arrived: 0, drawnAt: 0,
    synced: false, activeKey: '', restore: [],
  };
  window.sockit = app; // for a look from the console (and the browser tests)

  // ---- Connection ----------------------------------------------------------

  function setLink(text, cls) {
    const l = $('#link');
    l.textContent = text;
    l.className = 'link ' + cls;
  }

  function connect() {
    setLink(t('link.connecting'), 'wait');
    const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws');
    app.ws = ws;
    ws.addEventListener('open', () => { app.connected = true; setLink(t('link.connected'), 'ok'); });
    ws.addEventListener('message', (ev) => {
      let m;
      try { m = JSON.parse(ev.data); } catch (e) { return; }
      onMessage(m);
    });
    ws.addEventListener('close', () => {
      if (app.ws !== ws) return;
      app.connected = false;
      for (const r of app.reqs.values()) r.reject(new Error(t('err.lost')));
      app.reqs.clear();
      setLink(t('link.lost'), 'bad');
      setTimeout(connect, 2000);
    });
  }

  // cmd sends one command and resolves with the reply (rejects on an error).
  function cmd(op, fields) {
    return new Promise((resolve, reject) => {
      if (!app.connected) { reject(new Error(t('err.notConnected'))); return; }
      const req = String(++app.seq);
      app.reqs.set(req, { resolve, reject });
      app.ws.send(JSON.stringify(Object.assign({ op: op, req: req }, fields)));
    });
  }

  function onMessage(m) {
    const s = m.sid ? app.sessions.get(m.sid) : null;
    switch (m.type) {
      case 'hello': onHello(m); break;
      case 'synced': onSynced(); break; // every open session is here now
      case 'restore': app.restore = m.restore || []; renderRestore(); break;
      case 'state': upsert(m.session); break;
      case 'closed': removeSession(m.sid); break;
      case 'reset': if (s) resetLog(s, m.hidden || 0); break;
      case 'events': if (s) addEvents(s, m.events || [], m.skipped || 0); break;
      case 'stats':
        // Drawn with the log, once a frame at most.
        if (s) { s.st.stats = m.stats; s.st.peers = m.peers || []; if (m.log) s.st.log = m.log; if (m.loss) s.st.loss = m.loss; if (m.recvFile) { s.st.recvFile = m.recvFile; renderFiles(s); } s.statsStale = true; if (s.sid === app.active) schedule(s, true); }
        break;
      case 'saved':
        app.saved = m.saved || [];
        for (const t of app.sessions.values()) renderSaved(t);
        break;
      case 'ok': case 'error': {
        const r = app.reqs.get(m.req);
        if (!r) break;
        app.reqs.delete(m.req);
        // An error may carry a question (m.confirm): the command goes
        // through if sent again with confirm: true.
        if (m.type === 'ok') r.resolve(m); else r.reject(Object.assign(new Error(m.error), { confirm: m.confirm || '' }));
        break;
      }
    }
  }

  function onHello(m) {
    app.synced = false;
    app.activeKey = m.active || '';
    // Where the user was (the tab, its view and filter) is kept by sockit:
    // the sessions come back with it, after a reconnect or a restart.
    for (const sid of Array.from(app.sessions.keys())) removeSession(sid);
    app.encodings = m.encodings || ['utf-8'];
    app.checksums = m.checksums || [];
    fillSelect($('#new-verify'), app.checksums, $('#new-verify').value || '', ['', t('adv.verify.none')]);
    fillEncodings();
    document.title = t('app.title');
  }

  // encodings: the list in the order the user reads it. Chinese users'
  // devices speak GBK far more often than anything else, so with the page
  // in Chinese GBK (then GB18030) comes first and is the default.
  function encodings() {
    if (I.lang !== 'zh-CN') return app.encodings;
    const first = ['gbk', 'gb18030'].filter((n) => app.encodings.includes(n));
    return first.concat(app.encodings.filter((n) => !first.includes(n)));
  }
  const defaultEncoding = () => encodings()[0] || 'utf-8';

  // fillEncodings fills the new-session form's list, keeping a choice the
  // user made.
  function fillEncodings() {
    const sel = $('#new-encoding');
    const keep = sel.dataset.chosen ? sel.value : defaultEncoding();
    fillSelect(sel, encodings(), keep);
  }

  function onSynced() {
    app.synced = true;
    if (!app.sessions.size) { showForm(true); return; }
    activateKey(app.activeKey);
  }

  // activateKey shows the session with the workspace key key, if open.
  function activateKey(key) {
    for (const s of app.sessions.values()) {
      if (key && s.st.key === key) { activate(s.sid); return true; }
    }
    return false;
  }

  // ---- Sessions of the last run ------------------------------------------------

  function renderRestore() {
    const list = app.restore;
    $('#restore').hidden = !list.length;
    $('#restore-error').textContent = '';
    if (!list.length) return;
    const names = list.map((r) => r.title || r.key).join(', ');
    $('#restore-text').textContent = t('restore.text', { n: list.length, names: names });
  }

  function restoreSessions() {
    $('#restore-open').disabled = true;
    cmd('restore', {}).then(() => {
      $('#restore-open').disabled = false;
      activateKey(app.activeKey);
    }, (e) => {
      $('#restore-open').disabled = false;
      activateKey(app.activeKey);
      $('#restore-error').textContent = e.message;
    });
  }

  function fillSelect(sel, names, value, first) {
    sel.textContent = '';
    if (first) sel.append(new Option(first[1], first[0]));
    for (const n of names) sel.append(new Option(n, n));
    if (value != null) {
      if (!names.includes(value) && value !== '' ) sel.append(new Option(value, value));
      sel.value = value;
    }
  }

  // ---- New session form ------------------------------------------------------

  const form = { kind: 'tcp-client' };

  function setKind(kind) {
    form.kind = kind;
    for (const b of $$('.kinds button')) b.classList.toggle('on', b.dataset.kind === kind);
    $('#kind-help').textContent = t('help.' + kind);
    $('#kind-more').textContent = t('form.more.' + kind);
    const remote = $('.f-remote'), local = $('.f-local');
    remote.hidden = kind === 'tcp-server';
    $('#lbl-remote').textContent = t(kind === 'udp' ? 'form.remoteUDP' : 'form.remote');
    $('#lbl-local').textContent = t(kind === 'tcp-client' ? 'form.localClient' : kind === 'udp' ? 'form.localUDP' : 'form.listen');
    const loc = $('#new-local');
    if (kind === 'tcp-client') { loc.placeholder = t('form.any'); if (form.lastKind !== kind) loc.value = ''; }
    if (kind === 'tcp-server') { loc.placeholder = t('form.listen.ph'); if (!loc.value) loc.value = '127.0.0.1:8888'; }
    if (kind === 'udp') { loc.placeholder = t('form.bind.ph'); if (!loc.value || form.lastKind === 'tcp-server') loc.value = '127.0.0.1:0'; }
    $('#new-remote').placeholder = kind === 'udp' ? '127.0.0.1:9000' : '127.0.0.1:8888';
    $('.f-frame').hidden = kind === 'udp';
    $('#new-tls-box').hidden = kind === 'udp';
    $('#new-tls-box').classList.toggle('client', kind === 'tcp-client');
    $('#new-tls-box').classList.toggle('server', kind === 'tcp-server');
    for (const e of $$('#new-form [data-kinds]')) e.hidden = !e.dataset.kinds.split(' ').includes(kind);
    local.hidden = false;
    form.lastKind = kind;
  }

  function showForm(on) {
    $('#new-form').hidden = !on;
    for (const s of app.sessions.values()) s.el.classList.toggle('active', !on && s.sid === app.active);
    for (const s of app.sessions.values()) s.tab.classList.toggle('active', !on && s.sid === app.active);
    if (on) {
      $('#new-error').textContent = '';
      setTimeout(() => (form.kind === 'tcp-server' ? $('#new-local') : $('#new-remote')).focus(), 0);
    }
  }

  function frameValue() {
    const f = $('#new-frame').value, arg = $('#new-frame-arg').value.trim();
    if (f === 'delim') return 'delim:' + arg.replace(/\s+/g, '');
    if (f === 'fixed') return 'fixed:' + arg;
    return f;
  }

  function openSession() {
    const kind = form.kind;
    const f = {
      kind: kind,
      name: $('#new-name').value.trim(),
      remote: kind === 'tcp-server' ? '' : $('#new-remote').value.trim(),
      local: $('#new-local').value.trim(),
      encoding: $('#new-encoding').value,
      frame: kind === 'udp' ? '' : frameValue(),
    };
    if (kind === 'tcp-client' && $('#new-autoreconnect').checked) f.autoReconnect = true;
    if (kind === 'udp') {
      if ($('#new-broadcast').checked) f.broadcast = true;
      f.group = $('#new-group').value.trim();
      f.iface = $('#new-iface').value.trim();
      if ($('#new-ttl').value !== '') f.ttl = Number($('#new-ttl').value);
      if (!$('#new-loop').checked) f.noLoop = true;
    }
    if (kind !== 'udp' && $('#new-tls').checked) {
      f.tls = kind === 'tcp-client'
        ? { on: true, insecure: $('#new-insecure').checked, pin: $('#new-pin').value.trim(), sni: $('#new-sni').value.trim(), ca: $('#new-ca').value.trim() }
        : { on: true, cert: $('#new-cert').value.trim(), key: $('#new-key').value.trim() };
    }
    // The advanced fold.
    const v = (id) => $(id).value.trim();
    if (f.tls) {
      f.tls.alpn = v('#new-alpn');
      f.tls.min = $('#new-tls-min').value;
      if (kind === 'tcp-client') { f.tls.clientCert = v('#new-client-cert'); f.tls.clientKey = v('#new-client-key'); }
    }
    if (kind === 'tcp-client') f.proxy = v('#new-proxy');
    f.verify = $('#new-verify').value;
    if (v('#new-idle') !== '') f.idle = Number(v('#new-idle'));
    if (kind !== 'tcp-client') {
      f.allow = v('#new-allow');
      f.deny = v('#new-deny');
      if (v('#new-max-conns') !== '') f.maxConns = Number(v('#new-max-conns'));
    }
    doOpen(f);
  }

  function doOpen(f) {
    $('#new-error').textContent = '';
    $('#new-open').disabled = true;
    cmd('open', f).then((m) => {
      $('#new-open').disabled = false;
      $('#new-name').value = '';
      // The session's state may have come before this reply, or may follow.
      if (app.sessions.has(m.sid)) activate(m.sid); else app.activateNext = m.sid;
    }, (e) => {
      $('#new-open').disabled = false;
      if (e.confirm && !f.confirm) {
        // A server other machines (or users) can reach: ask first.
        askConfirm(e.confirm).then((yes) => {
          if (yes) doOpen(Object.assign({}, f, { confirm: true }));
          else $('#new-error').textContent = t('form.notOpened');
        });
        return;
      }
      $('#new-error').textContent = tr(e.message);
    });
  }

  // askConfirm shows question in the confirmation dialog and resolves
  // true if the user chose to go ahead (Cancel and Escape say no).
  function askConfirm(question) {
    return new Promise((resolve) => {
      const d = $('#confirm');
      $('#confirm-question').textContent = question;
      d.returnValue = '';
      d.addEventListener('close', () => resolve(d.returnValue === 'yes'), { once: true });
      d.showModal();
      $('#confirm-no').focus();
    });
  }

  // ---- Sessions --------------------------------------------------------------

  function upsert(st) {
    let s = app.sessions.get(st.sid);
    if (!s) s = createSession(st);
    s.st = st;
    renderState(s);
    if (app.activateNext === st.sid) { app.activateNext = 0; activate(st.sid); }
    else if (!app.active && $('#new-form').hidden) activate(st.sid);
  }

  function activate(sid) {
    const s = app.sessions.get(sid);
    if (!s) return;
    app.active = sid;
    $('#new-form').hidden = true;
    for (const t of app.sessions.values()) {
      const on = t.sid === sid;
      t.el.classList.toggle('active', on);
      t.tab.classList.toggle('active', on);
      t.tab.setAttribute('aria-selected', on ? 'true' : 'false');
    }
    s.unread = 0;
    $('.badge', s.tab).textContent = '';
    s.tab.scrollIntoView({ block: 'nearest', inline: 'nearest' });
    s.statsStale = false;
    renderStats(s);
    renderPeers(s);
    draw(s, true);
    if (app.synced && app.activeKey !== s.st.key) {
      app.activeKey = s.st.key;
      cmd('view', { sid: sid, active: true }).catch(() => {});
    }
  }

  function removeSession(sid) {
    const s = app.sessions.get(sid);
    if (!s) return;
    s.el.remove();
    s.tab.remove();
    app.sessions.delete(sid);
    if (app.active === sid) {
      app.active = 0;
      const next = Array.from(app.sessions.keys()).pop();
      if (next) activate(next); else showForm(true);
    }
  }

  function createSession(st) {
    const el = $('#panel-tpl').content.firstElementChild.cloneNode(true);
    el.dataset.sid = st.sid;
    const tab = h('button', 'tab');
    tab.type = 'button';
    tab.setAttribute('role', 'tab');
    tab.dataset.sid = st.sid;
    tab.append(h('span', 'dot'), h('span', 'title'), h('span', 'badge'));
    const x = h('span', 'x', '×');
    x.title = t('panel.close');
    tab.append(x);
    const s = {
      sid: st.sid, st: st, el: el, tab: tab, items: [], hidden: 0, dropped: 0, skipped: 0,
      view: 'text', mode: 'text', paused: false, pendingWhilePaused: 0, filter: '', unread: 0,
      hist: -1, target: '', follow: true, stale: false,
      rows: [], starts: [], end: 0, base: 0, alt: { starts: [], end: 0, base: 0 }, drawn: new Map(), space: null,
      date: false, hideIn: false, hideOut: false, hideEv: false,
    };
    app.sessions.set(st.sid, s);
    $('#tabs').append(tab);
    $('#main').append(el);
    tab.addEventListener('click', (ev) => {
      if (ev.target === x) { closeSession(s); return; }
      activate(s.sid);
    });
    tab.addEventListener('auxclick', (ev) => { if (ev.button === 1) closeSession(s); });
    wirePanel(s);
    renderSaved(s);
    const v = st.view || {};
    if (v.filter) { q(s, '.filter').value = v.filter; s.filter = v.filter.trim().toLowerCase(); }
    if (v.mode === 'hex') setView(s, 'hex', true);
    else renderLog(s);
    return s;
  }

  function closeSession(s) {
    cmd('close', { sid: s.sid }).catch((e) => showSendError(s, e));
  }

  function q(s, sel) { return $(sel, s.el); }

  function wirePanel(s) {
    const el = s.el;
    fillSelect(q(s, '.enc'), encodings(), s.st.encoding);
    fillSelect(q(s, '.send-enc'), encodings(), '', ['', t('send.session')]);
    fillSelect(q(s, '.checksum'), app.checksums, '', ['', t('send.none')]);
    q(s, '.dl-jsonl').href = '/log/' + s.sid + '.jsonl';
    q(s, '.dl-text').href = '/log/' + s.sid + '.txt';

    q(s, '.close-session').addEventListener('click', () => closeSession(s));
    q(s, '.reconnect').addEventListener('click', () => cmd('reconnect', { sid: s.sid }).catch((e) => showSendError(s, e)));
    // Files: receive to one, send one.
    const fileError = (e) => { q(s, '.file-error').textContent = e ? e.message || String(e) : ''; };
    q(s, '.recv-start').addEventListener('click', () => {
      cmd('recvfile', { sid: s.sid, path: q(s, '.recv-path').value.trim() }).then(() => fileError(null), fileError);
    });
    q(s, '.recv-stop').addEventListener('click', () => cmd('stoprecv', { sid: s.sid }).then(() => fileError(null), fileError));
    q(s, '.send-file').addEventListener('click', () => {
      const f = { sid: s.sid, path: q(s, '.send-path').value.trim(), to: s.st.kind === 'tcp-client' ? '' : q(s, '.to').value };
      const chunk = q(s, '.file-chunk').value, delay = q(s, '.file-delay').value;
      if (chunk !== '') f.chunk = Number(chunk);
      if (delay !== '') f.delay = Number(delay);
      cmd('sendfile', f).then(() => fileError(null), fileError);
    });
    q(s, '.stop-file').addEventListener('click', () => cmd('stopfile', { sid: s.sid }).catch(fileError));
    q(s, '.seq-check').addEventListener('change', (ev) => {
      cmd('seqcheck', { sid: s.sid, seqCheck: ev.target.checked }).catch((e) => showSendError(s, e));
    });
    q(s, '.auto-reconnect').addEventListener('change', (ev) => {
      cmd('autoreconnect', { sid: s.sid, autoReconnect: ev.target.checked }).catch((e) => showSendError(s, e));
    });
    q(s, '.disconnect').addEventListener('click', () => cmd('kick', { sid: s.sid, peer: 'connection' }).catch((e) => showSendError(s, e)));
    q(s, '.enc').addEventListener('change', (ev) => {
      cmd('setenc', { sid: s.sid, encoding: ev.target.value }).catch((e) => { showSendError(s, e); ev.target.value = s.st.encoding; });
    });

    for (const b of $$('.view button', el)) b.addEventListener('click', () => setView(s, b.dataset.view));
    for (const b of $$('.mode button', el)) b.addEventListener('click', () => setMode(s, b.dataset.mode));
    let ft = 0;
    q(s, '.filter').addEventListener('input', (ev) => {
      clearTimeout(ft);
      ft = setTimeout(() => { s.filter = ev.target.value.trim().toLowerCase(); renderLog(s); keepView(s); }, 120);
    });
    q(s, '.autoscroll').addEventListener('change', (ev) => { s.follow = ev.target.checked; if (s.follow) scrollDown(s); });
    q(s, '.log').addEventListener('scroll', () => {
      const log = q(s, '.log');
      // Scrolling up to read stops following; scrolling back down resumes.
      // A scroll the page made itself lands where it was put (setTop);
      // a flag would go stale when setting scrollTop moved nothing and
      // fired no event, and then ignore the reader's next scroll.
      const ours = s.setTop !== undefined && Math.abs(log.scrollTop - s.setTop) < 2;
      s.setTop = undefined;
      // The page's own scroll changes nothing: the draw that made it has
      // drawn the rows for it (and during a flood this is every frame).
      if (ours) return;
      const atEnd = log.scrollHeight - log.scrollTop - log.clientHeight < 24;
      s.follow = atEnd;
      q(s, '.autoscroll').checked = s.follow;
      if (!s.follow || !s.paused) drawRows(s, log);
    }, { passive: true });
    q(s, '.pause').addEventListener('click', () => setPaused(s, !s.paused));
    // Display options: the time column (with the date or not), and which
    // rows show: received, sent, the other events.
    const opt = (cls, f) => q(s, cls).addEventListener('change', (ev) => { f(ev.target.checked); renderLog(s); });
    opt('.show-time', (on) => { q(s, '.log').classList.toggle('notime', !on); q(s, '.show-date').disabled = !on; });
    opt('.show-date', (on) => { s.date = on; q(s, '.log').classList.toggle('dated', on); });
    opt('.show-in', (on) => { s.hideIn = !on; });
    opt('.show-out', (on) => { s.hideOut = !on; });
    opt('.show-ev', (on) => { s.hideEv = !on; });
    q(s, '.clear').addEventListener('click', () => clearLog(s));
    q(s, '.reset').addEventListener('click', () => cmd('reset', { sid: s.sid }).catch((e) => showSendError(s, e)));

    q(s, '.send').addEventListener('click', () => send(s, false));
    q(s, '.start-repeat').addEventListener('click', () => send(s, true));
    // Once a value was refused, say at once when it is right again.
    for (const cls of ['.every', '.count']) {
      q(s, cls).addEventListener('input', () => { if (q(s, '.repeat-error').textContent) repeatValues(s); });
    }
    q(s, '.stop-repeat').addEventListener('click', () => cmd('stop', { sid: s.sid }).catch((e) => showSendError(s, e)));
    q(s, '.history').addEventListener('change', (ev) => {
      if (ev.target.value !== '') { q(s, '.send-text').value = ev.target.value; q(s, '.send-text').focus(); }
      ev.target.value = '';
    });
    q(s, '.save').addEventListener('click', () => save(s));
    q(s, '.to').addEventListener('change', (ev) => { s.target = ev.target.value; renderPeers(s); });
    q(s, '.rules-text').addEventListener('input', () => {
      s.rulesEdited = true;
      q(s, '.rules-info').textContent = t('rules.pending');
    });
    q(s, '.apply-rules').addEventListener('click', () => {
      const rules = q(s, '.rules-text').value.split('\n').map((r) => r.trim()).filter((r) => r !== '');
      cmd('rules', { sid: s.sid, rules: rules }).then(() => {
        s.rulesEdited = false;
        s.rulesApplied = rules.length;
        q(s, '.rules-info').textContent = rules.length ? t('rules.active', { n: rules.length }) : t('rules.none');
      }, (e) => { q(s, '.rules-info').textContent = tr(e.message); });
    });
    q(s, '.send-text').addEventListener('keydown', (ev) => {
      if ((ev.ctrlKey || ev.metaKey) && (ev.key === 'ArrowUp' || ev.key === 'ArrowDown')) {
        ev.preventDefault();
        history(s, ev.key === 'ArrowUp' ? 1 : -1);
      }
    });
  }

  function setView(s, view, restoring) {
    if (view !== s.view) {
      const a = s.alt;
      s.alt = { starts: s.starts, end: s.end, base: s.base };
      s.starts = a.starts;
      s.end = a.end;
      s.base = a.base;
      s.view = view;
    }
    for (const b of $$('.view button', s.el)) b.classList.toggle('on', b.dataset.view === view);
    relayout(s);
    if (!restoring) keepView(s);
  }

  // keepView has sockit keep the session's view and filter (the workspace).
  function keepView(s) {
    cmd('view', { sid: s.sid, view: s.view, filter: q(s, '.filter').value }).catch(() => {});
  }

  function setMode(s, mode) {
    s.mode = mode;
    for (const b of $$('.mode button', s.el)) b.classList.toggle('on', b.dataset.mode === mode);
    sendPlaceholder(s);
    q(s, '.eol').value = mode === 'hex' ? 'none' : 'lf';
    q(s, '.send-enc').disabled = mode === 'hex';
    q(s, '.escapes').disabled = mode === 'hex';
  }

  function sendPlaceholder(s) {
    q(s, '.send-text').placeholder = t(s.mode === 'hex' ? 'send.hex.ph' : 'send.ph');
  }

  function setPaused(s, on) {
    s.paused = on;
    q(s, '.pause').textContent = t(on ? 'log.resume' : 'log.pause');
    q(s, '.pause').classList.toggle('primary', on);
    if (!on) s.pendingWhilePaused = 0;
    draw(s, true);
  }

  function clearLog(s) {
    cmd('clear', { sid: s.sid }).catch((e) => showSendError(s, e));
  }

  function showSendError(s, e) {
    q(s, '.send-error').textContent = e ? tr(e.message || String(e)) : '';
  }

  // eolOf is the line end of a message: CR for an AT command when "AT:
  // auto CR" is on (as the assistants do), else the one chosen.
  function eolOf(data, hex, atcr, eol) {
    return !hex && atcr && /^\s*AT/i.test(data) ? 'cr' : eol;
  }

  // eolFor is eolOf with the send box's settings.
  function eolFor(s, data, hex) {
    return eolOf(data, hex, q(s, '.atcr').checked, q(s, '.eol').value);
  }

  // repeatValues reads the repeat's interval and count, or says next to
  // the fields what is wrong with them (and returns null): a value out of
  // range is never changed behind the user's back.
  const MAX_EVERY = 3600000, MAX_COUNT = 1000000000;
  function repeatValues(s) {
    const whole = (v, lo, hi) => (/^\s*\d+\s*$/.test(v) && +v >= lo && +v <= hi ? +v : null);
    const every = whole(q(s, '.every').value, 1, MAX_EVERY);
    const count = whole(q(s, '.count').value, 0, MAX_COUNT);
    const msgs = [];
    for (const [cls, ok, key] of [['.every', every != null, 'repeat.badEvery'], ['.count', count != null, 'repeat.badCount']]) {
      const e = q(s, cls);
      e.classList.toggle('bad', !ok);
      e.setAttribute('aria-invalid', ok ? 'false' : 'true');
      if (!ok) msgs.push(t(key, { max: num(cls === '.every' ? MAX_EVERY : MAX_COUNT) }));
    }
    const err = q(s, '.repeat-error');
    err.textContent = msgs.join(' ');
    err.dataset.key = msgs.length ? 'bad' : '';
    return msgs.length ? null : { every: every, count: count };
  }

  function send(s, repeat) {
    const data = q(s, '.send-text').value;
    const f = {
      sid: s.sid,
      data: data,
      hex: s.mode === 'hex',
      encoding: q(s, '.send-enc').value,
      eol: eolFor(s, data, s.mode === 'hex'),
      escapes: s.mode !== 'hex' && q(s, '.escapes').checked,
      template: q(s, '.template').checked,
      checksum: q(s, '.checksum').value,
      to: s.st.kind === 'tcp-client' ? '' : q(s, '.to').value,
    };
    if (repeat) {
      const r = repeatValues(s);
      if (!r) return;
      f.every = r.every;
      f.count = r.count;
      if (f.count === 1) f.every = 0;
    }
    s.hist = -1;
    cmd('send', f).then(() => showSendError(s, null), (e) => showSendError(s, e));
  }

  function history(s, dir) {
    const list = s.st.history || [];
    if (!list.length) return;
    s.hist = Math.max(-1, Math.min(list.length - 1, s.hist + dir));
    q(s, '.send-text').value = s.hist < 0 ? '' : list[list.length - 1 - s.hist];
  }

  function save(s) {
    const name = q(s, '.save-name').value.trim();
    if (!name) { showSendError(s, new Error(t('send.needName'))); q(s, '.save-name').focus(); return; }
    cmd('save', {
      name: name, data: q(s, '.send-text').value, hex: s.mode === 'hex', encoding: q(s, '.send-enc').value,
      eol: q(s, '.eol').value, escapes: s.mode !== 'hex' && q(s, '.escapes').checked,
      template: q(s, '.template').checked, checksum: q(s, '.checksum').value, atcr: q(s, '.atcr').checked,
    }).then(() => { q(s, '.save-name').value = ''; showSendError(s, null); }, (e) => showSendError(s, e));
  }

  // sendSaved sends a saved message with the settings it was saved with,
  // whatever the send box holds now.
  function sendSaved(s, m) {
    const eol = eolOf(m.data, m.hex, m.atcr, m.eol || 'none');
    cmd('send', {
      sid: s.sid, data: m.data, hex: !!m.hex, encoding: m.encoding || '', eol: eol, escapes: !!m.escapes,
      template: !!m.template, checksum: m.checksum || '',
      to: s.st.kind === 'tcp-client' ? '' : q(s, '.to').value,
    }).then(() => showSendError(s, null), (e) => showSendError(s, e));
  }

  // ---- Rendering the state -----------------------------------------------------

  function renderState(s) {
    const st = s.st;
    $('.title', s.tab).textContent = tr(st.title);
    s.tab.title = tr(st.title) + ' · ' + tr(st.status);
    $('.dot', s.tab).className = 'dot ' + st.state;
    q(s, '.statusbar .dot').className = 'dot ' + st.state;
    const status = q(s, '.status');
    status.textContent = tr(st.status);
    status.classList.toggle('failed', st.state === 'failed');
    const chips = q(s, '.chips');
    chips.textContent = '';
    const parts = [t('chip.' + st.kind)];
    if (st.tls) parts.push(t('chip.tls'));
    if (st.kind !== 'udp') parts.push(t('chip.frame', { f: st.frame }));
    for (const p of parts) chips.append(h('span', 'chip', p));
    const enc = q(s, '.enc');
    if (enc.value !== st.encoding) fillSelect(enc, encodings(), st.encoding);
    const client = st.kind === 'tcp-client';
    q(s, '.reconnect').hidden = !client || !(st.state === 'closed' || st.state === 'failed');
    q(s, '.disconnect').hidden = !client || st.state !== 'connected';
    q(s, '.to-label').hidden = client;
    q(s, '.peers').hidden = client;
    // History, rebuilt only when it changed (an open list would close).
    const history = st.history || [];
    const hkey = history.join('\u0000');
    if (hkey !== s.historyKey) {
      s.historyKey = hkey;
      const hs = q(s, '.history');
      hs.textContent = '';
      hs.append(new Option(t('send.historyN', { n: history.length }), ''));
      for (const d of history.slice().reverse()) hs.append(new Option(d.length > 60 ? d.slice(0, 60) + '…' : d, d));
    }
    // Repeat
    const r = st.repeat;
    const active = !!(r && r.active);
    q(s, '.stop-repeat').hidden = !active;
    q(s, '.start-repeat').hidden = active;
    q(s, '.repeat-info').textContent = r
      ? t(active ? 'repeat.sending' : 'repeat.sent', { n: num(r.sent) }) + (r.total ? t('repeat.of', { n: num(r.total) }) : active ? t('repeat.forever') : '') +
        (r.missed ? t('repeat.missed', { n: num(r.missed) }) : '')
      : '';
    q(s, '.repeat-info').dataset.missed = r ? r.missed || 0 : 0;
    // A client's reconnecting.
    q(s, '.auto-reconnect-label').hidden = !client;
    q(s, '.auto-reconnect').checked = !!st.autoReconnect;
    const retry = q(s, '.retry-info');
    retry.textContent = st.retry ? t('retry.wait', { s: (st.retry.delay / 1000).toFixed(1), n: st.retry.attempt }) : '';
    retry.dataset.attempt = st.retry ? st.retry.attempt : 0;
    renderFiles(s);
    // Rules, unless the text has edits not applied yet.
    if (!s.rulesEdited) q(s, '.rules-text').value = (st.rules || []).join('\n');
    renderStats(s);
    renderPeers(s);
  }

  function renderStats(s) {
    const c = s.st.stats || {};
    const set = (cls, text, n) => { const e = q(s, cls); e.textContent = text; e.dataset.n = n; };
    set('.b-in', num(c.bytesIn), c.bytesIn || 0);
    set('.b-out', num(c.bytesOut), c.bytesOut || 0);
    set('.m-in', num(c.msgsIn), c.msgsIn || 0);
    set('.m-out', num(c.msgsOut), c.msgsOut || 0);
    set('.r-in', human(c.rateIn) + '/s', c.rateIn || 0);
    set('.r-out', human(c.rateOut) + '/s', c.rateOut || 0);
    renderLogUse(s);
    renderLoss(s);
  }

  // renderLoss: the kernel's drops for a UDP socket, and the gaps in the
  // peers' sequence numbers when counted.
  function renderLoss(s) {
    const l = s.st.loss || {};
    const d = q(s, '.drops');
    d.hidden = !l.dropsKnown;
    d.textContent = t('loss.drops', { n: num(l.drops) });
    d.dataset.n = l.drops || 0;
    q(s, '.seq-check').checked = !!l.seqCheck;
    const g = q(s, '.gaps');
    g.hidden = !l.seqCheck;
    g.textContent = t('loss.gaps', { gaps: num(l.gaps), late: num(l.reordered) });
    g.dataset.gaps = l.gaps || 0;
    g.dataset.late = l.reordered || 0;
  }

  // renderFiles: the file received to and the file sent, with progress.
  function renderFiles(s) {
    const r = s.st.recvFile, f = s.st.sendFile;
    const recvOn = !!(r && r.active), sendOn = !!(f && f.active);
    q(s, '.recv-start').hidden = recvOn;
    q(s, '.recv-stop').hidden = !recvOn;
    q(s, '.recv-path').disabled = recvOn;
    const ri = q(s, '.recv-info');
    ri.textContent = r ? t(recvOn ? 'files.recv.active' : 'files.recv.done', { bytes: human(r.bytes) }) + (r.error ? ' · ' + r.error : '') : '';
    ri.dataset.bytes = r ? r.bytes : 0;
    q(s, '.send-file').hidden = sendOn;
    q(s, '.stop-file').hidden = !sendOn;
    const pr = q(s, '.file-progress');
    pr.hidden = !f;
    const fi = q(s, '.file-info');
    if (f) {
      pr.value = f.total ? f.bytes / f.total : (sendOn ? 0 : 1);
      fi.textContent = t('files.sent', { bytes: human(f.bytes), total: human(f.total) }) + (f.error ? ' · ' + f.error : '');
      fi.dataset.bytes = f.bytes;
      fi.dataset.done = sendOn ? '' : (f.error ? 'error' : 'ok');
    } else {
      fi.textContent = '';
    }
  }

  // renderLogUse: how much of its bound the session's log in sockit holds,
  // and how many of the oldest events it dropped to stay within it.
  function renderLogUse(s) {
    const l = s.st.log || {};
    const held = q(s, '.log-held');
    held.textContent = t('log.use', { held: human(l.held), cap: human(l.cap) });
    held.dataset.n = l.held || 0;
    const d = q(s, '.log-dropped');
    d.textContent = l.dropped ? t('log.dropped', { n: l.dropped, bytes: human(l.droppedBytes) }) : '';
    d.dataset.n = l.dropped || 0;
  }

  function renderPeers(s) {
    const st = s.st;
    if (st.kind === 'tcp-client') return;
    const peers = st.peers || [];
    const meta = (p) => t('peers.meta', { mi: num(p.msgsIn), in: human(p.in), mo: num(p.msgsOut), out: human(p.out) });
    // Counts change every second; the list and the "To" choice only when
    // peers come and go (rebuilding an open list would close it).
    const key = peers.map((p) => p.id + ' ' + p.addr).join(',') + '|' + s.target + '|' + (st.remote || '');
    if (key === s.peersKey) {
      for (const p of peers) {
        const li = $('li[data-id="' + p.id + '"]', q(s, '.peer-list'));
        if (li) { $('.meta', li).textContent = meta(p); li.dataset.mi = p.msgsIn || 0; li.dataset.mo = p.msgsOut || 0; }
      }
      return;
    }
    s.peersKey = key;
    q(s, '.peer-count').textContent = peers.length ? '(' + peers.length + ')' : '';
    const ul = q(s, '.peer-list');
    ul.textContent = '';
    if (!peers.length) {
      ul.append(h('li', 'none', t(st.kind === 'udp' ? 'peers.noUDP' : 'peers.noTCP')));
    }
    for (const p of peers) {
      const li = h('li');
      const key = '#' + p.id;
      li.classList.toggle('target', s.target === key);
      li.dataset.peer = p.addr;
      li.dataset.id = p.id;
      li.dataset.mi = p.msgsIn || 0;
      li.dataset.mo = p.msgsOut || 0;
      const addr = h('span', 'addr', p.addr);
      addr.title = t('peers.conv', { id: p.id });
      const m = h('span', 'meta', meta(p));
      const to = h('button', 'linkbtn to-peer', t(s.target === key ? 'peers.toAll' : 'peers.sendTo'));
      to.type = 'button';
      to.title = t(s.target === key ? 'peers.toAll.title' : 'peers.sendTo.title');
      to.addEventListener('click', () => {
        s.target = s.target === key ? '' : key;
        renderPeers(s);
      });
      const kick = h('button', 'linkbtn kick', '×');
      kick.type = 'button';
      kick.title = t(st.kind === 'udp' ? 'peers.forget' : 'peers.kick');
      kick.addEventListener('click', () => cmd('kick', { sid: s.sid, peer: key }).catch((e) => showSendError(s, e)));
      li.append(addr, m, to, kick);
      ul.append(li);
    }
    // The "To" list: the natural default, every peer, each peer.
    const sel = q(s, '.to');
    const opts = [];
    if (st.kind === 'udp') {
      if (st.remote) opts.push(['remote', t('to.remote', { addr: st.remote.replace(/^udp:\/\//, '') })]);
      opts.push(['all', t('to.allPeers')]);
    } else {
      opts.push(['all', t('to.allClients')]);
    }
    for (const p of peers) opts.push(['#' + p.id, p.addr + ' (#' + p.id + ')']);
    if (s.target && !opts.some((o) => o[0] === s.target)) s.target = '';
    sel.textContent = '';
    for (const o of opts) sel.append(new Option(o[1], o[0]));
    sel.value = s.target || opts[0][0];
  }

  function renderSaved(s) {
    const ul = q(s, '.saved-list');
    ul.textContent = '';
    if (!app.saved.length) ul.append(h('li', 'none', t('saved.empty')));
    for (const m of app.saved) {
      const li = h('li');
      li.dataset.name = m.name;
      const go = h('button', 'btn go', '▶');
      go.type = 'button';
      go.title = t('saved.send', { name: m.name });
      go.addEventListener('click', () => sendSaved(s, m));
      const name = h('span', 'name', m.name);
      const how = [m.hex ? 'hex' : m.encoding, m.checksum, m.template ? '{{…}}' : '', m.eol && m.eol !== 'none' && !m.hex ? m.eol.toUpperCase() : ''].filter(Boolean);
      const pv = h('span', 'pv', m.data + (how.length ? ' · ' + how.join(' · ') : ''));
      pv.title = m.data + (how.length ? '\n' + how.join(' · ') : '');
      const load = h('button', 'linkbtn load', t('saved.edit'));
      load.type = 'button';
      load.title = t('saved.edit.title');
      load.addEventListener('click', () => {
        setMode(s, m.hex ? 'hex' : 'text');
        q(s, '.send-text').value = m.data;
        q(s, '.eol').value = m.eol || 'none';
        q(s, '.escapes').checked = !!m.escapes;
        q(s, '.template').checked = !!m.template;
        q(s, '.atcr').checked = !!m.atcr;
        const cs = q(s, '.checksum');
        if (m.checksum && !Array.from(cs.options).some((o) => o.value === m.checksum)) cs.append(new Option(m.checksum, m.checksum));
        cs.value = m.checksum || '';
        const enc = q(s, '.send-enc');
        if (m.encoding && !Array.from(enc.options).some((o) => o.value === m.encoding)) enc.append(new Option(m.encoding, m.encoding));
        enc.value = m.encoding || '';
        q(s, '.save-name').value = m.name;
        q(s, '.send-text').focus();
      });
      const del = h('button', 'linkbtn del', '×');
      del.type = 'button';
      del.title = t('saved.delete');
      del.addEventListener('click', () => cmd('unsave', { name: m.name }).catch((e) => showSendError(s, e)));
      li.append(go, name, pv, load, del);
      ul.append(li);
    }
  }

  // ---- The log -------------------------------------------------------------------
  //
  // The log is virtual: a session keeps up to MAX_ITEMS events, and only the
  // rows in sight (and a few around) exist in the page. Every row is a whole
  // number of lines of one fixed height (long lines end in an ellipsis, the
  // whole text is its tooltip), so where a row goes is known without
  // measuring it: s.starts[i] is the line row i starts on, counted from the
  // first line the session ever had, and s.base the first line still kept.
  // s.alt holds the same for the other view (text or hex), kept as rows
  // arrive, so that switching views swaps them instead of going through
  // every event kept while the user waits.
  // New events add rows at the end; the rows drawn are updated once a frame
  // at most, whatever the rate; nothing makes the whole log lay out again.

  function lines(e, view) {
    let n = 1;
    if (e.kind === 'data') {
      if (view === 'hex') n = Math.max(1, Math.ceil((e.len - (e.more || 0)) / 16)) + (e.more ? 1 : 0);
      else {
        if (e.tl == null) e.tl = textLines(e.text || '');
        n = e.tl;
      }
    }
    return n + app.extraLine;
  }

  function shows(s, e) {
    if (e.kind === 'data') {
      if (e.dir === 'in' ? s.hideIn : s.hideOut) return false;
    } else if (s.hideEv) return false;
    return matches(s, e);
  }

  // addRow puts e at the end of the rows shown, if it is to be shown.
  function addRow(s, e) {
    if (!shows(s, e)) return;
    s.rows.push(e);
    s.starts.push(s.end);
    s.end += lines(e, s.view);
    const a = s.alt;
    a.starts.push(a.end);
    a.end += lines(e, s.view === 'hex' ? 'text' : 'hex');
  }

  function resetLog(s, hidden) {
    s.items = [];
    s.hidden = hidden;
    s.dropped = 0;
    s.skipped = 0;
    s.pendingWhilePaused = 0;
    renderLog(s);
  }

  function addEvents(s, evs, skipped) {
    s.skipped += skipped;
    let unread = 0;
    for (const e of evs) {
      s.items.push(e);
      addRow(s, e);
      if (e.kind === 'data' && e.dir === 'in') unread++;
    }
    // Forget the oldest in chunks, so that a flood does not move the
    // arrays on every batch.
    if (s.items.length > MAX_ITEMS + TRIM) trim(s, s.items.length - MAX_ITEMS);
    if (s.paused) s.pendingWhilePaused += evs.length;
    app.arrived += evs.length;
    if (s.sid !== app.active) {
      s.unread += unread;
      $('.badge', s.tab).textContent = s.unread ? (s.unread > 999 ? '999+' : String(s.unread)) : '';
      return;
    }
    schedule(s);
  }

  function trim(s, n) {
    const gone = s.items[n - 1];
    s.items.splice(0, n);
    s.dropped += n;
    // The rows of the events gone: every row up to the last one dropped.
    let k = 0;
    while (k < s.rows.length && s.rows[k].seq <= gone.seq) k++;
    if (k) {
      const before = s.base;
      s.rows.splice(0, k);
      s.starts.splice(0, k);
      s.base = s.rows.length ? s.starts[0] : s.end;
      s.alt.starts.splice(0, k);
      s.alt.base = s.rows.length ? s.alt.starts[0] : s.alt.end;
      // Someone reading older rows keeps reading the same rows, drawn
      // where they now are at once (the scroll this makes is the page's
      // own, which draws nothing, and a flood's next draw can be 200 ms
      // away).
      if (!s.follow && s.space) {
        const l = q(s, '.log');
        l.scrollTop -= (s.base - before) * LINE_H;
        s.setTop = l.scrollTop;
        if (s.sid === app.active) drawRows(s, l);
      }
    }
  }

  // schedule draws the active session's log at the next frame, or, while
  // events pour in faster than anyone reads them, at the next frame after
  // FLOOD_GAP since the last draw: each draw then brings in a screenful of
  // new rows, and drawing that 60 times a second would keep the page's one
  // thread too busy to answer the user.
  function schedule(s, statsOnly) {
    if (!statsOnly) s.stale = true;
    if (app.frame || app.later) return;
    const wait = app.flood ? app.drawnAt + FLOOD_GAP - performance.now() : 0;
    if (wait > 0) app.later = setTimeout(() => { app.later = 0; app.frame = requestAnimationFrame(frame); }, wait);
    else app.frame = requestAnimationFrame(frame);
  }

  function frame(now) {
    app.frame = 0;
    const s = app.sessions.get(app.active);
    if (!s || !$('#new-form').hidden) return;
    // A flood: more than FLOOD_RATE events a second since the last draw.
    app.flood = app.arrived > FLOOD_RATE * Math.max(now - app.drawnAt, 1) / 1000;
    app.arrived = 0;
    app.drawnAt = now;
    if (s.statsStale) { s.statsStale = false; renderStats(s); renderPeers(s); }
    if (s.stale) draw(s);
  }

  function matches(s, e) {
    if (!s.filter) return true;
    if ((e.text || '').toLowerCase().includes(s.filter) || (e.peer || '').toLowerCase().includes(s.filter)) return true;
    const f = s.filter.replace(/[\s:]/g, '');
    return f !== '' && /^[0-9a-f]+$/.test(f) && hexString(e).includes(f);
  }

  // renderLog lays out the rows again from the events kept: after a
  // filter, a view or a display option changed, or the log was cleared.
  function renderLog(s) {
    s.rows = [];
    s.starts = [];
    s.end = 0;
    s.alt = { starts: [], end: 0, base: 0 };
    for (const e of s.items) addRow(s, e);
    s.base = s.rows.length ? s.starts[0] : s.end;
    s.alt.base = s.rows.length ? s.alt.starts[0] : s.alt.end;
    relayout(s);
  }

  // relayout draws the log anew from the rows laid out.
  function relayout(s) {
    s.drawn = new Map();
    const log = q(s, '.log');
    log.textContent = '';
    s.space = h('div', 'vspace');
    log.append(s.space);
    draw(s, true);
  }

  // draw brings the rows in sight up to date: the spacer's height, the
  // rows that scrolled in or arrived, away with the ones that left.
  function draw(s, force) {
    s.stale = false;
    const log = q(s, '.log');
    const paused = s.paused && !force;
    if (!paused) {
      s.space.style.height = ((s.end - s.base) * LINE_H) + 'px';
      if (s.follow) { log.scrollTop = log.scrollHeight; s.setTop = log.scrollTop; }
    }
    const empty = !s.rows.length;
    let ph = $('.empty-log', log);
    if (empty && !ph) log.append(h('div', 'empty-log', t(s.items.length ? 'log.nomatch' : 'log.empty')));
    else if (!empty && ph) ph.remove();
    if (!paused) drawRows(s, log);
    renderInfo(s);
  }

  // rowAt is the index of the row on line l (counted from s.base).
  function rowAt(s, l) {
    const want = s.base + l;
    let lo = 0, hi = s.rows.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (s.starts[mid] <= want) lo = mid; else hi = mid - 1;
    }
    return lo;
  }

  function drawRows(s, log) {
    const top = log.scrollTop, height = log.clientHeight || 600;
    let first = 0, last = -1;
    if (s.rows.length) {
      // Following the end, rows above the view are gone at the next draw.
      first = Math.max(0, rowAt(s, Math.floor(top / LINE_H)) - (s.follow ? 1 : OVERSCAN));
      last = Math.min(s.rows.length - 1, rowAt(s, Math.ceil((top + height) / LINE_H)) + OVERSCAN);
    }
    const want = new Map();
    for (let i = first; i <= last; i++) want.set(s.rows[i].seq, i);
    for (const [seq, el] of s.drawn) {
      if (!want.has(seq)) { el.remove(); s.drawn.delete(seq); }
    }
    let frag = null;
    for (const [seq, i] of want) {
      let el = s.drawn.get(seq);
      const e = s.rows[i];
      const y = ((s.starts[i] - s.base) * LINE_H) + 'px';
      if (!el) {
        el = row(s, e);
        el.style.height = (((i + 1 < s.rows.length ? s.starts[i + 1] : s.end) - s.starts[i]) * LINE_H) + 'px';
        s.drawn.set(seq, el);
        (frag || (frag = document.createDocumentFragment())).append(el);
      }
      if (el.dataset.y !== y) { el.style.top = y; el.dataset.y = y; }
    }
    if (frag) s.space.append(frag);
  }

  function renderInfo(s) {
    const info = q(s, '.loginfo');
    const shown = s.rows.length;
    const kept = s.items.length;
    const older = s.hidden + s.dropped;
    const parts = [];
    if (shown !== kept) parts.push(t('info.filtered', { shown: num(shown), kept: num(kept) }));
    else parts.push(t('info.events', { n: num(kept) }));
    if (older) parts.push(t('info.older', { n: num(older) }));
    if (s.skipped) parts.push(t('info.skipped', { n: num(s.skipped) }));
    if (older || s.skipped) parts.push(t('info.download'));
    let text = parts.join(' · ');
    const paused = s.paused ? (s.pendingWhilePaused ? t('info.pausedNew', { n: num(s.pendingWhilePaused) }) : t('info.paused')) : '';
    // Only touch the page when the words changed.
    if (text !== s.infoText || paused !== s.infoPaused) {
      s.infoText = text;
      s.infoPaused = paused;
      info.textContent = text;
      if (paused) {
        info.append(' · ');
        info.append(h('span', 'paused', paused));
      }
    }
    info.dataset.shown = shown;
    info.dataset.kept = kept;
    info.dataset.hidden = older + s.skipped + (kept - shown);
  }

  function scrollDown(s) {
    s.follow = true;
    schedule(s);
  }

  const arrows = { in: '←', out: '→' };
  // optionLabels are the form fields of the options events name (their
  // option field); options the page has no field for are left unsaid.
  const optionLabels = {
    'max-conns': 'adv.maxConns', allow: 'adv.allow', deny: 'adv.deny',
    pin: 'tls.pin', ca: 'tls.ca', sni: 'tls.sni', 'client-cert': 'adv.clientCert', 'tls-min': 'adv.tlsMin',
  };

  function row(s, e) {
    const data = e.kind === 'data';
    const d = h('div', 'row ' + (data ? e.dir : 'ev ' + e.kind));
    d.dataset.seq = e.seq;
    d.append(h('span', 't', s.date ? stamp(e.t) : clock(e.t)));
    d.append(h('span', 'd', data ? arrows[e.dir] : '•'));
    const p = h('span', 'p', e.peer || '');
    if (e.conn) p.title = '#' + e.conn + ' ' + (e.peer || '');
    d.append(p);
    d.append(h('span', 'n', data ? num(e.len) + ' B' : ''));
    const x = h('span', 'x');
    if (data && s.view === 'hex') hexView(x, e);
    else {
      const text = (data ? e.text : tr(e.text)) || '';
      textView(x, text);
      if (text.length > 80) x.title = text.replace(/\\n(?!$)/g, '\\n\n');
    }
    if (data && e.more) x.append(h('span', 'more', t('log.more', { n: num(e.more) })));
    // The option a refusal or close is about, by the label of its field
    // in the form (sockit's own text names no option); in the tooltip
    // too, as a long row is cut at the window's edge.
    if (!data && optionLabels[e.option]) {
      const o = t('log.option', { name: t(optionLabels[e.option]) });
      x.append(h('span', 'opt', o));
      x.title = (x.title || tr(e.text) || '') + o;
    }
    d.append(x);
    return d;
  }

  // textView shows sockit's escaped text with the escapes dimmed, and a
  // line break after each \n so text protocols read as lines.
  const escRE = /\\(?:x[0-9a-f]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[nrt0\\])/g;
  function textView(x, text) {
    let last = 0;
    escRE.lastIndex = 0;
    let m;
    while ((m = escRE.exec(text)) !== null) {
      if (m.index > last) x.append(text.slice(last, m.index));
      x.append(h('span', 'esc', m[0]));
      if (m[0] === '\\n' && escRE.lastIndex < text.length) x.append('\n');
      last = escRE.lastIndex;
    }
    if (last < text.length) x.append(text.slice(last));
  }

  // textLines is the number of lines textView makes of text.
  function textLines(text) {
    if (text.indexOf('\\n') < 0) return 1;
    let n = 1, m;
    escRE.lastIndex = 0;
    while ((m = escRE.exec(text)) !== null) {
      if (m[0] === '\\n' && escRE.lastIndex < text.length) n++;
    }
    return n;
  }

  const utf8 = new TextEncoder();
  function bytes(e) {
    if (!e.bytes && e.raw == null) e.bytes = utf8.encode(e.text || ''); // sockit left out the bytes: they are the text
    if (!e.bytes) {
      const b = atob(e.raw || '');
      const u = new Uint8Array(b.length);
      for (let i = 0; i < b.length; i++) u[i] = b.charCodeAt(i);
      e.bytes = u;
    }
    return e.bytes;
  }

  const hx = (v) => (v < 16 ? '0' : '') + v.toString(16);

  function hexString(e) {
    if (e.kind !== 'data') return '';
    if (e.hex == null) {
      let s = '';
      for (const v of bytes(e)) s += hx(v);
      e.hex = s;
    }
    return e.hex;
  }

  // hexView: 16 bytes a line, an offset when there is more than one line,
  // and the printable ASCII beside, as hexdump -C shows it.
  function hexView(x, e) {
    const b = bytes(e);
    const multi = b.length > 16;
    for (let off = 0; off < b.length; off += 16) {
      const line = h('span', 'hexl');
      if (multi) line.append(h('span', 'o', off.toString(16).padStart(4, '0') + '  '));
      let hex = '', asc = '';
      for (let i = off; i < off + 16; i++) {
        if (i < b.length) {
          hex += hx(b[i]) + ' ';
          asc += b[i] >= 0x20 && b[i] < 0x7f ? String.fromCharCode(b[i]) : '.';
        } else if (multi) hex += '   ';
        if (i === off + 7) hex += ' ';
      }
      line.append(multi ? hex : hex.trimEnd());
      line.append(h('span', 'a', '  |' + asc + '|'));
      x.append(line);
    }
    if (!b.length) x.append(h('span', 'esc', t('log.emptyMsg')));
  }

  // ---- Keys ------------------------------------------------------------------------

  document.addEventListener('keydown', (ev) => {
    const s = app.sessions.get(app.active);
    const inForm = !$('#new-form').hidden;
    if ((ev.ctrlKey || ev.metaKey) && ev.key === 'Enter') {
      ev.preventDefault();
      if (inForm) openSession();
      else if (s) send(s, false);
    } else if ((ev.ctrlKey || ev.metaKey) && (ev.key === 'k' || ev.key === 'K')) {
      if (s && !inForm) { ev.preventDefault(); clearLog(s); }
    } else if (ev.altKey && (ev.key === 'n' || ev.key === 'N')) {
      ev.preventDefault();
      showForm(true);
    } else if (ev.key === 'Escape' && inForm && app.sessions.size) {
      showForm(false);
      activate(app.active || Array.from(app.sessions.keys()).pop());
    } else if (ev.key === 'Enter' && inForm && ev.target.tagName === 'INPUT') {
      ev.preventDefault();
      openSession();
    }
  });

  // ---- Theme ------------------------------------------------------------------

  // The theme is the one chosen in the page (remembered), or the system's
  // (followed as it changes): html[data-theme] is light or dark.
  const THEME = 'sockit.theme';
  const darkQuery = window.matchMedia ? window.matchMedia('(prefers-color-scheme: dark)') : null;
  function themeChoice() {
    let c = null;
    try { c = localStorage.getItem(THEME); } catch (e) { /* not remembered */ }
    return c === 'light' || c === 'dark' ? c : 'auto';
  }
  function applyTheme() {
    const c = themeChoice();
    const light = c === 'light' || (c === 'auto' && darkQuery && !darkQuery.matches && window.matchMedia('(prefers-color-scheme: light)').matches);
    document.documentElement.dataset.theme = light ? 'light' : 'dark';
    $('#theme').value = c;
  }
  function setTheme(c) {
    try { if (c === 'auto') localStorage.removeItem(THEME); else localStorage.setItem(THEME, c); } catch (e) { /* not remembered */ }
    applyTheme();
  }

  // relabel draws the texts that code set again, in the language just
  // chosen (the ones named in the HTML are done by then).
  function relabel() {
    $('#lang').value = I.lang;
    document.title = t('app.title');
    setLink(t(app.connected ? 'link.connected' : 'link.connecting'), app.connected ? 'ok' : 'wait');
    setKind(form.kind);
    renderRestore();
    if ($('#new-verify').options.length) $('#new-verify').options[0].textContent = t('adv.verify.none');
    fillEncodings();
    const frameArg = $('#new-frame-arg');
    if ($('#new-frame').value === 'fixed') frameArg.placeholder = t('frame.bytes');
    for (const s of app.sessions.values()) {
      I.apply(s.el);
      $('.x', s.tab).title = t('panel.close');
      fillSelect(q(s, '.send-enc'), encodings(), q(s, '.send-enc').value, ['', t('send.session')]);
      fillSelect(q(s, '.enc'), encodings(), s.st.encoding);
      q(s, '.checksum').options[0].textContent = t('send.none');
      sendPlaceholder(s);
      if (q(s, '.repeat-error').textContent) repeatValues(s);
      q(s, '.pause').textContent = t(s.paused ? 'log.resume' : 'log.pause');
      if (!s.rulesEdited && s.rulesApplied != null) q(s, '.rules-info').textContent = s.rulesApplied ? t('rules.active', { n: s.rulesApplied }) : t('rules.none');
      s.historyKey = null;
      s.peersKey = null;
      renderState(s);
      renderSaved(s);
      renderLog(s);
    }
  }

  // ---- Start -------------------------------------------------------------------------

  document.addEventListener('DOMContentLoaded', () => {
    for (const b of $$('.kinds button')) b.addEventListener('click', () => setKind(b.dataset.kind));
    $('#new-session').addEventListener('click', () => showForm(true));
    $('#restore-open').addEventListener('click', restoreSessions);
    $('#restore-forget').addEventListener('click', () => cmd('forget', {}).catch((e) => { $('#restore-error').textContent = e.message; }));
    $('#new-open').addEventListener('click', openSession);
    $('#confirm-yes').addEventListener('click', () => $('#confirm').close('yes'));
    $('#confirm-no').addEventListener('click', () => $('#confirm').close('no'));
    $('#new-cancel').addEventListener('click', () => {
      if (app.sessions.size) activate(app.active || Array.from(app.sessions.keys()).pop());
    });
    $('#new-tls').addEventListener('change', (ev) => $('#new-tls-box').classList.toggle('on', ev.target.checked));
    $('#new-frame').addEventListener('change', (ev) => {
      const arg = $('#new-frame-arg');
      arg.hidden = ev.target.value !== 'delim' && ev.target.value !== 'fixed';
      arg.placeholder = ev.target.value === 'fixed' ? t('frame.bytes') : '0d0a';
    });
    fillSelect($('#new-encoding'), ['utf-8'], 'utf-8');
    $('#new-encoding').addEventListener('change', (ev) => { ev.target.dataset.chosen = '1'; });
    I.applyPage();
    const lang = $('#lang');
    for (const l of I.langs) lang.append(new Option(I.name(l), l));
    lang.value = I.lang;
    lang.addEventListener('change', () => I.set(lang.value));
    document.addEventListener('sockit-lang', relabel);
    applyTheme();
    $('#theme').addEventListener('change', (ev) => setTheme(ev.target.value));
    if (darkQuery) darkQuery.addEventListener('change', applyTheme);
    // Rows take one more line in a narrow window (the text goes under).
    app.extraLine = narrow && narrow.matches ? 1 : 0;
    if (narrow) narrow.addEventListener('change', () => {
      app.extraLine = narrow.matches ? 1 : 0;
      for (const s of app.sessions.values()) renderLog(s);
    });
    if (window.matchMedia) window.matchMedia('(prefers-color-scheme: light)').addEventListener('change', applyTheme);
    setKind('tcp-client');
    connect();
  });
})();

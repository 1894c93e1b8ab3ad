// The live page: per-tick increases of every (device, stat) at full
// resolution, burst spans, recent bursts, device health. Plain browser
// JavaScript served as-is (no build step); uPlot is the only dependency.
//
// Staying leak-free for hours is the design constraint:
// - every series lives in one fixed pair of Float64Arrays sized for the
//   5-minute window; new points are appended and old ones dropped in place,
//   and uPlot gets subarray views of them (no per-second copies);
// - a chart is created once per charted series and fed with setData; it is
//   destroyed (and its DOM removed) when the series stops being charted;
// - tables are rebuilt only when their content changed, and clicks go
//   through one delegated listener per table, so rows own no listeners;
// - after the first load each series is asked only for the time since its
//   last successful fetch (`window=`), never the whole 5 minutes again.
// Polls are chained with setTimeout, never overlapping.

(() => {
  'use strict';

  const WINDOW_MS = 5 * 60_000;
  const POLL_MS = 1000;
  /** Devices, /metrics and the series list: every this many polls. */
  const SLOW_EVERY = 5;
  /** Uncharted series (quiet ones, with many devices) are fetched every this many polls. */
  const QUIET_EVERY = 5;
  /** With at most this many series, every series is fetched every poll and charted. */
  const SMALL = 12;
  /** Charts shown before "show more" (one chart per active series). */
  const CHART_LIMIT = 16;
  const FETCH_TIMEOUT_MS = 4000;
  /** The server's default --burst-gap; the API does not say which one it uses. */
  // The server says its --burst-gap in /api/series; 2 s (the default) until it has.
  let ASSUMED_GAP_MS = 2000;
  const BURSTS_KEPT = 1000;
  const BURSTS_SHOWN = 200;
  const CONNTRACK_POINTS = 150;
  const CONNTRACK_EVERY = 2;
  const COLORS = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#0891b2', '#be185d', '#4d7c0f'];
  // Allowance counters (their order and short labels) and the conntrack gauge: the server's stat policy, from /api/devices.
  /** @param {string} stat */
  const allowanceRank = (stat) => state.policy.allowanceStats.indexOf(stat);
  /** @param {string} stat */
  const shortName = (stat) => state.policy.shortNames[stat] ?? stat;

  /**
   * An element of index.html by id; every id looked up here is in it, so
   * it is never null (and a missing one fails loudly, as it always did).
   * @param {string} id
   * @returns {HTMLElement}
   */
  const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
  /**
   * A <table> of index.html by id (health, bursts, windows).
   * @param {string} id
   * @returns {HTMLTableElement}
   */
  const $table = (id) => /** @type {HTMLTableElement} */ ($(id));
  /** @param {unknown} s */
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const natural = new Intl.Collator(undefined, { numeric: true }).compare;
  const fmtInt = new Intl.NumberFormat('en-US');

  /** @param {number} n @returns {string} */
  function compact(n) {
    if (!Number.isFinite(n)) return '–';
    const a = Math.abs(n);
    if (a >= 1e9) return `${+(n / 1e9).toFixed(1)}G`;
    if (a >= 1e6) return `${+(n / 1e6).toFixed(1)}M`;
    if (a >= 1e4) return `${+(n / 1e3).toFixed(1)}k`;
    return a >= 100 || Number.isInteger(n) ? fmtInt.format(Math.round(n)) : n.toFixed(1);
  }

  /** @param {number} ms @returns {string} */
  function duration(ms) {
    if (ms < 1000) return `${Math.round(ms)} ms`;
    if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
    return `${(ms / 60_000).toFixed(1)} min`;
  }

  /** @param {number} n @param {number} [w] */
  const pad = (n, w = 2) => String(n).padStart(w, '0');
  /**
   * Wall time to 0.1 s, in local time or UTC.
   * @param {number} ms
   * @param {boolean} utc
   * @returns {string}
   */
  function stamp(ms, utc) {
    const d = new Date(ms);
    const [Y, M, D, h, m, s] = utc
      ? [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()]
      : [d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds()];
    return `${Y}-${pad(M)}-${pad(D)} ${pad(h)}:${pad(m)}:${pad(s)}.${Math.floor((ms % 1000) / 100)}${utc ? 'Z' : ''}`;
  }

  /** @param {number} ms @returns {string} */
  function ago(ms) {
    if (ms < 1500) return 'now';
    if (ms < 120_000) return `${Math.round(ms / 1000)} s ago`;
    if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min ago`;
    return `${(ms / 3_600_000).toFixed(1)} h ago`;
  }

  // --- state -----------------------------------------------------------------

  // What the API answers, as far as the page reads it. Fields an older
  // exporter may lack are optional: the page checks for them.
  /**
   * @typedef {{ cause: string, summary: string, remedy: string }} Diagnosis
   * @typedef {{ rx_packets_per_second: number | null, tx_packets_per_second: number | null, rx_bits_per_second: number | null, tx_bits_per_second: number | null, conntrack_available: number | null }} Onset
   * @typedef {{ measure: string, value: number | null, bursts: number }} LearnedOnset
   * @typedef {{ veth: string, ips: string[], pod: string | null, packets: number, bytes: number, share: number | null }} TopPod
   * @typedef {{ device: string, stat: string, start_ms: number, end_ms: number, duration_ms: number, increase: number, peak_rate_per_second: number, open?: boolean,
   *   id?: number, capture?: string, onset?: Onset, learned_onset?: LearnedOnset, node_increase?: Record<string, number>, diagnosis?: Diagnosis, top_pods?: TopPod[] | null }} BurstRecord
   *   A burst as /api/bursts gives it, or one still open (Series.openBurst); an older exporter lacks the optional fields.
   * @typedef {BurstRecord & { key: string }} Burst A burst the page holds, keyed for deduplication and selection.
   * @typedef {{ burst_gap_ms?: number, interval_ms?: number, series: { device: string, stat: string }[] }} SeriesListResponse
   * @typedef {[t: number, increase: number]} Point
   * @typedef {{ points: Point[] }} SeriesResponse
   * @typedef {{ bursts: BurstRecord[] }} BurstsResponse
   * @typedef {{ periodMs: number | null, settled: boolean, resolutionMs: number, note: string | null }} CounterUpdate
   * @typedef {{ name: string, driver: string, up: boolean, lastError: string | null, intervalMs?: number, backoff?: string | null, backoffEvents?: number, counterUpdate?: CounterUpdate, learnedOnsets?: { stat: string, measure: string, value: number, bursts: number }[] }} DeviceView
   * @typedef {{ allowanceStats: string[], shortNames: Record<string, string | undefined>, gaugeMetric: string | null }} StatPolicy
   * @typedef {{ source: string, notice?: string | null, policy?: StatPolicy, devices: DeviceView[] }} DevicesResponse
   */

  /** Per-tick increases of one (device, stat), newest WINDOW_MS of them. */
  class Series {
    /**
     * @param {string} device
     * @param {string} stat
     * @param {number} intervalMs
     */
    constructor(device, stat, intervalMs) {
      this.device = device;
      this.stat = stat;
      this.key = `${device}\u0000${stat}`;
      // Declared for the type checker only; resize() sets them.
      /** @type {number} */ this.cap;
      /** @type {Float64Array} */ this.t;
      /** @type {Float64Array} */ this.v;
      /** @type {number} */ this.start;
      /** @type {number} */ this.end;
      this.resize(intervalMs);
      /** Server time (ms) of the newest point. */
      this.lastT = -Infinity;
      /** Client time of the last successful fetch: the next one asks only for what came after. */
      this.fetchedAt = 0;
      this.lastNonZero = -Infinity;
      this.gone = false;
      this.pinned = false;
      /** Points came in since the last render. */
      this.dirty = false;
    }

    /** @param {number} intervalMs */
    resize(intervalMs) {
      this.cap = Math.ceil(WINDOW_MS / Math.max(1, intervalMs)) + 64;
      // Twice the capacity: appends run to the end, then one copyWithin
      // moves the live part back to the front.
      this.t = new Float64Array(this.cap * 2);
      this.v = new Float64Array(this.cap * 2);
      this.start = 0;
      this.end = 0;
      this.lastT = -Infinity;
      this.fetchedAt = 0;
    }

    /**
     * @param {Point[]} points
     * @returns {number} how many were new
     */
    append(points) {
      let added = 0;
      for (const [t, inc] of points) {
        if (!(t > this.lastT)) continue;
        if (this.end === this.t.length) {
          const n = this.end - this.start;
          this.t.copyWithin(0, this.start, this.end);
          this.v.copyWithin(0, this.start, this.end);
          this.start = 0;
          this.end = n;
        }
        this.t[this.end] = t / 1000;
        this.v[this.end] = inc;
        this.end++;
        this.lastT = t;
        if (inc > 0) this.lastNonZero = t;
        added++;
      }
      const oldest = (this.lastT - WINDOW_MS) / 1000;
      while (this.start < this.end && this.t[this.start] < oldest) this.start++;
      if (this.end - this.start > this.cap) this.start = this.end - this.cap;
      return added;
    }

    /** @returns {[Float64Array, Float64Array]} */
    data() {
      return [this.t.subarray(this.start, this.end), this.v.subarray(this.start, this.end)];
    }

    sum() {
      let s = 0;
      for (let i = this.start; i < this.end; i++) s += this.v[i];
      return s;
    }

    /** Median spacing of the newest points: the interval the device is really sampled at. */
    measuredIntervalMs() {
      const n = Math.min(21, this.end - this.start);
      if (n < 3) return NaN;
      const d = [];
      for (let i = this.end - n + 1; i < this.end; i++) d.push((this.t[i] - this.t[i - 1]) * 1000);
      d.sort((a, b) => a - b);
      return d[d.length >> 1];
    }

    /**
     * The burst still open at the newest point, by the server's rule with
     * the default gap: it started before the first increase of the run of
     * increases no more than the gap apart.
     */
    openBurst() {
      if (!(this.lastT - this.lastNonZero <= ASSUMED_GAP_MS)) return null;
      let first = -1;
      let prevInc = Infinity;
      let increase = 0;
      let peak = 0;
      for (let i = this.end - 1; i >= this.start; i--) {
        if (this.v[i] <= 0) continue;
        if ((prevInc - this.t[i]) * 1000 > ASSUMED_GAP_MS) {
          if (first >= 0) break;
        }
        first = i;
        prevInc = this.t[i];
        increase += this.v[i];
        const dt = i > this.start ? this.t[i] - this.t[i - 1] : 0;
        if (dt > 0 && this.v[i] / dt > peak) peak = this.v[i] / dt;
      }
      if (first < 0) return null;
      const startT = first > this.start ? this.t[first - 1] : this.t[first];
      return {
        device: this.device,
        stat: this.stat,
        start_ms: Math.round(startT * 1000),
        end_ms: this.lastNonZero,
        duration_ms: this.lastNonZero - startT * 1000,
        increase,
        peak_rate_per_second: peak,
        open: true,
      };
    }
  }

  const state = {
    intervalMs: 100,
    source: '',
    /** @type {Map<string, Series>} */
    series: new Map(),
    /**
     * Finished bursts from the server, oldest first, deduplicated by key.
     * @type {Burst[]}
     */
    bursts: [],
    /** @type {Set<string>} */
    burstKeys: new Set(),
    /** Server-clock estimate: server ms ≈ Date.now() + clockOffset. */
    clockOffset: 0,
    clockKnown: false,
    /** @type {DeviceView[]} */
    devices: [],
    /** @type {Map<string, number>} */
    deviceInterval: new Map(),
    /** @type {Map<string, number>} */
    backoff: new Map(),
    /** @type {Map<string, number>} */
    conntrackNow: new Map(),
    /** @type {{ t: number[], byDevice: Map<string, (number | null)[]> }} */
    conntrack: { t: [], byDevice: new Map() },
    /** @type {StatPolicy} */
    policy: { allowanceStats: [], shortNames: {}, gaugeMetric: null },
    /** @type {boolean | null} */
    reachable: null,
    failingSince: 0,
    lastOk: 0,
    lastError: '',
    poll: 0,
    chartLimit: CHART_LIMIT,
    /** @type {string | null} */
    selectedBurst: null,
    layoutSig: '',
    burstSig: '',
    healthSig: '',
  };

  const serverNow = () => Date.now() + state.clockOffset;

  /**
   * Learns the server clock from the newest sample times (a sample is never from the future).
   * @param {number} tMs
   */
  function observeServerTime(tMs) {
    const offset = tMs - Date.now();
    if (!state.clockKnown || offset > state.clockOffset) {
      state.clockOffset = offset;
      state.clockKnown = true;
    }
  }

  // --- fetching ----------------------------------------------------------------

  /** A request the server answered with an error; `status` is its HTTP code. */
  class HttpError extends Error {
    /**
     * @param {string} message
     * @param {number} status
     */
    constructor(message, status) {
      super(message);
      this.status = status;
    }
  }

  /**
   * @overload
   * @param {'/metrics'} path
   * @returns {Promise<string>} the exposition text
   */
  /**
   * @overload
   * @param {string} path
   * @returns {Promise<unknown>} the parsed JSON; each caller says what shape it expects
   */
  /**
   * @param {string} path
   * @returns {Promise<unknown>}
   */
  async function getJSON(path) {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), FETCH_TIMEOUT_MS);
    try {
      const res = await fetch(path, { signal: ctl.signal, cache: 'no-store' });
      if (!res.ok) {
        throw new HttpError(`${path.split('?')[0]}: HTTP ${res.status}`, res.status);
      }
      return path === '/metrics' ? await res.text() : await res.json();
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Runs fns with at most `limit` in flight (the browser allows ~6 per host anyway).
   * @param {(() => Promise<void>)[]} fns
   * @param {number} limit
   */
  async function pool(fns, limit) {
    let next = 0;
    const worker = async () => {
      while (next < fns.length) {
        const i = next++;
        try {
          await fns[i]();
        } catch {
          // One failed series must not hold back the rest; liveness is judged by the bursts request.
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(limit, fns.length) }, worker));
  }

  async function refreshSeriesList() {
    const list = /** @type {SeriesListResponse} */ (await getJSON('/api/series'));
    if (typeof list.burst_gap_ms === 'number') ASSUMED_GAP_MS = list.burst_gap_ms;
    const interval = Number(list.interval_ms) || 100;
    const intervalChanged = interval !== state.intervalMs;
    state.intervalMs = interval;
    /** @type {Set<string>} */
    const seen = new Set();
    for (const { device, stat } of list.series) {
      const key = `${device}\u0000${stat}`;
      seen.add(key);
      let s = state.series.get(key);
      if (!s) state.series.set(key, (s = new Series(device, stat, interval)));
      else if (intervalChanged) s.resize(interval);
      s.gone = false;
    }
    for (const [key, s] of state.series) {
      if (!seen.has(key)) {
        s.gone = true;
        state.series.delete(key);
      }
    }
  }

  /** @param {Series} s */
  async function fetchSeries(s) {
    const started = Date.now();
    // Only what is new since the last fetch, plus slack for the ring's drain
    // delay; the first fetch (or one after an outage) takes the whole window.
    const windowMs = s.fetchedAt === 0 ? WINDOW_MS : Math.min(WINDOW_MS, Math.ceil(started - s.fetchedAt + 3000));
    const q = `device=${encodeURIComponent(s.device)}&stat=${encodeURIComponent(s.stat)}&window=${windowMs}ms`;
    try {
      const r = /** @type {SeriesResponse} */ (await getJSON(`/api/series?${q}`));
      if (r.points.length > 0) observeServerTime(r.points[r.points.length - 1][0]);
      if (s.append(r.points) > 0) s.dirty = true;
      s.fetchedAt = started;
    } catch (err) {
      if (err instanceof HttpError && err.status === 404) s.gone = true;
      throw err;
    }
  }

  async function fetchBursts() {
    const newest = state.bursts.length ? state.bursts[state.bursts.length - 1].end_ms : 0;
    // Bursts are reported once finished; `since` filters on their end.
    // A few seconds of overlap: bursts of different series are not
    // finalised strictly in the order they end (shutdown, removed devices).
    const since = newest > 0 ? Math.floor(newest - 10_000) : '5m';
    const r = /** @type {BurstsResponse} */ (await getJSON(`/api/bursts?since=${since}`));
    let added = false;
    for (const b of r.bursts) {
      const key = `${b.device}\u0000${b.stat}\u0000${b.start_ms}`;
      if (state.burstKeys.has(key)) continue;
      state.burstKeys.add(key);
      state.bursts.push(Object.assign(b, { key }));
      added = true;
    }
    if (added) {
      state.bursts.sort((a, b) => a.end_ms - b.end_ms);
      // shift() has one to give: the length is over BURSTS_KEPT.
      while (state.bursts.length > BURSTS_KEPT) state.burstKeys.delete(/** @type {Burst} */ (state.bursts.shift()).key);
    }
  }

  async function fetchDevices() {
    const r = /** @type {DevicesResponse} */ (await getJSON('/api/devices'));
    state.devices = r.devices;
    state.source = r.source;
    if (r.policy) state.policy = r.policy;
    // Why the page may stay empty (no ENA device here) and what to try.
    const n = $('notice');
    n.textContent = r.notice || '';
    n.hidden = !r.notice;
    // A device that refreshes its counters more slowly than it is sampled:
    // say what its bursts can and cannot show (the server words it).
    const notes = r.devices.map((d) => d.counterUpdate && d.counterUpdate.note).filter(Boolean);
    const res = $('resolution');
    res.textContent = notes.join(' · ');
    res.hidden = notes.length === 0;
  }

  /**
   * "about every 1 s" for a device's counter refresh period, from /api/devices.
   * @param {DeviceView} d
   * @returns {string}
   */
  function refreshText(d) {
    const u = d.counterUpdate;
    if (!u || u.periodMs === null) return '<span class="muted">not seen yet</span>';
    const ms = Math.round(u.periodMs);
    const every = ms >= 1000 ? `${+(ms / 1000).toFixed(1)} s` : `${ms} ms`;
    return u.resolutionMs > 0 ? `<span class="down" title="${esc(u.note || '')}">~${every}</span>` : `~${every}${u.settled ? '' : ' <span class="muted">(few changes yet)</span>'}`;
  }

  /**
   * The few series the page needs from /metrics, by name and device.
   * @param {string} text
   */
  function parseMetrics(text) {
    const gauge = state.policy.gaugeMetric ? `|${state.policy.gaugeMetric}` : '';
    const want = new RegExp(`^(ethburst_device_interval_seconds|ethburst_backoff_events_total${gauge})\\{[^}]*device="([^"]*)"[^}]*\\} ([^ \\n]+)`, 'gm');
    /** @type {Map<string, number>} */
    const interval = new Map();
    /** @type {Map<string, number>} */
    const backoff = new Map();
    /** @type {Map<string, number>} */
    const conntrack = new Map();
    for (const m of text.matchAll(want)) {
      const v = Number(m[3]);
      if (m[1] === 'ethburst_device_interval_seconds') interval.set(m[2], v * 1000);
      else if (m[1] === 'ethburst_backoff_events_total') backoff.set(m[2], v);
      else conntrack.set(m[2], v);
    }
    state.deviceInterval = interval;
    state.backoff = backoff;
    state.conntrackNow = conntrack;
    if (conntrack.size > 0) {
      const c = state.conntrack;
      c.t.push(serverNow() / 1000);
      for (const device of conntrack.keys()) {
        if (!c.byDevice.has(device)) c.byDevice.set(device, new Array(c.t.length - 1).fill(null));
      }
      for (const [device, arr] of c.byDevice) arr.push(conntrack.get(device) ?? null);
      while (c.t.length > CONNTRACK_POINTS) {
        c.t.shift();
        for (const arr of c.byDevice.values()) arr.shift();
      }
      for (const [device, arr] of c.byDevice) if (arr.every((v) => v === null)) c.byDevice.delete(device);
    }
  }

  /** @returns {Series[]} */
  function charted() {
    const all = [...state.series.values()];
    const windowStart = serverNow() - WINDOW_MS;
    if (all.length <= SMALL) return all;
    const active = all.filter((s) => s.pinned || s.lastNonZero >= windowStart);
    active.sort((a, b) => (Number(b.pinned) - Number(a.pinned)) || (b.lastNonZero - a.lastNonZero));
    return active.slice(0, state.chartLimit);
  }

  /**
   * @param {Set<string>} chartedSet
   * @returns {Series[]}
   */
  function dueSeries(chartedSet) {
    const all = [...state.series.values()];
    if (all.length <= SMALL) return all;
    return all.filter((s, i) => s.fetchedAt === 0 || chartedSet.has(s.key) || (state.poll + i) % QUIET_EVERY === 0);
  }

  async function pollOnce() {
    const slow = state.poll % SLOW_EVERY === 0 || state.series.size === 0;
    state.poll++;
    if (slow) {
      await refreshSeriesList();
      // Parsed after /api/devices has said which series is the conntrack gauge.
      const [, metrics] = await Promise.all([fetchDevices(), getJSON('/metrics').catch(() => null)]);
      if (metrics !== null) parseMetrics(metrics);
      await windowsPanel.refresh();
    } else if (state.poll % CONNTRACK_EVERY === 0 && state.conntrack.byDevice.size > 0) {
      getJSON('/metrics').then(parseMetrics, () => {});
    }
    const chartedSet = new Set(charted().map((s) => s.key));
    const due = dueSeries(chartedSet);
    await Promise.all([fetchBursts(), pool(due.map((s) => () => fetchSeries(s)), 6)]);
  }

  async function loop() {
    const started = Date.now();
    try {
      await pollOnce();
      if (state.reachable !== true) onReachable();
      state.lastOk = Date.now();
    } catch (err) {
      onUnreachable(err);
    }
    try {
      render();
    } catch (err) {
      console.error('ethburst page: render failed', err);
    }
    const wait = state.reachable ? POLL_MS - (Date.now() - started) : 2000;
    setTimeout(loop, Math.max(100, wait));
  }

  function onReachable() {
    state.reachable = true;
    $('banner').hidden = true;
    document.body.classList.remove('stale');
    // After an outage the gap may be longer than the window: start over.
    for (const s of state.series.values()) if (Date.now() - s.fetchedAt > WINDOW_MS) s.fetchedAt = 0;
  }

  /** @param {unknown} thrown what the poll threw: an Error, or the fetch's AbortError (a DOMException) */
  function onUnreachable(thrown) {
    // Read loosely on purpose: whatever was thrown, the banner says something.
    const err = /** @type {{ name?: unknown, message?: unknown } | null | undefined} */ (thrown);
    if (state.reachable !== false) state.failingSince = Date.now();
    state.reachable = false;
    state.lastError = err && err.name === 'AbortError' ? `no answer within ${FETCH_TIMEOUT_MS / 1000} s` : String((err && err.message) || err);
    document.body.classList.add('stale');
    const b = $('banner');
    const last = state.lastOk ? `; showing data as of ${stamp(state.lastOk, false)}` : '';
    b.textContent = `Exporter unreachable since ${stamp(state.failingSince, false)} (${state.lastError})${last}. Retrying every 2 s…`;
    b.hidden = false;
  }

  // --- rendering ---------------------------------------------------------------

  /**
   * One charted series: its card, its uPlot and, while zoomed, the x range shown.
   * @typedef {{ series: Series, card: HTMLDivElement, el: HTMLElement, meta: HTMLElement, live: HTMLElement, zoom: [number, number] | null, u: uPlot }} Chart
   */

  /** @type {Map<string, Chart>} */
  const charts = new Map();

  /**
   * @param {Series} s
   * @returns {BurstRecord[]}
   */
  function burstsOf(s) {
    /** @type {BurstRecord[]} */
    const out = [];
    const from = s.lastT - WINDOW_MS;
    for (let i = state.bursts.length - 1; i >= 0; i--) {
      const b = state.bursts[i];
      if (b.end_ms < from) break;
      if (b.device === s.device && b.stat === s.stat) out.push(b);
    }
    const open = s.openBurst();
    if (open && !out.some((b) => b.start_ms === open.start_ms)) out.push(open);
    return out;
  }

  /**
   * Burst spans under the series, at least 3 px wide so a one-tick burst shows.
   * @param {uPlot} u
   */
  function shade(u) {
    // No key yet while makeChart is still making the uPlot: nothing to shade.
    const key = u.root.dataset.key;
    const c = key === undefined ? undefined : charts.get(key);
    if (!c) return;
    const spans = burstsOf(c.series);
    const { ctx, bbox } = u;
    ctx.save();
    ctx.fillStyle = getComputedStyle(document.documentElement).getPropertyValue('--burst') || 'rgba(220,38,38,.16)';
    let drawn = 0;
    for (const b of spans) {
      let x0 = u.valToPos(b.start_ms / 1000, 'x', true);
      let x1 = u.valToPos(b.end_ms / 1000, 'x', true);
      if (x1 < bbox.left || x0 > bbox.left + bbox.width) continue;
      x0 = Math.max(bbox.left, x0);
      x1 = Math.min(bbox.left + bbox.width, Math.max(x1, x0 + 3));
      ctx.fillRect(x0, bbox.top, x1 - x0, bbox.height);
      drawn++;
    }
    ctx.restore();
    u.root.dataset.bursts = String(drawn);
  }

  /** @param {HTMLElement} el */
  function chartWidth(el) {
    return Math.max(300, el.clientWidth - 4);
  }

  /**
   * @param {Series} s
   * @param {number} index
   * @returns {Chart}
   */
  function makeChart(s, index) {
    const card = document.createElement('div');
    card.className = 'card';
    card.dataset.key = s.key;
    card.dataset.device = s.device;
    card.dataset.stat = s.stat;
    card.innerHTML = `<div class="card-head"><span class="name">${esc(s.device)} · ${esc(s.stat)}</span>
      <span class="meta muted"></span><button type="button" class="live-btn" hidden>back to live</button></div><div class="chart"></div>`;
    $('charts').appendChild(card);
    const color = COLORS[allowanceRank(s.stat) >= 0 ? allowanceRank(s.stat) : index % COLORS.length];
    // The card's markup just above has these.
    const el = /** @type {HTMLElement} */ (card.querySelector('.chart'));
    const meta = /** @type {HTMLElement} */ (card.querySelector('.meta'));
    const live = /** @type {HTMLElement} */ (card.querySelector('.live-btn'));
    // The options' callbacks need `c`, so it is made before its uPlot; c.u
    // is null only until the constructor returns, and nothing reads it before.
    /** @type {Chart} */
    const c = { series: s, card, el, meta, live, zoom: null, u: /** @type {uPlot} */ (/** @type {unknown} */ (null)) };
    /** @type {uPlot.Options} */
    const opts = {
      width: chartWidth(card),
      height: 150,
      legend: { show: false },
      cursor: { drag: { x: true, y: false, setScale: false }, points: { show: false } },
      scales: {
        x: { time: true, range: () => xRange(c) },
        y: { range: (u, min, max) => [0, Math.max(1, max) * 1.08] },
      },
      axes: [{ space: 70 }, { size: 52, values: (u, ticks) => ticks.map(compact) }],
      series: [{}, { label: s.stat, stroke: color, fill: `${color}22`, width: 1, points: { show: false } }],
      hooks: {
        drawClear: [shade],
        setSelect: [
          (u) => {
            if (u.select.width > 4) {
              c.zoom = [u.posToVal(u.select.left, 'x'), u.posToVal(u.select.left + u.select.width, 'x')];
              u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
              applyZoom(c);
            }
          },
        ],
      },
    };
    c.u = new uPlot(opts, s.data(), el);
    c.u.root.dataset.key = s.key;
    charts.set(s.key, c);
    return c;
  }

  /**
   * @param {Chart} c
   * @returns {[number, number]}
   */
  function xRange(c) {
    if (c.zoom) return c.zoom;
    const now = (state.reachable === false ? state.lastOk + state.clockOffset : serverNow()) / 1000;
    return [now - WINDOW_MS / 1000, now];
  }

  /** @param {Chart} c */
  function applyZoom(c) {
    const [min, max] = xRange(c);
    c.u.setScale('x', { min, max });
    c.live.hidden = !c.zoom;
  }

  /** @param {string} key */
  function destroyChart(key) {
    const c = charts.get(key);
    if (!c) return;
    c.u.destroy();
    c.card.remove();
    charts.delete(key);
  }

  /**
   * @param {string} device
   * @param {Series | null} s
   * @returns {string}
   */
  function intervalText(device, s) {
    const d = state.devices.find((x) => x.name === device);
    const eff = d && typeof d.intervalMs === 'number' ? d.intervalMs : state.deviceInterval.get(device);
    const measured = s ? s.measuredIntervalMs() : NaN;
    const parts = [`${state.intervalMs} ms`];
    if (eff !== undefined && Math.abs(eff - state.intervalMs) > 0.5) parts.push(`effective ${Math.round(eff)} ms`);
    if (Number.isFinite(measured) && Math.abs(measured - (eff ?? state.intervalMs)) > Math.max(5, 0.2 * state.intervalMs)) parts.push(`measured ${Math.round(measured)} ms`);
    return parts.join(', ');
  }

  function renderCharts() {
    const list = charted();
    list.sort((a, b) => natural(a.device, b.device) || allowanceRank(a.stat) - allowanceRank(b.stat) || natural(a.stat, b.stat));
    const sig = list.map((s) => s.key).join('|');
    if (sig !== state.layoutSig) {
      const keep = new Set(list.map((s) => s.key));
      for (const key of [...charts.keys()]) if (!keep.has(key)) destroyChart(key);
      list.forEach((s, i) => {
        const c = charts.get(s.key) ?? makeChart(s, i);
        $('charts').appendChild(c.card); // moves it into order
      });
      state.layoutSig = sig;
    }
    for (const c of charts.values()) {
      const s = c.series;
      s.dirty = false;
      // Scales reset on purpose: x comes from xRange (live or zoomed), y re-fits.
      c.u.setData(s.data());
      c.live.hidden = !c.zoom;
      const last5 = s.sum();
      c.meta.textContent = `every ${intervalText(s.device, s)} · ${compact(last5)} in 5 min`;
      c.card.dataset.points = String(s.end - s.start);
      c.card.dataset.max = String(maxOf(s));
    }
    renderQuiet(new Set(list.map((s) => s.key)));
  }

  /** @param {Series} s */
  function maxOf(s) {
    let m = 0;
    for (let i = s.start; i < s.end; i++) if (s.v[i] > m) m = s.v[i];
    return m;
  }

  /** @param {Set<string>} chartedKeys */
  function renderQuiet(chartedKeys) {
    const rest = [...state.series.values()].filter((s) => !chartedKeys.has(s.key));
    const windowStart = serverNow() - WINDOW_MS;
    const activeHidden = rest.filter((s) => s.lastNonZero >= windowStart).length;
    const more = $('more');
    more.hidden = activeHidden === 0;
    $('more-button').textContent = `show ${activeHidden} more active series`;
    /** @type {Map<string, string[]>} */
    const byDevice = new Map();
    for (const s of rest) {
      if (s.lastNonZero >= windowStart) continue;
      let stats = byDevice.get(s.device);
      if (!stats) byDevice.set(s.device, (stats = []));
      stats.push(shortName(s.stat));
    }
    const html = byDevice.size === 0 ? '' : `Quiet (no increase in the last 5 minutes; fetched every ${QUIET_EVERY} s, charted when they move): ` +
      [...byDevice].sort((a, b) => natural(a[0], b[0])).map(([d, stats]) => `<b>${esc(d)}</b> ${esc(stats.join(', '))}`).join(' · ');
    const q = $('quiet');
    if (q.dataset.sig !== html) {
      q.innerHTML = html;
      q.dataset.sig = html;
    }
  }

  /** @returns {Burst[]} */
  function allBursts() {
    /** @type {Burst[]} */
    const open = [];
    for (const s of state.series.values()) {
      const b = s.openBurst();
      if (b && !state.burstKeys.has(`${b.device}\u0000${b.stat}\u0000${b.start_ms}`)) {
        // A finished burst that matches it (same start) supersedes it.
        if (!state.bursts.some((f) => f.device === b.device && f.stat === b.stat && Math.abs(f.start_ms - b.start_ms) < state.intervalMs * 1.5)) {
          open.push(Object.assign(b, { key: `${b.device}\u0000${b.stat}\u0000open` }));
        }
      }
    }
    const from = serverNow() - WINDOW_MS;
    /** @type {Burst[]} */
    const done = [];
    for (let i = state.bursts.length - 1; i >= 0 && done.length < BURSTS_SHOWN; i--) {
      if (state.bursts[i].end_ms < from && done.length >= 20) break;
      done.push(state.bursts[i]);
    }
    return [...open.sort((a, b) => b.start_ms - a.start_ms), ...done.sort((a, b) => b.start_ms - a.start_ms)];
  }

  /** @type {Burst[]} */
  let shownBursts = [];

  function renderBursts() {
    const rows = allBursts();
    const sig = rows.map((b) => `${b.key}:${b.increase}:${b.end_ms}`).join('|') + `#${state.selectedBurst}`;
    if (sig === state.burstSig) return;
    state.burstSig = sig;
    shownBursts = rows;
    const tbody = $table('bursts').tBodies[0];
    if (rows.length === 0) {
      tbody.innerHTML = '<tr class="empty"><td colspan="10">no bursts in the last 5 minutes</td></tr>';
      return;
    }
    tbody.innerHTML = rows
      .map(
        (b, i) => `<tr data-key="${i}" data-device="${esc(b.device)}" data-stat="${esc(b.stat)}" class="${b.open ? 'open' : ''}${state.selectedBurst === b.key ? ' selected' : ''}">
        <td>${stamp(b.start_ms, false)}</td><td>${stamp(b.start_ms, true)}</td><td>${esc(b.device)}</td><td>${esc(b.stat)}</td>
        <td class="num">${duration(b.duration_ms)}</td><td class="num">${fmtInt.format(b.increase)}</td><td class="num">${compact(b.peak_rate_per_second)}/s</td>
        <td class="num">${onsetText(b)}</td><td class="cause" title="${esc(b.diagnosis?.summary ?? '')}">${esc(b.diagnosis?.cause ?? '')}</td>
        <td class="pods" title="${esc((b.top_pods ?? []).map(podText).join('\n'))}">${b.top_pods?.length ? esc(podText(b.top_pods[0])) : ''}</td></tr>`,
      )
      .join('');
  }

  /**
   * A pod behind a burst: its name (else its host-side veth), address and share of the device's packets.
   * The same wording as topPodText in src/talkers/top-talkers.ts (the log line, the Event note, analyze),
   * which plain browser JavaScript cannot import; test/hardening/fake-ena-pods.test.ts reads the cell.
   * @param {TopPod} p
   * @returns {string}
   */
  function podText(p) {
    return `${p.pod ?? p.veth}${p.ips.length ? ` ${p.ips[0]}` : ''}${p.share === null ? '' : ` ${Math.round(p.share * 100)}%`}`;
  }

  /**
   * The traffic when a burst's drops began, in its stat's measure.
   * @param {BurstRecord} b
   * @returns {string}
   */
  function onsetText(b) {
    const o = b.onset;
    if (!o) return '';
    /** @param {number | null} x @param {string} unit */
    const v = (x, unit) => (x === null ? '–' : `${compact(x)}${unit}`);
    if (b.stat === 'bw_in_allowance_exceeded') return v(o.rx_bits_per_second, 'bit/s');
    if (b.stat === 'bw_out_allowance_exceeded') return v(o.tx_bits_per_second, 'bit/s');
    if (b.stat === 'conntrack_allowance_exceeded') return o.conntrack_available === null ? '–' : `${compact(o.conntrack_available)} left`;
    return o.rx_packets_per_second === null || o.tx_packets_per_second === null ? '–' : `${compact(o.rx_packets_per_second + o.tx_packets_per_second)} pkt/s`;
  }

  /**
   * Who moved the packets during the burst: the top pods, most first.
   * @param {Burst} b
   */
  function renderCapturePods(b) {
    const table = $table('capture-pods');
    const pods = b.top_pods ?? [];
    table.hidden = pods.length === 0;
    table.tBodies[0].innerHTML = pods
      .map(
        (p) => `<tr><td>${esc(p.pod ?? '')}</td><td>${esc(p.veth)}</td><td>${esc(p.ips.join(', '))}</td>
        <td class="num">${fmtInt.format(p.packets)}</td><td class="num">${compact(p.bytes)}B</td><td class="num">${p.share === null ? '–' : `${Math.round(p.share * 100)}%`}</td></tr>`,
      )
      .join('');
  }

  /** @type {uPlot | null} */
  let captureChart = null;
  /** The burst whose capture is shown (its id), so a slow fetch for another one is dropped. */
  let captureFor = -1;

  /**
   * Opens a finished burst's capture under the table: its diagnosis, and the
   * 100 ms samples around it (its drops, the interface's packets, the node's
   * IP fragments) from /api/bursts/{id}/trace.
   * @param {Burst} b
   */
  async function openCapture(b) {
    const box = $('capture');
    if (b.id === undefined || b.open) {
      box.hidden = true;
      return;
    }
    const id = b.id;
    captureFor = id;
    box.hidden = false;
    $('capture-title').textContent = `Burst ${id}: ${b.device} ${b.stat}, ${stamp(b.start_ms, false)}, ${duration(b.duration_ms)}`;
    $('capture-summary').textContent = b.diagnosis?.summary ?? '';
    $('capture-remedy').textContent = b.diagnosis ? `What to change: ${b.diagnosis.remedy}` : '';
    const learned = b.learned_onset;
    const node = Object.entries(b.node_increase ?? {}).filter(([, v]) => v > 0);
    $('capture-facts').textContent = [
      `onset ${onsetText(b)}`,
      learned && learned.value !== null ? `learned onset ${compact(learned.value)} (${learned.measure.replace(/_/g, ' ')}, median of ${learned.bursts} bursts before)` : 'no learned onset yet',
      node.length ? `during the burst the node counted ${node.map(([k, v]) => `${fmtInt.format(v)} ${k}`).join(', ')}` : '',
    ]
      .filter(Boolean)
      .join(' · ');
    renderCapturePods(b);
    $('capture-note').innerHTML = `<a href="/api/bursts/${id}/trace" download="burst-${id}.jsonl">download the capture</a> (a trace: <code>ethburst analyze burst-${id}.jsonl</code>)`;
    const el = $('capture-chart');
    el.dataset.state = 'loading';
    let text;
    try {
      const res = await fetch(`/api/bursts/${id}/trace`, { cache: 'no-store' });
      if (!res.ok) throw new Error(`HTTP ${res.status}: ${(await res.text()).trim()}`);
      text = await res.text();
    } catch (err) {
      if (captureFor !== id) return;
      el.dataset.state = 'error';
      $('capture-note').textContent = `No capture: ${err instanceof Error ? err.message : String(err)}`;
      captureChart?.destroy();
      captureChart = null;
      return;
    }
    if (captureFor !== id) return;
    const data = captureSeries(text, b.stat);
    captureChart?.destroy();
    captureChart = new uPlot(
      {
        width: chartWidth(el),
        height: 200,
        cursor: { points: { show: false } },
        scales: { x: { time: true }, d: {}, p: {} },
        axes: [{ space: 70 }, { scale: 'd', size: 60, values: (u, t) => t.map(compact), label: 'drops/s' }, { scale: 'p', side: 1, size: 60, values: (u, t) => t.map(compact), label: 'packets/s', grid: { show: false } }],
        series: [
          {},
          { label: `${b.stat} /s`, scale: 'd', stroke: '#dc2626', width: 1.5, points: { show: false } },
          { label: 'packets/s (rx + tx)', scale: 'p', stroke: '#2563eb', width: 1, points: { show: false } },
          { label: 'IP fragments created/s (node)', scale: 'p', stroke: '#9333ea', width: 1, points: { show: false } },
        ],
      },
      data,
      el,
    );
    el.dataset.state = 'ready';
    el.dataset.points = String(data[0].length);
  }

  /**
   * Per-tick rates from a capture (trace lines): the stat's drops, the
   * interface's packets, the node's fragments; null where not known.
   * @param {string} text
   * @param {string} stat
   * @returns {[number[], (number | null)[], (number | null)[], (number | null)[]]}
   */
  function captureSeries(text, stat) {
    /** @type {number[]} */ const t = [];
    /** @type {(number | null)[]} */ const drops = [];
    /** @type {(number | null)[]} */ const pkts = [];
    /** @type {(number | null)[]} */ const frags = [];
    /** @type {{ t: number, v: number | undefined, p: number | undefined } | null} */
    let prev = null;
    /** @type {{ t: number, f: number | undefined } | null} */
    let nodePrev = null;
    /** @type {number | null} */
    let fragRate = null;
    for (const line of text.split('\n')) {
      if (!line) continue;
      /** @type {{ t: number, node?: Record<string, number>, error?: string, stats?: Record<string, number>, traffic?: Record<string, number> }} */
      const r = JSON.parse(line);
      if (r.node) {
        const f = r.node.ip_frag_creates;
        fragRate = nodePrev && f !== undefined && nodePrev.f !== undefined && r.t > nodePrev.t ? ((f - nodePrev.f) * 1000) / (r.t - nodePrev.t) : null;
        nodePrev = { t: r.t, f };
        continue;
      }
      if (r.error || !r.stats) {
        prev = null;
        continue;
      }
      const v = r.stats[stat];
      const p = r.traffic && r.traffic.rx_packets !== undefined && r.traffic.tx_packets !== undefined ? r.traffic.rx_packets + r.traffic.tx_packets : undefined;
      if (prev) {
        const dt = (r.t - prev.t) / 1000;
        t.push(r.t / 1000);
        // A counter that went down was reset: no rate for that tick.
        drops.push(v !== undefined && prev.v !== undefined && v >= prev.v && dt > 0 ? (v - prev.v) / dt : null);
        pkts.push(p !== undefined && prev.p !== undefined && p >= prev.p && dt > 0 ? (p - prev.p) / dt : null);
        frags.push(fragRate);
      }
      prev = { t: r.t, v, p };
    }
    return [t, drops, pkts, frags];
  }

  /** @param {Burst} b */
  function focusBurst(b) {
    state.selectedBurst = b.key;
    void openCapture(b);
    const s = state.series.get(`${b.device}\u0000${b.stat}`);
    if (!s) return;
    s.pinned = true;
    renderCharts();
    const c = charts.get(s.key);
    if (!c) return;
    const dur = Math.max(b.end_ms - b.start_ms, state.intervalMs);
    const margin = Math.max(dur * 0.5, 1000);
    c.zoom = [(b.start_ms - margin) / 1000, (b.end_ms + margin) / 1000];
    applyZoom(c);
    for (const other of charts.values()) other.card.classList.toggle('selected', other === c);
    c.card.scrollIntoView({ behavior: 'smooth', block: 'center' });
    state.burstSig = '';
    renderBursts();
  }

  /**
   * Where each stat's drops began on the device, learned from its bursts: "pps 41.2k pkt/s".
   * @param {DeviceView} d
   */
  function learnedText(d) {
    const l = d.learnedOnsets ?? [];
    if (l.length === 0) return '<span class="muted">none yet</span>';
    const unit = (/** @type {string} */ m) => (m === 'conntrack_available' ? ' conns left' : m.endsWith('bits_per_second') ? 'bit/s' : ' pkt/s');
    return l
      .map((o) => `<span title="${esc(`${o.stat}: median onset of its last ${o.bursts} bursts (${o.measure.replace(/_/g, ' ')})`)}">${esc(shortName(o.stat))} ${compact(o.value)}${unit(o.measure)}</span>`)
      .join('<br>');
  }

  function renderHealth() {
    const now = serverNow();
    /** @type {Map<string, { drops: number, first: Series }>} */
    const bySeries = new Map();
    for (const s of state.series.values()) {
      const d = bySeries.get(s.device) ?? { drops: 0, first: s };
      d.drops += s.sum();
      bySeries.set(s.device, d);
    }
    /** @type {Map<string, Burst>} */
    const lastBurst = new Map();
    for (const b of state.bursts) lastBurst.set(b.device, b);
    /** @type {Map<string, BurstRecord>} */
    const openBursts = new Map();
    for (const s of state.series.values()) {
      const o = s.openBurst();
      if (o) openBursts.set(s.device, o);
    }
    // Devices in trouble first: with 32 of them the table scrolls.
    /** @param {DeviceView} d */
    const trouble = (d) => (d.up ? 0 : 2) + (d.backoff ? 1 : 0);
    const rows = [...state.devices].sort((a, b) => trouble(b) - trouble(a) || natural(a.name, b.name)).map((d) => {
      const agg = bySeries.get(d.name);
      const lb = lastBurst.get(d.name);
      const ob = openBursts.get(d.name);
      // /api/devices carries back-off state since the sampler learned it;
      // /metrics is the fallback for an older exporter.
      const backoff = typeof d.backoffEvents === 'number' ? d.backoffEvents : state.backoff.get(d.name);
      const backoffNow = d.backoff ? ` <span class="down">backed off: ${esc(d.backoff)}</span>` : '';
      const conn = state.conntrackNow.get(d.name);
      return `<tr data-device="${esc(d.name)}"><td>${esc(d.name)}</td><td>${esc(d.driver)}</td>
        <td class="${d.up ? 'up' : 'down'}">${d.up ? 'up' : 'down'}</td><td>${d.lastError ? esc(d.lastError) : '<span class="muted">–</span>'}</td>
        <td>${esc(intervalText(d.name, agg ? agg.first : null))}</td>
        <td>${backoff === undefined ? '<span class="muted">n/a</span>' : fmtInt.format(backoff)}${backoffNow}</td>
        <td>${refreshText(d)}</td>
        <td class="num">${conn === undefined ? '<span class="muted">n/a</span>' : fmtInt.format(conn)}</td>
        <td class="num">${agg ? compact(agg.drops) : '–'}</td>
        <td class="onsets">${learnedText(d)}</td>
        <td>${ob ? `<span class="down">${esc(shortName(ob.stat))}, in progress</span>` : lb ? `${esc(shortName(lb.stat))}, ${ago(now - lb.end_ms)}` : '<span class="muted">none</span>'}</td></tr>`;
    });
    const html = rows.join('') || '<tr class="empty"><td colspan="11">no device is being sampled yet</td></tr>';
    if (html !== state.healthSig) {
      $table('health').tBodies[0].innerHTML = html;
      state.healthSig = html;
    }
  }

  /** @type {uPlot | null} */
  let conntrackChart = null;
  let conntrackSig = '';

  function renderConntrack() {
    const c = state.conntrack;
    const wrap = $('conntrack-wrap');
    wrap.hidden = c.byDevice.size === 0;
    if (c.byDevice.size === 0) return;
    const devices = [...c.byDevice.keys()].sort(natural);
    const sig = devices.join('|');
    if (sig !== conntrackSig && conntrackChart) {
      conntrackChart.destroy();
      conntrackChart = null;
    }
    // Every device here is one of byDevice's keys.
    /** @type {uPlot.AlignedData} */
    const data = [Float64Array.from(c.t), ...devices.map((d) => /** @type {(number | null)[]} */ (c.byDevice.get(d)))];
    if (!conntrackChart) {
      conntrackSig = sig;
      conntrackChart = new uPlot(
        {
          width: chartWidth($('conntrack')),
          height: 120,
          legend: { show: devices.length <= 8 },
          cursor: { points: { show: false } },
          scales: { x: { time: true } },
          axes: [{ space: 70 }, { size: 60, values: (u, ticks) => ticks.map(compact) }],
          series: [{}, ...devices.map((d, i) => ({ label: d, stroke: COLORS[i % COLORS.length], width: 1, points: { show: false }, spanGaps: false }))],
        },
        data,
        $('conntrack'),
      );
    } else {
      conntrackChart.setData(data);
    }
  }

  function renderStatus() {
    const st = $('status');
    if (state.reachable === false) {
      st.textContent = 'exporter unreachable';
      st.className = 'status down';
    } else if (state.reachable) {
      st.textContent = `live · every ${POLL_MS / 1000} s`;
      st.className = 'status live';
    }
    $('source').textContent = state.source ? `${state.source} · sampling every ${state.intervalMs} ms` : '';
    $('clock').textContent = stamp(serverNow(), false);
  }

  function render() {
    renderStatus();
    if (state.reachable === null) return;
    renderHealth();
    renderBursts();
    renderCharts();
    renderConntrack();
    windowsPanel.render();
  }

  // --- the Windows panel (/api/windows) -------------------------------------------

  /**
   * @typedef {{ count: number, p50: number | null, p90: number | null, p99: number | null, max: number | null }} Quantiles
   * @typedef {{ window_s: number, from_ms: number, to_ms: number, second_increase: Quantiles, burst_size: Quantiles, burst_duration_ms: Quantiles, peak_rate_per_second: number }} WindowSummary
   * @typedef {{ device: string, stat: string, windows: WindowSummary[] }} StatWindows
   * @typedef {{ now_ms: number | null, windows_s: number[], stats: StatWindows[] }} WindowsResponse
   */

  /**
   * p50/p90/p99/max of per-second increase, burst size and burst duration
   * over the server's 1 min / 10 min / 1 h windows, one row per window, for
   * every (device, stat) with drops in its longest window. Fetched with the
   * slow polls (the windows move in 10 s steps at the finest); rebuilt only
   * when the text changes.
   */
  const windowsPanel = (() => {
    /** @type {WindowsResponse | null} */
    let latest = null;
    let sig = '';

    /** @param {number} s @returns {string} */
    const windowName = (s) => (s % 3600 === 0 ? `${s / 3600} h` : s % 60 === 0 ? `${s / 60} min` : `${s} s`);
    /** @param {number} n @returns {string} */
    const count = (n) => (n < 1e6 ? fmtInt.format(Math.round(n)) : compact(n));
    /**
     * @param {Quantiles} q
     * @param {(n: number) => string} fmt
     * @returns {string}
     */
    const quantiles = (q, fmt) => (q.count === 0 || q.max === null ? '<span class="muted">–</span>' : [q.p50, q.p90, q.p99, q.max].map((v) => fmt(v ?? 0)).join(' · '));

    /** Never fails the poll: the panel keeps its last numbers when the request does. */
    async function refresh() {
      try {
        latest = /** @type {WindowsResponse} */ (await getJSON('/api/windows'));
      } catch {
        // An older exporter without /api/windows, or a blip: liveness is judged elsewhere.
      }
    }

    function render() {
      const section = $('windows-section');
      if (!latest) return;
      const longest = latest.windows_s.length - 1;
      const active = latest.stats.filter((s) => (s.windows[longest]?.second_increase.max ?? 0) > 0);
      active.sort((a, b) => natural(a.device, b.device) || allowanceRank(a.stat) - allowanceRank(b.stat) || natural(a.stat, b.stat));
      const quiet = latest.stats.length - active.length;
      const rows = active.flatMap((s) =>
        s.windows.map(
          (w, i) => `<tr data-device="${esc(s.device)}" data-stat="${esc(s.stat)}" data-window="${w.window_s}"${i === 0 ? ' class="first"' : ''}>
        <td>${i === 0 ? esc(s.device) : ''}</td><td>${i === 0 ? esc(s.stat) : ''}</td><td>${windowName(w.window_s)}</td>
        <td class="num">${quantiles(w.second_increase, count)}</td><td class="num">${fmtInt.format(w.burst_size.count)}</td>
        <td class="num">${quantiles(w.burst_size, count)}</td><td class="num">${quantiles(w.burst_duration_ms, duration)}</td>
        <td class="num">${compact(w.peak_rate_per_second)}/s</td></tr>`,
        ),
      );
      const html =
        rows.join('') ||
        `<tr class="empty"><td colspan="8">no drops in the last ${windowName(latest.windows_s[longest] ?? 3600)}${quiet > 0 ? ` (${quiet} tracked stat${quiet === 1 ? '' : 's'})` : ''}</td></tr>`;
      if (html === sig) return;
      sig = html;
      $table('windows').tBodies[0].innerHTML = html;
      section.hidden = false;
    }

    return { refresh, render };
  })();

  // --- events (attached once) ----------------------------------------------------

  // Mouse events target elements (never text nodes): e.target has closest().
  $table('bursts').tBodies[0].addEventListener('click', (e) => {
    /** @type {HTMLElement | null} */
    const tr = /** @type {Element} */ (e.target).closest('tr[data-key]');
    if (tr) {
      const b = shownBursts[Number(tr.dataset.key)];
      if (b) focusBurst(b);
    }
  });
  $('charts').addEventListener('click', (e) => {
    const btn = /** @type {Element} */ (e.target).closest('.live-btn');
    if (!btn) return;
    // The button is always in a card, and every card has its series' key.
    const card = /** @type {HTMLElement} */ (btn.closest('.card'));
    const c = charts.get(/** @type {string} */ (card.dataset.key));
    if (!c) return;
    c.zoom = null;
    c.series.pinned = false;
    c.card.classList.remove('selected');
    state.selectedBurst = null;
    applyZoom(c);
  });
  $('charts').addEventListener('dblclick', (e) => {
    /** @type {HTMLElement | null} */
    const card = /** @type {Element} */ (e.target).closest('.card');
    const c = card && charts.get(/** @type {string} */ (card.dataset.key));
    if (c) {
      c.zoom = null;
      applyZoom(c);
    }
  });
  $('more-button').addEventListener('click', () => {
    state.chartLimit += CHART_LIMIT;
    render();
  });
  let resizeTimer = 0;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      for (const c of charts.values()) c.u.setSize({ width: chartWidth(c.card), height: 150 });
      if (conntrackChart) conntrackChart.setSize({ width: chartWidth($('conntrack')), height: 120 });
    }, 150);
  });
  $('tz').textContent = `local, ${Intl.DateTimeFormat().resolvedOptions().timeZone || 'browser zone'}`;

  /** For tests and the curious: what the page holds right now. */
  Object.assign(window, {
    ethburst: {
      stats: () => ({
        reachable: state.reachable,
        series: state.series.size,
        charts: charts.size,
        maxPoints: Math.max(0, ...[...state.series.values()].map((s) => s.end - s.start)),
        maxCapacity: Math.max(0, ...[...state.series.values()].map((s) => s.t.length)),
        bursts: state.bursts.length,
        conntrackPoints: state.conntrack.t.length,
        polls: state.poll,
      }),
    },
  });

  loop();
})();

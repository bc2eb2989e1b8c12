// The sde try-it page: sign in with the development issuer, search, page through results and
// export the whole result directly, by email or over the push WebSocket, with live progress;
// view the post-frequency chart of the search and download it, or the trending-tags PDF; list
// your exports of the last day, cancel a running one or delete a finished file; add a post;
// subscribe to the last search's words by email, daily or in real time, and list or delete your
// subscriptions. `?search=term` runs that search once signed in; `?unsubscribe=true` opens the
// subscriptions list (the links the subscription emails carry).
// No dependencies and no inline code: the server's Content-Security-Policy allows only this
// origin's script, style sheet and connections.

const TOKEN_KEY = 'sde.idToken';
const EMAIL_KEY = 'sde.email';
/** How often a direct or email export is polled, in milliseconds. */
const POLL_MS = 500;
/** How deep /search may page (Elasticsearch's max_result_window); exports have no such limit. */
const MAX_RESULT_WINDOW = 10000;

const $ = (id) => document.getElementById(id);
const numberFormat = new Intl.NumberFormat('en');
const fmt = (n) => numberFormat.format(n);

/** An API failure, with the message meant for the person using the page. */
class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

const state = {
  token: sessionStorage.getItem(TOKEN_KEY),
  email: sessionStorage.getItem(EMAIL_KEY),
  /** The `search` array of the last search that ran; exports use it. */
  criteria: null,
  /** The words of the last search that ran ('' when it had none): what a subscription is to. */
  term: '',
  page: 0,
  size: 25,
  total: 0,
  /** Bumped to abandon a running export (sign-out, or a new export). */
  exportRun: 0,
  socket: null,
};

// ---------------------------------------------------------------------------------------------
// API

/** POSTs JSON to `path`; returns the JSON answer or throws an ApiError carrying its message. */
async function api(path, body, { auth = true, method = 'POST' } = {}) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (auth) headers.Authorization = `Bearer ${state.token}`;
  let response;
  try {
    const init = { method, headers };
    if (body !== undefined) init.body = JSON.stringify(body);
    response = await fetch(path, init);
  } catch {
    throw new ApiError('Could not reach the server. Is the local stack still running?', 0);
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const message = data && typeof data.message === 'string' && data.message
      ? data.message
      : `The server answered ${response.status} ${response.statusText}.`;
    if (response.status === 401 && auth) {
      signOut('Your session has ended — please sign in again.');
    }
    throw new ApiError(sentence(message), response.status);
  }
  return data;
}

/** Starts a message with a capital letter and ends it with a full stop. */
function sentence(text) {
  const trimmed = String(text).trim();
  if (!trimmed) return 'Something went wrong.';
  const first = trimmed[0].toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}

function describe(error) {
  return error instanceof ApiError ? error.message : 'Something went wrong in the page.';
}

// ---------------------------------------------------------------------------------------------
// Messages

function show(element, text, kind = '') {
  element.textContent = text;
  element.className = `message${kind ? ` ${kind}` : ''}`;
}

// ---------------------------------------------------------------------------------------------
// Signing in and out

function renderAccount() {
  const signedIn = Boolean(state.token);
  $('sign-in').hidden = signedIn;
  $('app').hidden = !signedIn;
  $('account').hidden = !signedIn;
  $('account-email').textContent = state.email || '';
}

async function signIn(event) {
  event.preventDefault();
  const input = $('email');
  const email = input.value.trim();
  const message = $('sign-in-message');
  if (!email || !input.checkValidity()) {
    show(message, 'Enter an email address, like you@example.com.', 'error');
    input.setAttribute('aria-invalid', 'true');
    input.focus();
    return;
  }
  input.removeAttribute('aria-invalid');
  $('sign-in-button').disabled = true;
  show(message, 'Signing in…');
  try {
    const answer = await api('/auth/token', { email }, { auth: false });
    state.token = answer.idToken;
    state.email = email;
    sessionStorage.setItem(TOKEN_KEY, state.token);
    sessionStorage.setItem(EMAIL_KEY, email);
    show(message, '');
    renderAccount();
    refreshExports();
    refreshSubscriptions();
    $('query').focus();
    followLink();
  } catch (error) {
    show(message, describe(error), 'error');
  } finally {
    $('sign-in-button').disabled = false;
  }
}

function signOut(reason = '') {
  stopExport();
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(EMAIL_KEY);
  state.token = null;
  state.email = null;
  state.criteria = null;
  state.term = '';
  state.total = 0;
  renderResults([]);
  renderPager();
  show($('search-status'), '');
  show($('export-status'), '');
  $('export-progress').hidden = true;
  $('export-button').disabled = true;
  setReportsEnabled(false);
  show($('report-status'), '');
  $('chart-figure').hidden = true;
  $('chart').removeAttribute('src');
  renderExports([]);
  show($('my-exports-status'), '');
  renderSubscribe();
  show($('subscribe-status'), '');
  renderSubscriptions([]);
  show($('subscriptions-status'), '');
  $('post-form').reset();
  show($('post-status'), '');
  renderAccount();
  show($('sign-in-message'), reason, reason ? 'error' : '');
  $('email').focus();
}

// ---------------------------------------------------------------------------------------------
// Searching

/** The `search` array for the form's current values, or throws an ApiError saying what is wrong. */
function criteriaFromForm() {
  const search = [];
  const query = $('query').value.trim();
  if (query) search.push({ value: query });
  const from = $('from').value;
  const to = $('to').value;
  if (from && to && from > to) {
    throw new ApiError('The “From” date is after the “To” date.', 400);
  }
  if (from || to) {
    search.push({ dateRange: [from ? `${from}T00:00:00Z` : null, to ? `${nextDay(to)}T00:00:00Z` : null] });
  }
  return search;
}

/** `YYYY-MM-DD` of the day after `date` (the API's range excludes its end; the form's includes it). */
function nextDay(date) {
  const day = new Date(`${date}T00:00:00Z`);
  day.setUTCDate(day.getUTCDate() + 1);
  return day.toISOString().slice(0, 10);
}

async function submitSearch(event) {
  event.preventDefault();
  try {
    state.criteria = criteriaFromForm();
  } catch (error) {
    show($('search-status'), describe(error), 'error');
    return;
  }
  state.size = Number($('page-size').value);
  await runSearch(0);
}

async function runSearch(page) {
  const status = $('search-status');
  setSearchBusy(true);
  show(status, 'Searching…');
  try {
    const answer = await api('/search', {
      type: 'posts',
      results: state.size,
      page,
      search: state.criteria,
    });
    if (answer.Status === 'error') {
      throw new ApiError(sentence(answer.ErrorMessage || 'The search failed.'), 200);
    }
    state.page = page;
    state.total = Number(answer.TotalResults) || 0;
    renderResults(answer.Results || []);
    renderTotal(answer.Status === 'warn' ? answer.ErrorMessage : '');
    $('export-button').disabled = false;
    setReportsEnabled(true);
    state.term = termOf(state.criteria);
    renderSubscribe();
  } catch (error) {
    if (state.token) show(status, describe(error), 'error');
  } finally {
    setSearchBusy(false);
  }
}

function setSearchBusy(busy) {
  $('search-button').disabled = busy;
  $('results').setAttribute('aria-busy', String(busy));
  if (busy) {
    $('prev-page').disabled = true;
    $('next-page').disabled = true;
  } else {
    renderPager();
  }
}

function renderTotal(warning) {
  const status = $('search-status');
  status.textContent = '';
  status.className = 'message';
  const strong = document.createElement('strong');
  strong.id = 'total-count';
  strong.dataset.total = String(state.total);
  strong.textContent = fmt(state.total);
  status.append(strong, state.total === 1 ? ' post matches.' : ' posts match.');
  if (warning) {
    const note = document.createElement('span');
    note.className = 'warning';
    note.textContent = ` ${sentence(warning)}`;
    status.append(note);
  }
}

function renderResults(posts) {
  const body = $('results-body');
  const rows = posts.map((post) => {
    const row = document.createElement('tr');
    const date = document.createElement('td');
    const time = document.createElement('time');
    time.dateTime = post.DateCreated;
    time.textContent = utcText(post.DateCreated);
    date.append(time);
    date.className = 'nowrap';
    const user = document.createElement('td');
    user.textContent = String(post.UserID ?? '');
    user.className = 'user';
    const content = document.createElement('td');
    content.textContent = post.Content ?? '';
    content.className = 'content';
    const tags = document.createElement('td');
    tags.className = 'tags';
    for (const tag of post.Tags || []) {
      const chip = document.createElement('span');
      chip.className = 'tag';
      chip.textContent = tag;
      tags.append(chip, ' ');
    }
    row.append(date, user, content, tags);
    return row;
  });
  if (rows.length === 0) {
    const row = document.createElement('tr');
    row.className = 'empty';
    const cell = document.createElement('td');
    cell.colSpan = 4;
    cell.textContent = state.criteria ? 'No posts match this search.' : 'Search to see posts here.';
    row.append(cell);
    rows.push(row);
  }
  body.replaceChildren(...rows);
}

/** Pages that exist, and how many of them /search can reach. */
function pageCounts() {
  const pages = Math.ceil(state.total / state.size);
  const reachable = Math.min(pages, Math.floor(MAX_RESULT_WINDOW / state.size));
  return { pages, reachable };
}

function renderPager() {
  const { pages, reachable } = pageCounts();
  const info = $('page-info');
  info.textContent = pages === 0 ? 'No pages' : `Page ${fmt(state.page + 1)} of ${fmt(pages)}`;
  if (pages > reachable && state.page + 1 >= reachable) {
    info.textContent += ` (export to see results past ${fmt(reachable * state.size)})`;
  }
  const prev = $('prev-page');
  const next = $('next-page');
  const hadFocus = document.activeElement;
  prev.disabled = !state.criteria || state.page <= 0;
  next.disabled = !state.criteria || state.page + 1 >= reachable;
  // Never strand keyboard focus on a button that just became disabled.
  if (hadFocus === next && next.disabled && !prev.disabled) prev.focus();
  if (hadFocus === prev && prev.disabled && !next.disabled) next.focus();
}

// ---------------------------------------------------------------------------------------------
// Exporting

function stopExport() {
  state.exportRun += 1;
  if (state.socket) {
    const socket = state.socket;
    state.socket = null;
    socket.close();
  }
}

async function submitExport(event) {
  event.preventDefault();
  if (!state.criteria) return;
  stopExport();
  const run = state.exportRun;
  const form = $('export-form');
  const delivery = form.elements.delivery.value;
  const format = $('format').value;
  const button = $('export-button');
  button.disabled = true;
  showProgress(null, null, 'Starting the export…');
  show($('export-status'), '');
  try {
    const answer = await api('/download-request', {
      type: delivery,
      searchCriteria: { type: 'posts', search: state.criteria },
      format,
    });
    const arn = answer.executionArn;
    refreshExports();
    const result = delivery === 'push'
      ? await viaWebSocket(arn, run)
      : await viaPolling(arn, run);
    if (run !== state.exportRun) return;
    finishExport(delivery, format, result);
  } catch (error) {
    if (run !== state.exportRun) return;
    $('export-progress').hidden = true;
    show($('export-status'), `The export did not finish: ${describe(error)}`, 'error');
  } finally {
    if (run === state.exportRun) button.disabled = !state.criteria;
    refreshExports();
  }
}

/** Shows the progress bar: indeterminate until the total is known. */
function showProgress(rowsWritten, totalRows, label = 'Exporting…') {
  $('export-progress').hidden = false;
  $('progress-label').textContent = label;
  const bar = $('progress-bar');
  const text = $('progress-text');
  if (typeof totalRows === 'number' && typeof rowsWritten === 'number') {
    bar.max = Math.max(totalRows, 1);
    bar.value = totalRows === 0 ? 1 : Math.min(rowsWritten, totalRows);
    bar.dataset.rowsWritten = String(rowsWritten);
    bar.dataset.totalRows = String(totalRows);
    text.textContent = `${fmt(rowsWritten)} / ${fmt(totalRows)} rows`;
  } else {
    bar.removeAttribute('value');
    text.textContent = '';
  }
}

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

/** Polls /report-status until the export is no longer RUNNING; resolves with its report. */
async function viaPolling(arn, run) {
  for (;;) {
    if (run !== state.exportRun) return null;
    const status = await api('/report-status', { executionArn: arn });
    if (status.status === 'SUCCEEDED') {
      return { reportURL: status.reportURL, rows: status.rowsWritten ?? status.totalRows };
    }
    if (status.status !== 'RUNNING') {
      throw new ApiError(sentence(status.error || `The export ended as ${status.status}.`), 200);
    }
    if (typeof status.totalRows === 'number') {
      showProgress(status.rowsWritten ?? 0, status.totalRows);
    }
    await sleep(POLL_MS);
  }
}

/** Waits for the push WebSocket to deliver the report, showing its progress frames. */
function viaWebSocket(arn, run) {
  return new Promise((resolve, reject) => {
    const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
    const url = `${scheme}://${window.location.host}/ws?token=${encodeURIComponent(state.token)}`;
    let settled = false;
    let rows = null;
    let socket;
    const settle = (fn, value) => {
      if (settled) return;
      settled = true;
      if (state.socket === socket) state.socket = null;
      socket.close();
      fn(value);
    };
    try {
      socket = new WebSocket(url);
    } catch {
      reject(new ApiError('Could not open the push connection.', 0));
      return;
    }
    state.socket = socket;
    socket.addEventListener('open', () => {
      socket.send(JSON.stringify({ action: 'OpenConnection', executionArn: arn, progress: true }));
    });
    socket.addEventListener('message', (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (frame.progress) {
        rows = frame.progress.rowsWritten;
        showProgress(frame.progress.rowsWritten, frame.progress.totalRows);
      } else if (frame.reportURL) {
        settle(resolve, { reportURL: frame.reportURL, rows });
      } else if (frame.error) {
        settle(reject, new ApiError(sentence(frame.error), 200));
      }
    });
    socket.addEventListener('close', () => {
      if (settled || run !== state.exportRun) return;
      // The connection dropped before the file was ready: ask /report-status instead.
      settled = true;
      $('progress-label').textContent = 'The push connection closed; checking the status instead…';
      viaPolling(arn, run).then(resolve, reject);
    });
  });
}

function finishExport(delivery, format, result) {
  const rows = result && typeof result.rows === 'number' ? result.rows : null;
  const bar = $('progress-bar');
  if (rows !== null) showProgress(rows, rows, 'Done');
  else {
    bar.max = 1;
    bar.value = 1;
    $('progress-label').textContent = 'Done';
  }
  const status = $('export-status');
  status.textContent = '';
  status.className = 'message success';
  const rowText = rows === null ? '' : ` (${fmt(rows)} ${rows === 1 ? 'row' : 'rows'})`;
  if (delivery === 'email') {
    const strong = document.createElement('strong');
    strong.textContent = state.email;
    status.append(
      'Sent to ',
      strong,
      `${rowText}. In local mode the message is written to the server’s outbox folder `,
      code('.sde/outbox/'),
      ' (in its data directory) instead of a real mailbox.',
    );
    return;
  }
  const link = document.createElement('a');
  link.id = 'download-link';
  link.href = result.reportURL;
  link.download = '';
  link.dataset.format = format;
  if (rows !== null) link.dataset.rows = String(rows);
  link.textContent = `Download the ${format.toUpperCase()} file${rowText}`;
  status.append('Your export is ready: ', link, '. The link works for 24 hours.');
}

function code(text) {
  const element = document.createElement('code');
  element.textContent = text;
  return element;
}

// ---------------------------------------------------------------------------------------------
// Reports

const REPORT_BUTTONS = ['view-chart', 'download-chart', 'download-trending'];

function setReportsEnabled(enabled) {
  for (const id of REPORT_BUTTONS) $(id).disabled = !enabled;
}

/** Asks for a report of the last search; resolves with its URL (the API answers a JSON string). */
async function reportUrl(path, download) {
  const url = await api(path, { download, search: state.criteria });
  if (typeof url !== 'string' || !url) throw new ApiError('The server sent no report link.', 200);
  return url;
}

/** Runs one report action with the buttons disabled and its outcome in the status line. */
async function reportAction(busyText, action) {
  if (!state.criteria) return;
  const status = $('report-status');
  setReportsEnabled(false);
  show(status, busyText);
  try {
    await action(status);
  } catch (error) {
    if (state.token) show(status, `The report failed: ${describe(error)}`, 'error');
  } finally {
    if (state.token) setReportsEnabled(Boolean(state.criteria));
  }
}

/** Shows the post-frequency chart in the page, described for screen readers by its own <desc>. */
function viewChart() {
  return reportAction('Drawing the chart…', async (status) => {
    const url = await reportUrl('/report/graphical', false);
    let response;
    try {
      response = await fetch(url);
    } catch {
      throw new ApiError('Could not fetch the chart.', 0);
    }
    if (!response.ok) throw new ApiError(`Fetching the chart answered ${response.status}.`, response.status);
    const svg = await response.text();
    const drawing = new DOMParser().parseFromString(svg, 'image/svg+xml');
    const title = drawing.querySelector('svg > title')?.textContent?.trim() ?? 'Posts over time';
    const desc = drawing.querySelector('svg > desc')?.textContent?.trim() ?? '';
    const chart = $('chart');
    // A data: URL (the page's policy allows images from here and data:) shows exactly the
    // drawing fetched, without a second download.
    chart.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
    chart.alt = desc ? `${title}. ${desc}` : title;
    $('chart-caption').textContent = desc;
    $('chart-figure').hidden = false;
    show(status, '');
  });
}

/** Starts the browser's download of a report, with a link to use if it does not start. */
function downloadReport(path, label) {
  return reportAction(`Preparing the ${label}…`, async (status) => {
    const url = await reportUrl(path, true);
    const link = document.createElement('a');
    link.id = 'report-link';
    link.href = url;
    link.download = '';
    link.textContent = `download the ${label} again`;
    status.textContent = '';
    status.className = 'message success';
    status.append(`Your ${label} is downloading (or `, link, '). The link works for 24 hours.');
    link.click();
  });
}

// ---------------------------------------------------------------------------------------------
// Your exports

const TYPE_NAMES = { direct: 'Direct', email: 'Email', push: 'Push' };
const STATUS_NAMES = {
  RUNNING: 'Running',
  SUCCEEDED: 'Ready',
  FAILED: 'Failed',
  TIMED_OUT: 'Timed out',
  ABORTED: 'Cancelled',
};
/** Bumped by each refresh, so an older answer arriving late is dropped. */
let exportsRefresh = 0;

/** Reads GET /exports and shows the list. */
async function refreshExports() {
  if (!state.token) return;
  const mine = ++exportsRefresh;
  try {
    const answer = await api('/exports', undefined, { method: 'GET' });
    if (mine !== exportsRefresh || !state.token) return;
    renderExports(answer.exports);
  } catch (error) {
    if (mine === exportsRefresh) show($('my-exports-status'), describe(error), 'error');
  }
}

function renderExports(exports) {
  const body = $('my-exports-body');
  body.replaceChildren();
  if (!exports.length) {
    const row = body.insertRow();
    row.className = 'empty';
    const cell = row.insertCell();
    cell.colSpan = 5;
    cell.textContent = 'No exports in the last 24 hours.';
    return;
  }
  for (const item of exports) {
    const row = body.insertRow();
    row.dataset.id = item.id;
    row.dataset.status = item.status;
    const started = row.insertCell();
    started.className = 'nowrap';
    const time = document.createElement('time');
    time.dateTime = item.created;
    time.textContent = new Date(item.created).toLocaleString('en', { dateStyle: 'medium', timeStyle: 'short' });
    started.append(time);
    row.insertCell().textContent = TYPE_NAMES[item.type] || item.type;
    const status = row.insertCell();
    status.className = 'export-status';
    status.textContent = STATUS_NAMES[item.status] || item.status;
    row.insertCell().textContent = typeof item.rows === 'number' ? fmt(item.rows) : '–';
    const file = row.insertCell();
    file.className = 'actions';
    if (item.status === 'RUNNING') {
      file.append(actionButton('Cancel', `Cancel the export started ${time.textContent}`, item.id, 'cancel'));
    } else if (item.reportURL) {
      const link = document.createElement('a');
      link.href = item.reportURL;
      link.download = '';
      link.className = 'download';
      link.textContent = 'Download';
      file.append(link, ' ', actionButton('Delete', `Delete the file of the export started ${time.textContent}`, item.id, 'delete'));
    } else if (item.fileDeleted) {
      file.textContent = 'Deleted';
    } else {
      file.textContent = '–';
    }
  }
}

function actionButton(text, label, id, action) {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = `secondary ${action}`;
  button.textContent = text;
  button.setAttribute('aria-label', label);
  button.addEventListener('click', () => removeExport(id, action, button));
  return button;
}

/** DELETE /exports/{id}: cancels a running export or deletes a finished one's file. */
async function removeExport(id, action, button) {
  button.disabled = true;
  const message = $('my-exports-status');
  show(message, action === 'cancel' ? 'Cancelling…' : 'Deleting…');
  try {
    await api(`/exports/${encodeURIComponent(id)}`, undefined, { method: 'DELETE' });
    show(message, action === 'cancel' ? 'The export was cancelled.' : 'The file was deleted.', 'success');
  } catch (error) {
    show(message, describe(error), 'error');
  }
  await refreshExports();
}

// ---------------------------------------------------------------------------------------------
// Adding a post

/** The tags typed in one box, separated by spaces or commas (the server normalises each). */
function parseTags(text) {
  return text.split(/[\s,]+/).filter((tag) => tag.length > 0);
}

/** POST /posts with the form's text and tags; shows the post as stored, or why it was refused. */
async function submitPost(event) {
  event.preventDefault();
  const text = $('post-text');
  const tags = $('post-tags');
  const status = $('post-status');
  const button = $('post-button');
  button.disabled = true;
  text.removeAttribute('aria-invalid');
  tags.removeAttribute('aria-invalid');
  show(status, 'Posting…');
  try {
    const post = await api('/posts', { Post: text.value, Tags: parseTags(tags.value) });
    $('post-form').reset();
    renderPosted(post);
  } catch (error) {
    if (!state.token) return;
    show(status, `The post was not stored: ${describe(error)}`, 'error');
    if (error instanceof ApiError && (error.status === 400 || error.status === 413)) {
      // Point at the field the server's message is about.
      const field = /\btags?\b/i.test(error.message) ? tags : text;
      field.setAttribute('aria-invalid', 'true');
      field.focus();
    }
  } finally {
    button.disabled = false;
  }
}

/** Shows the post as the server stored it: its time, text and normalised tags. */
function renderPosted(post) {
  const status = $('post-status');
  status.textContent = '';
  status.className = 'message success';
  const time = document.createElement('time');
  time.dateTime = String(post.DateCreated ?? '');
  time.textContent = utcText(post.DateCreated);
  const stored = document.createElement('div');
  stored.id = 'posted';
  stored.className = 'posted';
  stored.dataset.uuid = String(post.uuid ?? '');
  const content = document.createElement('p');
  content.className = 'content';
  content.textContent = String(post.Content ?? '');
  stored.append(content);
  const tags = Array.isArray(post.Tags) ? post.Tags : [];
  if (tags.length) {
    const line = document.createElement('p');
    line.className = 'tags';
    for (const tag of tags) {
      const chip = document.createElement('span');
      chip.className = 'tag';
      chip.textContent = String(tag);
      line.append(chip, ' ');
    }
    stored.append(line);
  }
  status.append('Posted at ', time, '. Search finds it now:', stored);
}

/** `2019-07-21T10:00:00.000Z` as `2019-07-21 10:00:00 UTC`. */
function utcText(date) {
  return String(date || '').replace('T', ' ').replace(/(\.\d+)?(Z|\+00:00)$/, ' UTC');
}

// ---------------------------------------------------------------------------------------------
// Subscriptions

/** The two kinds, in the order listed, with the words the page uses for them. */
const KINDS = ['daily', 'real-time'];
const KIND_NAMES = { daily: 'Daily', 'real-time': 'Real time' };
const KIND_PHRASES = { daily: 'a daily email', 'real-time': 'an email for each new post' };
/** Bumped by each refresh, so an older answer arriving late is dropped. */
let subscriptionsRefresh = 0;

/** The words of a `search` array: what a subscription is to (dates are not part of one). */
function termOf(criteria) {
  const term = (criteria || []).find((item) => typeof item.value === 'string');
  return term ? term.value : '';
}

/** Enables the subscribe buttons once a search with words has run, and names those words. */
function renderSubscribe() {
  const term = $('subscribe-term');
  term.textContent = state.term ? `“${state.term}”` : 'search for a word or #tag first';
  $('subscribe-daily').disabled = !state.term;
  $('subscribe-real-time').disabled = !state.term;
}

/** POST /subscriptions/{kind} with the last search's words. */
async function subscribe(kind) {
  const term = state.term;
  if (!term) return;
  const status = $('subscribe-status');
  $('subscribe-daily').disabled = true;
  $('subscribe-real-time').disabled = true;
  show(status, 'Subscribing…');
  try {
    const answer = await api(`/subscriptions/${kind}`, { value: term });
    show(status, `Subscribed: ${KIND_PHRASES[kind]} about “${answer?.value ?? term}”.`, 'success');
  } catch (error) {
    if (state.token) show(status, describe(error), 'error');
  } finally {
    if (state.token) {
      renderSubscribe();
      refreshSubscriptions();
    }
  }
}

/** Reads both GET /subscriptions/{kind} and shows one list. */
async function refreshSubscriptions() {
  if (!state.token) return;
  const mine = ++subscriptionsRefresh;
  try {
    const lists = await Promise.all(KINDS.map((kind) => api(`/subscriptions/${kind}`, undefined, { method: 'GET' })));
    if (mine !== subscriptionsRefresh || !state.token) return;
    const items = [];
    lists.forEach((terms, i) => {
      for (const term of Array.isArray(terms) ? terms : []) items.push({ kind: KINDS[i], term: String(term) });
    });
    renderSubscriptions(items);
  } catch (error) {
    if (mine === subscriptionsRefresh && state.token) show($('subscriptions-status'), describe(error), 'error');
  }
}

function renderSubscriptions(items) {
  const body = $('subscriptions-body');
  body.replaceChildren();
  if (!items.length) {
    const row = body.insertRow();
    row.className = 'empty';
    const cell = row.insertCell();
    cell.colSpan = 3;
    cell.textContent = 'You have no subscriptions.';
    return;
  }
  for (const { kind, term } of items) {
    const row = body.insertRow();
    row.dataset.kind = kind;
    row.dataset.term = term;
    const search = row.insertCell();
    search.className = 'term';
    const link = document.createElement('a');
    link.href = `?${new URLSearchParams({ search: term })}`;
    link.textContent = term;
    link.setAttribute('aria-label', `Search for “${term}”`);
    link.addEventListener('click', (event) => {
      event.preventDefault();
      $('query').value = term;
      $('search-form').requestSubmit();
      $('query').focus();
    });
    search.append(link);
    row.insertCell().textContent = KIND_NAMES[kind];
    const actions = row.insertCell();
    actions.className = 'actions';
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'secondary delete';
    button.textContent = 'Delete';
    button.setAttribute('aria-label', `Delete the ${KIND_NAMES[kind].toLowerCase()} subscription to “${term}”`);
    button.addEventListener('click', () => removeSubscription(kind, term, button));
    actions.append(button);
  }
}

/** DELETE /subscriptions/{kind} with the term; then the list again, focus kept in it. */
async function removeSubscription(kind, term, button) {
  button.disabled = true;
  const status = $('subscriptions-status');
  show(status, 'Deleting…');
  try {
    await api(`/subscriptions/${kind}`, { value: term }, { method: 'DELETE' });
    show(status, `Deleted: no more ${KIND_NAMES[kind].toLowerCase()} emails about “${term}”.`, 'success');
  } catch (error) {
    if (!state.token) return;
    show(status, describe(error), 'error');
  }
  await refreshSubscriptions();
  // The button is gone with its row: keep keyboard focus in the list, not at the page's top.
  if (!button.isConnected && state.token) {
    const next = document.querySelector('#subscriptions-body button.delete');
    (next || $('refresh-subscriptions')).focus();
  }
}

// ---------------------------------------------------------------------------------------------
// Links into the page: `?search=term` runs that search, `?unsubscribe=true` opens the list.

/** What the address asked for, followed once someone is signed in. */
let pendingLink = (() => {
  const params = new URLSearchParams(window.location.search);
  const search = params.get('search');
  const unsubscribe = params.get('unsubscribe') === 'true';
  return search !== null || unsubscribe ? { search, unsubscribe } : null;
})();

function followLink() {
  if (!state.token || !pendingLink) return;
  const { search, unsubscribe } = pendingLink;
  pendingLink = null;
  if (search !== null) {
    $('query').value = search;
    $('search-form').requestSubmit();
  }
  if (unsubscribe) {
    const list = $('subscriptions');
    list.scrollIntoView({ block: 'start' });
    list.focus({ preventScroll: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Wiring

function start() {
  $('sign-in-form').addEventListener('submit', signIn);
  $('sign-out').addEventListener('click', () => signOut());
  $('search-form').addEventListener('submit', submitSearch);
  $('page-size').addEventListener('change', () => {
    if (state.criteria) $('search-form').requestSubmit();
  });
  $('prev-page').addEventListener('click', () => runSearch(state.page - 1));
  $('next-page').addEventListener('click', () => runSearch(state.page + 1));
  $('export-form').addEventListener('submit', submitExport);
  $('view-chart').addEventListener('click', viewChart);
  $('download-chart').addEventListener('click', () => downloadReport('/report/graphical', 'chart'));
  $('download-trending').addEventListener('click', () => downloadReport('/report/hybrid', 'trending-tags PDF'));
  $('refresh-exports').addEventListener('click', refreshExports);
  $('post-form').addEventListener('submit', submitPost);
  $('post-text').addEventListener('keydown', (event) => {
    // Enter starts a new line in the text; Ctrl+Enter (⌘+Enter) posts it.
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      $('post-form').requestSubmit();
    }
  });
  $('subscribe-daily').addEventListener('click', () => subscribe('daily'));
  $('subscribe-real-time').addEventListener('click', () => subscribe('real-time'));
  $('refresh-subscriptions').addEventListener('click', refreshSubscriptions);
  // A linked search shows in the box at once, and runs once signed in.
  if (pendingLink && pendingLink.search !== null) $('query').value = pendingLink.search;
  renderAccount();
  renderPager();
  renderSubscribe();
  refreshExports();
  refreshSubscriptions();
  followLink();
  document.body.dataset.ready = 'true';
}

start();

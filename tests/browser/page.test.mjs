// Browser test of the try-it page: starts a real local stack (`sde serve` on a free port over a
// temporary data directory, 3,000 seeded posts), drives Debian's Chromium headless through
// playwright-core, and checks what a person would: signing in with the keyboard, searching,
// paging, the three exports with their files' row counts, the reports (the chart shown in the
// page, its SVG and the trending PDF downloaded), adding a post that search finds at once,
// subscribing to a search (refusing a duplicate) and deleting subscriptions, the `?search=` and
// `?unsubscribe=true` links, errors in words, the narrow layout, and that the page loads nothing
// from anywhere else.
//
// Run by scripts/browser-test.sh (which installs playwright-core and builds the binary):
//   SDE_BIN=… SDE_BROWSER_TOOLS=… node --test tests/browser/page.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tools = process.env.SDE_BROWSER_TOOLS ?? path.join(repo, '.tools/browser');
const { chromium } = createRequire(path.join(tools, 'package.json'))('playwright-core');
const targetDir = process.env.CARGO_TARGET_DIR ?? path.join(os.homedir(), '.cache/sde-target');
const sdeBin = process.env.SDE_BIN ?? path.join(targetDir, 'debug/sde');
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const screenshots = path.join(repo, 'target');

const EMAIL = 'browser@example.com';
/** The second user, who posts what the first one subscribed to. */
const OTHER_EMAIL = 'other-browser@example.com';
const PAGE_SIZE = 25;
/** A word no seeded post has: lower-case letters only, so every analyser keeps it whole. */
const randomWord = (prefix) => prefix + Array.from({ length: 10 }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join('');
const CSP = "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'";

/** Starts `sde serve` on a free port; resolves once it prints its URL. */
function startServer(dataDir) {
  const child = spawn(
    sdeBin,
    ['serve', '--addr', '127.0.0.1:0', '--seed-posts', '3000', '--data-dir', dataDir],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } },
  );
  let output = '';
  const url = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sde serve printed no URL in 120 s:\n${output}`)), 120_000);
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const match = /sde is running at (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.stderr.on('data', (chunk) => { output += chunk; });
    child.on('error', (error) => { clearTimeout(timer); reject(error); });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`sde serve exited (${code ?? signal}) before it was ready:\n${output}`));
    });
  });
  return { child, url, output: () => output };
}

/** Stops the server with Ctrl-C, then for good if it lingers. */
async function stopServer(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/** Records in an RFC 4180 CSV text (quoted fields may hold CR, LF and doubled quotes). */
function csvRecords(text) {
  let records = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') i += 1;
        else quoted = false;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === '\n') {
      records += 1;
    }
  }
  if (text.length > 0 && !text.endsWith('\n')) records += 1;
  return records;
}

/** Fetches a download link the page shows. */
async function download(href) {
  const response = await fetch(href);
  assert.equal(response.status, 200, `GET ${href}`);
  return response.text();
}

/** The text of a message body sent quoted-printable (soft line breaks joined, `=XX` decoded). */
function decodeQuotedPrintable(text) {
  const joined = text.replace(/=\r?\n/g, '');
  const bytes = [];
  for (let i = 0; i < joined.length; i += 1) {
    const hex = joined.slice(i + 1, i + 3);
    if (joined[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(joined[i], 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** The outbox's messages as `{ name, to, text }`, `text` being the decoded whole message. */
function outboxMessages(outbox) {
  if (!existsSync(outbox)) return [];
  return readdirSync(outbox).filter((name) => name.endsWith('.eml')).map((name) => {
    const raw = readFileSync(path.join(outbox, name), 'utf8');
    const head = raw.slice(0, raw.search(/\r?\n\r?\n/));
    const to = /^To:(.*(?:\r?\n[ \t].*)*)/im.exec(head)?.[1].trim() ?? '';
    return { name, to, text: decodeQuotedPrintable(raw) };
  });
}

/**
 * Issue 18's end-to-end check of real-time mail: a second user signs in through the development
 * issuer and posts text holding `term`; within 30 s the outbox must hold exactly one new message
 * to `subscriber` that names the term, carries the post's text and links to `?search=<term>`.
 * Resolves with that link. Needs `term` to be a real-time subscription of `subscriber`.
 */
async function expectRealTimeEmail(base, outbox, subscriber, term) {
  const signIn = await fetch(`${base}/auth/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: OTHER_EMAIL }),
  });
  assert.equal(signIn.status, 200, 'the second user signs in');
  const { idToken } = await signIn.json();
  const marker = randomWord('osprey');
  const text = `A hand-written post by another user about ${term}, marked ${marker}.`;
  const posted = await fetch(`${base}/posts`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${idToken}` },
    body: JSON.stringify({ Post: text, Tags: ['#browsertest'] }),
  });
  assert.equal(posted.status, 201, 'the second user\'s post is stored');
  const mine = () => outboxMessages(outbox).filter((message) => message.to.includes(subscriber) && message.text.includes(marker));
  const deadline = Date.now() + 30_000;
  while (mine().length === 0) {
    assert.ok(Date.now() < deadline, `no real-time email to ${subscriber} about "${marker}" in ${outbox} within 30 s`);
    await new Promise((resolve) => { setTimeout(resolve, 250); });
  }
  // Exactly one, even a moment later (a retried job must not mail twice).
  await new Promise((resolve) => { setTimeout(resolve, 1_000); });
  const messages = mine();
  assert.equal(messages.length, 1, `one email per (user, post): ${messages.map((m) => m.name).join(', ')}`);
  const [message] = messages;
  assert.ok(message.text.includes(term), 'the email names the matching term');
  assert.ok(!outboxMessages(outbox).some((m) => m.to.includes(OTHER_EMAIL) && m.text.includes(marker)),
    'the author is not mailed about their own post');
  const link = /https?:\/\/[^\s"'<>]*\?search=[^\s"'<>&]+/.exec(message.text)?.[0];
  assert.ok(link, 'the email links to the search');
  assert.equal(new URL(link).searchParams.get('search'), term);
  return link;
}

test('the try-it page: sign in, search, page, export three ways', { timeout: 300_000 }, async (t) => {
  const started = Date.now();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'sde-page-data-'));
  const profile = mkdtempSync(path.join(os.tmpdir(), 'sde-page-chromium-'));
  const server = startServer(dataDir);
  // The server never outlives the test: not on failure, a timeout, nor Ctrl-C / SIGTERM.
  const killOnExit = () => server.child.kill('SIGKILL');
  const killOnSignal = (signal) => {
    killOnExit();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('exit', killOnExit);
  process.once('SIGINT', killOnSignal);
  process.once('SIGTERM', killOnSignal);
  let context;
  try {
    const base = await server.url;
    t.diagnostic(`stack at ${base} after ${Date.now() - started} ms`);

    context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath,
      headless: true,
      viewport: { width: 1280, height: 900 },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    const page = context.pages()[0] ?? await context.newPage();
    page.setDefaultTimeout(30_000);
    const problems = [];
    const elsewhere = [];
    page.on('console', (message) => {
      // The deliberate 400 below is logged by Chromium itself; anything else is a problem.
      const expected = /status of 400 \(Bad Request\)/.test(message.text());
      if (message.type() === 'error' && !expected) problems.push(`console: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    context.on('request', (request) => {
      const url = request.url();
      const origin = new URL(base).origin;
      const local = url.startsWith(`${origin}/`) || url.startsWith(origin.replace('http', 'ws'))
        || url.startsWith('data:');
      if (!local) elsewhere.push(url);
    });

    await t.test('is served at / with its content type and a strict policy', async () => {
      const response = await page.goto(base);
      assert.equal(response.status(), 200);
      const headers = response.headers();
      assert.match(headers['content-type'], /^text\/html/);
      assert.equal(headers['content-security-policy'], CSP);
      await page.waitForSelector('body[data-ready="true"]');
      assert.equal(await page.title(), 'sde — search data exports');
      assert.ok(await page.isVisible('#sign-in'));
      assert.ok(await page.isHidden('#app'));
    });

    await t.test('signs in with the keyboard through the development issuer', async () => {
      await page.focus('#email');
      await page.keyboard.press('Control+A');
      await page.keyboard.type(EMAIL);
      await page.keyboard.press('Enter');
      await page.waitForSelector('#app', { state: 'visible' });
      assert.equal(await page.textContent('#account-email'), EMAIL);
      const token = await page.evaluate(() => sessionStorage.getItem('sde.idToken'));
      assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'an ID token in sessionStorage');
      // Focus moved to the search box, so searching needs no mouse either.
      assert.equal(await page.evaluate(() => document.activeElement.id), 'query');
    });

    let total = 0;
    let firstRowPage1 = '';
    await t.test('searches #aurora and shows the total and page 1', async () => {
      await page.selectOption('#page-size', String(PAGE_SIZE));
      await page.focus('#query');
      await page.keyboard.type('#aurora');
      await page.keyboard.press('Enter');
      await page.waitForSelector('#total-count');
      total = Number(await page.getAttribute('#total-count', 'data-total'));
      assert.ok(total > PAGE_SIZE, `#aurora should match more than one page (got ${total})`);
      const pages = Math.ceil(total / PAGE_SIZE);
      assert.equal(await page.textContent('#page-info'), `Page 1 of ${pages}`);
      assert.equal(await page.locator('#results-body tr').count(), PAGE_SIZE);
      const tags = await page.locator('#results-body tr:first-child td.tags').textContent();
      assert.match(tags, /#aurora/i);
      firstRowPage1 = await page.locator('#results-body tr:first-child').textContent();
      assert.ok(await page.isDisabled('#prev-page'));
      assert.ok(await page.isEnabled('#export-button'));
    });

    await t.test('goes to page 2', async () => {
      await page.focus('#next-page');
      await page.keyboard.press('Enter');
      const pages = Math.ceil(total / PAGE_SIZE);
      await page.waitForFunction((text) => document.getElementById('page-info').textContent === text, `Page 2 of ${pages}`);
      await page.waitForFunction(() => document.getElementById('results').getAttribute('aria-busy') === 'false');
      assert.equal(await page.locator('#results-body tr').count(), Math.min(PAGE_SIZE, total - PAGE_SIZE));
      assert.notEqual(await page.locator('#results-body tr:first-child').textContent(), firstRowPage1);
      assert.ok(await page.isEnabled('#prev-page'));
    });

    await t.test('exports directly as CSV with progress, and the file holds every row', async () => {
      await page.check('input[name="delivery"][value="direct"]');
      await page.selectOption('#format', 'csv');
      await page.click('#export-button');
      await page.waitForSelector('#download-link', { timeout: 60_000 });
      assert.equal(await page.getAttribute('#download-link', 'data-rows'), String(total));
      assert.equal(await page.getAttribute('#progress-bar', 'data-total-rows'), String(total));
      assert.equal(await page.textContent('#progress-text'), `${total.toLocaleString('en')} / ${total.toLocaleString('en')} rows`);
      const csv = await download(await page.getAttribute('#download-link', 'href'));
      assert.match(csv.slice(0, csv.indexOf('\n')), /DateCreated/);
      assert.equal(csvRecords(csv) - 1, total, 'CSV rows (less the header) equal the total shown');
    });

    await t.test('exports over the push WebSocket as NDJSON, and the file holds every row', async () => {
      await page.check('input[name="delivery"][value="push"]');
      await page.selectOption('#format', 'ndjson');
      await page.click('#export-button');
      await page.waitForFunction(() => document.getElementById('progress-label').textContent === 'Done', null, { timeout: 60_000 });
      await page.waitForSelector('#download-link[data-format="ndjson"]');
      const ndjson = await download(await page.getAttribute('#download-link', 'href'));
      const lines = ndjson.split('\n').filter((line) => line.length > 0);
      for (const line of lines) JSON.parse(line);
      assert.equal(lines.length, total, 'NDJSON lines equal the total shown');
    });

    await t.test('exports by email and says where the message went', async () => {
      await page.check('input[name="delivery"][value="email"]');
      await page.selectOption('#format', 'csv');
      await page.click('#export-button');
      await page.waitForFunction(() => document.getElementById('export-status').textContent.startsWith('Sent to'), null, { timeout: 60_000 });
      const text = await page.textContent('#export-status');
      assert.match(text, new RegExp(`Sent to ${EMAIL.replace('.', '\\.')} \\(${total.toLocaleString('en')} rows\\)`));
      assert.match(text, /\.sde\/outbox\//);
      const outbox = path.join(dataDir, 'outbox');
      assert.ok(existsSync(outbox) && readdirSync(outbox).some((name) => readFileSync(path.join(outbox, name), 'utf8').includes(EMAIL)),
        'a message to the signed-in address is in the outbox');
    });

    await t.test('lists your exports, deletes a finished file and cancels a running export', async () => {
      // The three exports above, newest first, each ready with its row count.
      await page.waitForFunction(() => document.querySelectorAll('#my-exports-body tr[data-status="SUCCEEDED"]').length === 3,
        null, { timeout: 30_000 });
      const rows = page.locator('#my-exports-body tr');
      assert.deepEqual(await rows.locator('td:nth-child(2)').allTextContents(), ['Email', 'Push', 'Direct']);
      for (const count of await rows.locator('td:nth-child(4)').allTextContents()) {
        assert.equal(count, total.toLocaleString('en'));
      }

      // Delete the direct export's file: its link stops working.
      const direct = rows.nth(2);
      const href = await direct.locator('a.download').getAttribute('href');
      assert.equal((await fetch(href)).status, 200);
      await direct.locator('button.delete').click();
      await page.waitForFunction(() => document.querySelector('#my-exports-body tr:nth-child(3) td:nth-child(5)')?.textContent === 'Deleted');
      assert.equal(await page.textContent('#my-exports-status'), 'The file was deleted.');
      assert.equal((await fetch(href)).status, 410, 'a deleted file\'s link answers 410');

      // A push export nobody connects for stays running (it waits for its client): cancel it.
      const arn = await page.evaluate(async () => {
        const response = await fetch('/download-request', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${sessionStorage.getItem('sde.idToken')}` },
          body: JSON.stringify({ type: 'push', searchCriteria: { type: 'posts', search: [] } }),
        });
        return (await response.json()).executionArn;
      });
      const id = arn.split(':').pop();
      await page.click('#refresh-exports');
      const running = page.locator(`#my-exports-body tr[data-id="${id}"]`);
      await page.locator(`#my-exports-body tr[data-id="${id}"][data-status="RUNNING"]`).waitFor();
      assert.equal(await running.locator('td.export-status').textContent(), 'Running');
      await running.locator('button.cancel').click();
      await page.locator(`#my-exports-body tr[data-id="${id}"][data-status="ABORTED"]`).waitFor({ timeout: 30_000 });
      assert.equal(await running.locator('td.export-status').textContent(), 'Cancelled');
      assert.equal(await page.textContent('#my-exports-status'), 'The export was cancelled.');
      const status = await page.evaluate(async (executionArn) => {
        const response = await fetch('/report-status', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${sessionStorage.getItem('sde.idToken')}` },
          body: JSON.stringify({ executionArn }),
        });
        return (await response.json()).status;
      }, arn);
      assert.equal(status, 'ABORTED');
    });

    await t.test('views the post-frequency chart of the search, and downloads it and the trending PDF', async () => {
      // The whole of 2019, the seeded posts' year: the chart then counts every match.
      await page.fill('#from', '2019-01-01');
      await page.fill('#to', '2019-12-31');
      await page.click('#search-button');
      await page.waitForFunction(() => document.getElementById('results').getAttribute('aria-busy') === 'false'
        && document.getElementById('total-count'));
      const yearTotal = Number(await page.getAttribute('#total-count', 'data-total'));
      assert.equal(yearTotal, total, 'every seeded post is dated 2019');

      await page.click('#view-chart');
      await page.waitForSelector('#chart-figure', { state: 'visible', timeout: 60_000 });
      await page.waitForFunction(() => {
        const chart = document.getElementById('chart');
        return chart.complete && chart.naturalWidth > 0;
      });
      const alt = await page.getAttribute('#chart', 'alt');
      assert.match(alt, new RegExp(`${yearTotal} posts in total`), `the chart says its total: ${alt}`);
      assert.match(alt, /Posts per week/, `a year is drawn in weeks: ${alt}`);
      const box = await page.locator('#chart').boundingBox();
      assert.ok(box.width > 300 && box.height > 100, `the chart is drawn large enough: ${JSON.stringify(box)}`);
      // Not blank: the drawing has coloured bars, not just a white box.
      const inked = await page.evaluate(() => {
        const chart = document.getElementById('chart');
        const canvas = document.createElement('canvas');
        canvas.width = chart.naturalWidth;
        canvas.height = chart.naturalHeight;
        const context = canvas.getContext('2d');
        context.drawImage(chart, 0, 0);
        const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
        let coloured = 0;
        for (let i = 0; i < data.length; i += 4) {
          const [r, g, b, a] = [data[i], data[i + 1], data[i + 2], data[i + 3]];
          if (a > 0 && (Math.max(r, g, b) - Math.min(r, g, b)) > 40) coloured += 1;
        }
        return coloured / (canvas.width * canvas.height);
      });
      assert.ok(inked > 0.01, `coloured bars cover ${(inked * 100).toFixed(2)}% of the chart`);

      const [chartFile] = await Promise.all([page.waitForEvent('download'), page.click('#download-chart')]);
      assert.equal(chartFile.suggestedFilename(), 'post-frequency-20190101T0000Z-20200101T0000Z.svg');
      const svg = readFileSync(await chartFile.path(), 'utf8');
      assert.match(svg, /<svg[\s>]/);
      assert.match(svg, new RegExp(`${yearTotal} posts in total`));

      const [pdfFile] = await Promise.all([page.waitForEvent('download'), page.click('#download-trending')]);
      assert.equal(pdfFile.suggestedFilename(), 'trending-tags-20190101T0000Z-20200101T0000Z.pdf');
      const pdf = readFileSync(await pdfFile.path());
      assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
      assert.match(await page.textContent('#report-status'), /trending-tags PDF is downloading/);
    });

    const word = randomWord('kestrel');
    const tag = `#${word}tag`;
    const postText = `A hand-written browser-test post about ${word} & <b>not bold</b>`;
    await t.test('adds a post with the keyboard, and search finds it at once', async () => {
      // Refused by the API (400): a blank post. The server's words are shown, the text is marked.
      await page.fill('#post-text', '   ');
      await page.click('#post-button');
      await page.waitForSelector('#post-status.error');
      assert.match(await page.textContent('#post-status'), /^The post was not stored: .{10,}/);
      assert.equal(await page.getAttribute('#post-text', 'aria-invalid'), 'true');
      assert.equal(await page.evaluate(() => document.activeElement.id), 'post-text');

      await page.fill('#post-text', postText);
      await page.fill('#post-tags', `Garden, ${tag}  `);
      await page.focus('#post-text');
      await page.keyboard.press('Control+Enter');
      await page.waitForSelector('#posted');
      assert.match(await page.getAttribute('#posted', 'data-uuid'), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      // Shown as text: the markup in it is not markup.
      assert.equal(await page.textContent('#posted .content'), postText);
      assert.equal(await page.locator('#posted b').count(), 0);
      assert.deepEqual(await page.locator('#posted .tag').allTextContents(), ['#garden', tag]);
      assert.match(await page.textContent('#post-status'), /^Posted at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\./);
      assert.equal(await page.inputValue('#post-text'), '', 'the form is cleared');
      assert.equal(await page.inputValue('#post-tags'), '');
      assert.equal(await page.getAttribute('#post-text', 'aria-invalid'), null);

      await page.fill('#from', '');
      await page.fill('#to', '');
      for (const query of [word, tag]) {
        await page.fill('#query', query);
        await page.press('#query', 'Enter');
        await page.waitForFunction(() => document.getElementById('results').getAttribute('aria-busy') === 'false'
          && document.getElementById('total-count')
          && document.querySelector('#results-body td.content')?.textContent.includes('hand-written browser-test'));
        assert.equal(await page.getAttribute('#total-count', 'data-total'), '1', `${query} finds the new post`);
        assert.equal(await page.textContent('#results-body td.content'), postText);
      }
    });

    await t.test('subscribes to the search daily and in real time, refuses a duplicate, deletes', async () => {
      await page.fill('#query', word);
      await page.press('#query', 'Enter');
      await page.waitForFunction((w) => document.getElementById('subscribe-term').textContent === `“${w}”`
        && !document.getElementById('subscribe-real-time').disabled, word);

      await page.click('#subscribe-real-time');
      await page.waitForSelector('#subscribe-status.success');
      assert.equal(await page.textContent('#subscribe-status'), `Subscribed: an email for each new post about “${word}”.`);
      await page.locator(`#subscriptions-body tr[data-kind="real-time"][data-term="${word}"]`).waitFor();

      // The same words again, in other case: the server's refusal, in its words.
      await page.fill('#query', word.toUpperCase());
      await page.press('#query', 'Enter');
      await page.waitForFunction((w) => document.getElementById('subscribe-term').textContent === `“${w}”`
        && !document.getElementById('subscribe-real-time').disabled, word.toUpperCase());
      await page.click('#subscribe-real-time');
      await page.waitForSelector('#subscribe-status.error');
      assert.equal(await page.textContent('#subscribe-status'), 'Subscription already exists.');

      await page.click('#subscribe-daily');
      await page.waitForSelector('#subscribe-status.success');
      await page.locator('#subscriptions-body tr[data-kind="daily"]').waitFor();
      const rows = page.locator('#subscriptions-body tr');
      assert.deepEqual(await rows.locator('td:nth-child(2)').allTextContents(), ['Daily', 'Real time']);
      assert.deepEqual(await rows.locator('td.term').allTextContents(), [word.toUpperCase(), word]);

      // Another user posts the word: the real-time subscription's email reaches the outbox.
      const link = await expectRealTimeEmail(await server.url, path.join(dataDir, 'outbox'), EMAIL, word);
      // The email's link opens this page on the search: this user's post and the other's.
      await page.goto(`${await server.url}/${new URL(link).search}`);
      await page.waitForSelector('#total-count');
      assert.equal(await page.getAttribute('#total-count', 'data-total'), '2');
      await page.locator('#subscriptions-body tr[data-kind="daily"]').waitFor();

      // Delete with the keyboard; focus stays in the list.
      await page.focus('#subscriptions-body tr[data-kind="real-time"] button.delete');
      assert.equal(await page.evaluate(() => document.activeElement.getAttribute('aria-label')),
        `Delete the real time subscription to “${word}”`);
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => !document.querySelector('#subscriptions-body tr[data-kind="real-time"]'));
      assert.equal(await page.textContent('#subscriptions-status'), `Deleted: no more real time emails about “${word}”.`);
      assert.equal(await page.evaluate(() => document.activeElement.closest('tr')?.dataset.kind), 'daily');
      await page.keyboard.press('Enter');
      await page.waitForSelector('#subscriptions-body tr.empty');
      assert.equal(await page.textContent('#subscriptions-body'), 'You have no subscriptions.');
      assert.equal(await page.evaluate(() => document.activeElement.id), 'refresh-subscriptions');

      // Gone on the server too, not just from the page.
      const held = await page.evaluate(async () => {
        const lists = [];
        for (const kind of ['daily', 'real-time']) {
          const response = await fetch(`/subscriptions/${kind}`, {
            headers: { Authorization: `Bearer ${sessionStorage.getItem('sde.idToken')}` },
          });
          lists.push(await response.json());
        }
        return lists;
      });
      assert.deepEqual(held, [[], []]);
    });

    await t.test('follows ?unsubscribe=true to the list and ?search= to the search', async () => {
      // A subscription made elsewhere (as if before the email came) shows when the link opens.
      const status = await page.evaluate(async (value) => {
        const response = await fetch('/subscriptions/daily', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${sessionStorage.getItem('sde.idToken')}` },
          body: JSON.stringify({ value }),
        });
        return response.status;
      }, tag);
      assert.equal(status, 201);
      await page.goto(`${await server.url}/?unsubscribe=true`);
      await page.locator(`#subscriptions-body tr[data-kind="daily"][data-term="${tag}"]`).waitFor();
      assert.equal(await page.evaluate(() => document.activeElement.id), 'subscriptions');
      const top = await page.evaluate(() => document.getElementById('subscriptions').getBoundingClientRect().top);
      assert.ok(top >= 0 && top < 100, `the list is scrolled into view (top at ${top}px)`);

      // `#` must arrive encoded (%23): the link carries the tag, not a fragment.
      await page.goto(`${await server.url}/?search=${encodeURIComponent(tag)}`);
      await page.waitForSelector('#total-count');
      assert.equal(await page.inputValue('#query'), tag);
      assert.equal(await page.getAttribute('#total-count', 'data-total'), '1');
      assert.equal(await page.textContent('#results-body td.content'), postText);
      assert.equal(await page.textContent('#subscribe-term'), `“${tag}”`);
    });

    await t.test('looks right (screenshot) and fits a narrow screen', async () => {
      mkdirSync(screenshots, { recursive: true });
      // Show the direct export's link in the picture.
      await page.check('input[name="delivery"][value="direct"]');
      await page.click('#export-button');
      await page.waitForSelector('#download-link', { timeout: 60_000 });
      await page.screenshot({ path: path.join(screenshots, 'page-test.png'), fullPage: true });
      await page.setViewportSize({ width: 375, height: 800 });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px on a 375px screen`);
      const scroller = await page.evaluate(() => {
        const element = document.querySelector('.table-scroll');
        return element.scrollWidth > element.clientWidth;
      });
      assert.ok(scroller, 'the table scrolls inside its own box');
      await page.screenshot({ path: path.join(screenshots, 'page-test-narrow.png'), fullPage: true });
      await page.setViewportSize({ width: 1280, height: 900 });
    });

    await t.test('shows errors in words, never raw JSON', async () => {
      // Checked in the page: the dates are the wrong way round.
      await page.fill('#from', '2020-02-01');
      await page.fill('#to', '2020-01-01');
      await page.click('#search-button');
      await page.waitForSelector('#search-status.error');
      assert.match(await page.textContent('#search-status'), /“From” date is after the “To” date/);
      // Refused by the API (400): a term longer than it accepts.
      await page.fill('#from', '');
      await page.fill('#to', '');
      await page.fill('#query', 'x'.repeat(600));
      await page.click('#search-button');
      await page.waitForFunction(() => document.getElementById('search-status').textContent !== 'Searching…'
        && document.getElementById('search-status').classList.contains('error'));
      const message = await page.textContent('#search-status');
      assert.doesNotMatch(message, /[{}]|"message"/, `shown as words: ${message}`);
      assert.ok(message.length > 10, message);
    });

    await t.test('signs out', async () => {
      await page.click('#sign-out');
      await page.waitForSelector('#sign-in', { state: 'visible' });
      assert.equal(await page.evaluate(() => sessionStorage.getItem('sde.idToken')), null);
    });

    await t.test('a ?search= link opened signed out runs once signed in', async () => {
      await page.goto(`${await server.url}/?search=${encodeURIComponent(tag)}`);
      await page.waitForSelector('body[data-ready="true"]');
      assert.ok(await page.isVisible('#sign-in'));
      await page.fill('#email', EMAIL);
      await page.press('#email', 'Enter');
      await page.waitForSelector('#total-count');
      assert.equal(await page.inputValue('#query'), tag);
      assert.equal(await page.getAttribute('#total-count', 'data-total'), '1');
      await page.click('#sign-out');
      await page.waitForSelector('#sign-in', { state: 'visible' });
    });

    await t.test('loaded nothing from elsewhere and logged no errors', () => {
      assert.deepEqual(elsewhere, []);
      assert.deepEqual(problems, []);
    });
    t.diagnostic(`browser test took ${Date.now() - started} ms`);
  } finally {
    if (context) await context.close().catch(() => {});
    await stopServer(server.child);
    process.removeListener('exit', killOnExit);
    process.removeListener('SIGINT', killOnSignal);
    process.removeListener('SIGTERM', killOnSignal);
    rmSync(profile, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  }
});

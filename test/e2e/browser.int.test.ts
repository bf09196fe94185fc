import test from 'ava';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { RunRecord } from '../../src/core/index.js';
import { quickScenarios, repoRoot, runCli } from '../helpers/cli.js';

/*
 * The HTML report and the history dashboard in real headless Chromium (Debian's `chromium`, driven by
 * playwright-core). CI installs it and sets PURPLE_HARNESS_REQUIRE_BROWSER=1, so there these tests fail
 * rather than skip. Screenshots are left in test-artifacts/ for people to look at.
 */
const executablePath = process.env.PURPLE_HARNESS_CHROMIUM ?? '/usr/bin/chromium';
const required = process.env.PURPLE_HARNESS_REQUIRE_BROWSER === '1';
const artifacts = join(repoRoot, 'test-artifacts');

if (!existsSync(executablePath) && !required) {
  test.skip(`browser checks skipped: no Chromium at ${executablePath} (apt-get install chromium)`, () => {});
} else {
  const root = mkdtempSync(join(tmpdir(), 'purple-harness-browser-'));
  const reports = join(root, 'reports');
  let browser: Browser;
  let runDir = '';

  test.before(async () => {
    browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
    mkdirSync(artifacts, { recursive: true });
    const scenarios = join(root, 'scenarios');
    mkdirSync(scenarios);
    quickScenarios(scenarios, ['cmstp-local-inf-presetup.yaml', 'cmstp-all-users-au.yaml']);
    // First a run of another scenario set: the dashboard must chart it apart, not as a change in coverage.
    const other = await runCli(
      ['run', join(scenarios, 'cmstp-all-users-au.yaml'), '--reports-dir', reports],
      { cwd: root },
    );
    if (other.exitCode !== 0) throw new Error(`run: exit ${String(other.exitCode)}\n${other.stderr}`);
    // Two runs, the second with a signal dropped: the dashboard then has a trend and a regression to show.
    for (const extra of [[], ['--lab-drop', 'child-process']]) {
      const result = await runCli(['run', scenarios, '--reports-dir', reports, ...extra], { cwd: root });
      if (result.exitCode !== 0 && result.exitCode !== 1 && result.exitCode !== 4)
        throw new Error(`run: exit ${String(result.exitCode)}\n${result.stderr}`);
    }
    const run = RunRecord.parse(JSON.parse(readFileSync(join(reports, 'latest', 'run.json'), 'utf8')));
    runDir = join(reports, run.runId);
  });
  test.after.always(async () => {
    await browser.close();
    rmSync(root, { recursive: true, force: true });
  });

  /** Opens a page, failing on any console error, page error or request that leaves the file system. */
  async function open(file: string) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning')
        problems.push(`console ${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('request', (request) => {
      if (!request.url().startsWith('file://')) problems.push(`external request: ${request.url()}`);
    });
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    return { page, problems };
  }

  test('the HTML report loads with no console errors, shows the key figures, and prints', async (t) => {
    const run = RunRecord.parse(JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')));
    const { page, problems } = await open(join(runDir, 'report.html'));

    t.is(await page.textContent('#run-status'), run.status.toUpperCase());
    t.is(await page.textContent('#count-pass'), String(run.summary.pass));
    t.is(await page.textContent('#count-fail'), String(run.summary.fail));
    t.is(await page.textContent('#run-id'), run.runId);
    t.true(await page.isVisible('text=SIMULATED LAB'));
    t.is(await page.locator('.matrix tbody tr').count(), run.results.length);
    t.true((await page.locator('.matrix td.cell.fail').count()) > 0);
    // #18: the findings line is the first thing on screen, and the integrity section is there to file.
    const findings = await page.locator('#findings-line').boundingBox();
    t.truthy(findings);
    t.true((findings?.y ?? 9999) < 300, `findings line at y=${String(findings?.y)}`);
    t.regex(
      (await page.textContent('#findings-line')) ?? '',
      /^Findings: 3 of \d+ expected signal\(s\) passed|^Findings: /,
    );
    t.true(await page.isVisible('#integrity >> text=manifest.json'));
    t.true(await page.isVisible('#integrity >> text=npx purple-harness verify'));
    t.regex(
      (await page.textContent('#integrity')) ?? '',
      /Chain: manifest\.json links to run \d{8}T\d{6}Z-\w{6}/,
    );
    await page.screenshot({ path: join(artifacts, 'report-top.png') });
    await page.locator('#integrity').screenshot({ path: join(artifacts, 'report-integrity.png') });
    await page.screenshot({ path: join(artifacts, 'report.png'), fullPage: true });
    // Printable: the print layout renders to a PDF without errors.
    const pdf = await page.pdf({ format: 'A4' });
    t.true(pdf.length > 10_000);
    t.deepEqual(problems, []);
    await page.close();
  });

  test('the history dashboard loads with no console errors, charts each signal and highlights the regression', async (t) => {
    const { page, problems } = await open(join(reports, 'index.html'));

    t.is(await page.locator('#runs tbody tr').count(), 3);
    // Two sets, newest first: the two runs of both scenarios, then the all-users run alone (#18).
    t.is(await page.locator('.run-set').count(), 2);
    t.regex(
      (await page.textContent('.run-set >> nth=0 >> h3')) ?? '',
      /^Set B: 2 scenario\(s\).* 2 run\(s\)$/,
    );
    t.regex((await page.textContent('.run-set >> nth=1 >> h3')) ?? '', /^Set A: 1 scenario\(s\)/);
    t.true((await page.locator('#set-B .grid svg.chart').count()) >= 5);
    t.is(await page.textContent('#runs tbody tr >> nth=0 >> td >> nth=1'), 'B');
    t.is(await page.textContent('#runs tbody tr >> nth=2 >> td >> nth=1'), 'A');
    t.true(await page.isVisible('#regressions >> text=child-process'));
    t.true((await page.locator('#runs tr.regression').count()) === 1);
    // Each run links to its own report.
    const href = await page.getAttribute('#runs tbody tr >> nth=0 >> a', 'href');
    t.truthy(href);
    t.true(existsSync(join(reports, href ?? '')), href ?? '');
    const findings = await page.locator('#findings-line').boundingBox();
    t.true((findings?.y ?? 9999) < 300, `findings line at y=${String(findings?.y)}`);
    t.regex(
      (await page.textContent('#findings-line')) ?? '',
      /^Findings: the latest run, \S+, (failed|regression)/,
    );
    t.true(await page.isVisible('#integrity >> text=npx purple-harness verify'));
    t.is(await page.locator('#runs tbody tr >> nth=0 >> td >> nth=11 >> code').count(), 1);
    await page.screenshot({ path: join(artifacts, 'dashboard-top.png') });
    await page.locator('#integrity').screenshot({ path: join(artifacts, 'dashboard-integrity.png') });
    await page.locator('#set-B').screenshot({ path: join(artifacts, 'dashboard-trends.png') });
    await page.screenshot({ path: join(artifacts, 'dashboard.png'), fullPage: true });
    t.deepEqual(problems, []);
    await page.close();
  });
}

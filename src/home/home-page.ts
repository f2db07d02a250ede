import { escapeHtml } from '../common/html';
import type { PackageInfo } from './package-info';

export interface HomePage {
  about: PackageInfo;
  /** Names of the readiness checks that failed; empty when ready. */
  notReady: string[];
  publicUrl: string;
  /** Where the bridge sends its calls; shown in development and test only. */
  services?: { label: string; url: string }[];
}

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:40em;margin:4em auto;padding:0 1em;color:#222}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em}code{background:#f4f4f4;padding:0 .3em;border-radius:4px}
.ok{color:#176f2c}.down{color:#a4161a}dt{font-weight:600}dd{margin:0 0 .5em 0}`;

export function renderHomePage(page: HomePage): string {
  const e = escapeHtml;
  const setupUri = `${page.publicUrl}/flowdock/setup`;
  const webhookUrl = `${page.publicUrl}/github/webhooks`;
  const readiness =
    page.notReady.length === 0
      ? '<span class="ok">Ready</span>: the database answers and its schema is up to date.'
      : `<span class="down">Not ready</span>: failing ${e(page.notReady.join(', '))}.`;
  const services = page.services
    ? `<h2>Configured services (shown in development and test only)</h2>
<dl id="services">
${page.services.map((s) => `<dt>${e(s.label)}</dt><dd><code>${e(s.url)}</code></dd>`).join('\n')}
</dl>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Flowdock–GitHub bridge</title>
<style>${STYLE}</style></head>
<body>
<h1>Flowdock–GitHub bridge</h1>
<p id="about">${e(page.about.description)} This is the bridge's server: people reach it through Flowdock's thread actions and the links below.</p>
<dl>
<dt>Version</dt><dd id="version">${e(page.about.version)}</dd>
<dt>Status</dt><dd id="readiness">${readiness} (<a href="/health/ready">details</a>)</dd>
</dl>
<h2>For people using Flowdock</h2>
<ul>
<li><a href="/account">Your account</a>: sign in with Flowdock to see or remove the GitHub account linked to you.</li>
</ul>
<h2>For administrators</h2>
<ul>
<li><a href="/flowdock/setup">Connect repositories to a flow</a>: the Flowdock integration's Setup URI is <code>${e(setupUri)}</code>; Flowdock opens it, naming the flow, when someone adds the integration to a flow.</li>
<li>GitHub webhook URL (content type <code>application/json</code>): <code>${e(webhookUrl)}</code></li>
</ul>
${services}
</body></html>`;
}

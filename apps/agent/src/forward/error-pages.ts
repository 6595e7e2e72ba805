// The pages a visitor sees when the agent cannot reach the device behind it. They are served
// through the hub, so they explain what the owner must do on the device's local page.
import type { CertificateChangedError } from './tofu.js';

function escape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const style =
  'body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#222}code{word-break:break-all;background:#f3f3f3;padding:0 .2em}h1{font-size:1.4rem}';

export function certificateChangedPage(err: CertificateChangedError): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Device certificate changed</title><style>${style}</style></head><body>
<h1>Device certificate changed — connection refused</h1>
<p>The remote-access agent connects to <code>${escape(err.origin)}</code> over HTTPS and trusts the certificate it saw the first time. That device now presents a different certificate, so the agent refuses to forward anything: this can mean the device was replaced or reset, or that someone is intercepting the local network.</p>
<p>Pinned fingerprint (SHA-256): <code>${escape(err.expected)}</code><br>Presented fingerprint (SHA-256): <code>${escape(err.actual)}</code></p>
<p>If the change is expected, the device owner can accept the new certificate on the agent's local <strong>Remote access</strong> page.</p>
<p><small>Error: certificate_changed (HTTP 502)</small></p>
</body></html>`;
}

export function unreachablePage(origin: string, reason: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Device not reachable</title><style>${style}</style></head><body>
<h1>The device's web interface is not reachable</h1>
<p>The remote-access agent is online, but it could not reach <code>${escape(origin)}</code>: ${escape(reason)}.</p>
<p><small>Error: target_unreachable (HTTP 502)</small></p>
</body></html>`;
}

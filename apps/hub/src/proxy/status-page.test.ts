// The hub's own status pages: "last seen" reads as a person would say it, with the exact instant in
// the <time> element for machines and the tooltip; text from the request is escaped.
import { describe, expect, it } from 'vitest';
import { renderStatusPage } from './status-page.js';

const visibleText = (html: string) => html.replace(/<style>[\s\S]*?<\/style>/, '').replace(/<[^>]+>/g, ' ');

describe('renderStatusPage', () => {
  it('shows when an offline device was last seen in words and UTC minutes, the ISO instant only in datetime and title', () => {
    const html = renderStatusPage({
      status: 502,
      title: 'Device offline',
      message: 'The device is not connected to the hub right now.',
      serial: 'an12345678',
      lastSeenAt: new Date('2026-01-02T03:04:05.000Z'),
      now: new Date('2026-01-02T06:10:00.000Z'),
    });
    expect(html).toContain('<dt>Last seen</dt><dd><time datetime="2026-01-02T03:04:05.000Z" title="2026-01-02 03:04:05 UTC">3 h ago, 2026-01-02 03:04 UTC</time></dd>');
    expect(visibleText(html)).not.toContain('T03:04:05');
  });

  it('says "never" for a device that never connected, and escapes what it shows', () => {
    const html = renderStatusPage({ status: 502, title: 'Device <offline>', message: 'a & b', serial: 'an1', lastSeenAt: null });
    expect(html).toContain('<dt>Last seen</dt><dd>never</dd>');
    expect(html).toContain('Device &#60;offline&#62;');
    expect(html).toContain('a &#38; b');
  });
});

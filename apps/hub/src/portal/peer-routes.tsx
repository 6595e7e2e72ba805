/** @jsxImportSource hono/jsx */
// Admin WireGuard peer routes: list, create (pasted public key, or a key pair generated for this one
// response — never stored, never logged), the peer page, the wg-quick download and removal. The QR
// code (qrcode package, pure JS) is inline SVG, so the page needs no image source or script.
import { decodeKey, encodeKey, generatePrivateKey, publicKeyFromPrivate } from '@porthole/wireguard';
import type { Hono } from 'hono';
import QRCode from 'qrcode';
import { NotFoundError, ValidationError } from '../errors.js';
import { wgQuickConfig } from '../registry/admin-peers.js';
import type { AdminPeerInfo } from '../registry/index.js';
import { PeerPage, PeersPage } from './peer-pages.js';
import { doneMessage, field, readForm, runForm, type PortalContext, type PortalEnv, type PortalKit } from './portal-kit.js';

const PRIVATE_KEY_RE = /^[A-Za-z0-9+/]{43}=$/;

/** The wg-quick file with the PrivateKey line filled in (the registry's template leaves a comment). */
export function withPrivateKey(config: string, privateKey: string): string {
  return config.replace(/^# PrivateKey = .*$/m, `PrivateKey = ${privateKey}`);
}

export async function qrSvg(text: string): Promise<string> {
  return QRCode.toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
}

/** A wg-quick interface name is at most 15 characters of [a-zA-Z0-9_=+.-]; the file is named after it. */
export function configFileName(peerName: string): string {
  const slug = peerName.replace(/[^a-zA-Z0-9_=+.-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 12) || 'peer';
  return `ph-${slug}.conf`;
}

export function registerPeerRoutes(app: Hono<PortalEnv>, kit: PortalKit): void {
  const { registry } = kit;
  const base = (c: PortalContext) => ({ user: kit.userOf(c), csrf: c.get('csrf'), now: registry.context.now(), notice: doneMessage(c) });

  async function findPeer(id: string): Promise<AdminPeerInfo> {
    const peer = (await registry.listAdminPeers()).find((p) => p.id === id);
    if (!peer) throw new NotFoundError(`admin peer ${id.slice(0, 40)} does not exist`);
    return peer;
  }

  app.get('/admin/peers', async (c) => c.html(<PeersPage {...base(c)} peers={await registry.listAdminPeers()} />));

  app.post('/admin/peers', async (c) => {
    const body = await readForm(c);
    const form = { name: field(body, 'name', 64).trim(), publicKey: field(body, 'publicKey', 60).trim(), mode: field(body, 'mode', 10) };
    return runForm(
      c,
      async () => {
        if (form.mode !== 'paste' && form.mode !== 'generate') throw new ValidationError('choose how the keys are made', { field: 'mode' });
        let privateKey: string | undefined;
        let publicKey = form.publicKey;
        if (form.mode === 'generate') {
          const secret = generatePrivateKey();
          privateKey = encodeKey(secret);
          publicKey = encodeKey(publicKeyFromPrivate(secret));
        } else if (!publicKey) {
          throw new ValidationError('paste the public key of the laptop, or choose to generate a key pair', { field: 'publicKey' });
        }
        const { peer, config } = await registry.createAdminPeer({ name: form.name, publicKey, createdBy: kit.userOf(c).id });
        const shown = privateKey ? withPrivateKey(config, privateKey) : config;
        return c.html(
          <PeerPage {...base(c)} peer={peer} config={shown} qrSvg={await qrSvg(shown)} fileName={configFileName(peer.name)} created {...(privateKey ? { privateKey } : {})} />,
          201,
        );
      },
      async (err) => <PeersPage {...base(c)} peers={await registry.listAdminPeers()} form={form} error={err.message} />,
    );
  });

  app.get('/admin/peers/:id', async (c) => {
    const peer = await findPeer(c.req.param('id'));
    const config = wgQuickConfig(registry.context, peer);
    return c.html(<PeerPage {...base(c)} peer={peer} config={config} qrSvg={await qrSvg(config)} fileName={configFileName(peer.name)} />);
  });

  const download = (c: PortalContext, peer: AdminPeerInfo, config: string) =>
    c.body(config, 200, {
      'content-type': 'text/plain; charset=utf-8',
      'content-disposition': `attachment; filename="${configFileName(peer.name)}"`,
    });

  app.get('/admin/peers/:id/wg-quick.conf', async (c) => {
    const peer = await findPeer(c.req.param('id'));
    return download(c, peer, wgQuickConfig(registry.context, peer));
  });

  // The creating page posts the generated private key back once more for the download; it is
  // checked against the peer's public key and never stored.
  app.post('/admin/peers/:id/wg-quick.conf', async (c) => {
    const peer = await findPeer(c.req.param('id'));
    const privateKey = field(await readForm(c), 'privateKey', 60);
    let matches = false;
    try {
      matches = PRIVATE_KEY_RE.test(privateKey) && encodeKey(publicKeyFromPrivate(decodeKey(privateKey))) === peer.publicKey;
    } catch {
      matches = false; // not a key at all
    }
    if (!matches) {
      throw new ValidationError('that private key does not belong to this peer', { field: 'privateKey' });
    }
    return download(c, peer, withPrivateKey(wgQuickConfig(registry.context, peer), privateKey));
  });

  app.post('/admin/peers/:id/delete', async (c) => {
    await registry.deleteAdminPeer(c.req.param('id').slice(0, 64));
    return c.redirect('/admin/peers?done=peer-deleted', 303);
  });
}

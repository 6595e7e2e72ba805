// The pages the device proxy answers with itself when a request goes no further: no such device,
// remote access disabled, the device offline (and why), and the visitor gate's refusals.
import type { HubMetrics } from '../ops/hub-metrics.js';
import { type DeviceRoute, windowEndedAt } from './contracts.js';
import type { StatusPage } from './status-page.js';
import type { GateDecision } from './visitor-gate.js';

export const UNKNOWN_DEVICE: StatusPage = {
  status: 404,
  title: 'No device here',
  message: 'There is no device at this address. Check the serial number in the link.',
};

export function disabledPage(device: DeviceRoute, requestId: string): StatusPage {
  return { status: 403, title: 'Remote access disabled', message: 'Remote access to this device has been disabled by an administrator.', serial: device.serial, requestId };
}
export function offlinePage(device: DeviceRoute, requestId: string): StatusPage {
  // The owner opened remote access for a while; the device closed it itself when that ended.
  const ended = windowEndedAt(device, Date.now());
  if (ended) {
    const at = `${ended.toISOString().replace('T', ' ').slice(0, 16)} UTC`;
    return {
      status: 502,
      title: "The owner's access window ended",
      message: `The owner of this device opened remote access for a limited time, and that window ended at ${at}. The device closed remote access itself; its owner can open a new window on the device's Remote access page.`,
      serial: device.serial,
      lastSeenAt: device.lastSeenAt,
      requestId,
    };
  }
  if (device.offlineReason === 'turned-off-on-device') {
    return {
      status: 502,
      title: 'Remote access turned off on the device',
      message: "Remote access was turned off on the device itself. Its owner can turn it back on from the device's Remote access page.",
      serial: device.serial,
      lastSeenAt: device.lastSeenAt,
      requestId,
    };
  }
  return {
    status: 502,
    title: 'Device offline',
    message: 'The device is not connected to the remote-access service right now (no recent tunnel handshake). It may be powered off or without Internet access.',
    serial: device.serial,
    lastSeenAt: device.lastSeenAt,
    requestId,
  };
}
/** The page for a gate refusal (a refusal the gate gives a reason for is counted as a drop). */
export function gatePage(d: Exclude<GateDecision, { kind: 'allow' }>, device: DeviceRoute, requestId: string, method: string, metrics: HubMetrics): StatusPage {
  switch (d.kind) {
    case 'login':
      if (method === 'GET' || method === 'HEAD') {
        return { status: 302, title: 'Sign-in required', message: 'Redirecting to sign in.', headers: { location: d.location }, requestId };
      }
      return { status: 401, title: 'Sign-in required', message: 'Sign in through the portal to use this device, then retry.', serial: device.serial, requestId };
    case 'forbidden':
      return { status: 403, title: 'No access', message: 'Your account does not have access to this device.', serial: device.serial, requestId };
    case 'refused':
      metrics.drops.inc({ reason: d.reason });
      return { status: d.status, title: d.title, message: d.message, serial: device.serial, requestId };
    case 'unknown':
      metrics.drops.inc({ reason: 'unknown_device' });
      return { ...UNKNOWN_DEVICE, requestId };
    case 'unavailable':
      return { status: 503, title: 'Temporarily unavailable', message: 'Your access to this device cannot be confirmed right now. Try again in a moment.', headers: { 'retry-after': '5' }, requestId };
  }
}

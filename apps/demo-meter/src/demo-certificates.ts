// The demo meter's device certificate (serial an12345678) and the demo CA that issued it, committed
// so that `npm run demo` shows an attested device. DEMO ONLY: the device's private key is public, so
// no real hub may trust this CA.
import { fileURLToPath } from 'node:url';

export const DEMO_SERIAL = 'an12345678';
export const DEMO_CA_FILE = fileURLToPath(new URL('../certs/demo-ca.pem', import.meta.url));
export const DEMO_DEVICE_CERT_FILE = fileURLToPath(new URL('../certs/demo-device.pem', import.meta.url));
export const DEMO_DEVICE_KEY_FILE = fileURLToPath(new URL('../certs/demo-device.key', import.meta.url));

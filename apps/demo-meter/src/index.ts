// @porthole/demo-meter: a simulated energy meter web UI that embeds the agent's Remote access page.
export { createMeter, type Meter, type MeterOptions, type RunningMeter } from './meter.js';
export { MeterSimulation, DEFAULT_SETTINGS, type MeterSettings, type Reading } from './simulation.js';
export { csvRow, CSV_HEADER, ROW_BYTES } from './csv-export.js';
export { hashUpload } from './firmware-upload.js';
export { DEMO_CA_FILE, DEMO_DEVICE_CERT_FILE, DEMO_DEVICE_KEY_FILE, DEMO_SERIAL } from './demo-certificates.js';

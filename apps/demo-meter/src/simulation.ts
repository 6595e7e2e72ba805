// The simulated meter: readings are a pure function of time and a seed (a daily-ish load curve
// plus deterministic noise), so tests and the CSV export can predict them; settings change what
// the meter reports (power limit, live-update interval, name, tariff).
export interface Reading {
  t: string;
  powerW: number;
  voltageV: number;
  currentA: number;
  frequencyHz: number;
  energyKwh: number;
}

export interface MeterSettings {
  name: string;
  /** Price per kWh in cents, for the cost shown on the page. */
  tariffCtPerKwh: number;
  /** Live chart push interval over the WebSocket. */
  liveIntervalMs: number;
  /** Readings are clamped to this (a load limiter setting that visibly takes effect). */
  powerLimitW: number;
}

export const DEFAULT_SETTINGS: MeterSettings = { name: 'Demo meter', tariffCtPerKwh: 32, liveIntervalMs: 1000, powerLimitW: 11000 };

/** 32-bit integer hash → [0, 1); same input, same output. */
function noise(seed: number, n: number): number {
  let h = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(n, 0xc2b2ae35)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

export class MeterSimulation {
  readonly seed: number;
  readonly startMs: number;
  settings: MeterSettings;

  constructor(options: { seed?: number; startMs?: number; settings?: Partial<MeterSettings> } = {}) {
    this.seed = options.seed ?? 1;
    this.startMs = options.startMs ?? Date.UTC(2026, 0, 1);
    this.settings = { ...DEFAULT_SETTINGS, ...options.settings };
  }

  /** Unclamped power at whole second `s` since start. */
  #rawPowerW(s: number): number {
    const curve = 1800 + 1200 * Math.sin((2 * Math.PI * s) / 600) + 400 * Math.sin((2 * Math.PI * s) / 47);
    return Math.max(0, curve + 300 * (noise(this.seed, s) - 0.5));
  }

  powerW(s: number): number {
    return Math.min(this.settings.powerLimitW, this.#rawPowerW(s));
  }

  /** Energy in kWh after `s` seconds: the integral of the smooth load curve (O(1) per CSV row). */
  energyKwhAt(s: number): number {
    // The noise averages out and the power limit is a display setting: both are left out here.
    const a = (600 / (2 * Math.PI)) * 1200 * (1 - Math.cos((2 * Math.PI * s) / 600));
    const b = (47 / (2 * Math.PI)) * 400 * (1 - Math.cos((2 * Math.PI * s) / 47));
    return (1800 * s + a + b) / 3_600_000;
  }

  reading(nowMs: number): Reading {
    const s = Math.max(0, Math.floor((nowMs - this.startMs) / 1000));
    const powerW = this.powerW(s);
    const voltageV = 230 + 4 * (noise(this.seed + 1, s) - 0.5);
    return {
      t: new Date(nowMs).toISOString(),
      powerW: Math.round(powerW * 10) / 10,
      voltageV: Math.round(voltageV * 10) / 10,
      currentA: Math.round((powerW / voltageV) * 100) / 100,
      frequencyHz: Math.round((50 + 0.1 * (noise(this.seed + 2, s) - 0.5)) * 1000) / 1000,
      energyKwh: Math.round(this.energyKwhAt(s) * 1000) / 1000,
    };
  }

  /** Validates a settings form; returns the problems by field, or the new settings. */
  parseSettings(form: Record<string, string>): { settings: MeterSettings } | { problems: Record<string, string> } {
    const problems: Record<string, string> = {};
    const name = (form.name ?? '').trim();
    if (name.length < 1 || name.length > 40) problems.name = 'Name must be 1–40 characters.';
    const num = (field: string, min: number, max: number, label: string): number => {
      const v = Number(form[field]);
      if (!Number.isFinite(v) || v < min || v > max) problems[field] = `${label} must be between ${min} and ${max}.`;
      return v;
    };
    const tariffCtPerKwh = num('tariffCtPerKwh', 0, 500, 'Tariff');
    const liveIntervalMs = num('liveIntervalMs', 50, 10000, 'Live interval');
    const powerLimitW = num('powerLimitW', 100, 50000, 'Power limit');
    if (Object.keys(problems).length > 0) return { problems };
    return { settings: { name, tariffCtPerKwh, liveIntervalMs: Math.round(liveIntervalMs), powerLimitW } };
  }
}
